//! Attempts of one step: timeout, retries with backoff, cancellation, and their journal.
//!
//! The engine, not the step, owns time: each attempt runs under `tokio::time::timeout` and
//! races the signal; losing either drops the step's future, which for `shell` kills the
//! whole process group.

use std::time::Instant;

use super::executor::{Durability, Executor};
use super::observer::Observer;
use super::outcome::RunError;
use super::retry::delay_before;
use crate::event::{Event, StepStatus};
use crate::runbook::duration::format as dur;
use crate::runbook::model::Step;
use crate::steps::{StepContext, StepOutcome, execute};

/// How the attempts of a step ended.
pub(super) enum Attempted {
    /// Done (journaled).
    Done,
    /// Failed after all attempts (journaled).
    Failed {
        /// The last attempt's reason.
        reason: String,
    },
    /// A signal stopped it (journaled as interrupted).
    Interrupted,
}

impl<O: Observer> Executor<'_, O> {
    pub(super) async fn attempts(&mut self, step: &Step) -> Result<Attempted, RunError> {
        let started = Instant::now();
        let max = step.retries + 1;
        let mut attempt = 1;
        loop {
            // A non-idempotent step's start must be on disk before it runs: that is what stops
            // a resume from running it twice. An idempotent step's start can ride on the fsync
            // of its finish.
            let durability = if step.idempotent {
                Durability::WithNextSync
            } else {
                Durability::Synced
            };
            self.record_with(
                Event::StepStarted {
                    step: step.id.clone(),
                    attempt,
                },
                durability,
            )?;
            let outcome = self.attempt(step).await;
            let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let finish = |status, reason, output| Event::StepFinished {
                step: step.id.clone(),
                status,
                attempts: attempt,
                duration_ms,
                reason,
                output,
            };
            match outcome {
                None => {
                    self.record(finish(
                        StepStatus::Interrupted,
                        Some(format!("stopped by {}", self.cancel.signal())),
                        None,
                    ))?;
                    return Ok(Attempted::Interrupted);
                }
                Some(StepOutcome::Done { detail, output }) => {
                    self.record(finish(StepStatus::Done, detail, output))?;
                    return Ok(Attempted::Done);
                }
                Some(StepOutcome::Failed { reason, output }) if attempt >= max => {
                    self.record(finish(StepStatus::Failed, Some(reason.clone()), output))?;
                    return Ok(Attempted::Failed { reason });
                }
                Some(StepOutcome::Failed { reason, .. }) => {
                    let delay = delay_before(attempt + 1, step.retry_delay, step.backoff);
                    self.observer.warn(&format!(
                        "step `{}` attempt {attempt}/{max} failed: {reason}; retrying in {}",
                        step.id,
                        dur(delay)
                    ));
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = self.cancel.cancelled() => {
                            self.record(finish(StepStatus::Interrupted, Some(format!("stopped by {} between attempts", self.cancel.signal())), None))?;
                            return Ok(Attempted::Interrupted);
                        }
                    }
                    attempt += 1;
                }
            }
        }
    }

    /// One attempt under the step's timeout; `None` when a signal interrupted it.
    async fn attempt(&self, step: &Step) -> Option<StepOutcome> {
        if self.cancel.is_cancelled() {
            return None;
        }
        let ctx = StepContext {
            run_id: &self.run_id,
            runbook: &self.loaded.runbook.name,
            step_id: &step.id,
            redactor: &self.loaded.redactor,
            http: &self.http,
            databases: &self.databases,
            timeout: step.timeout,
        };
        tokio::select! {
            result = tokio::time::timeout(step.timeout, execute(&step.kind, &ctx)) => Some(match result {
                Ok(outcome) => outcome,
                Err(_) => StepOutcome::Failed { reason: format!("timed out after {}", dur(step.timeout)), output: None },
            }),
            _ = self.cancel.cancelled() => None,
        }
    }
}
