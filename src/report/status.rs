//! `deployctl status`: the latest run as a checklist, from the journal alone.
//!
//! A [`StatusView`] is built once from the fold and rendered four ways (human, Markdown,
//! HTML, and JSON, which is the view serialized), so scripts, people and change tickets read
//! the same facts. The evidence a change ticket needs beyond the checklist (the outcome in
//! words, the window, gates, sign-offs) is gathered in [`super::evidence`].

use chrono::{DateTime, Utc};
use serde::Serialize;

pub(super) use super::checklist::step_line;
pub use super::checklist::view;
use super::mark::{RunMark, StepMark, WindowEventKind};
use crate::event::{ApprovalKind, RollbackCause, Sample, ServiceResult};

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
    /// Who to call (`kind: primary, backup B`), as the runbook said when the run started.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<String>,
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
    /// The Prometheus queries' values before the change, when measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<crate::event::Baseline>,
}

/// A `rollback_when` rule as the samples carry it.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct RuleView {
    pub rule: String,
    /// error_rate | p99_ms | ... (the rule's first word)
    pub metric: String,
    pub above: f64,
    /// For a baseline rule: the baseline its threshold was computed from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<f64>,
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
    /// `PRINCIPAL (key SHA256:...)` as journaled with its signature, or `unsigned`; a
    /// report reads the journal alone (`deployctl verify` re-checks the signatures).
    pub signer: String,
    /// Withdrawn with `approve --revoke`.
    pub revoked: bool,
}
