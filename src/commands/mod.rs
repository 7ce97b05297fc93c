//! One file per subcommand: turn command-line input into plain options and call the rest.

mod approval_signature;
pub mod approve;
pub mod completions;
mod conclude;
mod confirm;
pub mod journal;
mod journal_path;
mod kill_orphans;
mod latest;
mod new_run;
mod revoke;
pub mod rollback;
mod rollback_target;
pub mod run;
pub mod schema;
mod session;
pub mod status;
mod ui;
pub mod unlock;
pub mod validate;
pub mod verify;

pub use journal_path::{holder, journal_for, print_contacts};
pub use session::refuse_retired_clock;
pub use ui::{Ui, environment, find_runbook, load_runbook, report_journal_error, report_load_error};
