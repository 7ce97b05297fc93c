//! Background monitors (`monitor: { background: true }`): watches that go on while the
//! following steps run.
//!
//! Theory of operation: when the run reaches a background monitor, its start is journaled
//! and its watch is spawned as a task that owns everything it needs (the monitor, the
//! run's client, the redactor, the shared step starts for its baseline). The task sends
//! what the watch reports, and finally how it ended, over one channel; the engine journals
//! those notes in order, between steps and while a step runs. When a note says a rule held,
//! [`Background::record`] answers [`Heard::Tripped`]: the attempt in flight is dropped
//! (its process group killed, its transaction rolled back), journaled as interrupted, and
//! the decision function sees the monitor failed with a rollback escalation, as for a
//! monitor in the foreground. The watches stop when their duration ends, when the run
//! finishes (journaled `done`), or when the invocation stops or a rollback begins
//! (journaled `interrupted`, so a resumed run watches again for what is left of the
//! duration). Nothing here decides what the run does next.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::observer::Observer;
use super::outcome::RunError;
use super::parts::StepParts;
use super::plan::PlanStep;
use super::recorder::{Durability, Recorder};
use crate::event::{Baseline, Event, StepStatus};
use crate::runbook::model::{Monitor, Service};
use crate::steps::{Databases, Failure, Live, Progress, StepContext, StepOutcome, StepStarts};

/// What a watch tells the engine.
#[derive(Debug)]
pub(super) enum Note {
    /// What it reported (a window, its baseline, a trigger), or a wait for it to be on disk.
    Progress(Progress),
    /// How it ended.
    Ended {
        step: String,
        outcome: StepOutcome,
        duration_ms: u64,
    },
}

/// What recording a note meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Heard {
    /// Keep going.
    Nothing,
    /// A watch ended asking for the rollback: interrupt the step in flight.
    Tripped,
}

/// The background watches of one invocation.
pub(super) struct Background {
    tx: mpsc::UnboundedSender<Note>,
    rx: mpsc::UnboundedReceiver<Note>,
    watches: Vec<Watch>,
    /// Ids of the steps being watched, for the decision function.
    watching: Vec<String>,
}

struct Watch {
    id: String,
    task: JoinHandle<()>,
    started: Instant,
}

impl Background {
    pub(super) fn new() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Background {
            tx,
            rx,
            watches: Vec::new(),
            watching: Vec::new(),
        }
    }

    /// The steps watched now.
    pub(super) fn watching(&self) -> &[String] {
        &self.watching
    }

    /// Starts watching `planned` (a background monitor): journals its start and spawns its
    /// watch for what is left of its duration since it first started in this run.
    pub(super) fn start<O: Observer>(
        &mut self,
        rec: &mut Recorder<'_, O>,
        parts: &StepParts<'_>,
        planned: &PlanStep<'_>,
        monitor: &Monitor,
    ) -> Result<(), RunError> {
        let id = planned.id.clone();
        let state = rec.run().and_then(|r| r.step(&id));
        let attempt = state.map_or(1, |s| s.attempts + 1);
        let first_start = state.map(|s| s.started_at);
        let baseline = state.and_then(|s| s.baseline.clone());
        rec.record(
            Event::StepStarted {
                step: id.clone(),
                attempt,
            },
            Durability::Now,
        )?;
        let spent = first_start
            .and_then(|at| (parts.clock.now() - at).to_std().ok())
            .unwrap_or_default();
        let mut watch = monitor.clone();
        watch.duration = monitor.duration.saturating_sub(spent);
        if watch.duration.is_zero() {
            let outcome = StepOutcome::Done {
                detail: Some("its duration ended while the run was stopped".to_string()),
                output: None,
            };
            return self.finish(rec, &id, outcome, 0).map(|_| ());
        }
        let task = spawn(Task::new(parts, rec.run_id(), &id, watch, baseline), self.tx.clone());
        self.watches.push(Watch {
            id: id.clone(),
            task,
            started: Instant::now(),
        });
        self.watching.push(id);
        Ok(())
    }

    /// The next note (pending forever when nothing is watched and nothing is queued).
    pub(super) async fn next(&mut self) -> Option<Note> {
        self.rx.recv().await
    }

    /// Journals every note already queued; says whether one tripped.
    pub(super) fn drain<O: Observer>(&mut self, rec: &mut Recorder<'_, O>) -> Result<Heard, RunError> {
        let mut heard = Heard::Nothing;
        while let Ok(note) = self.rx.try_recv() {
            if self.record(rec, note)? == Heard::Tripped {
                heard = Heard::Tripped;
            }
        }
        Ok(heard)
    }

    /// Journals one note.
    pub(super) fn record<O: Observer>(&mut self, rec: &mut Recorder<'_, O>, note: Note) -> Result<Heard, RunError> {
        match note {
            Note::Progress(Progress::Event(event)) => {
                rec.record(event, Durability::Now)?;
                Ok(Heard::Nothing)
            }
            Note::Progress(Progress::Synced(done)) => {
                rec.settle()?;
                let _ = done.send(());
                Ok(Heard::Nothing)
            }
            Note::Ended {
                step,
                outcome,
                duration_ms,
            } => {
                self.watches.retain(|w| w.id != step);
                self.watching.retain(|w| *w != step);
                self.finish(rec, &step, outcome, duration_ms)
            }
        }
    }

    /// Stops every watch: what they reported is journaled, then each one's end with
    /// `status` and `reason`.
    pub(super) fn stop<O: Observer>(
        &mut self,
        rec: &mut Recorder<'_, O>,
        status: StepStatus,
        reason: &str,
    ) -> Result<(), RunError> {
        for watch in &self.watches {
            watch.task.abort();
        }
        // Notes sent before the abort are journaled first (a watch that just ended, too).
        self.drain(rec)?;
        for watch in std::mem::take(&mut self.watches) {
            let event = Event::StepFinished {
                step: watch.id.clone(),
                status,
                attempts: 1,
                duration_ms: millis(watch.started.elapsed()),
                reason: Some(reason.to_string()),
                output: None,
                undo: None,
                escalation: None,
            };
            rec.record(event, Durability::Now)?;
        }
        self.watching.clear();
        Ok(())
    }

    fn finish<O: Observer>(
        &mut self,
        rec: &mut Recorder<'_, O>,
        step: &str,
        outcome: StepOutcome,
        duration_ms: u64,
    ) -> Result<Heard, RunError> {
        let (status, reason, escalation) = match outcome {
            StepOutcome::Done { detail, .. } => (StepStatus::Done, detail, None),
            StepOutcome::Failed {
                reason,
                hint,
                escalation,
                ..
            } => (StepStatus::Failed, Some(Failure { reason, hint }.text()), escalation),
        };
        let event = Event::StepFinished {
            step: step.to_string(),
            status,
            attempts: 1,
            duration_ms,
            reason,
            output: None,
            undo: None,
            escalation,
        };
        rec.record(event, Durability::Now)?;
        Ok(if escalation == Some(crate::event::Escalation::Rollback) {
            Heard::Tripped
        } else {
            Heard::Nothing
        })
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        for watch in &self.watches {
            watch.task.abort();
        }
    }
}

/// What a watch owns.
struct Task {
    run_id: String,
    runbook: String,
    step: String,
    monitor: Monitor,
    baseline: Option<Baseline>,
    redactor: crate::redact::Redactor,
    http: reqwest::Client,
    databases: Arc<Databases>,
    clock: crate::clock::Clock,
    services: BTreeMap<String, Service>,
    workdir: std::path::PathBuf,
    starts: Arc<StepStarts>,
}

impl Task {
    fn new(parts: &StepParts<'_>, run_id: &str, step: &str, monitor: Monitor, baseline: Option<Baseline>) -> Self {
        let runbook = &parts.loaded.runbook;
        Task {
            run_id: run_id.to_string(),
            runbook: runbook.name.clone(),
            step: step.to_string(),
            monitor,
            baseline,
            redactor: parts.loaded.redactor.clone(),
            http: parts.http.clone(),
            databases: parts.databases.clone(),
            clock: parts.clock,
            services: runbook.services.clone(),
            workdir: runbook.workdir.clone(),
            starts: parts.starts.clone(),
        }
    }
}

/// Runs one watch to its end, forwarding what it reports.
fn spawn(task: Task, notes: mpsc::UnboundedSender<Note>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let started = Instant::now();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let services_done = Default::default();
        // A monitor reads no other step's output.
        let outputs = Default::default();
        let live = Live {
            outputs: &outputs,
            services: &task.services,
            workdir: &task.workdir,
            progress: &tx,
            services_done: &services_done,
            baseline: task.baseline.as_ref(),
            starts: &task.starts,
        };
        let ctx = StepContext {
            run_id: &task.run_id,
            runbook: &task.runbook,
            step_id: &task.step,
            redactor: &task.redactor,
            http: &task.http,
            databases: &task.databases,
            timeout: task.monitor.duration + task.monitor.interval * 2,
            clock: task.clock,
            live: Some(&live),
        };
        let watch = crate::steps::watch(&task.monitor, &ctx);
        tokio::pin!(watch);
        let outcome = loop {
            tokio::select! {
                biased;
                Some(progress) = rx.recv() => {
                    let _ = notes.send(Note::Progress(progress));
                }
                outcome = &mut watch => break outcome,
            }
        };
        while let Ok(progress) = rx.try_recv() {
            let _ = notes.send(Note::Progress(progress));
        }
        let _ = notes.send(Note::Ended {
            step: task.step.clone(),
            outcome,
            duration_ms: millis(started.elapsed()),
        });
    })
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
