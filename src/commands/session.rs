//! What `run` and `rollback` share: the clock said aloud, the journal locked by this
//! process, and the engine driven with the reporter the output format asks for.

use std::collections::BTreeMap;
use std::io::IsTerminal;

use crate::commands::{Ui, holder, journal_for};
use crate::engine::{Cancel, Plan, RunError, RunOptions, RunOutcome, identity};
use crate::event::PlannedPhase;
use crate::exit::Exit;
use crate::journal::LockedJournal;
use crate::report::{HumanReporter, JsonReporter};

/// `DEPLOYCTL_NOW` moved the clock silently, even in production; it is refused now.
pub fn refuse_retired_clock(ui: &Ui, env: &BTreeMap<String, String>) -> Option<Exit> {
    let var = crate::clock::RETIRED_NOW_VAR;
    env.get(var)?;
    ui.err(&format!("deployctl: {var} is set, but deployctl no longer reads it"));
    ui.err(
        "  hint: unset it; to pretend another time in a rehearsal or test, pass `--now TIME` (printed and journaled)",
    );
    Some(Exit::Invalid)
}

/// Says that this invocation pretends another time, if it does.
pub fn say_clock(ui: &Ui) {
    if ui.clock.is_pretended() {
        ui.err(&format!(
            "note: pretending it is {} (--now); the real time is {}; a run journals this",
            ui.clock.now().format("%Y-%m-%d %H:%M:%S UTC"),
            chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC")
        ));
    }
}

/// The run options of this invocation.
pub fn run_options(ui: &Ui, plan: &Plan<'_>, operator: Option<&str>, overrides: Overrides) -> RunOptions {
    RunOptions {
        operator: identity::operator(operator),
        host: identity::host(),
        allow_changed: overrides.allow_changed,
        runbook_file: plan.loaded.path.clone(),
        ignore_window: overrides.ignore_window,
        clock: ui.clock,
    }
}

/// The overrides an operator may give `run` or `rollback`.
#[derive(Debug, Clone, Copy)]
pub struct Overrides {
    /// `--allow-changed`.
    pub allow_changed: bool,
    /// `--ignore-window` (a rollback is never held back by the window).
    pub ignore_window: bool,
}

/// Which engine entry point to drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drive {
    /// `deployctl run`.
    Run,
    /// `deployctl rollback`.
    Rollback,
}

/// Locks the runbook's journal as this process, drives the engine with the reporter of
/// `ui`, and releases the lock. `Err` is the exit of a journal that could not be locked.
pub async fn drive(
    ui: &Ui,
    plan: &Plan<'_>,
    options: &RunOptions,
    drive: Drive,
) -> Result<Result<RunOutcome, RunError>, Exit> {
    let loaded = plan.loaded;
    let journal = journal_for(ui, &loaded.path, &loaded.runbook.name);
    let command = loaded
        .redactor
        .mask(&std::env::args().collect::<Vec<_>>().join(" "))
        .into_owned();
    let mut locked = match journal.lock(&holder(command, &options.operator)).await {
        Ok(lock) => lock,
        Err(e) => return Err(crate::commands::report_journal_error(ui, &e)),
    };
    let cancel = Cancel::on_signals();
    if let Some(lost) = locked.lost() {
        cancel.on_lost_lock(lost);
    }
    let result = if ui.json() {
        engine(plan, options, &mut JsonReporter, cancel, &mut locked, drive).await
    } else {
        let live = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        let phases = reported_phases(plan, &mut locked, drive).await;
        let mut reporter = HumanReporter::new(&phases, live, ui.verbose, ui.quiet);
        let result = engine(plan, options, &mut reporter, cancel, &mut locked, drive).await;
        drop(reporter);
        result
    };
    locked.release().await;
    Ok(result)
}

async fn engine<O: crate::engine::Observer>(
    plan: &Plan<'_>,
    options: &RunOptions,
    observer: &mut O,
    cancel: Cancel,
    journal: &mut LockedJournal,
    drive: Drive,
) -> Result<RunOutcome, RunError> {
    match drive {
        Drive::Run => crate::engine::execute(plan, options, observer, cancel, journal).await,
        Drive::Rollback => crate::engine::roll_back(plan, options, observer, cancel, journal).await,
    }
}

/// The phases the human reporter titles steps by: the plan's, and for a rollback that
/// resumes (it journals no new `rollback_started`) the rollback steps journaled before.
async fn reported_phases(plan: &Plan<'_>, journal: &mut LockedJournal, drive: Drive) -> Vec<PlannedPhase> {
    let mut phases = plan.journaled();
    if drive == Drive::Rollback
        && let Ok(read) = journal.read().await
    {
        phases.push(PlannedPhase {
            id: "rollback".into(),
            title: "Rollback".into(),
            steps: crate::journal::latest_run(read.entries)
                .and_then(|run| run.rollback.map(|r| r.steps))
                .unwrap_or_default(),
        });
    }
    phases
}
