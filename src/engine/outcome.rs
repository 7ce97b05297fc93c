//! How a run invocation ended, and why deployctl itself could not go on.

use std::path::PathBuf;

use crate::event::RollbackCause;
use crate::journal::JournalError;

/// How a `run` invocation ended. `commands::conclude` maps it to an exit code in one
/// exhaustive match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// Every step done.
    Done,
    /// A step failed and the run stopped there (resumable).
    Failed {
        /// The step.
        step: String,
        /// Why.
        reason: String,
    },
    /// Waiting for a person (approval, confirmation, or a retry decision).
    Paused {
        /// The step.
        step: String,
        /// Why.
        reason: String,
        /// What to type.
        hint: String,
    },
    /// The deployment window keeps the run from starting or going on (exit 3).
    WindowClosed {
        /// Why: outside the window, frozen, not enough time left, or closed mid-run.
        reason: String,
        /// What to do.
        hint: String,
    },
    /// The rollback ran to the end (exit 4).
    RolledBack {
        /// Why it ran.
        cause: RollbackCause,
        /// In words.
        reason: String,
    },
    /// A rollback step failed: page a human (exit 5). `deployctl rollback` retries it.
    RollbackFailed {
        /// The rollback step.
        step: String,
        /// Why.
        reason: String,
    },
    /// A signal stopped the run.
    Interrupted {
        /// The step that was running.
        step: Option<String>,
        /// Which signal.
        signal: &'static str,
    },
}

/// Why the engine could not run at all (not a step failure).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The journal could not be read, written or locked.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The runbook or its inputs changed since the unfinished run began.
    #[error("`{}` changed since run {run_id} began: {what}", file.display())]
    Changed {
        /// The runbook file.
        file: PathBuf,
        /// The run.
        run_id: String,
        /// What changed, in words (secrets only as "changed").
        what: String,
        /// Environment variables set when the run began and unset now.
        unset: Vec<String>,
    },
    /// The run is half-way through a rollback: only `deployctl rollback` may go on.
    #[error("run {run_id} is rolling back ({reason}); it cannot go forward")]
    RollingBack {
        /// The run.
        run_id: String,
        /// Why the rollback started.
        reason: String,
        /// The runbook file, for the hint.
        file: PathBuf,
    },
    /// `deployctl rollback` found nothing to roll back.
    #[error("{0}")]
    NothingToRollBack(String),
    /// The HTTP client could not be built.
    #[error("cannot set up HTTP: {0}")]
    Http(String),
    /// The journal's latest run belongs to another runbook (a copied or misnamed journal).
    #[error("journal `{journal}` holds a run of runbook `{found}`, not of `{expected}`")]
    OtherRunbook {
        /// The journal, as shown.
        journal: String,
        /// The runbook name its latest run recorded.
        found: String,
        /// This runbook's name.
        expected: String,
    },
    /// The PostgreSQL journal's session (and its lock) was lost while a step ran: the step
    /// was stopped so that no other runner runs it at the same time.
    #[error("the journal's lock was lost while `{step}` ran, so the step was stopped: {source}")]
    LockLost {
        /// The step that was running.
        step: String,
        /// What the journal said when it could not record the interruption.
        source: JournalError,
    },
    /// A process group a step started is still running although the deployctl that ran
    /// it was killed: running the step (or anything after it) now would run beside it.
    #[error(
        "step `{step}` of run {run_id} started process group {pgid} at {since} and it still runs: the deployctl that ran it was killed{more}"
    )]
    Orphaned {
        /// The run.
        run_id: String,
        /// The step that started it.
        step: String,
        /// The group's id.
        pgid: i32,
        /// When it started, as shown.
        since: String,
        /// ", and N more groups" when there are more.
        more: String,
        /// The runbook file, for the hint.
        file: PathBuf,
    },
    /// The operator's name is refused (invisible characters, or taken for another's).
    #[error("operator: {0}")]
    Operator(String),
    /// deployctl broke one of its own rules: a bug.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl RunError {
    /// What to do about it.
    pub fn hint(&self) -> String {
        match self {
            RunError::Journal(e) => e.hint(),
            RunError::Changed { unset, .. } if !unset.is_empty() => format!(
                "{} set when the run began and unset now, so a default took over: export {} as it was, then run again (`--allow-changed` only if you mean to go on with the new values)",
                unset.join(", "),
                if unset.len() == 1 { "it" } else { "them" }
            ),
            RunError::Changed { .. } => "review the change; `deployctl run --allow-changed` resumes with it".into(),
            RunError::Http(_) => "check the system's TLS setup".into(),
            RunError::RollingBack { file, .. } => format!(
                "`deployctl rollback {}` finishes the rollback; `deployctl status` shows where it stands",
                file.display()
            ),
            RunError::NothingToRollBack(_) => "`deployctl status` shows the journal's latest run".into(),
            RunError::OtherRunbook { .. } => {
                "give the runbook this journal belongs to, or another journal (--journal, --environment)".into()
            }
            RunError::LockLost { .. } => "its process group was killed; another runner may hold the lock now: `deployctl status` shows where the run stands, and `deployctl run` resumes it once the journal's database answers".into(),
            RunError::Orphaned { file, .. } => format!(
                "the run waits until it ends: check what it does (`ps -o pid,etime,args -g PGID`) and let it finish, then run again; or kill it with `deployctl unlock {} --kill-orphans` (journaled)",
                file.display()
            ),
            RunError::Operator(_) => "give --operator (or DEPLOYCTL_OPERATOR) as the person types their name".into(),
            RunError::Internal(_) => "this is a bug in deployctl: please report it with the journal".into(),
        }
    }
}
