//! The decision function: from the plan, the run as journaled, and the moment, the one
//! thing to do next. No I/O: every rule about gates, resumes, windows, failures and the
//! rollback is here, and `tests.rs` beside it checks them as tables.
//!
//! Theory of operation: a run goes forward until a rollback starts, then only backwards.
//! Going forward, an invocation that resumes a run first re-runs the `verify` check of
//! every step completed earlier, tells the webhooks, checks the window, then walks the plan:
//! a done step is skipped; a step that failed in this invocation is decided by what it
//! asked (a monitor's trigger or pause) or by its `on_failure`; a step that must run inside
//! the window meets `overrun` if it has closed; a gate passes on a valid approval or waits;
//! a step cut off by a crash runs again only if it is idempotent or a retry was approved;
//! anything else is attempted. Going backwards, the rollback steps journaled when it began
//! are walked the same way, and a failure stops it (exit 5) unless the step says
//! `on_failure: continue`.

use super::action::{Action, Moment};
use super::approval::{GateState, Rules, gate_state, may_rerun};
use super::outcome::RunOutcome;
use super::plan::{Plan, PlanStep};
use super::window_gate;
use crate::event::{Escalation, RollbackCause, StepStatus};
use crate::journal::{RunState, StepView};
use crate::runbook::model::OnFailure;

/// The next action of a run.
pub fn next_action<'p, 'a>(plan: &'p Plan<'a>, run: &RunState, at: &Moment<'_>) -> Action<'p, 'a> {
    if run.rolling_back() {
        return backwards(plan, run, at);
    }
    if let Some(action) = reverify(plan, run) {
        return action;
    }
    if !at.invocation.announced {
        return Action::Announce;
    }
    let window = plan.loaded.runbook.window.as_ref();
    // The window is checked before the first step that waits for it: steps of a phase with
    // `window: false` (approvals days earlier) run before that check, whatever the time.
    let exempt = |step: &PlanStep<'_>| step.outside_window;
    if let (Some(window), false) = (window, at.invocation.window_checked) {
        let next = plan.steps().find(|s| !run.is_done(&s.id) || run.finished_now(&s.id));
        if !next.is_some_and(exempt) {
            return window_gate::at_start(window, plan, run, at);
        }
    }
    for step in plan.steps().skip(at.invocation.settled) {
        if run.is_done(&step.id) || at.watching.contains(&step.id) {
            continue;
        }
        if run.finished_now(&step.id) {
            match after_failure(step, run, at) {
                Some(action) => return action,
                None => continue,
            }
        }
        if let (Some(window), false) = (window, at.invocation.window_checked || exempt(step)) {
            return window_gate::at_start(window, plan, run, at);
        }
        if let Some(action) = window.and_then(|w| window_gate::before(w, step, at)) {
            return action;
        }
        return ready(plan, step, run, at, "then run again".into());
    }
    Action::Finish
}

/// The `verify` checks of an invocation that resumes a run: each once, in plan order; one
/// that no longer holds stops the run.
fn reverify<'p, 'a>(plan: &'p Plan<'a>, run: &RunState) -> Option<Action<'p, 'a>> {
    if run.invocation == 0 {
        return None;
    }
    for step in plan.steps() {
        let Some(state) = run.step(&step.id) else { continue };
        if step.step().verify.is_none() || !run.is_done(&step.id) {
            continue;
        }
        if state.verified_in != Some(run.invocation) {
            return Some(Action::Verify(step));
        }
        if state.verified == Some(false) {
            let reason = state.verify_failure.clone().unwrap_or_default();
            return Some(Action::Stop(RunOutcome::Failed {
                step: step.id.clone(),
                reason: format!("completed earlier, but its verify check no longer holds: {reason}"),
            }));
        }
    }
    None
}

/// A forward step that failed in this invocation: what now (`None`: go on).
fn after_failure<'p, 'a>(step: &'p PlanStep<'a>, run: &RunState, at: &Moment<'_>) -> Option<Action<'p, 'a>> {
    let state = run.step(&step.id)?;
    let reason = state.reason.clone().unwrap_or_default();
    match state.escalation {
        Some(Escalation::Rollback) => {
            return Some(Action::StartRollback {
                cause: RollbackCause::Trigger,
                reason: format!("monitor `{}`: {reason}", step.id),
            });
        }
        Some(Escalation::Pause) => {
            return Some(Action::Pause {
                step,
                reason,
                hint: format!(
                    "check the probes' targets; `deployctl run {file}` watches again from the start, `deployctl rollback {file}` rolls back",
                    file = at.file.display()
                ),
            });
        }
        None => {}
    }
    match step.on_failure {
        OnFailure::Continue => None,
        OnFailure::Stop => Some(Action::Stop(RunOutcome::Failed {
            step: step.id.clone(),
            reason,
        })),
        OnFailure::Rollback => Some(Action::StartRollback {
            cause: RollbackCause::StepFailed,
            reason: format!("step `{}` failed (on_failure: rollback): {reason}", step.id),
        }),
    }
}

/// A step that is next and may run: a gate is passed or waited for, a step cut off by a
/// crash needs an approved retry unless idempotent, anything else is attempted. `then`
/// says how the run goes on after an approval.
fn ready<'p, 'a>(
    plan: &Plan<'a>,
    step: &'p PlanStep<'a>,
    run: &RunState,
    at: &Moment<'_>,
    then: String,
) -> Action<'p, 'a> {
    let file = at.file.display();
    let rules = Rules::of(&plan.loaded.runbook);
    if let Some(gate) = gate_state(step.step(), run, &plan.sha256, at.now, &rules) {
        return match gate {
            GateState::Approved(reason) => Action::PassGate { step, reason },
            GateState::Waiting(what) => Action::AwaitGate {
                step,
                reason: format!("step `{}` awaits {what}", step.id),
                hint: format!("deployctl approve {file} {} --by NAME [--note TEXT], {then}", step.id),
            },
        };
    }
    if !may_rerun(&step.id, step.idempotent(), run) {
        let state = run.step(&step.id);
        return Action::Pause {
            step,
            reason: format!(
                "step `{}` was interrupted while running (attempt {}, started {}) and is not idempotent: it may have done part of its work",
                step.id,
                state.map_or(0, |s| s.attempts),
                state.map_or_else(String::new, |s| s
                    .started_at
                    .format("%Y-%m-%d %H:%M:%S UTC")
                    .to_string())
            ),
            hint: if run.rolling_back() {
                format!(
                    "check what it did, then `deployctl approve {file} {} --by NAME` to run it again; {then}",
                    step.id
                )
            } else {
                format!(
                    "check what it did, then either `deployctl approve {file} {} --by NAME` to run it again, or `deployctl rollback {file}`",
                    step.id
                )
            },
        };
    }
    Action::Attempt(step)
}

/// The rollback: its journaled steps in order.
fn backwards<'p, 'a>(plan: &'p Plan<'a>, run: &RunState, at: &Moment<'_>) -> Action<'p, 'a> {
    let Some(rollback) = &run.rollback else {
        return Action::Finish;
    };
    let then = format!("then `deployctl rollback {}` goes on", at.file.display());
    for planned in &rollback.steps {
        let id = &planned.id;
        if run.is_done(id) {
            continue;
        }
        let Some(step) = plan.rollback_step(id) else {
            return Action::Stop(RunOutcome::RollbackFailed {
                step: id.clone(),
                reason: format!(
                    "rollback step `{id}` is journaled but no longer in the runbook; restore the runbook the run started with"
                ),
            });
        };
        let failed_now = run.finished_now(id)
            && run
                .step(id)
                .is_some_and(|s| s.view == StepView::Finished(StepStatus::Failed));
        if failed_now {
            if step.on_failure == OnFailure::Continue {
                continue;
            }
            let reason = run.step(id).and_then(|s| s.reason.clone()).unwrap_or_default();
            return Action::Stop(RunOutcome::RollbackFailed {
                step: id.clone(),
                reason,
            });
        }
        return ready(plan, step, run, at, then);
    }
    Action::FinishRollback {
        cause: rollback.cause,
        reason: rollback.reason.clone(),
    }
}
