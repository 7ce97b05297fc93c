//! The attempts of one plan step: timeout, retries with backoff, cancellation, progress,
//! and their journal entries. The same loop runs forward steps, rollback steps and a
//! kind's own undo (a `migrate`'s down files).
//!
//! The engine, not the step, owns time: each attempt runs under `tokio::time::timeout` and
//! races the signal; losing either drops the step's future, which for `shell` kills the
//! whole process group. While it runs, progress the step reports (services restarted,
//! monitor windows) is journaled as it arrives, and unsynced check entries are fsynced
//! when their time is up.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::cancel::Cancel;
use super::observer::Observer;
use super::outcome::RunError;
use super::plan::{PlanStep, Work};
use super::recorder::{Durability, Recorder};
use super::retry::delay_before;
use crate::event::{Escalation, Event, ServiceResult, StepStatus, UndoEntry};
use crate::runbook::Loaded;
use crate::runbook::duration::format as dur;
use crate::steps::{Databases, Failure, Live, StepContext, StepOutcome, execute, own_undo, revert};

/// How the attempts of a step ended (all journaled).
pub(super) enum Attempted {
    /// Done.
    Done,
    /// Failed after all attempts; the driver decides what that means from the journal.
    Failed {
        /// The last attempt's reason.
        reason: String,
    },
    /// A signal stopped it.
    Interrupted,
}

/// Whether a completed step puts its undo on the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    /// A forward step: its undo goes on the ledger.
    Forward,
    /// A rollback step: nothing is undone twice.
    Rollback,
}

/// What steps borrow from the run: one HTTP client, one pool per database, the signal.
pub(super) struct StepParts<'a> {
    /// The runbook.
    pub loaded: &'a Loaded,
    /// One client per run (connection reuse).
    pub http: reqwest::Client,
    /// One pool per runbook database.
    pub databases: Arc<Databases>,
    /// SIGINT/SIGTERM.
    pub cancel: Cancel,
    /// Now, as the run sees it.
    pub clock: crate::clock::Clock,
}

impl StepParts<'_> {
    /// The context of one attempt of step `id`, limited to `timeout`.
    pub(super) fn context<'c>(&'c self, run_id: &'c str, id: &'c str, timeout: Duration) -> StepContext<'c> {
        StepContext {
            run_id,
            runbook: &self.loaded.runbook.name,
            step_id: id,
            redactor: &self.loaded.redactor,
            http: &self.http,
            databases: &self.databases,
            timeout,
            clock: self.clock,
            live: None,
        }
    }
}

/// Attempts a plan step until done, out of retries, or interrupted.
pub(super) async fn attempts<O: Observer>(
    rec: &mut Recorder<'_, O>,
    parts: &StepParts<'_>,
    planned: &PlanStep<'_>,
    direction: Direction,
) -> Result<Attempted, RunError> {
    let check = planned.is_check();
    let started = Instant::now();
    let max = planned.retries + 1;
    let mut attempt = 1;
    loop {
        // A step that changes things or must not run twice is on disk as started before it
        // runs: that is what stops a resume from running it twice.
        let durability = if check { Durability::Soon } else { Durability::Now };
        let id = planned.id.clone();
        rec.record(Event::StepStarted { step: id, attempt }, durability)?;
        let outcome = attempt_once(rec, parts, planned).await?;
        let finish = Finish {
            planned,
            attempt,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            durability: if check {
                Durability::Soon
            } else {
                Durability::BeforeNext
            },
        };
        let Some(outcome) = outcome else {
            return finish.interrupted(rec, format!("stopped by {}", parts.cancel.signal()));
        };
        match outcome {
            StepOutcome::Done { detail, output } => return finish.done(rec, direction, detail, output),
            StepOutcome::Failed {
                reason,
                hint,
                output,
                escalation,
            } if escalation.is_some() || attempt >= max => {
                return finish.failed(rec, Failure { reason, hint }.text(), output, escalation);
            }
            StepOutcome::Failed { reason, hint, .. } => {
                let reason = Failure { reason, hint }.text();
                if !finish.retry_after(rec, parts, reason, max).await? {
                    let reason = format!("stopped by {} between attempts", parts.cancel.signal());
                    return finish.interrupted(rec, reason);
                }
                attempt += 1;
            }
        }
    }
}

/// How one attempt of a step ended, journaled.
struct Finish<'p, 'a> {
    planned: &'p PlanStep<'a>,
    attempt: u32,
    duration_ms: u64,
    durability: Durability,
}

impl Finish<'_, '_> {
    fn event(&self, status: StepStatus, reason: Option<String>, output: Option<String>) -> Event {
        Event::StepFinished {
            step: self.planned.id.clone(),
            status,
            attempts: self.attempt,
            duration_ms: self.duration_ms,
            reason,
            output,
            undo: None,
            escalation: None,
        }
    }

    fn interrupted<O: Observer>(&self, rec: &mut Recorder<'_, O>, reason: String) -> Result<Attempted, RunError> {
        rec.record(self.event(StepStatus::Interrupted, Some(reason), None), self.durability)?;
        Ok(Attempted::Interrupted)
    }

    /// Done; a forward step puts its undo on the ledger.
    fn done<O: Observer>(
        &self,
        rec: &mut Recorder<'_, O>,
        direction: Direction,
        detail: Option<String>,
        output: Option<String>,
    ) -> Result<Attempted, RunError> {
        let undo = match direction {
            Direction::Forward => ledger_entry(self.planned, output.as_deref()),
            Direction::Rollback => None,
        };
        let mut done = self.event(StepStatus::Done, detail, output);
        if let Event::StepFinished { undo: slot, .. } = &mut done {
            *slot = undo;
        }
        rec.record(done, self.durability)?;
        Ok(Attempted::Done)
    }

    /// Failed for good: out of attempts, or the step asked the engine for more.
    fn failed<O: Observer>(
        &self,
        rec: &mut Recorder<'_, O>,
        reason: String,
        output: Option<String>,
        escalation: Option<Escalation>,
    ) -> Result<Attempted, RunError> {
        let mut event = self.event(StepStatus::Failed, Some(reason.clone()), output);
        if let Event::StepFinished { escalation: slot, .. } = &mut event {
            *slot = escalation;
        }
        rec.record(event, self.durability)?;
        Ok(Attempted::Failed { reason })
    }

    /// Journals the failed attempt and waits out the retry delay; `false` when a signal
    /// came first.
    async fn retry_after<O: Observer>(
        &self,
        rec: &mut Recorder<'_, O>,
        parts: &StepParts<'_>,
        reason: String,
        max: u32,
    ) -> Result<bool, RunError> {
        let (planned, attempt) = (self.planned, self.attempt);
        let failed = Event::AttemptFailed {
            step: planned.id.clone(),
            attempt,
            reason: reason.clone(),
        };
        rec.record(failed, self.durability)?;
        let step = planned.step();
        let delay = delay_before(attempt + 1, step.retry_delay, step.backoff);
        rec.observer().warn(&format!(
            "step `{}` attempt {attempt}/{max} failed: {reason}; retrying in {}",
            planned.id,
            dur(delay)
        ));
        Ok(tokio::select! {
            _ = tokio::time::sleep(delay) => true,
            _ = parts.cancel.cancelled() => false,
        })
    }
}

/// One attempt under the step's timeout; `None` when a signal interrupted it.
async fn attempt_once<O: Observer>(
    rec: &mut Recorder<'_, O>,
    parts: &StepParts<'_>,
    planned: &PlanStep<'_>,
) -> Result<Option<StepOutcome>, RunError> {
    if parts.cancel.is_cancelled() {
        return Ok(None);
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let run_id = rec.run_id().to_string();
    let services_done = services_done(rec, &planned.id);
    let outputs = done_outputs(rec);
    let live = Live {
        outputs: &outputs,
        services: &parts.loaded.runbook.services,
        workdir: &parts.loaded.runbook.workdir,
        progress: &tx,
        services_done: &services_done,
    };
    let ctx = StepContext {
        live: Some(&live),
        ..parts.context(&run_id, &planned.id, planned.timeout)
    };
    let undo = match planned.work {
        Work::Revert(forward) => rec.run().and_then(|r| r.step(&forward.id)).and_then(|s| s.undo.clone()),
        Work::Step(_) => None,
    };
    let work = tokio::time::timeout(planned.timeout, run_work(planned.work, undo.as_ref(), &ctx));
    tokio::pin!(work);
    let result = loop {
        let due = rec.sync_due();
        tokio::select! {
            biased;
            Some(event) = rx.recv() => rec.record(event, Durability::Now)?,
            result = &mut work => break Some(result.unwrap_or_else(|_| {
                StepOutcome::failed(format!("timed out after {}", dur(planned.timeout)))
            })),
            _ = parts.cancel.cancelled() => break None,
            _ = sleep_until(due), if due.is_some() => rec.settle()?,
        }
    };
    while let Ok(event) = rx.try_recv() {
        rec.record(event, Durability::Now)?;
    }
    Ok(result)
}

async fn sleep_until(due: Option<tokio::time::Instant>) {
    if let Some(due) = due {
        tokio::time::sleep_until(due).await;
    }
}

/// Executes the work of a plan step once.
async fn run_work(work: Work<'_>, undo: Option<&UndoEntry>, ctx: &StepContext<'_>) -> StepOutcome {
    match (work, undo) {
        (Work::Step(step), _) => execute(&step.kind, ctx).await,
        (Work::Revert(forward), Some(undo)) => revert(&forward.kind, undo, ctx).await,
        (Work::Revert(forward), None) => StepOutcome::failed(format!("the journal holds no undo for `{}`", forward.id)),
    }
}

/// The journaled output of every completed step of this run, by id.
fn done_outputs<O: Observer>(rec: &Recorder<'_, O>) -> BTreeMap<String, String> {
    rec.run()
        .map(|run| {
            run.steps
                .iter()
                .filter(|(id, _)| run.is_done(id))
                .filter_map(|(id, state)| Some((id.clone(), state.output.clone()?)))
                .collect()
        })
        .unwrap_or_default()
}

/// Services of this rolling restart the journal already shows healthy in this run.
fn services_done<O: Observer>(rec: &Recorder<'_, O>, step: &str) -> BTreeSet<String> {
    rec.run()
        .and_then(|run| run.step(step))
        .map(|state| {
            state
                .services
                .iter()
                .filter(|s| s.result == ServiceResult::Healthy)
                .map(|s| s.service.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// The undo a completed forward step puts on the ledger: its `undo:`, else its kind's own.
fn ledger_entry(planned: &PlanStep<'_>, output: Option<&str>) -> Option<UndoEntry> {
    let step = planned.step();
    match &step.undo {
        Some(undo) => Some(UndoEntry {
            id: undo.id.clone(),
            title: undo.title.clone().unwrap_or_else(|| format!("undo of `{}`", step.id)),
            migrations: Vec::new(),
        }),
        None => own_undo(step, output),
    }
}
