//! Checks a parsed runbook and builds the typed model, collecting every problem.

mod choice;
mod context;
mod monitor;
mod paths;
mod readiness;
mod runbook;
mod shell;
mod step;

pub use context::Inputs;
pub use runbook::validate;
