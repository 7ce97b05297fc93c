//! The engine: from a valid runbook and its journal to what runs, in what order, and how it
//! ended. It emits events to an [`Observer`] and never prints.

mod attempt;
mod cancel;
pub mod clock;
pub mod escalation;
mod executor;
pub mod feasibility;
mod gate;
pub mod identity;
mod notify;
mod observer;
mod outcome;
pub mod plan;
mod probe;
mod resume;
mod retry;
mod rollback;
mod target;
pub mod window;
mod window_gate;

pub use cancel::Cancel;
pub use executor::{RunOptions, default_journal, execute, inputs_digest, journal_plan, roll_back};
pub use observer::Observer;
pub use outcome::{RunError, RunOutcome};
pub use plan::{Plan, PlanPhase, PlanStep, ProbeMode, Verdict, plan};
pub use probe::probe;
pub use rollback::{rollback_plan, rollback_step};
pub use target::describe;
