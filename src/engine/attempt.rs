//! Attempts of one step: timeout, retries with backoff, cancellation, and their journal.
//!
//! The engine, not the step, owns time: each attempt runs under `tokio::time::timeout` and
//! races the signal; losing either drops the step's future, which for `shell` kills the
//! whole process group.

use std::collections::BTreeSet;
use std::time::Instant;

use tokio::sync::mpsc;

use super::executor::{Durability, Executor};
use super::observer::Observer;
use super::outcome::RunError;
use super::retry::delay_before;
use crate::event::{Event, StepStatus, UndoEntry};
use crate::runbook::duration::format as dur;
use crate::runbook::model::{MigrationStyle, Step, StepKind};
use crate::steps::{Escalation, Live, StepOutcome, applied_migrations, execute_live};

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
    /// A monitor rule held (journaled as failed, with the trigger): roll back now.
    Triggered {
        /// The rule and windows.
        reason: String,
    },
    /// A monitor had no data under `on_no_data: pause` (journaled as failed).
    NeedsOperator {
        /// What happened.
        reason: String,
    },
}

impl<O: Observer> Executor<'_, O> {
    /// Attempts a step until done, out of retries, escalated or interrupted. `ledgered`: a
    /// completed forward step puts its undo on the ledger; rollback steps do not.
    pub(super) async fn attempts(&mut self, step: &Step, ledgered: bool) -> Result<Attempted, RunError> {
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
            let outcome = self.attempt(step).await?;
            let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let finish = |status, reason, output| Event::StepFinished {
                step: step.id.clone(),
                status,
                attempts: attempt,
                duration_ms,
                reason,
                output,
                undo: None,
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
                Some((StepOutcome::Done { detail, output }, _)) => {
                    let entry = ledger_entry(step, ledgered, output.as_deref());
                    let mut done = finish(StepStatus::Done, detail, output);
                    if let Event::StepFinished { undo, .. } = &mut done {
                        *undo = entry;
                    }
                    self.record(done)?;
                    return Ok(Attempted::Done);
                }
                Some((StepOutcome::Failed { reason, output }, Some(escalation))) => {
                    self.record(finish(StepStatus::Failed, Some(reason.clone()), output))?;
                    return Ok(match escalation {
                        Escalation::Rollback => Attempted::Triggered { reason },
                        Escalation::Pause => Attempted::NeedsOperator { reason },
                    });
                }
                Some((StepOutcome::Failed { reason, output }, None)) if attempt >= max => {
                    self.record(finish(StepStatus::Failed, Some(reason.clone()), output))?;
                    return Ok(Attempted::Failed { reason });
                }
                Some((StepOutcome::Failed { reason, .. }, None)) => {
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

    /// One attempt under the step's timeout; `None` when a signal interrupted it. Progress
    /// the step reports (services restarted, monitor windows) is journaled as it arrives,
    /// and all of it before the attempt's own end.
    async fn attempt(&mut self, step: &Step) -> Result<Option<(StepOutcome, Option<Escalation>)>, RunError> {
        if self.cancel.is_cancelled() {
            return Ok(None);
        }
        let (tx, mut rx) = mpsc::unbounded_channel();
        let services_done = self.services_done(&step.id);
        let (loaded, cancel, parts) = (self.loaded, self.cancel.clone(), self.step_parts());
        let ctx = parts.context(loaded, &step.id, step.timeout);
        let live = Live {
            services: &loaded.runbook.services,
            workdir: &loaded.runbook.workdir,
            progress: &tx,
            services_done: &services_done,
        };
        let work = tokio::time::timeout(step.timeout, execute_live(&step.kind, &ctx, &live));
        tokio::pin!(work);
        let result = loop {
            tokio::select! {
                biased;
                Some(event) = rx.recv() => self.record(event)?,
                result = &mut work => break Some(match result {
                    Ok(outcome) => outcome,
                    Err(_) => (StepOutcome::Failed { reason: format!("timed out after {}", dur(step.timeout)), output: None }, None),
                }),
                _ = cancel.cancelled() => break None,
            }
        };
        while let Ok(event) = rx.try_recv() {
            self.record(event)?;
        }
        Ok(result)
    }

    /// Services of this rolling restart the journal already shows healthy in this run.
    fn services_done(&self, step: &str) -> BTreeSet<String> {
        self.journaled_step(step)
            .map(|state| {
                state
                    .services
                    .iter()
                    .filter(|s| s.result == crate::event::ServiceResult::Healthy)
                    .map(|s| s.service.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The undo a completed step puts on the ledger: its `undo`, else, for a plain-style
/// `migrate` that applied migrations which all have a `<name>.down.sql`, their down files.
fn ledger_entry(step: &Step, ledgered: bool, output: Option<&str>) -> Option<UndoEntry> {
    if !ledgered {
        return None;
    }
    if let Some(undo) = &step.undo {
        return Some(UndoEntry {
            id: undo.id.clone(),
            title: undo.title.clone().unwrap_or_else(|| format!("undo of `{}`", step.id)),
            migrations: Vec::new(),
        });
    }
    let StepKind::Migrate(m) = &step.kind else { return None };
    if m.style != MigrationStyle::Plain || m.check {
        return None;
    }
    let applied = output.and_then(applied_migrations).filter(|a| !a.is_empty())?;
    let all_down = applied
        .iter()
        .all(|name| m.dir.join(format!("{name}.down.sql")).is_file());
    all_down.then(|| UndoEntry {
        id: format!("{}.undo", step.id),
        title: format!(
            "revert {} migration(s) of `{}` with their down files, newest first",
            applied.len(),
            step.id
        ),
        migrations: applied,
    })
}
