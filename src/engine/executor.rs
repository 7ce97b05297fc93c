//! The executor: walks phases and steps in order, journaling each, until the run is done,
//! a step fails, a person is needed, or a signal arrives.
//!
//! Theory of operation: the journal is read and folded first; an unfinished latest run is
//! resumed (digests checked, `verify` checks of completed steps re-run), otherwise a new run
//! starts with the plan in its first entry. Each step is then skipped (done), decided from
//! the journal (gates, interrupted non-idempotent steps), or attempted. Every entry is
//! fsynced before the observer hears of it, so what the operator saw is what survives.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::attempt::Attempted;
use super::cancel::Cancel;
use super::feasibility::History;
use super::gate::{GateDecision, decide_gate};
use super::observer::Observer;
use super::outcome::{RunError, RunOutcome};
use super::resume::{Resumption, resumption};
use crate::event::{Entry, Event, JOURNAL_FORMAT, PlannedPhase, PlannedStep, RollbackCause, RunStatus};
use crate::journal::{Durable, LockedJournal, RunState, StepState, fold, latest_run};
use crate::runbook::Loaded;
use crate::runbook::load::hex;
use crate::runbook::model::{OnFailure, Step};
use crate::steps::{Databases, StepContext};

/// Plain options of a run, from the command line.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Who runs it.
    pub operator: String,
    /// Where.
    pub host: String,
    /// Resume even though the runbook or its inputs changed.
    pub allow_changed: bool,
    /// The runbook file as given (for hints).
    pub runbook_file: PathBuf,
    /// Run outside the deployment window (`--ignore-window`; journaled with the operator).
    pub ignore_window: bool,
}

/// One run in progress.
pub struct Executor<'a, O: Observer> {
    pub(super) loaded: &'a Loaded,
    pub(super) options: &'a RunOptions,
    pub(super) observer: &'a mut O,
    pub(super) cancel: Cancel,
    pub(super) http: reqwest::Client,
    pub(super) databases: Arc<Databases>,
    journal: &'a mut LockedJournal,
    pub(super) run_id: String,
    /// The run as journaled before this invocation (None for a new run).
    pub(super) prior: Option<RunState>,
    /// The run as journaled so far, this invocation included (every record folds into it).
    pub(super) current: Option<RunState>,
    /// Durations of past steps in this journal, for the window's feasibility estimate.
    pub(super) history: History,
    /// Whether the window's `overrun` was applied already in this invocation.
    pub(super) overrun_applied: bool,
    /// Webhook announcements still in flight (sent without waiting, during a rollback).
    pub(super) background: Vec<Vec<tokio::task::JoinHandle<Option<String>>>>,
}

/// Runs (or resumes) the runbook in `journal`, whose lock the caller holds.
pub async fn execute<O: Observer>(
    loaded: &Loaded,
    options: &RunOptions,
    observer: &mut O,
    cancel: Cancel,
    journal: &mut LockedJournal,
) -> Result<RunOutcome, RunError> {
    let (latest, history) = read_latest(journal, observer).await?;
    let prior = latest.filter(|run| !run.is_finished());
    if let Some(run) = prior.as_ref().filter(|run| run.rolling_back()) {
        return Err(RunError::RollingBack {
            run_id: run.run_id.clone(),
            reason: run.rollback.as_ref().map(|r| r.reason.clone()).unwrap_or_default(),
            file: options.runbook_file.clone(),
        });
    }
    let mut executor = Executor::open(loaded, options, observer, cancel, prior, journal)?;
    executor.history = history;
    executor.run().await
}

/// Runs the rollback procedure of the journal's latest run (`deployctl rollback`), or
/// finishes one that was cut off. The caller holds the journal's lock.
pub async fn roll_back<O: Observer>(
    loaded: &Loaded,
    options: &RunOptions,
    observer: &mut O,
    cancel: Cancel,
    journal: &mut LockedJournal,
) -> Result<RunOutcome, RunError> {
    let Some(prior) = read_latest(journal, observer).await?.0 else {
        return Err(RunError::NothingToRollBack(format!(
            "journal `{}` holds no run of this runbook: there is nothing to roll back",
            journal.shown()
        )));
    };
    if let (Some(rollback), Some((RunStatus::RolledBack, _, at))) = (&prior.rollback, &prior.finished) {
        return Err(RunError::NothingToRollBack(format!(
            "run {} was already rolled back (finished {}; started by {}: {})",
            prior.run_id,
            at.format("%Y-%m-%d %H:%M:%S UTC"),
            rollback.by,
            rollback.reason
        )));
    }
    let mut executor = Executor::open(loaded, options, observer, cancel, Some(prior.clone()), journal)?;
    executor.check_unchanged(&prior)?;
    executor.record(Event::RunResumed {
        operator: options.operator.clone(),
        host: options.host.clone(),
        pid: std::process::id(),
        runbook_sha256: loaded.sha256.clone(),
    })?;
    let reason = format!("requested by {} with `deployctl rollback`", options.operator);
    let outcome = executor.rollback(RollbackCause::Command, reason).await?;
    Ok(executor.stopped(outcome).await)
}

/// The journal's latest run and the durations of past steps, warnings shown.
async fn read_latest<O: Observer>(
    locked: &mut LockedJournal,
    observer: &mut O,
) -> Result<(Option<RunState>, History), RunError> {
    let journal = locked.read().await?;
    for warning in &journal.warnings {
        observer.warn(warning);
    }
    let entries = journal.entries.len();
    let history = History::from_entries(&journal.entries);
    let latest = latest_run(journal.entries);
    tracing::debug!(journal = %locked.shown(), entries, "journal read");
    Ok((latest, history))
}

impl<'a, O: Observer> Executor<'a, O> {
    fn open(
        loaded: &'a Loaded,
        options: &'a RunOptions,
        observer: &'a mut O,
        cancel: Cancel,
        prior: Option<RunState>,
        journal: &'a mut LockedJournal,
    ) -> Result<Self, RunError> {
        if journal.open_for_append()? {
            observer.warn(&format!(
                "journal `{}`: a torn last line was cut off before appending",
                journal.shown()
            ));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("deployctl/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| RunError::Http(e.to_string()))?;
        let run_id = prior
            .as_ref()
            .map_or_else(super::identity::new_run_id, |p| p.run_id.clone());
        let databases = Arc::new(Databases::new(&loaded.runbook, &run_id));
        Ok(Executor {
            loaded,
            options,
            observer,
            cancel,
            http,
            databases,
            journal,
            run_id,
            current: prior.clone(),
            prior,
            history: History::default(),
            overrun_applied: false,
            background: Vec::new(),
        })
    }

    /// A step's state as journaled so far in this run.
    pub(super) fn journaled_step(&self, id: &str) -> Option<&StepState> {
        self.current.as_ref().and_then(|run| run.step(id))
    }
}

impl<O: Observer> Executor<'_, O> {
    async fn run(&mut self) -> Result<RunOutcome, RunError> {
        match &self.prior {
            None => self.start()?,
            Some(prior) => {
                let prior = prior.clone();
                self.check_unchanged(&prior)?;
                self.record(Event::RunResumed {
                    operator: self.options.operator.clone(),
                    host: self.options.host.clone(),
                    pid: std::process::id(),
                    runbook_sha256: self.loaded.sha256.clone(),
                })?;
                if let Some(outcome) = self.reverify(&prior).await? {
                    return Ok(self.stopped(outcome).await);
                }
            }
        }
        self.announce("run_started", None, None).await;
        if let Some(outcome) = self.window_at_start()? {
            return Ok(self.stopped(outcome).await);
        }
        let runbook = &self.loaded.runbook;
        let span: Vec<String> = super::feasibility::changing_span(runbook)
            .iter()
            .map(|s| s.id.clone())
            .collect();
        for phase in &runbook.phases {
            for step in &phase.steps {
                if span.contains(&step.id)
                    && let Some(outcome) = self.window_before(step).await?
                {
                    return Ok(self.stopped(outcome).await);
                }
                if let Some(outcome) = self.step(step).await? {
                    return Ok(self.stopped(outcome).await);
                }
            }
        }
        self.record(Event::RunFinished {
            status: RunStatus::Done,
            exit_code: 0,
        })?;
        self.announce("run_finished", None, Some("done")).await;
        Ok(RunOutcome::Done)
    }

    pub(super) async fn stopped(&mut self, outcome: RunOutcome) -> RunOutcome {
        self.settle_background().await;
        match &outcome {
            RunOutcome::RolledBack { .. } => self.announce("rolled_back", None, Some("rolled_back")).await,
            RunOutcome::RollbackFailed { step, .. } => {
                self.announce("rollback_failed", Some(step), Some("rollback_failed"))
                    .await
            }
            RunOutcome::Failed { step, .. } => self.announce("run_failed", Some(step), Some("failed")).await,
            RunOutcome::Paused { step, .. } => self.announce("run_paused", Some(step), Some("paused")).await,
            RunOutcome::WindowClosed { .. } => self.announce("run_paused", None, Some("window")).await,
            RunOutcome::Interrupted { step, .. } => {
                self.announce("run_interrupted", step.as_deref(), Some("interrupted"))
                    .await
            }
            RunOutcome::Done => {}
        }
        outcome
    }

    fn start(&mut self) -> Result<(), RunError> {
        let runbook = &self.loaded.runbook;
        let plan = journal_plan(self.loaded);
        self.record(Event::RunStarted {
            format: JOURNAL_FORMAT,
            runbook: runbook.name.clone(),
            title: runbook.title.clone(),
            runbook_sha256: self.loaded.sha256.clone(),
            vars_sha256: inputs_digest(self.loaded),
            operator: self.options.operator.clone(),
            host: self.options.host.clone(),
            pid: std::process::id(),
            plan,
            window: runbook.window.as_ref().map(super::target::describe_window),
        })
    }

    fn check_unchanged(&self, prior: &RunState) -> Result<(), RunError> {
        if self.options.allow_changed {
            return Ok(());
        }
        let short = |s: &str| s.get(..12).unwrap_or(s).to_string();
        let changed = |what, was: &str, now: &str| RunError::Changed {
            file: self.options.runbook_file.clone(),
            run_id: prior.run_id.clone(),
            what,
            was: short(was),
            now: short(now),
        };
        if prior.runbook_sha256 != self.loaded.sha256 {
            return Err(changed("runbook sha256", &prior.runbook_sha256, &self.loaded.sha256));
        }
        let inputs = inputs_digest(self.loaded);
        if prior.vars_sha256 != inputs {
            return Err(changed("resolved vars sha256", &prior.vars_sha256, &inputs));
        }
        Ok(())
    }

    /// One step: skip, decide from the journal, or attempt. `Some` stops the run.
    async fn step(&mut self, step: &Step) -> Result<Option<RunOutcome>, RunError> {
        let prior_state = self.prior.as_ref().and_then(|p| p.step(&step.id)).cloned();
        if self.prior.as_ref().is_some_and(|p| p.is_done(&step.id)) {
            return Ok(None);
        }
        if let Some(decision) = decide_gate(step, self.prior.as_ref(), self.loaded, &self.options.runbook_file) {
            return match decision {
                GateDecision::Passed { reason } => self.pass_gate(step, reason).map(|()| None),
                GateDecision::Waiting { reason, hint } => self.waiting_gate(step, reason, hint).await,
            };
        }
        if let Resumption::NeedsApproval { reason, hint } = resumption(
            step,
            prior_state.as_ref(),
            self.prior.as_ref(),
            &self.options.runbook_file,
        ) {
            return self.pause(step, reason, hint).map(Some);
        }
        match self.attempts(step, true).await? {
            Attempted::Interrupted => self.interrupted(Some(&step.id)).map(Some),
            Attempted::Done => Ok(None),
            Attempted::Triggered { reason } => {
                self.announce_in_background("trigger_fired", Some(&step.id), Some("failed"));
                let reason = format!("monitor `{}`: {reason}", step.id);
                self.rollback(RollbackCause::Trigger, reason).await.map(Some)
            }
            Attempted::NeedsOperator { reason } => {
                let hint = format!(
                    "check the probes' targets; `deployctl run {file}` watches again from the start, `deployctl rollback {file}` rolls back",
                    file = self.options.runbook_file.display()
                );
                self.pause(step, reason, hint).map(Some)
            }
            Attempted::Failed { reason } => match step.on_failure {
                OnFailure::Continue => {
                    self.observer
                        .warn(&format!("step `{}` failed; continuing (on_failure: continue)", step.id));
                    Ok(None)
                }
                OnFailure::Stop => Ok(Some(RunOutcome::Failed {
                    step: step.id.clone(),
                    reason,
                })),
                OnFailure::Rollback => {
                    let reason = format!("step `{}` failed (on_failure: rollback): {reason}", step.id);
                    self.rollback(RollbackCause::StepFailed, reason).await.map(Some)
                }
            },
        }
    }

    pub(super) fn pause(&mut self, step: &Step, reason: String, hint: String) -> Result<RunOutcome, RunError> {
        self.record(Event::RunPaused {
            step: step.id.clone(),
            reason: reason.clone(),
        })?;
        Ok(RunOutcome::Paused {
            step: step.id.clone(),
            reason,
            hint,
        })
    }

    /// Journals that a signal stopped the run (during `step`, if any) and says so.
    pub(super) fn interrupted(&mut self, step: Option<&str>) -> Result<RunOutcome, RunError> {
        let signal = self.cancel.signal();
        self.record(Event::RunInterrupted {
            step: step.map(str::to_owned),
            signal: signal.to_string(),
        })?;
        Ok(RunOutcome::Interrupted {
            step: step.map(str::to_owned),
            signal,
        })
    }

    /// Appends an event (fsynced, or committed to PostgreSQL) and then tells the observer.
    pub(super) fn record(&mut self, event: Event) -> Result<(), RunError> {
        self.record_with(event, Durability::Synced)
    }

    /// Appends an event, fsynced unless losing it in a crash would change nothing.
    pub(super) fn record_with(&mut self, event: Event, durability: Durability) -> Result<(), RunError> {
        let entry = Entry {
            at: super::clock::now(),
            run_id: self.run_id.clone(),
            event,
        };
        let durable = match durability {
            Durability::Synced => Durable::Now,
            Durability::WithNextSync => Durable::WithNext,
        };
        self.journal.append_blocking(&entry, durable)?;
        self.observer.journaled(&entry);
        fold(&mut self.current, entry);
        Ok(())
    }
}

/// What a step's context borrows, owned: a step can then run while the executor, borrowed
/// mutably, journals the progress it reports.
pub(super) struct StepParts {
    http: reqwest::Client,
    databases: Arc<Databases>,
    run_id: String,
}

impl StepParts {
    /// The context of one attempt of `step_id`, limited to `timeout`.
    pub(super) fn context<'a>(&'a self, loaded: &'a Loaded, step_id: &'a str, timeout: Duration) -> StepContext<'a> {
        StepContext {
            run_id: &self.run_id,
            runbook: &loaded.runbook.name,
            step_id,
            redactor: &loaded.redactor,
            http: &self.http,
            databases: &self.databases,
            timeout,
        }
    }
}

impl<O: Observer> Executor<'_, O> {
    /// Clones (cheap: a client handle, a pool map's `Arc`, the run id) of what steps borrow.
    pub(super) fn step_parts(&self) -> StepParts {
        StepParts {
            http: self.http.clone(),
            databases: self.databases.clone(),
            run_id: self.run_id.clone(),
        }
    }
}

/// Whether an entry is on disk before anyone hears of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Durability {
    /// fsynced now (the default for everything).
    Synced,
    /// Made durable by the next synced entry: only the start of an idempotent step, whose
    /// loss makes resume re-run a step it would re-run anyway.
    WithNextSync,
}

/// The plan as `run_started` records it, so `status` needs nothing but the journal.
pub fn journal_plan(loaded: &Loaded) -> Vec<PlannedPhase> {
    loaded
        .runbook
        .phases
        .iter()
        .map(|p| PlannedPhase {
            id: p.id.clone(),
            title: p.title.clone(),
            steps: p.steps.iter().map(|s| planned(s, loaded)).collect(),
        })
        .collect()
}

/// What the journal says about a planned step: its title, or what it acts on.
pub(super) fn planned(step: &Step, loaded: &Loaded) -> PlannedStep {
    let title = step.title.clone().unwrap_or_else(|| {
        loaded
            .redactor
            .mask(&super::target::describe(&step.kind, &loaded.runbook))
            .into_owned()
    });
    PlannedStep {
        id: step.id.clone(),
        title,
        kind: step.kind.name().to_string(),
    }
}

/// sha256 of the resolved inputs: vars, database URLs, services (secrets included, hashed).
pub fn inputs_digest(loaded: &Loaded) -> String {
    let runbook = &loaded.runbook;
    let mut h = Sha256::new();
    for (k, v) in &runbook.vars {
        h.update(format!("var {k}={v}\n"));
    }
    for (k, db) in &runbook.databases {
        h.update(format!("db {k}={}\n", db.url.display()));
    }
    for (k, s) in &runbook.services {
        h.update(format!("svc {k}={} {}\n", s.health.display(), s.restart.display()));
    }
    hex(&h.finalize())
}

/// The default journal: `.deployctl/<name>.jsonl` next to the runbook.
pub fn default_journal(runbook_file: &Path, name: &str) -> PathBuf {
    runbook_file
        .parent()
        .unwrap_or(Path::new("."))
        .join(".deployctl")
        .join(format!("{name}.jsonl"))
}
