//! The engine: from a valid runbook and its journal to what runs, in what order, and how it
//! ended. It emits events to an [`Observer`] and never prints.
//!
//! Theory of operation: [`Plan`] is built once from the loaded runbook; `--dry-run` prints
//! it, and the driver walks it. The driver asks the pure decision function
//! [`next_action`] for one [`Action`] at a time, from the plan, the run as journaled so far
//! and the moment, performs it (journaling what happened through the recorder, which owns
//! durability), and tells the consumers. The files import each other one way (a test
//! checks it): `invoke` → `driver` → `attempt`, `decide` → `approval`, `window_gate` →
//! `plan`, `action`.

mod action;
mod approval;
mod attempt;
mod background;
mod cancel;

mod decide;
mod depends;
mod driver;
pub mod escalation;
pub mod feasibility;
mod finish;
pub mod identity;
mod invoke;
mod notice;
mod observer;
mod opening;
mod options;
pub(crate) mod orphans;
mod outcome;
mod parts;
pub mod plan;
mod probe;
pub mod proof;
mod recorder;
mod request;
mod retry;
mod rollback_plan;
#[cfg(test)]
mod tests;
mod unchanged;
mod webhooks;
pub mod window;
mod window_gate;

pub use crate::clock::Clock;
pub use action::{Action, Invocation, Moment};
pub use approval::{Approver, GateState, Rules, gate_state, judge, operator_named};
pub use cancel::Cancel;
pub use decide::next_action;
pub use invoke::{execute, roll_back};
pub use notice::Notice;
pub use observer::Observer;
pub use options::RunOptions;
pub use outcome::{RunError, RunOutcome};
pub use plan::{Plan, PlanPhase, PlanStep, ProbeMode, Verdict};
pub use probe::probe;
pub use rollback_plan::rollback_plan;

use std::path::{Path, PathBuf};

/// The default journal: `.deployctl/<name>.jsonl` next to the runbook.
pub fn default_journal(runbook_file: &Path, name: &str) -> PathBuf {
    runbook_file
        .parent()
        .unwrap_or(Path::new("."))
        .join(".deployctl")
        .join(format!("{name}.jsonl"))
}
