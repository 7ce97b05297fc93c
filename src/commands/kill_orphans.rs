//! `deployctl unlock RUNBOOK --kill-orphans`: kill the process groups a killed run left
//! running, so that the run can be resumed without running a step twice at once.
//!
//! Only groups the journal names, on this host, whose leader (if it still lives) is the one
//! journaled (see [`crate::engine::orphans`]); each kill is journaled with who asked.

use crate::commands::{Ui, report_journal_error};
use crate::engine::{identity, orphans};
use crate::event::{Entry, Event};
use crate::exit::Exit;
use crate::journal::{JournalError, JournalTarget, latest_run};
use crate::report::json_lines::JsonLine;

/// Kills the latest run's living orphans under the journal's lock.
pub async fn kill_orphans(ui: &Ui, journal: &JournalTarget, operator: &str) -> Exit {
    let me = super::holder("deployctl unlock --kill-orphans".into(), operator);
    let mut locked = match journal.lock(&me).await {
        Ok(locked) => locked,
        Err(e) => return report_journal_error(ui, &e),
    };
    let result = kill_all(ui, &mut locked, operator).await;
    locked.release().await;
    match result {
        Ok(exit) => exit,
        Err(e) => report_journal_error(ui, &e),
    }
}

async fn kill_all(ui: &Ui, locked: &mut crate::journal::LockedJournal, operator: &str) -> Result<Exit, JournalError> {
    let Some(run) = latest_run(locked.read().await?.entries) else {
        ui.out("the journal holds no run: no process groups to kill");
        return Ok(Exit::Success);
    };
    let (living, elsewhere) = orphans::find(&run, &identity::host());
    for p in &elsewhere {
        ui.err(&format!(
            "warning: step `{}` started process group {} on host {}: run `deployctl unlock --kill-orphans` there",
            p.step, p.pgid, p.host
        ));
    }
    if living.is_empty() {
        ui.out(&format!(
            "run {}: no process group of a step still runs here",
            run.run_id
        ));
        return Ok(Exit::Success);
    }
    locked.open_for_append()?;
    let mut exit = Exit::Success;
    for p in living {
        if let Err(why) = orphans::kill(p).await {
            ui.err(&format!("step `{}`: {why}", p.step));
            exit = Exit::Invalid;
            continue;
        }
        let event = Event::OrphanKilled {
            step: p.step.clone(),
            pgid: p.pgid,
            by: operator.to_string(),
        };
        let entry = Entry {
            at: ui.clock.now(),
            run_id: run.run_id.clone(),
            event,
        };
        locked.append(&entry).await?;
        if ui.json() {
            ui.line(&JsonLine::OrphanKilled {
                run_id: run.run_id.clone(),
                step: p.step.clone(),
                pgid: p.pgid,
            });
        } else {
            ui.out(&format!(
                "killed process group {} of step `{}` (run {}, started {})",
                p.pgid,
                p.step,
                run.run_id,
                p.at.format("%Y-%m-%d %H:%M:%S UTC")
            ));
        }
    }
    Ok(exit)
}
