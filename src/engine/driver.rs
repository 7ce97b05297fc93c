//! The driver: asks [`next_action`] what to do, does it, journals what happened, and tells
//! the consumers (the observer, the webhooks), until the run is done or must stop.
//!
//! Theory of operation: [`super::invoke`] reads the journal and opens the driver on the run.
//! Then the loop: the decision function sees the plan, the run as journaled so far and the
//! moment, and answers one [`Action`]; the driver performs it with as little logic as it
//! can. Every decision is thus a function of the journal, which is what makes resume,
//! `status` and `approve` agree with the run.

use std::sync::Arc;

use super::action::{Action, Invocation, Moment, settled};
use super::attempt::attempts;
use super::background::{Background, Heard};
use super::cancel::Cancel;
use super::decide::next_action;
use super::feasibility::History;
use super::finish::{Attempted, Direction};
use super::notice::Notice;
use super::observer::Observer;
use super::opening::{resumed, started};
use super::options::RunOptions;
use super::outcome::{RunError, RunOutcome};
use super::parts::StepParts;
use super::plan::{Plan, PlanStep};
use super::recorder::{Durability, Recorder};
use super::rollback_plan::rollback_plan;
use super::webhooks::Webhooks;
use crate::event::{Escalation, Event, RollbackCause, RunStatus, StepStatus};
use crate::journal::{LockedJournal, RunState};
use crate::runbook::model::{OnFailure, StepKind};
use crate::steps::{Databases, StepOutcome, check};
mod gates;

/// One invocation driving a run.
pub(super) struct Driver<'r, 'p, 'a, O: Observer> {
    plan: &'p Plan<'a>,
    options: &'r RunOptions,
    rec: Recorder<'r, O>,
    parts: StepParts<'a>,
    webhooks: Webhooks<'a>,
    history: History,
    invocation: Invocation,
    background: Background,
}

impl<'r, 'p, 'a, O: Observer> Driver<'r, 'p, 'a, O> {
    /// Starts a new run, or resumes `prior` (its digests checked).
    pub(super) fn open(
        plan: &'p Plan<'a>,
        options: &'r RunOptions,
        observer: &'r mut O,
        cancel: Cancel,
        journal: &'r mut LockedJournal,
        prior: Option<RunState>,
        history: History,
    ) -> Result<Self, RunError> {
        if journal.open_for_append()? {
            let shown = journal.shown();
            observer.warn(&format!(
                "journal `{shown}`: a torn last line was cut off before appending"
            ));
        }
        super::approval::may_operate(&options.operator, prior.as_ref())
            .map_err(|e| RunError::Operator(e.lines().next().unwrap_or_default().to_string()))?;
        let loaded = plan.loaded;
        let http = crate::steps::http_client().map_err(|e| RunError::Http(e.to_string()))?;
        let clock = options.clock;
        let run_id = prior
            .as_ref()
            .map_or_else(|| super::identity::new_run_id(clock.now()), |p| p.run_id.clone());
        let event = match &prior {
            Some(prior) => resumed(plan, prior, options)?,
            None => started(plan, options),
        };
        let starts = Arc::new(super::attempt::step_starts(prior.as_ref()));
        let mut rec = Recorder::new(journal, observer, clock, run_id.clone(), prior);
        rec.record(event, Durability::Now)?;
        if clock.is_pretended() {
            let event = Event::ClockOverride {
                by: options.operator.clone(),
                real_at: chrono::Utc::now(),
            };
            rec.record(event, Durability::Now)?;
        }
        let parts = StepParts {
            loaded,
            http: http.clone(),
            databases: Arc::new(Databases::new(&loaded.runbook, &run_id)),
            cancel,
            clock,
            starts,
        };
        Ok(Driver {
            plan,
            options,
            rec,
            parts,
            webhooks: Webhooks::new(loaded, http, run_id),
            history,
            invocation: Invocation::default(),
            background: Background::new(),
        })
    }

    /// Starts the rollback `deployctl rollback` asked for (the operator knows: it is not
    /// announced as a warning).
    pub(super) async fn roll_back_on_request(&mut self, reason: String) -> Result<(), RunError> {
        self.invocation.announced = true;
        self.roll_back(RollbackCause::Command, reason).await
    }

    /// The loop: decide, act, until an action ends the invocation.
    pub(super) async fn drive(&mut self) -> Result<RunOutcome, RunError> {
        loop {
            if self.background.drain(&mut self.rec)? == Heard::Tripped {
                self.tell(&Notice::TriggerFired { step: self.tripped() }).await?;
            }
            let Some(run) = self.rec.run() else {
                return Err(RunError::Internal("the driver lost its run state"));
            };
            if !run.rolling_back() {
                self.invocation.settled = settled(self.plan, run, self.invocation.settled);
            }
            let moment = Moment {
                now: self.options.clock.now(),
                operator: &self.options.operator,
                ignore_window: self.options.ignore_window,
                file: &self.options.runbook_file,
                history: &self.history,
                invocation: self.invocation,
                watching: self.background.watching(),
            };
            if let Some(outcome) = self.perform(next_action(self.plan, run, &moment)).await? {
                return Ok(outcome);
            }
        }
    }

    /// Performs one action; `Some` ends the invocation.
    async fn perform(&mut self, action: Action<'p, 'a>) -> Result<Option<RunOutcome>, RunError> {
        match action {
            Action::Verify(step) => return self.verify(step).await,
            Action::Announce => {
                self.invocation.announced = true;
                self.tell(&Notice::RunStarted).await?;
            }
            Action::OverrideWindow { reason } => {
                let by = self.options.operator.clone();
                self.rec.record(Event::WindowOverride { by, reason }, Durability::Now)?;
                self.invocation.window_checked = true;
            }
            Action::EnterWindow => self.invocation.window_checked = true,
            Action::WaitForWindow { reason, next, hint } => {
                let event = Event::WindowWait {
                    reason: reason.clone(),
                    next_opening: next,
                };
                self.rec.record(event, Durability::Now)?;
                return self.stop(RunOutcome::WindowClosed { reason, hint }).await.map(Some);
            }
            Action::Overrun { reason, roll_back } => {
                let event = Event::WindowWait {
                    reason: reason.clone(),
                    next_opening: None,
                };
                self.rec.record(event, Durability::Now)?;
                self.invocation.overrun_applied = true;
                if roll_back {
                    self.roll_back(RollbackCause::Window, reason).await?;
                }
            }
            Action::PassGate { step, reason } => self.pass_gate(step, reason)?,
            Action::AwaitGate { step, reason, hint } => return self.await_gate(step, reason, hint).await,
            Action::Pause { step, reason, hint } => {
                let outcome = self.pause(step, reason, hint)?;
                return self.stop(outcome).await.map(Some);
            }
            Action::Attempt(step) => return self.attempt(step).await,
            Action::StartRollback { cause, reason } => self.roll_back(cause, reason).await?,
            Action::Stop(outcome) => return self.stop(outcome).await.map(Some),
            Action::Finish => {
                self.background.stop(
                    &mut self.rec,
                    StepStatus::Done,
                    "stopped when the run finished; no rule held",
                )?;
                let event = Event::RunFinished {
                    status: RunStatus::Done,
                    exit_code: 0,
                };
                self.rec.record(event, Durability::Now)?;
                self.tell(&Notice::RunFinished).await?;
                return Ok(Some(RunOutcome::Done));
            }
            Action::FinishRollback { cause, reason } => {
                let event = Event::RunFinished {
                    status: RunStatus::RolledBack,
                    exit_code: 4,
                };
                self.rec.record(event, Durability::Now)?;
                return self.stop(RunOutcome::RolledBack { cause, reason }).await.map(Some);
            }
        }
        Ok(None)
    }

    /// Attempts a step; a signal ends the invocation.
    async fn attempt(&mut self, step: &PlanStep<'a>) -> Result<Option<RunOutcome>, RunError> {
        let rolling_back = self.rec.run().is_some_and(RunState::rolling_back);
        let direction = if rolling_back {
            Direction::Rollback
        } else {
            Direction::Forward
        };
        if let (StepKind::Monitor(m), Direction::Forward) = (&step.step().kind, direction)
            && m.background
        {
            self.background.start(&mut self.rec, &self.parts, step, m)?;
            return Ok(None);
        }
        let attempted = attempts(&mut self.rec, &self.parts, step, direction, &mut self.background).await;
        let attempted = attempted.map_err(|e| match e {
            // The heartbeat may not have noticed yet: a write that finds the connection gone
            // (the sync of a check's entries, due while the step runs) lost the lock too.
            RunError::Journal(source) if self.parts.cancel.lost_lock() || source.lost_session() => RunError::LockLost {
                step: step.id.clone(),
                source,
            },
            other => other,
        })?;
        match attempted {
            Attempted::Done => Ok(None),
            Attempted::Tripped => {
                self.tell(&Notice::TriggerFired { step: self.tripped() }).await?;
                Ok(None)
            }
            Attempted::Interrupted => {
                let outcome = self.interrupted(Some(&step.id))?;
                self.stop(outcome).await.map(Some)
            }
            Attempted::Failed { reason } => {
                let escalation = self.rec.run().and_then(|r| r.step(&step.id)).and_then(|s| s.escalation);
                if escalation == Some(Escalation::Rollback) && !rolling_back {
                    self.tell(&Notice::TriggerFired { step: step.id.clone() }).await?;
                }
                if step.on_failure == OnFailure::Continue && (rolling_back || escalation.is_none()) {
                    let said = if rolling_back {
                        format!(
                            "rollback step `{}` failed; continuing (on_failure: continue): {reason}",
                            step.id
                        )
                    } else {
                        format!("step `{}` failed; continuing (on_failure: continue)", step.id)
                    };
                    self.rec.observer().warn(&said);
                }
                Ok(None)
            }
        }
    }

    /// Re-runs a completed step's `verify` check; a signal ends the invocation.
    async fn verify(&mut self, step: &PlanStep<'a>) -> Result<Option<RunOutcome>, RunError> {
        let Some(verify) = &step.step().verify else {
            return Ok(None);
        };
        let run_id = self.rec.run_id().to_string();
        let ctx = self.parts.context(&run_id, &step.id, step.timeout);
        let outcome = tokio::select! {
            r = tokio::time::timeout(step.timeout, check(verify, &ctx)) => r.unwrap_or_else(|_| StepOutcome::failed(format!("verify timed out after {}", crate::runbook::duration::format(step.timeout)))),
            _ = self.parts.cancel.cancelled() => {
                let outcome = self.interrupted(None)?;
                return self.stop(outcome).await.map(Some);
            }
        };
        let (ok, reason) = match outcome {
            StepOutcome::Done { .. } => (true, None),
            StepOutcome::Failed { reason, .. } => (false, Some(reason)),
        };
        let event = Event::Verified {
            step: step.id.clone(),
            ok,
            reason,
        };
        self.rec.record(event, Durability::Soon)?;
        Ok(None)
    }

    /// The background monitor whose rule held in this invocation, for the webhooks.
    fn tripped(&self) -> String {
        let run = self.rec.run();
        self.plan
            .steps()
            .find(|s| {
                run.and_then(|r| r.step(&s.id))
                    .is_some_and(|st| st.escalation == Some(Escalation::Rollback))
                    && run.is_some_and(|r| r.finished_now(&s.id))
            })
            .map(|s| s.id.clone())
            .unwrap_or_default()
    }

    /// Begins the rollback (journaling its steps), or goes on with the one journaled.
    async fn roll_back(&mut self, cause: RollbackCause, reason: String) -> Result<(), RunError> {
        self.background
            .stop(&mut self.rec, StepStatus::Interrupted, "stopped: the rollback began")?;
        let Some(run) = self.rec.run() else {
            return Err(RunError::Internal("the driver lost its run state"));
        };
        // A new rollback is shown by its journaled `rollback_started` and the command's last
        // words say why: no warning (an operator's own `deployctl rollback` is no surprise).
        // One resumed journals nothing new, so it is said here.
        match &run.rollback {
            Some(journaled) => {
                let text = format!("resuming the rollback: {}", journaled.reason);
                self.rec.observer().warn(&text);
            }
            None => {
                let steps = rollback_plan(run, self.plan);
                let by = self.options.operator.clone();
                let event = Event::RollbackStarted {
                    cause,
                    reason,
                    by,
                    steps,
                };
                self.rec.record(event, Durability::Now)?;
            }
        }
        self.tell(&Notice::RollbackStarted).await
    }

    fn pause(&mut self, step: &PlanStep<'a>, reason: String, hint: String) -> Result<RunOutcome, RunError> {
        let event = Event::RunPaused {
            step: step.id.clone(),
            reason: reason.clone(),
        };
        self.rec.record(event, Durability::Now)?;
        Ok(RunOutcome::Paused {
            step: step.id.clone(),
            reason,
            hint,
        })
    }

    /// Journals that a signal stopped the run (during `step`, if any).
    fn interrupted(&mut self, step: Option<&str>) -> Result<RunOutcome, RunError> {
        let signal = self.parts.cancel.signal();
        let event = Event::RunInterrupted {
            step: step.map(str::to_owned),
            signal: signal.to_string(),
        };
        self.rec.record(event, Durability::Now)?;
        Ok(RunOutcome::Interrupted {
            step: step.map(str::to_owned),
            signal,
        })
    }

    /// Ends the invocation: everything durable and shown, the webhooks told.
    async fn stop(&mut self, outcome: RunOutcome) -> Result<RunOutcome, RunError> {
        self.background.stop(
            &mut self.rec,
            StepStatus::Interrupted,
            "stopped with the invocation; a resumed run watches again for the rest of its duration",
        )?;
        self.rec.settle()?;
        for warning in self.webhooks.settle().await {
            self.rec.observer().warn(&warning);
        }
        // A pause at an approval gate asks the role for it (`approval_requested`).
        let notice = match &outcome {
            RunOutcome::Paused { step, .. } => Some(super::request::paused(self.plan.loaded, step)),
            _ => Notice::ending(&outcome),
        };
        if let Some(notice) = notice {
            self.tell(&notice).await?;
        }
        Ok(outcome)
    }

    /// Tells the webhooks (after making everything durable: a webhook is seen outside).
    async fn tell(&mut self, notice: &Notice) -> Result<(), RunError> {
        self.rec.settle()?;
        for warning in self.webhooks.tell(notice).await {
            self.rec.observer().warn(&warning);
        }
        Ok(())
    }
}
