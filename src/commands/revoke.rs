//! `deployctl approve RUNBOOK STEP --by NAME --revoke [--note TEXT]`: withdraws the approval
//! of a gate the run has not passed yet. Only the approver or an operator of the run may,
//! and the withdrawal is journaled; the gate then waits again, and the approver is free to
//! approve another gate (one person, one role counts only approvals that stand).

use crate::cli::ApproveArgs;
use crate::commands::Ui;
use crate::engine::identity;
use crate::engine::operator_named;
use crate::event::{ApprovalKind, Entry, Event};
use crate::exit::Exit;
use crate::journal::{Holder, JournalError, JournalTarget, LockedJournal, RunState, StepView, latest_run};
use crate::people::PersonName;
use crate::runbook::Loaded;
use crate::runbook::model::Step;

/// Withdraws the standing approval of `step`.
pub(super) async fn revoke(
    ui: &Ui,
    journal: &JournalTarget,
    holder: &Holder,
    loaded: &Loaded,
    step: &Step,
    args: &ApproveArgs,
) -> Exit {
    let result = match journal.lock(holder).await {
        Ok(mut locked) => {
            let done = withdraw(ui, &mut locked, loaded, step, args).await;
            locked.release().await;
            done
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(Ok(line)) => {
            ui.out(&line);
            ui.out(&format!(
                "  the gate awaits a new approval: deployctl approve {} {} --by NAME",
                args.runbook.display(),
                step.id
            ));
            Exit::Success
        }
        Ok(Err(refusal)) => {
            ui.err(&format!("deployctl approve --revoke: {refusal}"));
            Exit::Invalid
        }
        Err(e) => crate::commands::report_journal_error(ui, &e),
    }
}

async fn withdraw(
    ui: &Ui,
    journal: &mut LockedJournal,
    loaded: &Loaded,
    step: &Step,
    args: &ApproveArgs,
) -> Result<Result<String, String>, JournalError> {
    let run = latest_run(journal.read().await?.entries).filter(|r| !r.is_finished());
    let Some(run) = run.filter(|r| r.runbook == loaded.runbook.name) else {
        return Ok(Err(format!("no run of `{}` is in progress", loaded.runbook.name)));
    };
    let by = args.by.trim();
    let approver = match standing(&run, step, by) {
        Ok(approver) => approver,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let entry = Entry {
        at: ui.clock.now(),
        run_id: run.run_id.clone(),
        event: Event::ApprovalRevoked {
            step: step.id.clone(),
            by: by.to_owned(),
            note: args.note.clone(),
            host: identity::host(),
        },
    };
    journal.append(&entry).await?;
    Ok(Ok(format!(
        "{by} withdrew the approval of `{}` by {approver} in run {}",
        step.id, run.run_id
    )))
}

/// The approver whose standing approval of `step` `by` may withdraw, or why not.
fn standing(run: &RunState, step: &Step, by: &str) -> Result<String, String> {
    if matches!(
        run.step(&step.id).map(|s| s.view),
        Some(StepView::Finished(_) | StepView::Started)
    ) {
        return Err(format!(
            "the run has passed `{}` already: an approval that was used cannot be withdrawn",
            step.id
        ));
    }
    let Some(approval) = run.approvals_for(&step.id, ApprovalKind::Gate, None).pop() else {
        return Err(format!(
            "`{}` has no approval to withdraw in run {}",
            step.id, run.run_id
        ));
    };
    let name = PersonName::parse(by).map_err(|e| format!("the name {by:?} is refused: {e}"))?;
    let is_approver = PersonName::parse(&approval.by).is_ok_and(|a| a.is_same(&name));
    if !is_approver && operator_named(run, by).is_none() {
        return Err(format!(
            "{by} neither gave the approval of `{}` (by {}) nor operates run {}\n  hint: the approver or an operator of the run withdraws it",
            step.id, approval.by, run.run_id
        ));
    }
    Ok(approval.by.clone())
}
