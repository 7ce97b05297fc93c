//! Resuming: what to do with a step the last invocation started but never finished, and
//! re-checking completed steps before going on.
//!
//! A step cut off by a crash or a signal is re-run only when it is idempotent (checks are;
//! `shell` is not unless it says so). Otherwise the run pauses and names the two ways on:
//! approve a retry, or roll back.

use std::path::Path;

use super::executor::Executor;
use super::observer::Observer;
use super::outcome::{RunError, RunOutcome};
use crate::event::{ApprovalKind, Event, StepStatus};
use crate::journal::{RunState, StepState, StepView};
use crate::runbook::model::Step;
use crate::steps::{StepOutcome, check};

/// Whether a step may run now.
pub(super) enum Resumption {
    /// Run it (fresh, failed before, idempotent, or a retry was approved).
    Run,
    /// It was interrupted, is not idempotent, and nobody approved a retry.
    NeedsApproval {
        /// What happened.
        reason: String,
        /// The two ways on.
        hint: String,
    },
}

pub(super) fn resumption(step: &Step, state: Option<&StepState>, run: Option<&RunState>, file: &Path) -> Resumption {
    let Some(state) = state else { return Resumption::Run };
    let cut_off = matches!(
        state.view,
        StepView::Started | StepView::Finished(StepStatus::Interrupted)
    );
    if !cut_off || step.idempotent {
        return Resumption::Run;
    }
    let approved = run.is_some_and(|r| {
        !r.approvals_for(&step.id, ApprovalKind::Retry, Some(state.started_at))
            .is_empty()
    });
    if approved {
        return Resumption::Run;
    }
    Resumption::NeedsApproval {
        reason: format!(
            "step `{}` was interrupted while running (attempt {}, started {}) and is not idempotent: it may have done part of its work",
            step.id,
            state.attempts,
            state.started_at.format("%Y-%m-%d %H:%M:%S UTC")
        ),
        hint: format!(
            "check what it did, then either `deployctl approve {file} {id} --by NAME` to run it again, or `deployctl rollback {file}`",
            file = file.display(),
            id = step.id
        ),
    }
}

impl<O: Observer> Executor<'_, O> {
    /// Re-runs the `verify` check of every completed step; a failure stops the run.
    pub(super) async fn reverify(&mut self, prior: &RunState) -> Result<Option<RunOutcome>, RunError> {
        let (loaded, parts) = (self.loaded, self.step_parts());
        for (_, step) in loaded.runbook.steps() {
            let Some(verify) = &step.verify else { continue };
            if !prior.is_done(&step.id) {
                continue;
            }
            let ctx = parts.context(loaded, &step.id, step.timeout);
            let outcome = tokio::select! {
                r = tokio::time::timeout(step.timeout, check(verify, &ctx)) => r.unwrap_or_else(|_| StepOutcome::Failed {
                    reason: format!("verify timed out after {}", crate::runbook::duration::format(step.timeout)),
                    output: None,
                }),
                _ = self.cancel.cancelled() => {
                    return Ok(Some(self.interrupted(None)?));
                }
            };
            match outcome {
                StepOutcome::Done { .. } => self.record(Event::Verified {
                    step: step.id.clone(),
                    ok: true,
                    reason: None,
                })?,
                StepOutcome::Failed { reason, .. } => {
                    self.record(Event::Verified {
                        step: step.id.clone(),
                        ok: false,
                        reason: Some(reason.clone()),
                    })?;
                    return Ok(Some(RunOutcome::Failed {
                        step: step.id.clone(),
                        reason: format!("completed earlier, but its verify check no longer holds: {reason}"),
                    }));
                }
            }
        }
        Ok(None)
    }
}
