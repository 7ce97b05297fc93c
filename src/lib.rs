//! deployctl: a deployment runbook executor.
//!
//! Data flows one way: `cli` → `commands` → `runbook::load` → `engine::plan` → `report`.
//! The engine decides, reporters render, and only `main` turns the outcome into a status.

pub mod cli;
mod commands;
pub mod engine;
pub mod exit;
pub mod redact;
pub mod report;
pub mod runbook;

use cli::{Cli, Command};
pub use exit::Exit;

/// Runs one invocation to its outcome. Errors are printed here; `main` only maps the code.
pub async fn run(cli: Cli) -> Exit {
    let ui = commands::Ui::new(&cli.global);
    let env = commands::environment();
    match cli.command {
        Command::Run(args) => commands::run::run(&ui, &env, &args),
        Command::Validate(args) => commands::validate::validate(&ui, &env, &args),
        Command::Schema => commands::schema::schema(&ui),
    }
}
