//! Checks a parsed runbook and builds the typed model, collecting every problem.

mod baseline;
mod choice;
mod context;
mod monitor;
mod prometheus;
mod readiness;
mod runbook;
mod shell;
mod step;

pub use context::Inputs;
pub use runbook::validate;
