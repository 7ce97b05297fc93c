//! The one trait every step kind implements, and the one `match` that dispatches to it.
//!
//! A kind's module owns everything about it: the line the plan shows, how sure a dry-run
//! can be of it, its read-only probe, one attempt, and its own undo when it has one.
//! Adding a kind touches the runbook's raw and model types and one module here, plus an arm
//! of [`dispatch!`]. The engine owns time, retries, cancellation and the journal.

use super::context::StepContext;
use super::outcome::{Failure, StepOutcome};
use crate::event::UndoEntry;
use crate::runbook::Runbook;
use crate::runbook::model::{Step, StepKind};

/// How sure a dry-run is about a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// A read-only probe ran against the target.
    Verified,
    /// Modelled; nothing was touched.
    Simulated,
    /// A shell command: its effect cannot be predicted.
    Opaque,
}

/// A step kind.
pub(crate) trait Kind {
    /// What it acts on, in one line, resolved (`${run.id}` as written); callers mask it.
    fn describe(&self, runbook: &Runbook) -> String;

    /// How sure the dry-run is of it before any probe.
    fn verdict(&self) -> Verdict {
        Verdict::Simulated
    }

    /// A read-only look at its target for the online dry-run (`None`: nothing to look at).
    /// It never changes anything.
    async fn probe(&self, ctx: &StepContext<'_>) -> Option<Result<String, Failure>> {
        let _ = ctx;
        None
    }

    /// One attempt. Must be cancel-safe by drop: the engine drops it on timeout or signal.
    async fn execute(&self, ctx: &StepContext<'_>) -> StepOutcome;

    /// Whether a step of this kind may be undone by the kind itself, without an `undo:`.
    fn has_own_undo(&self) -> bool {
        false
    }

    /// The ledger entry of the kind's own undo of a completed step `id`, from what it
    /// reported (`None`: nothing to undo this way).
    fn own_undo(&self, id: &str, output: Option<&str>) -> Option<UndoEntry> {
        let _ = (id, output);
        None
    }

    /// Runs the kind's own undo as its ledger entry recorded it.
    async fn revert(&self, undo: &UndoEntry, ctx: &StepContext<'_>) -> StepOutcome {
        let _ = (undo, ctx);
        StepOutcome::failed(format!("`{}` has no undo of its own", ctx.step_id))
    }
}

/// The one `match` over the kinds: `dispatch!(kind, k => k.method(..))`.
macro_rules! dispatch {
    ($kind:expr, $k:ident => $call:expr) => {
        match $kind {
            StepKind::Shell($k) => $call,
            StepKind::Http($k) => $call,
            StepKind::Sql($k) => $call,
            StepKind::Migrate($k) => $call,
            StepKind::Backup($k) => $call,
            StepKind::Restore($k) => $call,
            StepKind::Rls($k) => $call,
            StepKind::Approval($k) => $call,
            StepKind::Manual($k) => $call,
            StepKind::Wait($k) => $call,
            StepKind::Notify($k) => $call,
            StepKind::RollingRestart($k) => $call,
            StepKind::Monitor($k) => $call,
            StepKind::Query($k) => $call,
        }
    };
}

/// What a step acts on, in one line ([`Kind::describe`]).
pub fn describe(kind: &StepKind, runbook: &Runbook) -> String {
    dispatch!(kind, k => k.describe(runbook))
}

/// How sure the dry-run is of a step before any probe ([`Kind::verdict`]).
pub fn verdict(kind: &StepKind) -> Verdict {
    dispatch!(kind, k => k.verdict())
}

/// The dry-run's read-only probe of a step ([`Kind::probe`]).
pub async fn probe(kind: &StepKind, ctx: &StepContext<'_>) -> Option<Result<String, Failure>> {
    dispatch!(kind, k => k.probe(ctx).await)
}

/// One attempt of a step ([`Kind::execute`]).
pub async fn execute(kind: &StepKind, ctx: &StepContext<'_>) -> StepOutcome {
    dispatch!(kind, k => k.execute(ctx).await)
}

/// Whether the kind undoes its own steps ([`Kind::has_own_undo`]).
pub fn has_own_undo(kind: &StepKind) -> bool {
    dispatch!(kind, k => k.has_own_undo())
}

/// The ledger entry of a completed step's own undo ([`Kind::own_undo`]).
pub fn own_undo(step: &Step, output: Option<&str>) -> Option<UndoEntry> {
    dispatch!(&step.kind, k => k.own_undo(&step.id, output))
}

/// Runs a completed step's own undo ([`Kind::revert`]).
pub async fn revert(kind: &StepKind, undo: &UndoEntry, ctx: &StepContext<'_>) -> StepOutcome {
    dispatch!(kind, k => k.revert(undo, ctx).await)
}

/// A path as plans show it: relative to the runbook's workdir when inside it.
pub(super) fn rel_path(path: &std::path::Path, base: &std::path::Path) -> String {
    match path.strip_prefix(base) {
        Ok(p) if p.as_os_str().is_empty() => ".".into(),
        Ok(p) => p.display().to_string(),
        Err(_) => path.display().to_string(),
    }
}
