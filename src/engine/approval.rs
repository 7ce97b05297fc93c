//! The rules of approvals, in one place: when a gate counts as approved, and who may give
//! an approval. The driver asks the first before passing a gate; `deployctl approve` asks
//! the second before writing anything, so an approval in the journal is one that was
//! allowed, and a gate passes only on one that still holds.
//!
//! An approval holds for the runbook digest it was given for and, when the gate has a
//! `ttl`, for that long. Separation of duties: unless the runbook says
//! `allow_self_approval: true`, no one who ran or resumed the run (an operator) can approve
//! its gates, an approval by someone who later operated the run no longer counts, and one
//! person cannot fill two roles. Names are compared as [`PersonName`]s: every spelling of
//! a name is the same person, invisible characters are refused, and a name a reader could
//! mistake for another name of the run is refused.

use chrono::{DateTime, Utc};

use super::proof::discounted;
use crate::event::{ApprovalKind, StepStatus};
use crate::journal::{ApprovalRecord, RunState, StepView};
use crate::people::PersonName;
use crate::runbook::model::{Approvals, Runbook, Step, StepKind};

/// The runbook's approval settings the rules read.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    /// `allow_self_approval`.
    pub allow_self_approval: bool,
    /// `approvals:` (signers, `require_signature`).
    pub approvals: &'a Approvals,
}

impl<'a> Rules<'a> {
    /// The rules of `runbook`.
    pub fn of(runbook: &'a Runbook) -> Self {
        Rules {
            allow_self_approval: runbook.allow_self_approval,
            approvals: &runbook.approvals,
        }
    }
}

/// What the journal says about a gate step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateState {
    /// Approved or confirmed: who, as what (for the journal).
    Approved(String),
    /// Still waiting for this (e.g. "approval by role @pm").
    Waiting(String),
}

/// `None` when `step` is not a gate (`approval`, `manual`). Without `allow_self_approval`,
/// an approval by an operator of the run does not count; nor does one whose signature fails
/// or, under `require_signature`, one without a signature.
pub fn gate_state(
    step: &Step,
    run: &RunState,
    sha256: &str,
    now: DateTime<Utc>,
    rules: &Rules<'_>,
) -> Option<GateState> {
    let allow_self_approval = rules.allow_self_approval;
    let (what, role) = match &step.kind {
        StepKind::Approval(a) => (format!("approval by role {}", a.role), Some(&a.role)),
        StepKind::Manual(m) => (format!("confirmation: {}", m.text), None),
        _ => return None,
    };
    let (fresh, expired) = approvals(step, run, sha256, now);
    let operating = |a: &ApprovalRecord| role.is_some() && !allow_self_approval && operator_named(run, &a.by).is_some();
    if let Some(a) = fresh.filter(|a| operating(a)) {
        return Some(GateState::Waiting(format!(
            "{what} (the approval by {} does not count: {} operated this run since)",
            a.by,
            operator_named(run, &a.by).unwrap_or_default()
        )));
    }
    if let Some((a, why)) = fresh.and_then(|a| discounted(a, &run.run_id, rules.approvals).map(|w| (a, w))) {
        return Some(GateState::Waiting(format!(
            "{what} (the approval by {} does not count: {why})",
            a.by
        )));
    }
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
    /// The runbook's `approvals:`: an approval whose signature fails does not stand in the
    /// way of a new one.
    pub approvals: &'a Approvals,
    /// When.
    pub now: DateTime<Utc>,
}

/// What an approval of `step` by `who` would record (its kind and role), or why it is
/// refused. Nothing is written by this function.
pub fn judge(step: &Step, run: &RunState, who: &Approver<'_>) -> Result<(ApprovalKind, Option<String>), String> {
    let by = person(who.by)?;
    confusable(&by, run)?;
    let (already, _) = approvals(step, run, who.sha256, who.now);
    let already = already.filter(|a| discounted(a, &run.run_id, who.approvals).is_none());
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
            if !gate.from.is_empty() && !gate.from.iter().any(|n| same(n, &by)) {
                return Err(format!(
                    "{} may not approve `{}`\n  hint: the runbook allows: {}",
                    who.by,
                    step.id,
                    gate.from.join(", ")
                ));
            }
            if !who.allow_self_approval {
                separation_of_duties(step, &gate.role, run, &by)?;
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

/// No operator of the run approves its gates; one person fills one role.
fn separation_of_duties(step: &Step, role: &str, run: &RunState, by: &PersonName) -> Result<(), String> {
    if let Some(operator) = operator_named(run, by.typed()) {
        return Err(format!(
            "{} is an operator of run {} (ran or resumed it as {operator}) and cannot approve its own gate `{}`\n  hint: ask someone holding role {role} who has not run or resumed it (or set `allow_self_approval: true` in the runbook)",
            by.typed(),
            run.run_id,
            step.id
        ));
    }
    if let Some(other) = run
        .approvals
        .iter()
        .find(|a| !a.revoked && same(&a.by, by) && a.role.as_deref().is_some_and(|r| r != role))
    {
        return Err(format!(
            "{} already approved `{}` as {} in this run (as {}) and cannot also act as {role}\n  hint: one person fills one role (or set `allow_self_approval: true`)",
            by.typed(),
            other.step,
            other.role.as_deref().unwrap_or(""),
            other.by
        ));
    }
    Ok(())
}

/// A typed name, checked.
fn person(typed: &str) -> Result<PersonName, String> {
    PersonName::parse(typed)
        .map_err(|e| format!("the name {typed:?} is refused: {e}\n  hint: type the name with visible characters only"))
}

/// Whether a recorded name is `name` (however either was spelled).
fn same(recorded: &str, name: &PersonName) -> bool {
    PersonName::parse(recorded).is_ok_and(|r| r.is_same(name))
}

/// The operator of the run (as recorded) who is `typed`, if any.
pub fn operator_named<'r>(run: &'r RunState, typed: &str) -> Option<&'r str> {
    let name = PersonName::parse(typed).ok()?;
    run.operators.iter().map(String::as_str).find(|o| same(o, &name))
}

/// Whether `typed` may operate `run` (`--operator`, or the OS user): a visible name, and
/// not one a reader could take for another name of the run.
pub fn may_operate(typed: &str, run: Option<&RunState>) -> Result<(), String> {
    let name = person(typed)?;
    run.map_or(Ok(()), |run| confusable(&name, run))
}

/// Refuses a name a reader could take for another name of the run (an operator's or an
/// approver's) without being the same name: `аlice` with a Cyrillic `а` beside `alice`.
pub fn confusable(name: &PersonName, run: &RunState) -> Result<(), String> {
    let names = run.operators.iter().chain(run.approvals.iter().map(|a| &a.by));
    for recorded in names {
        let Ok(other) = PersonName::parse(recorded) else {
            continue;
        };
        if !other.is_same(name) && other.is_confusable_with(name) {
            return Err(format!(
                "the name {:?} can be mistaken for {:?}, already in run {}, but is not the same name\n  hint: type the name exactly as that person does, or a name that cannot be taken for another",
                name.typed(),
                recorded,
                run.run_id
            ));
        }
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
