//! How a run or a rollback ended, in words on stderr and as an exit code: the one place a
//! [`RunOutcome`] becomes an [`Exit`].

use crate::commands::{Ui, print_contacts, report_journal_error};
use crate::engine::escalation::Problem;
use crate::engine::{RunError, RunOutcome};
use crate::exit::Exit;
use crate::runbook::Loaded;
use crate::runbook::model::StepKind;

/// A run's or rollback's result as messages and an exit code.
pub fn conclude(ui: &Ui, loaded: &Loaded, result: Result<RunOutcome, RunError>) -> Exit {
    match result {
        Ok(outcome) => finish(ui, loaded, outcome),
        Err(RunError::Journal(e)) => report_journal_error(ui, &e),
        Err(e) => {
            ui.err(&format!("deployctl: {e}"));
            ui.err(&format!("  hint: {}", e.hint()));
            match e {
                // Waiting for a person to finish the rollback, like any other pause.
                RunError::RollingBack { .. } => Exit::Paused,
                // Waiting for a step's process from a killed run to end.
                RunError::Orphaned { .. } => Exit::Paused,
                RunError::Journal(_)
                | RunError::Changed { .. }
                | RunError::NothingToRollBack(_)
                | RunError::Http(_)
                | RunError::OtherRunbook { .. }
                | RunError::Operator(_)
                | RunError::LockLost { .. }
                | RunError::Internal(_) => Exit::Invalid,
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
            // A gate or a checkbox is planned: nobody needs paging, only asking. A retry to
            // approve is a problem.
            let problem = if planned_gate(loaded, &step) {
                Problem::PlannedGate
            } else {
                Problem::Gate
            };
            print_contacts(ui, &loaded.runbook, problem, Some(&step));
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

/// Whether `step` is an `approval` or a `manual` step: a pause the runbook planned.
fn planned_gate(loaded: &Loaded, step: &str) -> bool {
    let runbook = &loaded.runbook;
    runbook
        .steps()
        .map(|(_, s)| s)
        .chain(runbook.rollback.iter())
        .find(|s| s.id == step)
        .is_some_and(|s| matches!(s.kind, StepKind::Approval(_) | StepKind::Manual(_)))
}
