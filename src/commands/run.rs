//! `deployctl run RUNBOOK [--dry-run [--offline]]`: plan, or execute and journal.

use std::collections::BTreeMap;
use std::io::IsTerminal;

use serde_json::json;

use crate::cli::RunArgs;
use crate::commands::{Ui, journal_for, load_runbook, print_contacts};
use crate::engine::escalation::Problem;
use crate::engine::window::WindowState;
use crate::engine::{
    Cancel, ProbeMode, RunError, RunOptions, RunOutcome, execute, identity, journal_plan, plan, probe,
};
use crate::exit::Exit;
use crate::journal::JournalError;
use crate::report::{self, HumanReporter, JsonReporter};
use crate::runbook::Loaded;

/// Runs a runbook (or prints its plan with --dry-run).
pub async fn run(ui: &Ui, env: &BTreeMap<String, String>, args: &RunArgs) -> Exit {
    let Some(loaded) = load_runbook(ui, env, &args.runbook) else {
        return Exit::Invalid;
    };
    if args.dry_run {
        return dry_run(ui, &loaded, args).await;
    }
    for d in &loaded.warnings {
        ui.err(&loaded.redactor.mask(&d.display(&args.runbook).to_string()));
    }
    let operator = identity::operator(args.operator.as_deref());
    let host = identity::host();
    let journal = journal_for(ui, &args.runbook, &loaded.runbook.name);
    let holder = super::holder(
        loaded
            .redactor
            .mask(&std::env::args().collect::<Vec<_>>().join(" "))
            .into_owned(),
        &operator,
    );
    let mut locked = match journal.lock(&holder).await {
        Ok(lock) => lock,
        Err(e) => return journal_error(ui, &e),
    };
    let run_options = RunOptions {
        operator,
        host,
        allow_changed: args.allow_changed,
        runbook_file: args.runbook.clone(),
        ignore_window: args.ignore_window,
    };
    let cancel = Cancel::on_signals();
    let result = if ui.json() {
        execute(&loaded, &run_options, &mut JsonReporter, cancel, &mut locked).await
    } else {
        let live = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        let mut reporter = HumanReporter::new(&journal_plan(&loaded), live, ui.verbose, ui.quiet);
        let result = execute(&loaded, &run_options, &mut reporter, cancel, &mut locked).await;
        drop(reporter);
        result
    };
    locked.release().await;
    conclude(ui, &loaded, result)
}

/// A run's or rollback's result as messages and an exit code.
pub(super) fn conclude(ui: &Ui, loaded: &Loaded, result: Result<RunOutcome, RunError>) -> Exit {
    match result {
        Ok(outcome) => finish(ui, loaded, outcome),
        Err(RunError::Journal(e)) => journal_error(ui, &e),
        Err(e) => {
            ui.err(&format!("deployctl: {e}"));
            ui.err(&format!("  hint: {}", e.hint()));
            match e {
                // Waiting for a person to finish the rollback, like any other pause.
                RunError::RollingBack { .. } => Exit::Paused,
                _ => Exit::Invalid,
            }
        }
    }
}

/// The one place a run's outcome becomes an exit code.
fn finish(ui: &Ui, loaded: &Loaded, outcome: RunOutcome) -> Exit {
    match outcome {
        RunOutcome::Done => Exit::Success,
        RunOutcome::Failed { step, reason } => {
            ui.err(&format!("step `{step}` failed: {reason}"));
            ui.err("  hint: fix the cause and run again to retry it, or `deployctl rollback`");
            print_contacts(ui, &loaded.runbook, Problem::Step, Some(&step));
            Exit::StepFailed
        }
        RunOutcome::Paused { step, reason, hint } => {
            ui.err(&format!("paused at `{step}`: {reason}"));
            ui.err(&format!("  hint: {hint}"));
            print_contacts(ui, &loaded.runbook, Problem::Gate, Some(&step));
            Exit::Paused
        }
        RunOutcome::WindowClosed { reason, hint } => {
            ui.err(&format!("not running: {reason}"));
            ui.err(&format!("  hint: {hint}"));
            Exit::Paused
        }
        RunOutcome::RolledBack { reason, .. } => {
            ui.err(&format!("rolled back: {reason}"));
            ui.err("  hint: `deployctl status` shows what ran and why; the next `deployctl run` starts a new run");
            Exit::RolledBack
        }
        RunOutcome::RollbackFailed { step, reason } => {
            ui.err(&format!("ROLLBACK FAILED at `{step}`: {reason}"));
            ui.err("  hint: page the contacts below; fix the cause, then `deployctl rollback` retries from this step");
            print_contacts(ui, &loaded.runbook, Problem::RollbackFailed, Some(&step));
            Exit::RollbackFailed
        }
        RunOutcome::Interrupted { step, signal } => {
            let during = step
                .map(|s| format!(" during `{s}`, which is journaled as interrupted"))
                .unwrap_or_default();
            ui.err(&format!("stopped by {signal}{during}"));
            ui.err("  hint: `deployctl run` again resumes; `deployctl status` shows where it stands");
            Exit::Interrupted
        }
    }
}

pub(super) fn journal_error(ui: &Ui, e: &JournalError) -> Exit {
    ui.err(&format!("deployctl: {e}"));
    ui.err(&format!("  hint: {}", e.hint()));
    match e {
        JournalError::Locked { .. } => Exit::Locked,
        JournalError::Io { .. }
        | JournalError::Corrupt { .. }
        | JournalError::Version { .. }
        | JournalError::Database { .. }
        | JournalError::Schema { .. } => Exit::Invalid,
    }
}

async fn dry_run(ui: &Ui, loaded: &Loaded, args: &RunArgs) -> Exit {
    let mode = if args.offline {
        ProbeMode::Offline
    } else {
        ProbeMode::Online
    };
    let mut plan = plan(loaded, mode);
    if mode == ProbeMode::Online {
        probe(&mut plan, loaded).await;
    }
    let file = args.runbook.display().to_string();
    if ui.json() {
        for d in &loaded.warnings {
            ui.json_line(&json!({ "type": "diagnostic", "file": file, "line": d.pos.line, "col": d.pos.col, "severity": "warning", "message": loaded.redactor.mask(&d.message), "hint": d.hint }));
        }
        let mut lines = report::plan::json_lines(&plan, &file);
        // The window's state goes just before the summary, which stays last.
        if let Some(state) = window_now(loaded) {
            let at = lines.len().saturating_sub(1);
            lines.insert(at, json!({ "type": "window", "open": state.0, "state": state.1 }));
        }
        for line in lines {
            ui.json_line(&line);
        }
    } else {
        for d in &loaded.warnings {
            ui.err(&loaded.redactor.mask(&d.display(&args.runbook).to_string()));
        }
        let text = report::plan::human(&plan, &file);
        ui.out(text.trim_end());
    }
    if let (false, Some((_, said))) = (ui.json(), window_now(loaded)) {
        ui.out(&format!("window: {said}"));
    }
    // A probe that failed means a step would fail now: not a clean dry-run.
    if plan.failed_probes() > 0 {
        Exit::StepFailed
    } else {
        Exit::Success
    }
}

/// Whether the window is open now, in words; `None` without a window.
fn window_now(loaded: &Loaded) -> Option<(bool, String)> {
    let window = loaded.runbook.window.as_ref()?;
    let stamp = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    Some(
        match crate::engine::window::state(window, crate::engine::clock::now()) {
            WindowState::Open { closes } => (true, format!("open now, until {}", stamp(closes))),
            WindowState::Closed { why, next } => (
                false,
                format!(
                    "closed now ({why}); opens next at {}",
                    next.map_or("-".to_string(), stamp)
                ),
            ),
        },
    )
}
