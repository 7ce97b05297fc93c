//! One file per subcommand: turn command-line input into plain options and call the rest.

pub mod run;
pub mod schema;
mod ui;
pub mod validate;

pub use ui::{Ui, environment, report_load_error};
