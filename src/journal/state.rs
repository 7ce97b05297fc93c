//! The state of the latest run: the fold of its entries.
//!
//! Nothing here is stored separately, so the journal is the only truth: `status`, resume and
//! approvals all read this fold.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::event::{
    ApprovalKind, Entry, Escalation, Event, Inputs, PlannedPhase, PlannedStep, RollbackCause, RunStatus, Sample,
    ServiceResult, StepStatus, UndoEntry,
};

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
}

/// One service of a rolling restart as journaled.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct ServiceRecord {
    pub service: String,
    pub batch: u32,
    pub result: ServiceResult,
    pub reason: Option<String>,
    pub duration_ms: u64,
    pub at: DateTime<Utc>,
}

/// The rollback of a run, as journaled.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct RollbackState {
    pub cause: RollbackCause,
    pub reason: String,
    pub by: String,
    /// Rollback steps in the order they run.
    pub steps: Vec<PlannedStep>,
    pub started_at: DateTime<Utc>,
}

/// An approval or confirmation as journaled.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct ApprovalRecord {
    pub step: String,
    pub kind: ApprovalKind,
    pub by: String,
    pub role: Option<String>,
    pub note: Option<String>,
    pub host: String,
    pub runbook_sha256: String,
    pub at: DateTime<Utc>,
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
}

/// Something the evidence report's history lists.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRecord {
    /// When.
    pub at: DateTime<Utc>,
    /// What kind of thing.
    pub kind: HistoryKind,
    /// Who (an operator, or who overrode).
    pub by: Option<String>,
    /// The step concerned.
    pub step: Option<String>,
    /// In words (redacted where it came from outside).
    pub text: String,
}

/// The kinds of history records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryKind {
    /// The run began.
    Started,
    /// An invocation picked it up again.
    Resumed,
    /// An attempt, or a whole try, failed.
    Failed,
    /// A signal or a crash cut a step or the run off.
    Interrupted,
    /// A completed step's `verify` no longer held on resume.
    VerifyFailed,
    /// `--ignore-window`, `--now` or `--allow-changed`.
    Override,
    /// The rollback began.
    Rollback,
}

/// An invocation that pretended another time, as journaled.
#[derive(Debug, Clone, PartialEq)]
pub struct ClockRecord {
    /// Who ran it.
    pub by: String,
    /// The pretended time when it began.
    pub pretended: DateTime<Utc>,
    /// The real time then.
    pub real: DateTime<Utc>,
}

/// A window event as journaled.
#[derive(Debug, Clone, PartialEq)]
pub enum WindowRecord {
    /// The window kept the run waiting (or `overrun` was applied).
    Wait {
        /// What happened.
        reason: String,
        /// When it opens next.
        next_opening: Option<DateTime<Utc>>,
        /// When.
        at: DateTime<Utc>,
    },
    /// `--ignore-window`.
    Override {
        /// Who.
        by: String,
        /// What the window said.
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
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
            .filter(|a| a.step == step && a.kind == kind && since.is_none_or(|s| a.at >= s))
            .collect()
    }
}

/// Folds the entries of the latest run (the last `run_started` and what follows with its id).
/// Takes the entries by value: a fold of 100,000 events should move their text, not copy it.
pub fn latest_run(mut entries: Vec<Entry>) -> Option<RunState> {
    let start = entries
        .iter()
        .rposition(|e| matches!(e.event, Event::RunStarted { .. }))?;
    let mut state: Option<RunState> = None;
    for entry in entries.drain(start..) {
        match &mut state {
            None => state = begin(entry),
            Some(s) if entry.run_id == s.run_id => apply(s, entry),
            Some(_) => {}
        }
    }
    state
}

/// Folds one more entry into a run's state (how a running executor keeps its own view).
/// A `run_started` begins a new state; other entries of another run are ignored.
pub fn fold(state: &mut Option<RunState>, entry: Entry) {
    match state {
        Some(s) if entry.run_id == s.run_id && !matches!(entry.event, Event::RunStarted { .. }) => apply(s, entry),
        _ => {
            if let Some(started) = begin(entry) {
                *state = Some(started);
            }
        }
    }
}

fn record(
    s: &mut RunState,
    at: DateTime<Utc>,
    kind: HistoryKind,
    by: Option<String>,
    step: Option<String>,
    text: String,
) {
    s.history.push(HistoryRecord {
        at,
        kind,
        by,
        step,
        text,
    });
}

fn begin(entry: Entry) -> Option<RunState> {
    let entry_at = entry.at;
    let Event::RunStarted {
        runbook,
        title,
        runbook_sha256,
        vars_sha256,
        operator,
        host,
        plan,
        window,
        inputs,
        runbook_file,
        ..
    } = entry.event
    else {
        return None;
    };
    Some(RunState {
        run_id: entry.run_id,
        runbook,
        title,
        runbook_sha256,
        vars_sha256,
        inputs,
        runbook_file,
        earlier_plans: Vec::new(),
        operators: vec![operator.clone()],
        operator,
        host,
        started_at: entry.at,
        updated_at: entry.at,
        plan,
        steps: HashMap::new(),
        approvals: Vec::new(),
        paused: None,
        finished: None,
        interrupted: false,
        completed: Vec::new(),
        rollback: None,
        window,
        window_events: Vec::new(),
        invocation: 0,
        clock_overrides: Vec::new(),
        history: Vec::new(),
    })
    .map(|mut run| {
        let text = format!("run started by {} on {}", run.operator, run.host);
        let by = Some(run.operator.clone());
        record(&mut run, entry_at, HistoryKind::Started, by, None, text);
        run
    })
}

fn apply(s: &mut RunState, entry: Entry) {
    s.updated_at = entry.at;
    super::history::note(s, &entry);
    match entry.event {
        Event::RunStarted { .. } | Event::Unlocked { .. } | Event::AttemptFailed { .. } => {}
        Event::RunResumed {
            runbook_sha256,
            operator,
            vars_sha256,
            inputs,
            plan,
            ..
        } => {
            s.invocation += 1;
            if let Some(digest) = vars_sha256 {
                s.vars_sha256 = digest;
                s.inputs = inputs;
            }
            if let Some(plan) = plan {
                s.earlier_plans.push(std::mem::replace(&mut s.plan, plan));
            }
            if !s.operators.contains(&operator) {
                s.operators.push(operator);
            }
            s.runbook_sha256 = runbook_sha256;
            s.paused = None;
            s.interrupted = false;
        }
        Event::StepStarted { step, attempt } => {
            s.paused = None;
            let state = s.steps.entry(step).or_insert_with(|| StepState {
                view: StepView::Started,
                attempts: 0,
                started_at: entry.at,
                try_started_at: entry.at,
                attempts_this_try: 0,
                finished_at: None,
                duration_ms: None,
                reason: None,
                output: None,
                verified: None,
                verify_failure: None,
                undo: None,
                escalation: None,
                finished_in: None,
                verified_in: None,
                services: Vec::new(),
                samples: Vec::new(),
                trigger: None,
            });
            if state.view != StepView::Started || attempt <= state.attempts_this_try {
                // A new try: after a finish (a retry), or a start over after a crash cut
                // off the last try (its attempt counts from 1 again). A later attempt of
                // the same try belongs to it. A retry approval counts only for the try
                // that follows it: the next crash needs a new one.
                state.try_started_at = entry.at;
                state.attempts_this_try = 0;
            }
            state.view = StepView::Started;
            state.attempts += 1;
            state.attempts_this_try = attempt;
        }
        Event::StepFinished {
            step,
            status,
            attempts,
            duration_ms,
            reason,
            output,
            undo,
            escalation,
        } => {
            if let Some(state) = s.steps.get_mut(&step) {
                // A step is done once: a second `done` (it cannot happen, but a journal is
                // input) must not list it twice, and a lookup in `completed` would make the
                // fold quadratic.
                let was_done = state.view == StepView::Finished(StepStatus::Done);
                state.view = StepView::Finished(status);
                // A try's finish counts its attempts; the starts of the same try are
                // already counted (a finish without its starts, as a journal is input,
                // still counts what it says).
                state.attempts = state.attempts.max(attempts);
                state.finished_at = Some(entry.at);
                state.duration_ms = Some(duration_ms);
                state.reason = reason;
                state.output = output;
                state.undo = undo;
                state.escalation = escalation;
                state.finished_in = Some(s.invocation);
                if status == StepStatus::Done && !was_done {
                    s.completed.push(step);
                }
            }
        }
        Event::ServiceRestarted {
            step,
            service,
            batch,
            result,
            reason,
            duration_ms,
        } => {
            if let Some(state) = s.steps.get_mut(&step) {
                state.services.retain(|r| r.service != service);
                state.services.push(ServiceRecord {
                    service,
                    batch,
                    result,
                    reason,
                    duration_ms,
                    at: entry.at,
                });
            }
        }
        Event::MonitorSample { step, sample } => {
            if let Some(state) = s.steps.get_mut(&step) {
                state.samples.push((entry.at, sample));
            }
        }
        Event::TriggerFired { step, rule, windows } => {
            if let Some(state) = s.steps.get_mut(&step) {
                state.trigger = Some((rule, windows, entry.at));
            }
        }
        Event::RollbackStarted {
            cause,
            reason,
            by,
            steps,
        } => {
            // A rollback of a run that had ended (`deployctl rollback` after success) reopens it.
            s.finished = None;
            s.paused = None;
            s.interrupted = false;
            let started_at = s.rollback.as_ref().map_or(entry.at, |r| r.started_at);
            s.rollback = Some(RollbackState {
                cause,
                reason,
                by,
                steps,
                started_at,
            });
        }
        Event::Verified { step, ok, reason } => {
            if let Some(state) = s.steps.get_mut(&step) {
                state.verified = Some(ok);
                state.verified_in = Some(s.invocation);
                state.verify_failure = if ok { None } else { reason };
            }
        }
        Event::Approval {
            step,
            kind,
            by,
            role,
            note,
            host,
            runbook_sha256,
        } => s.approvals.push(ApprovalRecord {
            step,
            kind,
            by,
            role,
            note,
            host,
            runbook_sha256,
            at: entry.at,
        }),
        Event::RunPaused { step, reason } => s.paused = Some((step, reason)),
        Event::WindowWait { reason, next_opening } => s.window_events.push(WindowRecord::Wait {
            reason,
            next_opening,
            at: entry.at,
        }),
        Event::WindowOverride { by, reason } => s.window_events.push(WindowRecord::Override {
            by,
            reason,
            at: entry.at,
        }),
        Event::RunInterrupted { .. } => s.interrupted = true,
        Event::ClockOverride { by, real_at } => s.clock_overrides.push(ClockRecord {
            by,
            pretended: entry.at,
            real: real_at,
        }),
        Event::RunFinished { status, exit_code } => {
            s.finished = Some((status, exit_code, entry.at));
            s.paused = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::journal::parse;

    fn line(at: &str, event: &str) -> String {
        format!("{{\"at\":\"2026-11-29T07:00:{at}Z\",\"run_id\":\"r\",\"event\":{event}}}\n")
    }

    #[test]
    fn a_retry_approval_covers_one_try_only() {
        let started = r#"{"type":"step_started","step":"s","attempt":1}"#;
        let approval = r#"{"type":"approval","step":"s","kind":"retry","by":"Dara","role":null,"note":null,"host":"vm","runbook_sha256":"x"}"#;
        let run = r#"{"type":"run_started","format":1,"runbook":"h","title":"h","runbook_sha256":"x","vars_sha256":"x","operator":"gage","host":"vm","pid":1,"plan":[]}"#;
        // Started, cut off, approved, started again and cut off again.
        let text = [("00", run), ("01", started), ("02", approval), ("03", started)]
            .map(|(at, e)| line(at, e))
            .concat();
        let read = parse(Path::new("j"), text.as_bytes()).expect("parses");
        let state = latest_run(read.entries).expect("a run");
        let step = state.step("s").expect("step");
        assert_eq!(step.try_started_at.format("%S").to_string(), "03");
        assert_eq!(step.started_at.format("%S").to_string(), "01", "the first start stays");
        assert_eq!(step.attempts, 2, "the cut-off try counts");
        assert!(
            state
                .approvals_for("s", ApprovalKind::Retry, Some(step.try_started_at))
                .is_empty(),
            "the approval was used by the try it allowed"
        );
    }
}
