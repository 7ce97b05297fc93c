//! The rollback procedure: the undo ledger in reverse, then the runbook's `rollback` steps.
//!
//! Theory of operation: the list of rollback steps is fixed when the rollback starts and
//! journaled in `rollback_started`, so a rollback cut off by a crash resumes the same list
//! (`deployctl rollback` again), skipping every rollback step already done and deciding an
//! interrupted one like any other step (re-run if idempotent, else ask for an approved
//! retry). A failed rollback step stops the rollback (exit 5: a human decides, then
//! `deployctl rollback` retries it) unless it says `on_failure: continue`. The run is
//! finished, with exit 4, only once every rollback step is done.

use super::attempt::Attempted;
use super::executor::{Executor, planned};
use super::gate::{GateDecision, decide_gate};
use super::observer::Observer;
use super::outcome::{RunError, RunOutcome};
use super::resume::{Resumption, resumption};
use crate::event::{Event, PlannedStep, RollbackCause, RunStatus, StepStatus};
use crate::journal::RunState;
use crate::runbook::Loaded;
use crate::runbook::model::{OnFailure, Step, StepKind};
use crate::steps::{StepOutcome, undo_plain};

impl<O: Observer> Executor<'_, O> {
    /// Runs (or resumes) the rollback; `cause` and `reason` are used only when it starts.
    pub(super) async fn rollback(&mut self, cause: RollbackCause, reason: String) -> Result<RunOutcome, RunError> {
        let loaded = self.loaded;
        let file = self.options.runbook_file.display().to_string();
        let journaled = self.current.as_ref().and_then(|run| run.rollback.clone());
        let (cause, reason, steps) = match journaled {
            Some(r) => (r.cause, r.reason, r.steps),
            None => {
                let steps = rollback_plan(self.current.as_ref(), loaded);
                self.record(Event::RollbackStarted {
                    cause,
                    reason: reason.clone(),
                    by: self.options.operator.clone(),
                    steps: steps.clone(),
                })?;
                (cause, reason, steps)
            }
        };
        self.observer.warn(&format!("rolling back: {reason}"));
        self.announce_in_background("rollback_started", None, Some("rolling_back"));
        for planned in &steps {
            let id = &planned.id;
            if self.current.as_ref().is_some_and(|run| run.is_done(id)) {
                continue;
            }
            if let Some((forward, migrations)) = migration_undo(self.current.as_ref(), loaded, id) {
                if let Some(outcome) = self.revert_migrations(id, forward, &migrations).await? {
                    return Ok(outcome);
                }
                continue;
            }
            let Some(step) = rollback_step(loaded, id) else {
                return Ok(RunOutcome::RollbackFailed {
                    step: id.clone(),
                    reason: format!(
                        "rollback step `{id}` is journaled but no longer in the runbook; restore the runbook the run started with"
                    ),
                });
            };
            if let Some(outcome) = self.rollback_step(step, &file).await? {
                return Ok(outcome);
            }
        }
        self.record(Event::RunFinished {
            status: RunStatus::RolledBack,
            exit_code: 4,
        })?;
        Ok(RunOutcome::RolledBack { cause, reason })
    }

    /// One rollback step; `Some` stops the rollback.
    async fn rollback_step(&mut self, step: &Step, file: &str) -> Result<Option<RunOutcome>, RunError> {
        let then = format!("then `deployctl rollback {file}` goes on");
        if let Some(decision) = decide_gate(step, self.current.as_ref(), self.loaded, &self.options.runbook_file) {
            return match decision {
                GateDecision::Passed { reason } => self.pass_gate(step, reason).map(|()| None),
                GateDecision::Waiting { reason, hint } => {
                    let hint = hint.replace("then run again", &then);
                    self.waiting_gate(step, reason, hint).await
                }
            };
        }
        let state = self.journaled_step(&step.id).cloned();
        if let Resumption::NeedsApproval { reason, .. } =
            resumption(step, state.as_ref(), self.current.as_ref(), &self.options.runbook_file)
        {
            let hint = format!(
                "check what it did, then `deployctl approve {file} {} --by NAME` to run it again; {then}",
                step.id
            );
            return self.pause(step, reason, hint).map(Some);
        }
        match self.attempts(step, false).await? {
            Attempted::Done => Ok(None),
            Attempted::Interrupted => self.interrupted(Some(&step.id)).map(Some),
            Attempted::Failed { reason } | Attempted::Triggered { reason } | Attempted::NeedsOperator { reason } => {
                if step.on_failure == OnFailure::Continue {
                    self.observer.warn(&format!(
                        "rollback step `{}` failed; continuing (on_failure: continue): {reason}",
                        step.id
                    ));
                    return Ok(None);
                }
                Ok(Some(RunOutcome::RollbackFailed {
                    step: step.id.clone(),
                    reason,
                }))
            }
        }
    }
}

/// The forward `migrate` step and its applied migrations, when `id` is the undo of a
/// plain-style migrate on the ledger (run by its down files, not by a runbook step).
fn migration_undo<'a>(run: Option<&RunState>, loaded: &'a Loaded, id: &str) -> Option<(&'a Step, Vec<String>)> {
    let (forward, undo) = run?
        .ledger()
        .into_iter()
        .find(|(_, u)| u.id == id && !u.migrations.is_empty())?;
    let step = loaded.runbook.steps().map(|(_, s)| s).find(|s| s.id == forward)?;
    matches!(step.kind, StepKind::Migrate(_)).then(|| (step, undo.migrations.clone()))
}

impl<O: Observer> Executor<'_, O> {
    /// Reverts a plain-style migrate's migrations by their down files, journaled as the
    /// rollback step `id`. Safe to repeat: a migration without its row is skipped.
    async fn revert_migrations(
        &mut self,
        id: &str,
        forward: &Step,
        migrations: &[String],
    ) -> Result<Option<RunOutcome>, RunError> {
        let StepKind::Migrate(migrate) = &forward.kind else {
            return Ok(None);
        };
        let started = std::time::Instant::now();
        self.record(Event::StepStarted {
            step: id.to_string(),
            attempt: 1,
        })?;
        let (loaded, cancel, parts) = (self.loaded, self.cancel.clone(), self.step_parts());
        let ctx = parts.context(loaded, id, forward.timeout);
        let outcome = tokio::select! {
            undo = tokio::time::timeout(forward.timeout, undo_plain(migrate, migrations, &ctx)) => Some(match undo {
                Ok(undo) => undo.into_outcome(&ctx),
                Err(_) => StepOutcome::Failed { reason: format!("timed out after {}", crate::runbook::duration::format(forward.timeout)), output: None },
            }),
            _ = cancel.cancelled() => None,
        };
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (status, reason) = match &outcome {
            None => (
                StepStatus::Interrupted,
                Some(format!("stopped by {}", self.cancel.signal())),
            ),
            Some(StepOutcome::Done { detail, .. }) => (StepStatus::Done, detail.clone()),
            Some(StepOutcome::Failed { reason, .. }) => (StepStatus::Failed, Some(reason.clone())),
        };
        self.record(Event::StepFinished {
            step: id.to_string(),
            status,
            attempts: 1,
            duration_ms,
            reason: reason.clone(),
            output: None,
            undo: None,
        })?;
        Ok(match status {
            StepStatus::Done => None,
            StepStatus::Interrupted => Some(self.interrupted(Some(id))?),
            _ => Some(RunOutcome::RollbackFailed {
                step: id.to_string(),
                reason: reason.unwrap_or_default(),
            }),
        })
    }
}

/// The rollback steps in order: undos of completed steps (last completed first), then the
/// runbook's `rollback` steps.
pub fn rollback_plan(run: Option<&RunState>, loaded: &Loaded) -> Vec<PlannedStep> {
    let mut steps: Vec<PlannedStep> = run
        .map(|r| {
            r.ledger()
                .into_iter()
                .map(|(_, undo)| PlannedStep {
                    id: undo.id.clone(),
                    title: undo.title.clone(),
                    kind: rollback_step(loaded, &undo.id)
                        .map_or(if undo.migrations.is_empty() { "undo" } else { "migrate" }, |s| {
                            s.kind.name()
                        })
                        .to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    steps.extend(loaded.runbook.rollback.iter().map(|s| planned(s, loaded)));
    steps
}

/// A rollback step by id: an undo of a forward step, or a `rollback` step.
pub fn rollback_step<'a>(loaded: &'a Loaded, id: &str) -> Option<&'a Step> {
    let runbook = &loaded.runbook;
    runbook
        .steps()
        .filter_map(|(_, s)| s.undo.as_deref())
        .chain(runbook.rollback.iter())
        .find(|s| s.id == id)
}
