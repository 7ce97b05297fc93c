//! `deployctl approve RUNBOOK STEP --by NAME [--note TEXT]`.
//!
//! Records a gate approval, a manual confirmation, or permission to re-run an interrupted
//! step that is not idempotent. The rules about who may approve are checked here, before
//! anything is written: a refusal journals nothing and exits 2.

use std::collections::BTreeMap;

use crate::cli::ApproveArgs;
use crate::commands::{Ui, journal_for, load_runbook};
use crate::engine::{identity, rollback_step};
use crate::event::{ApprovalKind, Entry, Event, StepStatus};
use crate::exit::Exit;
use crate::journal::{JournalError, LockedJournal, RunState, StepView, latest_run};
use crate::runbook::Loaded;
use crate::runbook::model::{Step, StepKind};

/// Records an approval.
pub async fn approve(ui: &Ui, env: &BTreeMap<String, String>, args: &ApproveArgs) -> Exit {
    let Some(loaded) = load_runbook(ui, env, &args.runbook) else {
        return Exit::Invalid;
    };
    let by = args.by.trim();
    if by.is_empty() {
        ui.err("deployctl approve: `--by` is empty\n  hint: name the person approving, e.g. --by \"Morgan (@pm)\"");
        return Exit::Invalid;
    }
    // Forward steps, and the rollback's own (undos and `rollback` steps): a gate or an
    // interrupted step inside a rollback is approved the same way.
    let step = loaded
        .runbook
        .steps()
        .map(|(_, s)| s)
        .find(|s| s.id == args.step)
        .or_else(|| rollback_step(&loaded, &args.step));
    let Some(step) = step else {
        let ids: Vec<&str> = loaded
            .runbook
            .steps()
            .map(|(_, s)| s.id.as_str())
            .chain(loaded.runbook.rollback.iter().map(|s| s.id.as_str()))
            .collect();
        ui.err(&format!(
            "deployctl approve: runbook `{}` has no step `{}`",
            loaded.runbook.name, args.step
        ));
        ui.err(&format!("  hint: steps: {}", ids.join(", ")));
        return Exit::Invalid;
    };
    let journal = journal_for(ui, &args.runbook, &loaded.runbook.name);
    let holder = super::holder(
        format!("deployctl approve {} {}", args.runbook.display(), args.step),
        by,
    );
    let result = match journal.lock(&holder).await {
        Ok(mut locked) => {
            let recorded = record(&mut locked, &loaded, step, args, by).await;
            locked.release().await;
            recorded
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(Ok((kind, role, run_id, rolling_back))) => {
            let what = match kind {
                ApprovalKind::Gate => "approved",
                ApprovalKind::Retry => "allowed a retry of",
            };
            let role = role.map(|r| format!(" as {r}")).unwrap_or_default();
            ui.out(&format!("{by}{role} {what} `{}` in run {run_id}", step.id));
            let next = if rolling_back { "rollback" } else { "run" };
            ui.out(&format!("  next: deployctl {next} {}", args.runbook.display()));
            Exit::Success
        }
        Ok(Err(refusal)) => {
            ui.err(&format!("deployctl approve: {refusal}"));
            Exit::Invalid
        }
        Err(e) => {
            ui.err(&format!("deployctl: {e}"));
            ui.err(&format!("  hint: {}", e.hint()));
            match e {
                JournalError::Locked { .. } => Exit::Locked,
                _ => Exit::Invalid,
            }
        }
    }
}

/// Journals the approval in the locked journal: the result names what was recorded, or
/// why it was refused (nothing written).
async fn record(
    journal: &mut LockedJournal,
    loaded: &Loaded,
    step: &Step,
    args: &ApproveArgs,
    by: &str,
) -> Result<Result<(ApprovalKind, Option<String>, String, bool), String>, JournalError> {
    let run = latest_run(journal.read().await?.entries).filter(|r| !r.is_finished());
    let Some(run) = run else {
        return Ok(Err(format!(
            "no run of `{}` is in progress in `{}`\n  hint: `deployctl run {}` starts one; gates can be approved once it has started",
            loaded.runbook.name,
            journal.shown(),
            args.runbook.display()
        )));
    };
    let (kind, role) = match decide(loaded, step, &run, by) {
        Ok(decided) => decided,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let entry = Entry {
        at: crate::engine::clock::now(),
        run_id: run.run_id.clone(),
        event: Event::Approval {
            step: step.id.clone(),
            kind,
            by: by.to_string(),
            role: role.clone(),
            note: args.note.clone(),
            host: identity::host(),
            runbook_sha256: loaded.sha256.clone(),
        },
    };
    journal.append(&entry).await?;
    let rolling_back = run.rolling_back();
    Ok(Ok((kind, role, run.run_id, rolling_back)))
}

/// What this approval would be, or why it is refused.
fn decide(loaded: &Loaded, step: &Step, run: &RunState, by: &str) -> Result<(ApprovalKind, Option<String>), String> {
    // An approval for another runbook digest, or older than the gate's `ttl`, is void.
    let ttl = match &step.kind {
        StepKind::Approval(gate) => gate.ttl.and_then(|t| chrono::Duration::from_std(t).ok()),
        _ => None,
    };
    let now = crate::engine::clock::now();
    let already = run
        .approvals_for(&step.id, ApprovalKind::Gate, None)
        .into_iter()
        .find(|a| a.runbook_sha256 == loaded.sha256 && ttl.is_none_or(|ttl| now - a.at <= ttl));
    match &step.kind {
        StepKind::Approval(gate) => {
            if let Some(a) = already {
                return Err(format!(
                    "`{}` is already approved by {} ({})",
                    step.id,
                    a.by,
                    a.at.format("%Y-%m-%d %H:%M UTC")
                ));
            }
            if !gate.from.is_empty() && !gate.from.iter().any(|n| n == by) {
                return Err(format!(
                    "{by} may not approve `{}`\n  hint: the runbook allows: {}",
                    step.id,
                    gate.from.join(", ")
                ));
            }
            if !loaded.runbook.allow_self_approval {
                if by == run.operator {
                    return Err(format!(
                        "{by} is the operator of run {} and cannot approve its own gate `{}`\n  hint: ask someone holding role {} (or set `allow_self_approval: true` in the runbook)",
                        run.run_id, step.id, gate.role
                    ));
                }
                if let Some(other) = run
                    .approvals
                    .iter()
                    .find(|a| a.by == by && a.role.as_deref().is_some_and(|r| r != gate.role))
                {
                    return Err(format!(
                        "{by} already approved `{}` as {} in this run and cannot also act as {}\n  hint: one person fills one role (or set `allow_self_approval: true`)",
                        other.step,
                        other.role.as_deref().unwrap_or(""),
                        gate.role
                    ));
                }
            }
            Ok((ApprovalKind::Gate, Some(gate.role.clone())))
        }
        StepKind::Manual(_) => match already {
            Some(a) => Err(format!("`{}` is already confirmed by {}", step.id, a.by)),
            None => Ok((ApprovalKind::Gate, None)),
        },
        _ => match run.step(&step.id).map(|s| s.view) {
            Some(StepView::Started | StepView::Finished(StepStatus::Interrupted)) if !step.idempotent => {
                Ok((ApprovalKind::Retry, None))
            }
            Some(StepView::Started | StepView::Finished(StepStatus::Interrupted)) => Err(format!(
                "`{}` is idempotent: `deployctl run` re-runs it without approval",
                step.id
            )),
            Some(StepView::Finished(StepStatus::Done)) => Err(format!("`{}` is already done", step.id)),
            Some(StepView::Finished(StepStatus::Failed)) => Err(format!(
                "`{}` failed; `deployctl run` retries it without approval",
                step.id
            )),
            Some(StepView::Finished(StepStatus::Skipped)) | None => Err(format!(
                "`{}` is a {} step that is not waiting for anyone",
                step.id,
                step.kind.name()
            )),
        },
    }
}
