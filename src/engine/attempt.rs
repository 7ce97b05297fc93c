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
use std::time::Instant;

use tokio::sync::mpsc;

use super::background::{Background, Heard};
use super::finish::{Attempted, Direction, Finish};
use super::observer::Observer;
use super::outcome::RunError;
use super::parts::StepParts;
use super::plan::{PlanStep, Work};
use super::recorder::{Durability, Recorder};
use crate::event::{Event, ServiceResult, UndoEntry};
use crate::runbook::duration::format as dur;
use crate::steps::{Failure, Live, Progress, StepContext, StepOutcome, StepStarts, execute, revert};

/// Attempts a plan step until done, out of retries, or interrupted.
pub(super) async fn attempts<O: Observer>(
    rec: &mut Recorder<'_, O>,
    parts: &StepParts<'_>,
    planned: &PlanStep<'_>,
    direction: Direction,
    background: &mut Background,
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
        if let Ok(mut starts) = parts.starts.lock() {
            starts.entry(planned.id.clone()).or_insert_with(|| parts.clock.now());
        }
        let outcome = attempt_once(rec, parts, planned, background).await?;
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
        let outcome = match outcome {
            Ran::Signal => return finish.interrupted(rec, format!("stopped by {}", parts.cancel.signal())),
            Ran::Tripped => return finish.tripped(rec),
            Ran::Outcome(result) => result,
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

/// How one attempt ended.
enum Ran {
    Outcome(StepOutcome),
    /// A signal interrupted it.
    Signal,
    /// A background monitor's rule held.
    Tripped,
}

/// One attempt under the step's timeout, journaling what background monitors report.
async fn attempt_once<O: Observer>(
    rec: &mut Recorder<'_, O>,
    parts: &StepParts<'_>,
    planned: &PlanStep<'_>,
    background: &mut Background,
) -> Result<Ran, RunError> {
    if parts.cancel.is_cancelled() {
        return Ok(Ran::Signal);
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let run_id = rec.run_id().to_string();
    let services_done = services_done(rec, &planned.id);
    let outputs = done_outputs(rec, planned.step().kind.reads_output_of());
    let baseline = rec
        .run()
        .and_then(|r| r.step(&planned.id))
        .and_then(|s| s.baseline.clone());
    let live = Live {
        outputs: &outputs,
        services: &parts.loaded.runbook.services,
        workdir: &parts.loaded.runbook.workdir,
        progress: &tx,
        services_done: &services_done,
        baseline: baseline.as_ref(),
        starts: &parts.starts,
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
            Some(progress) = rx.recv() => record_progress(rec, progress)?,
            Some(note) = background.next() => {
                if background.record(rec, note)? == Heard::Tripped {
                    break Ran::Tripped;
                }
            }
            result = &mut work => break Ran::Outcome(result.unwrap_or_else(|_| {
                StepOutcome::failed(format!("timed out after {}", dur(planned.timeout)))
            })),
            _ = parts.cancel.cancelled() => break Ran::Signal,
            _ = sleep_until(due), if due.is_some() => rec.settle()?,
        }
    };
    while let Ok(progress) = rx.try_recv() {
        record_progress(rec, progress)?;
    }
    Ok(result)
}

/// Journals what a step reported while it ran, as durable as [`progress_durability`] says,
/// and answers a step waiting for its reports to be on disk once they are.
fn record_progress<O: Observer>(rec: &mut Recorder<'_, O>, progress: Progress) -> Result<(), RunError> {
    match progress {
        Progress::Event(event) => {
            let durability = progress_durability(&event);
            rec.record(event, durability)
        }
        Progress::Synced(done) => {
            rec.settle()?;
            let _ = done.send(());
            Ok(())
        }
    }
}

/// When a step's progress must be on disk. A process's pid and group are what a resume
/// looks for to find an orphan; they can wait for the next sync, because only the machine
/// going down loses entries from the page cache, and that takes the process with it (a crash
/// of deployctl alone loses nothing already written). Which service a restart is polling is
/// for the reader only (the run's state ignores it). Everything else a step reports (a
/// service's verdict, a monitor's window) is evidence and is synced at once.
fn progress_durability(event: &Event) -> Durability {
    match event {
        Event::ProcessStarted { .. } | Event::ServicePolling { .. } => Durability::Soon,
        _ => Durability::Now,
    }
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

/// The journaled output of the completed step `read` of this run, by id: only what the step
/// reads is copied (every attempt of every step passes here).
fn done_outputs<O: Observer>(rec: &Recorder<'_, O>, read: Option<&str>) -> BTreeMap<String, String> {
    let (Some(run), Some(id)) = (rec.run(), read) else {
        return BTreeMap::new();
    };
    run.step(id)
        .filter(|_| run.is_done(id))
        .and_then(|state| Some((id.to_string(), state.output.clone()?)))
        .into_iter()
        .collect()
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

/// When each step of the run first started, as journaled.
pub(super) fn step_starts(run: Option<&crate::journal::RunState>) -> StepStarts {
    let starts = run
        .map(|run| run.steps.iter().map(|(id, s)| (id.clone(), s.started_at)).collect())
        .unwrap_or_default();
    StepStarts::new(starts)
}
