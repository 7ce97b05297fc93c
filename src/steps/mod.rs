//! Step kinds: one file per kind behind one trait, dispatched by one `match`.
//!
//! A step does its one thing and says how it went as a [`StepOutcome`] value; it never
//! touches the journal and never prints. The engine owns timeouts, retries, cancellation
//! and journaling: it wraps [`execute`] in a timeout and drops the future on expiry or on a
//! signal, so every step must be cancel-safe by drop (the shell step kills its process
//! group when dropped).

mod backup;
mod client;
mod db;
mod excerpt;
mod http;
mod live;
mod migrate;
mod monitor;
mod notify;
mod process;
mod rls;
mod rolling_restart;
#[cfg(test)]
mod scratch;
mod shell;
mod sql;
#[cfg(test)]
mod test_server;
mod wait;

use std::time::Duration;

/// The steps' one-line form of a database error (it lives at the crate root because the
/// PostgreSQL journal needs it too).
pub(crate) use crate::pg_error::sql_error;
pub(crate) use backup::probe as probe_backup;
pub use client::http_client;
pub use db::Databases;
pub use excerpt::Excerpt;
pub(crate) use http::check;
pub use live::{Escalation, Live, execute_live};
pub(crate) use migrate::probe as probe_migrate;
pub use migrate::{PlainUndo, applied_migrations, undo_plain};
pub use notify::{NotifyPayload, post_json};
pub(crate) use rls::probe as probe_rls;

use crate::event::UndoEntry;
use crate::redact::Redactor;
use crate::runbook::model::StepKind;

/// What a step needs from the run.
pub struct StepContext<'a> {
    /// The run id (fills `${run.id}`).
    pub run_id: &'a str,
    /// Runbook name, for payloads.
    pub runbook: &'a str,
    /// The step's id, for payloads and messages.
    pub step_id: &'a str,
    /// Masks secrets in anything the step reports.
    pub redactor: &'a Redactor,
    /// One HTTP client per run (connection reuse).
    pub http: &'a reqwest::Client,
    /// One pool per runbook database, shared by the run's steps.
    pub databases: &'a Databases,
    /// The step's time limit per attempt (the engine enforces it; steps use it to size
    /// their own inner timeouts).
    pub timeout: Duration,
}

impl StepContext<'_> {
    /// A failed attempt without output, its reason masked: a reason may quote a URL or a
    /// database error that holds a secret.
    pub(crate) fn fail(&self, reason: String) -> StepOutcome {
        StepOutcome::Failed {
            reason: self.redactor.mask(&reason).into_owned(),
            output: None,
        }
    }
}

/// How one attempt of a step went. Failure is a value; `Err` is not used for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    /// It did what it should.
    Done {
        /// What it found, one line (redacted), e.g. "200 in 12ms".
        detail: Option<String>,
        /// Bounded, redacted excerpt of output.
        output: Option<String>,
    },
    /// It did not.
    Failed {
        /// What went wrong, naming the target (redacted).
        reason: String,
        /// Bounded, redacted excerpt of output.
        output: Option<String>,
    },
}

/// A step kind that can run.
pub(crate) trait Step {
    /// Runs one attempt. Must be cancel-safe by drop.
    async fn execute(&self, ctx: &StepContext<'_>) -> StepOutcome;
}

/// How many windows a monitor watches: its duration in whole intervals, at least one.
pub fn monitor_windows(monitor: &crate::runbook::model::Monitor) -> u32 {
    monitor::window_count(monitor.duration, monitor.interval.max(Duration::from_millis(1)))
}

/// Whether a step of this kind may be undone by the kind itself, without an `undo:` (a
/// plain-style `migrate` by its down files).
pub fn has_own_undo(kind: &StepKind) -> bool {
    match kind {
        StepKind::Migrate(m) => migrate::has_own_undo(m),
        _ => false,
    }
}

/// The kind's own undo of a completed step, for the ledger, from what the step reported.
pub fn own_undo(step: &crate::runbook::model::Step, output: Option<&str>) -> Option<UndoEntry> {
    match &step.kind {
        StepKind::Migrate(m) => migrate::own_undo(m, &step.id, output),
        _ => None,
    }
}

/// Runs the kind's own undo of a completed step, as its ledger entry recorded it.
pub async fn revert(kind: &StepKind, undo: &UndoEntry, ctx: &StepContext<'_>) -> StepOutcome {
    match kind {
        StepKind::Migrate(m) => undo_plain(m, &undo.migrations, ctx).await.into_outcome(ctx),
        other => StepOutcome::Failed {
            reason: format!("a `{}` step has no undo of its own", other.name()),
            output: None,
        },
    }
}

/// Runs one attempt of a step kind. Gate kinds (`approval`, `manual`) are decided by the
/// engine from the journal and never reach here.
pub async fn execute(kind: &StepKind, ctx: &StepContext<'_>) -> StepOutcome {
    match kind {
        StepKind::Shell(s) => s.execute(ctx).await,
        StepKind::Http(h) => h.execute(ctx).await,
        StepKind::Wait(w) => w.execute(ctx).await,
        StepKind::Notify(n) => n.execute(ctx).await,
        StepKind::Sql(q) => q.execute(ctx).await,
        StepKind::Migrate(m) => m.execute(ctx).await,
        StepKind::Backup(b) => b.execute(ctx).await,
        StepKind::Rls(r) => r.execute(ctx).await,
        // They report as they go: the engine runs them through `execute_live`.
        StepKind::RollingRestart(_) | StepKind::Monitor(_) => StepOutcome::Failed {
            reason: format!("`{}` needs the engine's progress channel", kind.name()),
            output: None,
        },
        StepKind::Approval(_) | StepKind::Manual(_) => StepOutcome::Failed {
            reason: format!("`{}` is a gate: the engine decides it from the journal", kind.name()),
            output: None,
        },
    }
}
