//! How one attempt of a step ended, journaled: done (with its undo on the ledger), failed
//! for good, failed with a retry to come, interrupted by a signal, or stopped because a
//! background monitor's rule held.

use super::observer::Observer;
use super::outcome::RunError;
use super::parts::StepParts;
use super::plan::PlanStep;
use super::recorder::{Durability, Recorder};
use super::retry::delay_before;
use crate::event::{Escalation, Event, StepStatus, UndoEntry};
use crate::runbook::duration::format as dur;
use crate::steps::own_undo;

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
    /// A background monitor's rule held while it ran: it was stopped and journaled as
    /// interrupted; the rollback comes next.
    Tripped,
}

/// Whether a completed step puts its undo on the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    /// A forward step: its undo goes on the ledger.
    Forward,
    /// A rollback step: nothing is undone twice.
    Rollback,
}

/// One attempt's end, and how durable its entry must be.
pub(super) struct Finish<'p, 'a> {
    /// The step.
    pub planned: &'p PlanStep<'a>,
    /// Which attempt (1-based).
    pub attempt: u32,
    /// Since the first attempt's start.
    pub duration_ms: u64,
    /// A check's end may share an fsync; a change's is synced before the next entry.
    pub durability: Durability,
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

    /// A signal stopped it.
    pub(super) fn interrupted<O: Observer>(
        &self,
        rec: &mut Recorder<'_, O>,
        reason: String,
    ) -> Result<Attempted, RunError> {
        rec.record(self.event(StepStatus::Interrupted, Some(reason), None), self.durability)?;
        Ok(Attempted::Interrupted)
    }

    /// A background monitor's rule held: the step was stopped, on disk before the rollback.
    pub(super) fn tripped<O: Observer>(&self, rec: &mut Recorder<'_, O>) -> Result<Attempted, RunError> {
        let reason = "stopped: a background monitor's rollback rule held".to_string();
        rec.record(self.event(StepStatus::Interrupted, Some(reason), None), Durability::Now)?;
        Ok(Attempted::Tripped)
    }

    /// Done; a forward step puts its undo on the ledger in the same entry.
    pub(super) fn done<O: Observer>(
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
    pub(super) fn failed<O: Observer>(
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
    pub(super) async fn retry_after<O: Observer>(
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
