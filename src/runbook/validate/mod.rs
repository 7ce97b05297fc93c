//! Checks a parsed runbook and builds the typed model, collecting every problem.

mod baseline;
mod channel;
mod check;
mod choice;
mod context;
mod kind;
mod kinds;
mod lint;
mod monitor;
mod paths;
mod prometheus;
mod readiness;
mod restores;
mod rls_through;
mod runbook;
mod shell;
mod step;
mod window;

pub use context::Inputs;
pub use runbook::validate;
