//! `deployctl rollback RUNBOOK [--dry-run]`: the rollback procedure of the latest run, by
//! hand: the undo ledger in reverse, then the runbook's `rollback` steps.
//!
//! It takes the journal lock like `run` (a live run makes it exit 6), refuses a run that was
//! already rolled back, and resumes a rollback that was cut off without re-running any
//! rollback step already done. Without a runbook it rolls back the latest run of the
//! journal written last, once confirmed ([`super::rollback_target`]).

use std::collections::BTreeMap;

use crate::cli::RollbackArgs;
use crate::commands::conclude::conclude;
use crate::commands::session::{Drive, Overrides, drive, run_options, say_clock};
use crate::commands::{Ui, journal_for, load_runbook};
use crate::engine::{Plan, ProbeMode, rollback_plan};
use crate::event::StepStatus;
use crate::exit::Exit;
use crate::journal::{JournalTarget, RunState, StepView, latest_run};
use crate::report::json_lines::{JsonLine, RollbackPlanStep, RollbackWord};
use crate::report::mark::StepMark;

/// Rolls back the latest run (or prints what that would run).
pub async fn rollback(ui: &Ui, env: &BTreeMap<String, String>, args: &RollbackArgs) -> Exit {
    let (chosen_ui, runbook) = match &args.runbook {
        Some(path) => (ui.clone(), path.clone()),
        None => match super::rollback_target::choose(ui, args).await {
            Ok(chosen) => chosen,
            Err(exit) => return exit,
        },
    };
    let ui = &chosen_ui;
    let Some(loaded) = load_runbook(ui, env, &runbook) else {
        return Exit::Invalid;
    };
    say_clock(ui);
    let plan = Plan::new(&loaded, ProbeMode::Offline);
    if args.dry_run {
        let journal = journal_for(ui, &runbook, &loaded.runbook.name);
        return dry_run(ui, &plan, &journal).await;
    }
    let overrides = Overrides {
        allow_changed: args.allow_changed,
        // A rollback is never held back by the window.
        ignore_window: true,
    };
    let options = run_options(ui, &plan, args.operator.as_deref(), overrides);
    match drive(ui, &plan, &options, Drive::Rollback).await {
        Ok(result) => conclude(ui, &loaded, result),
        Err(exit) => exit,
    }
}

/// Prints the rollback steps in order, ticking those already done. Writes nothing.
async fn dry_run(ui: &Ui, plan: &Plan<'_>, journal: &JournalTarget) -> Exit {
    let run = match journal.read().await {
        Ok(read) => latest_run(read.entries),
        Err(e) => return crate::commands::report_journal_error(ui, &e),
    };
    let steps = match &run {
        Some(r) => r
            .rollback
            .as_ref()
            .map_or_else(|| rollback_plan(r, plan), |rb| rb.steps.clone()),
        None => plan.rollback.iter().map(|s| s.journaled()).collect(),
    };
    let steps: Vec<RollbackPlanStep> = steps
        .into_iter()
        .map(|step| RollbackPlanStep {
            mark: match run.as_ref().and_then(|r| r.step(&step.id)).map(|s| s.view) {
                Some(StepView::Finished(StepStatus::Done)) => StepMark::Done,
                Some(StepView::Finished(StepStatus::Failed)) => StepMark::Failed,
                Some(_) => StepMark::Interrupted,
                None => StepMark::Pending,
            },
            id: step.id,
            title: step.title,
            kind: step.kind,
        })
        .collect();
    let state = match &run {
        None => RollbackWord::NoRun,
        Some(r) => match &r.rollback {
            Some(_) if !r.rolling_back() => RollbackWord::RolledBack,
            Some(_) => RollbackWord::RollingBack,
            None => RollbackWord::Ready,
        },
    };
    if ui.json() {
        ui.line(&JsonLine::RollbackPlan {
            run_id: run.map(|r| r.run_id),
            state,
            steps,
        });
        return Exit::Success;
    }
    ui.out(&headline(run.as_ref()));
    if steps.is_empty() {
        ui.out("  (nothing: no completed step has an undo and the runbook has no `rollback` steps)");
    }
    for (n, step) in steps.iter().enumerate() {
        let mark = step.mark.glyph();
        ui.out(&format!(
            "  {mark} {}. {}  {} ({})",
            n + 1,
            step.id,
            step.title,
            step.kind
        ));
    }
    Exit::Success
}

/// What `deployctl rollback` would do with the latest run, in words.
fn headline(run: Option<&RunState>) -> String {
    match run {
        None => "no run in the journal: a rollback now would run only the runbook's `rollback` steps:".into(),
        Some(r) => match &r.rollback {
            Some(rb) if !r.rolling_back() => format!(
                "run {} was already rolled back ({}); `deployctl rollback` would refuse:",
                r.run_id, rb.reason
            ),
            Some(rb) => format!(
                "run {} is rolling back ({}); `deployctl rollback` resumes it:",
                r.run_id, rb.reason
            ),
            None => format!(
                "rollback of run {} (undo of completed steps, last first, then the runbook's `rollback` steps):",
                r.run_id
            ),
        },
    }
}
