//! `deployctl run RUNBOOK [--dry-run [--offline]]`: plan, or execute and journal.

use std::collections::BTreeMap;

use crate::cli::RunArgs;
use crate::commands::conclude::conclude;
use crate::commands::session::{Drive, Overrides, drive, run_options, say_clock};
use crate::commands::{Ui, find_runbook, load_runbook};
use crate::engine::window::WindowState;
use crate::engine::{Plan, ProbeMode, probe};
use crate::exit::Exit;
use crate::report;
use crate::report::json_lines::{diagnostic_line, plan_lines};
use crate::runbook::Loaded;

/// Runs a runbook (or prints its plan with --dry-run).
pub async fn run(ui: &Ui, env: &BTreeMap<String, String>, args: &RunArgs) -> Exit {
    let path = find_runbook(ui, &args.runbook);
    let Some(loaded) = load_runbook(ui, env, &path) else {
        return Exit::Invalid;
    };
    say_clock(ui);
    if args.dry_run {
        return dry_run(ui, &loaded, args).await;
    }
    for d in &loaded.warnings {
        ui.err(&loaded.redactor.mask(&d.display(&path).to_string()));
    }
    if let Err(exit) = super::new_run::allow_new_run(ui, &loaded, &path, args.new).await {
        return exit;
    }
    let plan = Plan::new(&loaded, ProbeMode::Offline);
    let overrides = Overrides {
        allow_changed: args.allow_changed,
        ignore_window: args.ignore_window,
    };
    let options = run_options(ui, &plan, args.operator.as_deref(), overrides);
    match drive(ui, &plan, &options, Drive::Run).await {
        Ok(result) => conclude(ui, &loaded, result),
        Err(exit) => exit,
    }
}

async fn dry_run(ui: &Ui, loaded: &Loaded, args: &RunArgs) -> Exit {
    let mode = if args.offline {
        ProbeMode::Offline
    } else {
        ProbeMode::Online
    };
    let mut plan = Plan::new(loaded, mode);
    if mode == ProbeMode::Online {
        probe(&mut plan, ui.clock).await;
    }
    let file = loaded.path.display().to_string();
    let window = window_now(ui, loaded);
    if ui.json() {
        for d in &loaded.warnings {
            ui.line(&diagnostic_line(&file, d, &loaded.redactor));
        }
        let state = window.as_ref().map(|(open, said)| (*open, said.as_str()));
        for line in plan_lines(&plan, &file, state) {
            ui.line(&line);
        }
    } else {
        for d in &loaded.warnings {
            ui.err(&loaded.redactor.mask(&d.display(&loaded.path).to_string()));
        }
        let text = report::plan::human(&plan, &file);
        ui.out(text.trim_end());
        if let Some((_, said)) = &window {
            ui.out(&format!("window: {said}"));
        }
        if ui.github() {
            annotate(ui, loaded, &plan, &file);
        }
    }
    // A probe that failed means a step would fail now: not a clean dry-run.
    if plan.failed_probes() > 0 {
        Exit::StepFailed
    } else {
        Exit::Success
    }
}

/// Whether the window is open now, in words; `None` without a window.
fn window_now(ui: &Ui, loaded: &Loaded) -> Option<(bool, String)> {
    let window = loaded.runbook.window.as_ref()?;
    let stamp = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    Some(match crate::engine::window::state(window, ui.clock.now()) {
        WindowState::Open { closes } => (true, format!("open now, until {}", stamp(closes))),
        WindowState::Closed { why, next } => (
            false,
            format!(
                "closed now ({why}); opens next at {}",
                next.map_or("-".to_string(), stamp)
            ),
        ),
    })
}

/// The dry-run's warnings and failed probes as GitHub annotations.
fn annotate(ui: &Ui, loaded: &Loaded, plan: &Plan<'_>, file: &str) {
    for d in &loaded.warnings {
        ui.data(&report::github::diagnostic(file, d, &loaded.redactor));
    }
    for step in plan.all_steps() {
        if let Some(found) = &step.probe_failed {
            let title = format!("step {} would likely fail now", step.id);
            let at = step.step().pos;
            ui.data(&report::github::annotation(
                "error", file, at.line, at.col, &title, found,
            ));
        }
    }
}
