//! The rules of approvals, in one place: when a gate counts as approved, and who may give
//! an approval. The driver asks the first before passing a gate; `deployctl approve` asks
//! the second before writing anything, so an approval in the journal is one that was
//! allowed, and a gate passes only on one that still holds.
//!
//! An approval holds for the runbook digest it was given for and, when the gate has a
//! `ttl`, for that long. Separation of duties: unless the runbook says
//! `allow_self_approval: true`, the operator of the run cannot approve its gates and one
//! person cannot fill two roles.

use chrono::{DateTime, Utc};

use crate::event::{ApprovalKind, StepStatus};
use crate::journal::{ApprovalRecord, RunState, StepView};
use crate::runbook::model::{Step, StepKind};

/// What the journal says about a gate step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateState {
    /// Approved or confirmed: who, as what (for the journal).
    Approved(String),
    /// Still waiting for this (e.g. "approval by role @pm").
    Waiting(String),
}

/// `None` when `step` is not a gate (`approval`, `manual`).
pub fn gate_state(step: &Step, run: &RunState, sha256: &str, now: DateTime<Utc>) -> Option<GateState> {
    let (what, role) = match &step.kind {
        StepKind::Approval(a) => (format!("approval by role {}", a.role), Some(&a.role)),
        StepKind::Manual(m) => (format!("confirmation: {}", m.text), None),
        _ => return None,
    };
    let (fresh, expired) = approvals(step, run, sha256, now);
    Some(match (fresh, expired, ttl(step)) {
        (Some(a), _, _) => GateState::Approved(format!(
            "approved by {}{}",
            a.by,
            role.map(|r| format!(" as {r}")).unwrap_or_default()
        )),
        (None, Some(old), Some(ttl)) => GateState::Waiting(format!(
            "{what} (the approval by {} at {} expired: ttl {})",
            old.by,
            old.at.format("%Y-%m-%d %H:%M UTC"),
            crate::runbook::duration::format(ttl)
        )),
        (None, _, _) => GateState::Waiting(what),
    })
}

/// The latest approval of a gate that still holds, and the latest one that expired.
fn approvals<'r>(
    step: &Step,
    run: &'r RunState,
    sha256: &str,
    now: DateTime<Utc>,
) -> (Option<&'r ApprovalRecord>, Option<&'r ApprovalRecord>) {
    let ttl = ttl(step).and_then(|t| chrono::Duration::from_std(t).ok());
    let (fresh, expired): (Vec<_>, Vec<_>) = run
        .approvals_for(&step.id, ApprovalKind::Gate, None)
        .into_iter()
        .filter(|a| a.runbook_sha256 == sha256)
        .partition(|a| ttl.is_none_or(|ttl| now - a.at <= ttl));
    (fresh.last().copied(), expired.last().copied())
}

fn ttl(step: &Step) -> Option<std::time::Duration> {
    match &step.kind {
        StepKind::Approval(a) => a.ttl,
        _ => None,
    }
}

/// Who asks to approve, and for which runbook.
#[derive(Debug, Clone, Copy)]
pub struct Approver<'a> {
    /// The name given with `--by`.
    pub by: &'a str,
    /// The runbook's digest now.
    pub sha256: &'a str,
    /// The runbook's `allow_self_approval`.
    pub allow_self_approval: bool,
    /// When.
    pub now: DateTime<Utc>,
}

/// What an approval of `step` by `who` would record (its kind and role), or why it is
/// refused. Nothing is written by this function.
pub fn judge(step: &Step, run: &RunState, who: &Approver<'_>) -> Result<(ApprovalKind, Option<String>), String> {
    let (already, _) = approvals(step, run, who.sha256, who.now);
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
            if !gate.from.is_empty() && !gate.from.iter().any(|n| n == who.by) {
                return Err(format!(
                    "{} may not approve `{}`\n  hint: the runbook allows: {}",
                    who.by,
                    step.id,
                    gate.from.join(", ")
                ));
            }
            if !who.allow_self_approval {
                separation_of_duties(step, &gate.role, run, who.by)?;
            }
            Ok((ApprovalKind::Gate, Some(gate.role.clone())))
        }
        StepKind::Manual(_) => match already {
            Some(a) => Err(format!("`{}` is already confirmed by {}", step.id, a.by)),
            None => Ok((ApprovalKind::Gate, None)),
        },
        _ => retry(step, run),
    }
}

/// The operator cannot approve its own gates; one person fills one role.
fn separation_of_duties(step: &Step, role: &str, run: &RunState, by: &str) -> Result<(), String> {
    if by == run.operator {
        return Err(format!(
            "{by} is the operator of run {} and cannot approve its own gate `{}`\n  hint: ask someone holding role {role} (or set `allow_self_approval: true` in the runbook)",
            run.run_id, step.id
        ));
    }
    if let Some(other) = run
        .approvals
        .iter()
        .find(|a| a.by == by && a.role.as_deref().is_some_and(|r| r != role))
    {
        return Err(format!(
            "{by} already approved `{}` as {} in this run and cannot also act as {role}\n  hint: one person fills one role (or set `allow_self_approval: true`)",
            other.step,
            other.role.as_deref().unwrap_or("")
        ));
    }
    Ok(())
}

/// A step that is not a gate can only be approved for a retry after an interruption.
fn retry(step: &Step, run: &RunState) -> Result<(ApprovalKind, Option<String>), String> {
    match run.step(&step.id).map(|s| s.view) {
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
    }
}

/// Whether a step cut off by a crash or a signal may run again now: it is idempotent, or
/// someone allowed a retry after its last start. A retry approval covers one try.
pub fn may_rerun(id: &str, idempotent: bool, run: &RunState) -> bool {
    let Some(state) = run.step(id) else {
        return true;
    };
    let cut_off = matches!(
        state.view,
        StepView::Started | StepView::Finished(StepStatus::Interrupted)
    );
    !cut_off
        || idempotent
        || !run
            .approvals_for(id, ApprovalKind::Retry, Some(state.try_started_at))
            .is_empty()
}
