//! `run` when the latest run of the journal is finished starts a whole new deployment, so it
//! is never started by surprise (as Terraform asks before `apply`): on a terminal deployctl
//! asks, showing when and how the last run ended; off a terminal it needs `--new`.

use std::path::Path;

use crate::commands::confirm::{ask, can_ask};
use crate::commands::{Ui, journal_for};
use crate::exit::Exit;
use crate::journal::latest_run;
use crate::report::mark::RunMark;
use crate::runbook::Loaded;

/// `Ok` when the run may go on (nothing finished, `--new`, or the operator said yes); the
/// refusal's exit (2) otherwise, explained on stderr. A journal that cannot be read is left
/// to the lock, which reports it.
pub async fn allow_new_run(ui: &Ui, loaded: &Loaded, path: &Path, new: bool) -> Result<(), Exit> {
    if new {
        return Ok(());
    }
    let journal = journal_for(ui, path, &loaded.runbook.name);
    let Ok(read) = journal.read().await else {
        return Ok(());
    };
    let Some(run) = latest_run(read.entries) else {
        return Ok(());
    };
    let Some((status, _, at)) = run.finished else {
        return Ok(());
    };
    let last = format!(
        "the last run of `{}` ({}, by {}) ended {} at {}",
        run.runbook,
        run.run_id,
        run.operator,
        RunMark::from(status).as_str().replace('_', " "),
        at.format("%Y-%m-%d %H:%M UTC")
    );
    if can_ask() {
        if ask(&format!("{last}. Start a new run (a new deployment)?")) {
            return Ok(());
        }
        ui.err("deployctl run: not started");
        return Err(Exit::Invalid);
    }
    ui.err(&format!("deployctl run: {last}; a new run is a new deployment"));
    ui.err("  hint: pass --new to start it; `deployctl status` shows the last one");
    Err(Exit::Invalid)
}
