//! deployctl: a deployment runbook executor.
//!
//! Data flows one way: `cli` → `commands` → `runbook::load` → `engine` → `steps` → `event`
//! → `journal` (fsync) → `report`.
//! The engine decides, reporters render, and only `main` turns the outcome into a status.

pub mod cli;
pub(crate) mod clock;
mod commands;
pub mod engine;
pub(crate) mod event;
pub mod exit;
pub mod journal;
pub(crate) mod people;
mod pg_error;
pub(crate) mod redact;
pub(crate) mod report;
pub mod runbook;
pub(crate) mod signing;
pub(crate) mod steps;

use cli::{Cli, Command};
pub use exit::Exit;

/// Runs one invocation to its outcome. Errors are printed here; `main` only maps the code.
pub async fn run(cli: Cli) -> Exit {
    report::paint::init(cli.global.no_color);
    let ui = commands::Ui::new(&cli.global);
    let env = commands::environment();
    if let Some(exit) = commands::refuse_retired_clock(&ui, &env) {
        return exit;
    }
    let exit = match cli.command {
        Command::Run(args) => commands::run::run(&ui, &env, &args).await,
        Command::Validate(args) => commands::validate::validate(&ui, &env, &args),
        Command::Status(args) => commands::status::status(&ui, &args).await,
        Command::Approve(args) => commands::approve::approve(&ui, &env, &args).await,
        Command::Verify(args) => commands::verify::verify(&ui, &env, &args).await,
        Command::Rollback(args) => commands::rollback::rollback(&ui, &env, &args).await,
        Command::Unlock(args) => commands::unlock::unlock(&ui, &args).await,
        Command::Schema => commands::schema::schema(&ui),
        Command::Journal(command) => commands::journal::journal(&ui, &command).await,
        Command::Completions(args) => commands::completions::completions(&ui, &args),
        Command::Man => commands::completions::man(&ui),
    };
    ui.finish(exit)
}
