//! `deployctl status`: the latest run as a checklist, from the journal alone.
//!
//! A [`StatusView`] is built once from the fold and rendered four ways (human, Markdown,
//! HTML, and JSON, which is the view serialized), so scripts, people and change tickets read
//! the same facts. The evidence a change ticket needs beyond the checklist (the outcome in
//! words, the window, gates, sign-offs) is gathered in [`super::evidence`].

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::evidence::{gate_view, outcome, rollback_view, sign_offs, window_events};
use super::mark::{RunMark, StepMark, WindowEventKind};
use crate::event::{ApprovalKind, PlannedStep, RollbackCause, Sample, ServiceResult};
use crate::journal::{LockState, RunState, StepState, StepView};

/// The checklist of one run. Fields are only ever added: scripts read `--format json`.
#[derive(Debug, Clone, Serialize)]
pub struct StatusView {
    pub run_id: String,
    pub runbook: String,
    pub title: String,
    pub runbook_sha256: String,
    /// sha256 of the resolved inputs (vars, database URLs, services) the run is bound to.
    pub vars_sha256: String,
    pub operator: String,
    pub host: String,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the run ended (done, rolled back, rollback failed); absent while it can go on.
    pub finished_at: Option<DateTime<Utc>>,
    /// The exit code the run ended with, when it ended.
    pub exit_code: Option<u8>,
    /// From the start to the end, or to the last journaled event when unfinished.
    pub elapsed_ms: u64,
    /// done | running | paused | failed | interrupted | stopped | rolling_back | rolled_back
    /// | rollback_failed
    pub state: RunMark,
    /// The state in words: "rolled back: monitor `watch` ...", "paused: step `x` awaits ...".
    pub outcome: String,
    /// The phase of the first step not done.
    pub current_phase: Option<String>,
    /// What the run waits for, when paused.
    pub waiting: Option<String>,
    /// Who holds the journal lock, when a run is live.
    pub running_as: Option<String>,
    /// The deployment window as recorded at start, when the runbook has one.
    pub window: Option<String>,
    /// Times the window kept the run waiting, and overrides with `--ignore-window`.
    pub window_events: Vec<WindowEventView>,
    pub phases: Vec<PhaseView>,
    pub approvals: Vec<ApprovalView>,
    /// One line per `approval` gate of the plan: who signed as what, and when (or blank).
    pub sign_offs: Vec<SignOffView>,
    /// The rollback, when one started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback: Option<RollbackView>,
    /// Everyone who ran or resumed the run, in order of first appearance.
    pub operators: Vec<String>,
    /// What went on along the way: starts and resumes, failed attempts, interruptions,
    /// verify failures, overrides, the rollback.
    pub history: Vec<HistoryView>,
    /// The run's inputs as journaled (`vars.X`, `env.X`), value `null` for a secret: the
    /// deployed version is on the report, not only its digest. Empty for older journals.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<InputView>,
}

/// One input of the run, for the report's "Inputs" section.
#[derive(Debug, Clone, Serialize)]
pub struct InputView {
    /// `vars.NAME` or `env.NAME`.
    pub name: String,
    /// Its resolved value; `None` for a secret (never journaled).
    pub value: Option<String>,
}

/// One line of the run's history.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct HistoryView {
    pub at: DateTime<Utc>,
    pub kind: crate::journal::HistoryKind,
    pub by: Option<String>,
    pub step: Option<String>,
    pub text: String,
}

impl StatusView {
    /// Whether the history says more than "the run started" (the reports list it then).
    pub fn eventful(&self) -> bool {
        self.history.len() > 1 || self.operators.len() > 1
    }
}

/// A window event: the window kept the run waiting, or someone overrode it.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct WindowEventView {
    /// wait | override
    pub kind: WindowEventKind,
    pub at: DateTime<Utc>,
    pub reason: String,
    /// Who overrode it (`--ignore-window`).
    pub by: Option<String>,
    /// When the window opens next (for a wait).
    pub next_opening: Option<DateTime<Utc>>,
}

/// A sign-off line of the report: filled from the journal, blank until given.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct SignOffView {
    pub step: String,
    pub title: String,
    /// The role signing: as recorded with the approval, else as the plan names it.
    pub role: Option<String>,
    pub by: Option<String>,
    pub at: Option<DateTime<Utc>>,
}

/// Who passed a gate (`approval` or `manual`), shown on the step's own line.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct GateView {
    pub by: String,
    pub role: Option<String>,
    pub at: DateTime<Utc>,
    pub note: Option<String>,
}

/// The rollback and why it ran.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct RollbackView {
    /// step_failed | trigger | command | window
    pub cause: RollbackCause,
    pub reason: String,
    pub by: String,
    pub started_at: DateTime<Utc>,
    /// When the cause was journaled (the tripping window's sample, the failed step's end,
    /// or the command).
    pub cause_at: Option<DateTime<Utc>>,
    /// From `cause_at` to the first rollback step starting.
    pub time_to_rollback_ms: Option<u64>,
    pub steps: Vec<StepLine>,
}

/// One service of a rolling restart.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct ServiceLine {
    pub service: String,
    pub batch: u32,
    /// healthy | restart_failed | unhealthy
    pub result: ServiceResult,
    pub reason: Option<String>,
    pub duration_ms: u64,
    /// When its verdict was journaled.
    pub at: DateTime<Utc>,
}

/// A monitor's windows: the series at a glance, and the samples themselves.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct MonitorView {
    pub windows: usize,
    pub probes: u64,
    pub errors: u64,
    pub worst_error_rate: Option<f64>,
    pub worst_p99_ms: Option<f64>,
    /// The rules the windows were judged on, with their thresholds.
    pub rules: Vec<RuleView>,
    /// The rule that held, and the windows that tripped it.
    pub trigger: Option<TriggerView>,
    pub samples: Vec<Sample>,
}

/// A `rollback_when` rule as the samples carry it.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct RuleView {
    pub rule: String,
    /// error_rate | p99_ms | ... (the rule's first word)
    pub metric: String,
    pub above: f64,
}

/// A rule that held.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct TriggerView {
    pub rule: String,
    pub windows: Vec<u32>,
    pub at: DateTime<Utc>,
}

/// A phase of the checklist.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct PhaseView {
    pub id: String,
    pub title: String,
    pub steps: Vec<StepLine>,
}

/// One checkbox.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct StepLine {
    pub id: String,
    pub title: String,
    /// The kind key as journaled: an open set (a newer deployctl may journal kinds this one
    /// does not know), shown as written.
    pub kind: String,
    /// done | pending | running | failed | interrupted | skipped | awaiting_approval
    pub status: StepMark,
    pub attempts: u32,
    /// When its latest try started and when it last finished.
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<u64>,
    pub reason: Option<String>,
    pub output: Option<String>,
    /// Gates: who passed it, as what, when.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<GateView>,
    /// Rolling restart: each service's result.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceLine>,
    /// Monitor: its windows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitor: Option<MonitorView>,
}

/// An approval as shown.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct ApprovalView {
    pub step: String,
    /// gate | retry
    pub kind: ApprovalKind,
    pub by: String,
    pub role: Option<String>,
    pub note: Option<String>,
    pub host: String,
    pub at: DateTime<Utc>,
    pub runbook_sha256: String,
}

/// Builds the checklist from the fold and the lock.
pub fn view(run: &RunState, lock: &LockState) -> StatusView {
    let live = matches!(lock, LockState::Held(_));
    let waiting_step = run.paused.as_ref().map(|(s, _)| s.as_str());
    let phases: Vec<PhaseView> = run
        .plan
        .iter()
        .map(|p| PhaseView {
            id: p.id.clone(),
            title: p.title.clone(),
            steps: p.steps.iter().map(|s| step_line(run, s, waiting_step, live)).collect(),
        })
        .chain(super::evidence::earlier_plan(run, waiting_step, live))
        .collect();
    // A finished run (done or rolled back) is in no phase any more.
    let current_phase = phases
        .iter()
        .find(|p| p.steps.iter().any(|s| !s.status.is_settled()))
        .filter(|_| run.finished.is_none())
        .map(|p| p.id.clone());
    let state = run_state(run, &phases, live);
    let rollback = rollback_view(run, waiting_step, live);
    let finished_at = run.finished.map(|(_, _, at)| at);
    let end = finished_at.unwrap_or(run.updated_at);
    let mut v = StatusView {
        run_id: run.run_id.clone(),
        runbook: run.runbook.clone(),
        title: run.title.clone(),
        runbook_sha256: run.runbook_sha256.clone(),
        vars_sha256: run.vars_sha256.clone(),
        operator: run.operator.clone(),
        host: run.host.clone(),
        started_at: run.started_at,
        updated_at: run.updated_at,
        finished_at,
        exit_code: run.finished.map(|(_, code, _)| code),
        elapsed_ms: u64::try_from((end - run.started_at).num_milliseconds()).unwrap_or(0),
        state,
        outcome: String::new(),
        current_phase,
        waiting: run.paused.as_ref().map(|(_, reason)| reason.clone()),
        running_as: match lock {
            LockState::Held(h) => Some(h.to_string()),
            _ => None,
        },
        window: run.window.clone(),
        window_events: window_events(run),
        sign_offs: sign_offs(&phases),
        phases,
        approvals: run.approvals.iter().map(approval_view).collect(),
        rollback,
        operators: run.operators.clone(),
        inputs: run
            .inputs
            .iter()
            .flatten()
            .map(|(name, input)| InputView {
                name: name.clone(),
                value: input.value.clone(),
            })
            .collect(),
        history: run
            .history
            .iter()
            .map(|h| HistoryView {
                at: h.at,
                kind: h.kind,
                by: h.by.clone(),
                step: h.step.clone(),
                text: h.text.clone(),
            })
            .collect(),
    };
    v.outcome = outcome(&v);
    v
}

fn run_state(run: &RunState, phases: &[PhaseView], live: bool) -> RunMark {
    let any = |mark: StepMark| phases.iter().flat_map(|p| &p.steps).any(|s| s.status == mark);
    if let Some((status, _, _)) = run.finished {
        RunMark::from(status)
    } else if run.rolling_back() && !live {
        RunMark::RollingBack
    } else if live {
        RunMark::Running
    } else if run.paused.is_some() {
        RunMark::Paused
    } else if run.interrupted || any(StepMark::Interrupted) {
        RunMark::Interrupted
    } else if any(StepMark::Failed) {
        RunMark::Failed
    } else {
        RunMark::Stopped
    }
}

fn approval_view(a: &crate::journal::ApprovalRecord) -> ApprovalView {
    ApprovalView {
        step: a.step.clone(),
        kind: a.kind,
        by: a.by.clone(),
        role: a.role.clone(),
        note: a.note.clone(),
        host: a.host.clone(),
        at: a.at,
        runbook_sha256: a.runbook_sha256.clone(),
    }
}

pub(super) fn step_line(run: &RunState, s: &PlannedStep, waiting_step: Option<&str>, live: bool) -> StepLine {
    let state = run.step(&s.id);
    let status = match state.map(|st| st.view) {
        _ if waiting_step == Some(s.id.as_str()) => StepMark::AwaitingApproval,
        None => StepMark::Pending,
        Some(StepView::Started) if live => StepMark::Running,
        Some(StepView::Started) => StepMark::Interrupted,
        Some(StepView::Finished(status)) => StepMark::from(status),
    };
    StepLine {
        id: s.id.clone(),
        title: s.title.clone(),
        kind: s.kind.clone(),
        status,
        attempts: state.map_or(0, |st| st.attempts),
        started_at: state.map(|st| st.started_at),
        finished_at: state.and_then(|st| st.finished_at),
        duration_ms: state.and_then(|st| st.duration_ms),
        reason: state.and_then(|st| {
            st.verify_failure
                .as_ref()
                .map(|f| format!("verify failed on resume: {f}"))
                .or_else(|| st.reason.clone())
        }),
        output: state.and_then(|st| st.output.clone()),
        gate: gate_view(run, s, status == StepMark::Done),
        services: state.map(services).unwrap_or_default(),
        monitor: state.and_then(monitor_view),
    }
}

fn services(state: &StepState) -> Vec<ServiceLine> {
    state
        .services
        .iter()
        .map(|r| ServiceLine {
            service: r.service.clone(),
            batch: r.batch,
            result: r.result,
            reason: r.reason.clone(),
            duration_ms: r.duration_ms,
            at: r.at,
        })
        .collect()
}

fn monitor_view(state: &StepState) -> Option<MonitorView> {
    if state.samples.is_empty() && state.trigger.is_none() {
        return None;
    }
    // A monitor re-run after a crash starts again at window 1: show the latest watch.
    let start = state.samples.iter().rposition(|(_, s)| s.window == 1).unwrap_or(0);
    let samples: Vec<Sample> = state.samples[start..].iter().map(|(_, s)| s.clone()).collect();
    let worst = |f: fn(&Sample) -> Option<f64>| {
        samples
            .iter()
            .filter_map(f)
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
    };
    let rules = samples
        .first()
        .map(|s| {
            s.rules
                .iter()
                .map(|r| RuleView {
                    rule: r.rule.clone(),
                    metric: r.rule.split_whitespace().next().unwrap_or_default().to_string(),
                    above: r.above,
                })
                .collect()
        })
        .unwrap_or_default();
    Some(MonitorView {
        windows: samples.len(),
        probes: samples.iter().map(|s| u64::from(s.count)).sum(),
        errors: samples.iter().map(|s| u64::from(s.errors)).sum(),
        worst_error_rate: worst(|s| s.error_rate),
        worst_p99_ms: worst(|s| s.p99_ms),
        rules,
        trigger: state.trigger.as_ref().map(|(rule, windows, at)| TriggerView {
            rule: rule.clone(),
            windows: windows.clone(),
            at: *at,
        }),
        samples,
    })
}
