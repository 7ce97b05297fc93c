//! `deployctl rollback RUNBOOK [--dry-run]`: the rollback procedure of the latest run, by
//! hand: the undo ledger in reverse, then the runbook's `rollback` steps.
//!
//! It takes the journal lock like `run` (a live run makes it exit 6), refuses a run that was
//! already rolled back, and resumes a rollback that was cut off without re-running any
//! rollback step already done.

use std::collections::BTreeMap;
use std::io::IsTerminal;

use crate::cli::RollbackArgs;
use crate::commands::{Ui, journal_for, load_runbook};
use crate::engine::{Cancel, RunOptions, identity, journal_plan, roll_back, rollback_plan};
use crate::event::{PlannedPhase, StepStatus};
use crate::exit::Exit;
use crate::journal::{JournalTarget, StepView, latest_run};
use crate::report::{HumanReporter, JsonReporter};
use crate::runbook::Loaded;

/// Rolls back the latest run (or prints what that would run).
pub async fn rollback(ui: &Ui, env: &BTreeMap<String, String>, args: &RollbackArgs) -> Exit {
    let Some(loaded) = load_runbook(ui, env, &args.runbook) else {
        return Exit::Invalid;
    };
    let journal = journal_for(ui, &args.runbook, &loaded.runbook.name);
    if args.dry_run {
        return dry_run(ui, &loaded, &journal).await;
    }
    let operator = identity::operator(args.operator.as_deref());
    let holder = super::holder(
        loaded
            .redactor
            .mask(&std::env::args().collect::<Vec<_>>().join(" "))
            .into_owned(),
        &operator,
    );
    let mut locked = match journal.lock(&holder).await {
        Ok(lock) => lock,
        Err(e) => return super::run::journal_error(ui, &e),
    };
    let run_options = RunOptions {
        operator,
        host: identity::host(),
        allow_changed: args.allow_changed,
        runbook_file: args.runbook.clone(),
        // A rollback is never held back by the window.
        ignore_window: true,
    };
    let cancel = Cancel::on_signals();
    let result = if ui.json() {
        roll_back(&loaded, &run_options, &mut JsonReporter, cancel, &mut locked).await
    } else {
        let live = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        let mut plan = journal_plan(&loaded);
        // A resumed rollback journals no new `rollback_started`: give the reporter the titles.
        if let Ok(read) = locked.read().await {
            plan.push(PlannedPhase {
                id: "rollback".into(),
                title: "Rollback".into(),
                steps: latest_run(read.entries)
                    .and_then(|run| run.rollback.map(|r| r.steps))
                    .unwrap_or_default(),
            });
        }
        let mut reporter = HumanReporter::new(&plan, live, ui.verbose, ui.quiet);
        let result = roll_back(&loaded, &run_options, &mut reporter, cancel, &mut locked).await;
        drop(reporter);
        result
    };
    locked.release().await;
    super::run::conclude(ui, &loaded, result)
}

/// Prints the rollback steps in order, ticking those already done. Writes nothing.
async fn dry_run(ui: &Ui, loaded: &Loaded, journal: &JournalTarget) -> Exit {
    let run = match journal.read().await {
        Ok(read) => latest_run(read.entries),
        Err(e) => {
            ui.err(&format!("deployctl: {e}"));
            ui.err(&format!("  hint: {}", e.hint()));
            return Exit::Invalid;
        }
    };
    let steps = run
        .as_ref()
        .and_then(|r| r.rollback.as_ref().map(|rb| rb.steps.clone()))
        .unwrap_or_else(|| rollback_plan(run.as_ref(), loaded));
    match &run {
        None => ui.out("no run in the journal: a rollback now would run only the runbook's `rollback` steps:"),
        Some(r) => match &r.rollback {
            Some(rb) if !r.rolling_back() => ui.out(&format!(
                "run {} was already rolled back ({}); `deployctl rollback` would refuse:",
                r.run_id, rb.reason
            )),
            Some(rb) => ui.out(&format!(
                "run {} is rolling back ({}); `deployctl rollback` resumes it:",
                r.run_id, rb.reason
            )),
            None => ui.out(&format!(
                "rollback of run {} (undo of completed steps, last first, then the runbook's `rollback` steps):",
                r.run_id
            )),
        },
    }
    if steps.is_empty() {
        ui.out("  (nothing: no completed step has an undo and the runbook has no `rollback` steps)");
    }
    for (n, step) in steps.iter().enumerate() {
        let done = run.as_ref().and_then(|r| r.step(&step.id)).map(|s| s.view);
        let mark = match done {
            Some(StepView::Finished(StepStatus::Done)) => "[x]",
            Some(StepView::Finished(StepStatus::Failed)) => "[!]",
            Some(_) => "[~]",
            None => "[ ]",
        };
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
