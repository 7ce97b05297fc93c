//! The exit-code table of DESIGN.md, in one place.
//!
//! Scripts and CI branch on these numbers, so they never change meaning. `main` only maps an
//! [`Exit`] to a process status; every command returns one.

use crate::journal::JournalError;

/// How a deployctl invocation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: every step done, or dry-run/validate clean.
    Success,
    /// 1: a step failed and no rollback ran.
    StepFailed,
    /// 2: usage error, invalid runbook, missing variable or file.
    Invalid,
    /// 3: paused, waiting for an approval, a manual confirmation or the window.
    Paused,
    /// 4: the deployment failed or a rollback trigger fired, and the rollback succeeded.
    RolledBack,
    /// 5: the rollback itself failed: page a human.
    RollbackFailed,
    /// 6: the journal is locked by another live run.
    Locked,
    /// 130: interrupted by SIGINT/SIGTERM.
    Interrupted,
}

impl Exit {
    /// The process exit status.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::StepFailed => 1,
            Exit::Invalid => 2,
            Exit::Paused => 3,
            Exit::RolledBack => 4,
            Exit::RollbackFailed => 5,
            Exit::Locked => 6,
            Exit::Interrupted => 130,
        }
    }
}

/// The journal's errors as exit codes: another live run holds the lock (6); anything else
/// means deployctl cannot read or write its journal and so cannot go on (2). Exhaustive, so
/// a new kind of journal error must choose its code here.
impl From<&JournalError> for Exit {
    fn from(error: &JournalError) -> Self {
        match error {
            JournalError::Locked { .. } => Exit::Locked,
            JournalError::Io { .. }
            | JournalError::Corrupt { .. }
            | JournalError::Version { .. }
            | JournalError::Database { .. }
            | JournalError::Schema { .. } => Exit::Invalid,
        }
    }
}
