//! The state of the latest run: the fold of its entries ([`super::fold`]), and the questions
//! the engine, `status` and `approve` ask of it.
//!
//! Nothing here is stored separately, so the journal is the only truth: `status`, resume and
//! approvals all read this fold.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

pub use super::records::{
    ApprovalRecord, ClockRecord, HistoryKind, HistoryRecord, ProcessRecord, RollbackState, ServiceRecord, WindowRecord,
};
use crate::event::{ApprovalKind, Escalation, Inputs, PlannedPhase, RunStatus, Sample, StepStatus, UndoEntry};

/// Where a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepView {
    /// Started and not finished: running now, or cut off by a crash.
    Started,
    /// Finished with this status.
    Finished(StepStatus),
}

/// A step's journaled history in the latest run.
#[derive(Debug, Clone, PartialEq)]
pub struct StepState {
    /// Where it is.
    pub view: StepView,
    /// Attempts so far, every one counted: retries, and tries cut off by a crash.
    pub attempts: u32,
    /// First start.
    pub started_at: DateTime<Utc>,
    /// When the latest try began: a retry approval given after it covers the next try.
    pub try_started_at: DateTime<Utc>,
    /// The attempt number of the latest try's latest start (1 for its first attempt).
    pub attempts_this_try: u32,
    /// Last finish.
    pub finished_at: Option<DateTime<Utc>>,
    /// Duration of all attempts.
    pub duration_ms: Option<u64>,
    /// Failure reason or finding.
    pub reason: Option<String>,
    /// Output excerpt.
    pub output: Option<String>,
    /// Result of the last re-verification on resume, and why it failed.
    pub verified: Option<bool>,
    /// What the last failed re-verification found (cleared when one passes).
    pub verify_failure: Option<String>,
    /// The undo it put on the ledger when it completed.
    pub undo: Option<UndoEntry>,
    /// What its last failure asked of the engine (roll back, or wait for the operator).
    pub escalation: Option<Escalation>,
    /// The invocation ([`RunState::invocation`]) of its last finish.
    pub finished_in: Option<u32>,
    /// The invocation of its last re-verification.
    pub verified_in: Option<u32>,
    /// Rolling restart: each service's latest result, in the order journaled.
    pub services: Vec<ServiceRecord>,
    /// Monitor: every window journaled, in order (across attempts; a re-run starts at 1).
    pub samples: Vec<(DateTime<Utc>, Sample)>,
    /// Monitor: the rule that held and the windows that tripped it.
    pub trigger: Option<(String, Vec<u32>, DateTime<Utc>)>,
    /// Monitor: its queries' baseline, once measured (journaled once, reused on resume).
    pub baseline: Option<crate::event::Baseline>,
}

/// The latest run, folded.
#[derive(Debug, Clone, PartialEq)]
pub struct RunState {
    /// Run id.
    pub run_id: String,
    /// Runbook name and title.
    pub runbook: String,
    #[allow(missing_docs)]
    pub title: String,
    /// Runbook digest the run started with (or was last resumed with under --allow-changed).
    pub runbook_sha256: String,
    /// Resolved-inputs digest at start (or at the last resume under `--allow-changed`).
    pub vars_sha256: String,
    /// The inputs that digest covers (absent in journals written before they were).
    pub inputs: Option<Inputs>,
    /// The runbook file the run started from (absolute; absent in older journals).
    pub runbook_file: Option<String>,
    /// Plans the run followed before its latest (a resume under `--allow-changed` with a
    /// changed runbook journals the new one), oldest first.
    pub earlier_plans: Vec<Vec<PlannedPhase>>,
    /// Who started it, where.
    pub operator: String,
    #[allow(missing_docs)]
    pub host: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// The last entry's time.
    pub updated_at: DateTime<Utc>,
    /// The plan recorded at start.
    pub plan: Vec<PlannedPhase>,
    /// Steps by id (only those that started).
    pub steps: HashMap<String, StepState>,
    /// Approvals in order.
    pub approvals: Vec<ApprovalRecord>,
    /// The pause the run is waiting in, if it is paused: (step, reason).
    pub paused: Option<(String, String)>,
    /// Who approved the gate the run is paused at since it paused (`NAME` or `NAME as
    /// ROLE`): the next `run` passes it.
    pub approved_while_paused: Option<String>,
    /// The runbook's contacts as journaled at the start (`kind: primary, backup B`).
    pub contacts: Vec<String>,
    /// How it ended, if it did: (status, exit code, when).
    pub finished: Option<(RunStatus, u8, DateTime<Utc>)>,
    /// Set when a signal stopped it last.
    pub interrupted: bool,
    /// Forward steps in the order they completed (the undo ledger runs this backwards).
    pub completed: Vec<String>,
    /// The rollback, once one started.
    pub rollback: Option<RollbackState>,
    /// The deployment window as recorded at start.
    pub window: Option<String>,
    /// Window events in order: waits (refusals, overruns) and overrides.
    pub window_events: Vec<WindowRecord>,
    /// Invocations of deployctl on this run so far, less one: 0 for the one that started
    /// it, and one more for each `run_resumed`. Decisions that hold "for this invocation"
    /// (a step that failed just now, a verify already re-run) compare against it.
    pub invocation: u32,
    /// Everyone who ran or resumed the run, in order of first appearance.
    pub operators: Vec<String>,
    /// Invocations that pretended another time (`--now`).
    pub clock_overrides: Vec<ClockRecord>,
    /// What went on along the way, in order: starts and resumes (with their operators),
    /// failed attempts, interruptions, verify failures, overrides.
    pub history: Vec<HistoryRecord>,
    /// The host of the latest invocation (the start, or the last resume).
    pub last_host: String,
    /// Process groups steps started whose end is not journaled: if deployctl was killed
    /// while they ran, they may still run, and a resume must not start the step beside them.
    pub processes: Vec<ProcessRecord>,
}

impl RunState {
    /// Whether the run ended (done or failed); an unfinished run is resumed by `run`.
    pub fn is_finished(&self) -> bool {
        self.finished.is_some()
    }

    /// The step's state, if it started.
    pub fn step(&self, id: &str) -> Option<&StepState> {
        self.steps.get(id)
    }

    /// Whether the step finished with `Done`.
    pub fn is_done(&self, id: &str) -> bool {
        matches!(
            self.steps.get(id),
            Some(StepState {
                view: StepView::Finished(StepStatus::Done),
                ..
            })
        )
    }

    /// The undo ledger: undos of completed steps, last completed first.
    pub fn ledger(&self) -> Vec<(&str, &UndoEntry)> {
        self.completed
            .iter()
            .rev()
            .filter_map(|id| {
                let state = self.steps.get(id)?;
                let undo = state.undo.as_ref()?;
                (state.view == StepView::Finished(StepStatus::Done)).then_some((id.as_str(), undo))
            })
            .collect()
    }

    /// Whether a rollback began and the run has not ended since.
    pub fn rolling_back(&self) -> bool {
        self.rollback.is_some() && self.finished.is_none()
    }

    /// Whether the step finished (any status) in the current invocation.
    pub fn finished_now(&self, id: &str) -> bool {
        self.steps
            .get(id)
            .is_some_and(|s| matches!(s.view, StepView::Finished(_)) && s.finished_in == Some(self.invocation))
    }

    /// Approvals of a kind for a step given at or after `since`.
    pub fn approvals_for(&self, step: &str, kind: ApprovalKind, since: Option<DateTime<Utc>>) -> Vec<&ApprovalRecord> {
        self.approvals
            .iter()
            .filter(|a| a.step == step && a.kind == kind && !a.revoked && since.is_none_or(|s| a.at >= s))
            .collect()
    }
}
