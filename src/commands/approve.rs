//! `deployctl approve RUNBOOK STEP --by NAME [--note TEXT] [--sign KEY | --revoke]`.
//!
//! Records a gate approval, a manual confirmation, or permission to re-run an interrupted
//! step that is not idempotent. Who may approve is decided by the engine's approval rules
//! (`engine::judge`, the same rules the run applies), before anything is written: a refusal
//! journals nothing and exits 2.

use std::collections::BTreeMap;

use super::approval_signature::{Proposal, signed};
use crate::cli::ApproveArgs;
use crate::commands::session::say_clock;
use crate::commands::{Ui, journal_for, load_runbook};
use crate::engine::plan::Work;
use crate::engine::{Approver, Plan, ProbeMode, identity, judge};
use crate::event::{ApprovalKind, Entry, Event};
use crate::exit::Exit;
use crate::journal::{JournalError, LockedJournal, RunState, latest_run};
use crate::report::json_lines::JsonLine;
use crate::runbook::Loaded;
use crate::runbook::model::Step;

/// What was recorded: the approval's kind and role, the run, and whether it is rolling back.
struct Recorded {
    kind: ApprovalKind,
    role: Option<String>,
    run_id: String,
    rolling_back: bool,
    fingerprint: Option<String>,
}

/// Records an approval.
pub async fn approve(ui: &Ui, env: &BTreeMap<String, String>, args: &ApproveArgs) -> Exit {
    let Some(loaded) = load_runbook(ui, env, &args.runbook) else {
        return Exit::Invalid;
    };
    say_clock(ui);
    let by = args.by.trim();
    if by.is_empty() {
        ui.err("deployctl approve: `--by` is empty\n  hint: name the person approving, e.g. --by \"Morgan (@pm)\"");
        return Exit::Invalid;
    }
    let plan = Plan::new(&loaded, ProbeMode::Offline);
    // Forward steps, and the rollback's own (undos and `rollback` steps): a gate or an
    // interrupted step inside a rollback is approved the same way.
    let step = plan.any_step(&args.step).and_then(|s| match s.work {
        Work::Step(step) => Some(step),
        Work::Revert(_) => None,
    });
    let Some(step) = step else {
        let ids: Vec<&str> = plan.steps().chain(&plan.rollback).map(|s| s.id.as_str()).collect();
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
    if args.revoke {
        return super::revoke::revoke(ui, &journal, &holder, &loaded, step, args).await;
    }
    let result = match journal.lock(&holder).await {
        Ok(mut locked) => {
            let recorded = record(ui, &mut locked, &plan, step, args, by).await;
            locked.release().await;
            recorded
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(Ok(done)) => said(ui, &loaded, step, args, by, done),
        Ok(Err(refusal)) => {
            ui.err(&format!("deployctl approve: {refusal}"));
            Exit::Invalid
        }
        Err(e) => crate::commands::report_journal_error(ui, &e),
    }
}

/// Says what was recorded: a JSON line, or who approved what and the command that goes on.
fn said(ui: &Ui, loaded: &Loaded, step: &Step, args: &ApproveArgs, by: &str, done: Recorded) -> Exit {
    let what = match done.kind {
        ApprovalKind::Gate => "approved",
        ApprovalKind::Retry => "allowed a retry of",
    };
    let next = if done.rolling_back { "rollback" } else { "run" };
    let next = format!("deployctl {next} {}", args.runbook.display());
    if ui.json() {
        ui.line(&JsonLine::Approved {
            runbook: loaded.runbook.name.clone(),
            step: step.id.clone(),
            run_id: done.run_id,
            kind: done.kind,
            by: by.to_string(),
            role: done.role,
            next,
        });
        return Exit::Success;
    }
    let role = done.role.map(|r| format!(" as {r}")).unwrap_or_default();
    let signed = done
        .fingerprint
        .map(|f| format!(" (signed, key {f})"))
        .unwrap_or_default();
    ui.out(&format!(
        "{by}{role} {what} `{}` in run {}{signed}",
        step.id, done.run_id
    ));
    ui.out(&format!("  next: {next}"));
    Exit::Success
}

/// The journal's unfinished latest run of this runbook, or why there is none to approve in.
async fn run_in_progress(
    journal: &mut LockedJournal,
    loaded: &Loaded,
    args: &ApproveArgs,
) -> Result<Result<RunState, String>, JournalError> {
    let run = latest_run(journal.read().await?.entries).filter(|r| !r.is_finished());
    let Some(run) = run else {
        return Ok(Err(format!(
            "no run of `{}` is in progress in `{}`\n  hint: `deployctl run {}` starts one; gates can be approved once it has started",
            loaded.runbook.name,
            journal.shown(),
            args.runbook.display()
        )));
    };
    if run.runbook != loaded.runbook.name {
        return Ok(Err(format!(
            "journal `{}` holds a run of runbook `{}`, not of `{}`\n  hint: give the runbook this journal belongs to, or another journal (--journal, --environment)",
            journal.shown(),
            run.runbook,
            loaded.runbook.name
        )));
    }
    Ok(Ok(run))
}

/// Who approves, with the runbook's rules for approvals, at `now`.
fn approver<'a>(loaded: &'a Loaded, by: &'a str, now: chrono::DateTime<chrono::Utc>) -> Approver<'a> {
    Approver {
        by,
        sha256: &loaded.sha256,
        allow_self_approval: loaded.runbook.allow_self_approval,
        approvals: &loaded.runbook.approvals,
        now,
    }
}

/// Journals the approval in the locked journal: the result names what was recorded, or
/// why it was refused (nothing written).
async fn record(
    ui: &Ui,
    journal: &mut LockedJournal,
    plan: &Plan<'_>,
    step: &Step,
    args: &ApproveArgs,
    by: &str,
) -> Result<Result<Recorded, String>, JournalError> {
    let loaded = plan.loaded;
    let run = match run_in_progress(journal, loaded, args).await? {
        Ok(run) => run,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let now = ui.clock.now();
    let (kind, role) = match judge(step, &run, &approver(loaded, by, now)) {
        Ok(decided) => decided,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let proof = Proposal {
        loaded,
        run: &run,
        step: &step.id,
        role: role.as_deref(),
        by,
        note: args.note.as_deref(),
        at: now,
    };
    let signature = match signed(&proof, args.sign.as_deref()).await {
        Ok(signature) => signature,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let approval = Event::Approval {
        step: step.id.clone(),
        kind,
        by: by.to_string(),
        role: role.clone(),
        note: args.note.clone(),
        host: identity::host(),
        runbook_sha256: loaded.sha256.clone(),
        signature: signature.clone(),
    };
    let entry = Entry {
        at: now,
        run_id: run.run_id.clone(),
        event: approval,
    };
    journal.append(&entry).await?;
    Ok(Ok(Recorded {
        kind,
        role,
        rolling_back: run.rolling_back(),
        fingerprint: signature.map(|s| s.fingerprint),
        run_id: run.run_id,
    }))
}
