//! The values events carry: the plan's outline, inputs, statuses, samples, undo entries.
//! Each is part of the journal format: a change here is a format change.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The inputs of a run by reference (`vars.X`, `env.X`).
pub type Inputs = std::collections::BTreeMap<String, Input>;

/// One input of a run as journaled: a var, or an environment variable a reference used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// The value; absent for a secret, which is never journaled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The environment variable was unset and the reference's default was used.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub defaulted: bool,
}

/// What a step asks of the engine besides its outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Escalation {
    /// A monitor rule held: roll back now, whatever `on_failure` says.
    Rollback,
    /// A monitor window had no data under `on_no_data: pause`: stop for the operator.
    Pause,
}

/// An undo on the ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UndoEntry {
    /// The id the undo runs under (`<step>.undo`).
    pub id: String,
    /// What it does, for the report and `rollback --dry-run`.
    pub title: String,
    /// For a plain `migrate` undone by its `.down.sql` files: the migrations this step
    /// applied, in the order applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub migrations: Vec<String>,
}

/// What one attempt of a migration did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrationAttemptResult {
    /// Its locks were granted and it committed.
    Applied,
    /// A lock was not granted within `lock_timeout`: rolled back, nothing of it remains.
    LockNotGranted,
}

/// How one service of a rolling restart went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceResult {
    /// Restarted and answered healthy `consecutive_ok` times in a row.
    Healthy,
    /// The restart command failed or did not return in time.
    RestartFailed,
    /// Restarted, but not healthy within `health_timeout`.
    Unhealthy,
}

/// One monitor window's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sample {
    /// 1-based window number.
    pub window: u32,
    /// Probes run in the window.
    pub count: u32,
    /// Probes that failed (no answer, or an answer that failed the check).
    pub errors: u32,
    /// errors / count; absent when no probe ran.
    pub error_rate: Option<f64>,
    /// Latency percentiles over the probes that got an answer, in milliseconds; absent when
    /// none did.
    pub p50_ms: Option<f64>,
    #[allow(missing_docs)]
    pub p95_ms: Option<f64>,
    #[allow(missing_docs)]
    pub p99_ms: Option<f64>,
    /// Each rule's reading in this window.
    pub rules: Vec<RuleReading>,
    /// Each Prometheus query's value in this window (absent: no data).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub queries: std::collections::BTreeMap<String, Option<f64>>,
    /// The first failure seen in the window, for the report (redacted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

/// A monitor's queries averaged over the window before the change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// The step whose start ends the window.
    pub before: String,
    /// The window averaged over.
    pub from: DateTime<Utc>,
    #[allow(missing_docs)]
    pub to: DateTime<Utc>,
    /// Each query's average (absent: no data in the window, or Prometheus failed).
    pub values: std::collections::BTreeMap<String, Option<f64>>,
    /// Why a value is absent, per query (redacted).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub errors: std::collections::BTreeMap<String, String>,
}

/// A rule's reading in one monitor window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleReading {
    /// The rule as written.
    pub rule: String,
    /// The metric's value in the window (absent: no data).
    pub value: Option<f64>,
    /// The threshold it must stay at or under (at or over, for a `below_baseline` rule).
    pub above: f64,
    /// The baseline the threshold was computed from, for a baseline rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<f64>,
    /// A `below_baseline` rule: the value breaches when under the threshold.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub below: bool,
    /// Whether this window counts against the rule (over the threshold, or no data under
    /// `on_no_data: fail`).
    pub breach: bool,
    /// Breaching windows in a row so far, and how many make the rule hold.
    pub streak: u32,
    #[allow(missing_docs)]
    pub needed: u32,
}

/// Why a rollback runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RollbackCause {
    /// A step with `on_failure: rollback` failed.
    StepFailed,
    /// A monitor rule held.
    Trigger,
    /// `deployctl rollback`.
    Command,
    /// The window closed while changes were running and `overrun: rollback` applies.
    Window,
}

/// A phase in the plan recorded at `run_started`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedPhase {
    /// Phase id.
    pub id: String,
    /// Phase title.
    pub title: String,
    /// Its steps.
    pub steps: Vec<PlannedStep>,
}

/// A step in the plan recorded at `run_started`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedStep {
    /// Step id.
    pub id: String,
    /// Title (or the kind's target text).
    pub title: String,
    /// Kind key.
    pub kind: String,
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// It did what it should.
    Done,
    /// It failed (after its retries).
    Failed,
    /// A signal stopped it.
    Interrupted,
    /// Skipped (e.g. `on_failure: continue` of an earlier step does not skip; `--skip` would).
    Skipped,
}

impl StepStatus {
    /// The word `status` uses for it.
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Done => "done",
            StepStatus::Failed => "failed",
            StepStatus::Interrupted => "interrupted",
            StepStatus::Skipped => "skipped",
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Every step done.
    Done,
    /// A step failed.
    Failed,
    /// The rollback ran to the end (exit 4).
    RolledBack,
    /// The rollback itself failed (exit 5).
    RollbackFailed,
}

/// An approval's SSH signature as journaled. Only `sshsig` is trusted: `deployctl verify`
/// and `run` re-derive the principal and fingerprint from it and the allowed signers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalSignature {
    /// The armored signature (`-----BEGIN SSH SIGNATURE-----`), namespace
    /// `deployctl-approval`, over the approval statement.
    pub sshsig: String,
    /// The principal it verified as when given.
    pub principal: String,
    /// The key's `SHA256:` fingerprint.
    pub fingerprint: String,
}

/// What an approval allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalKind {
    /// Passes an `approval` gate or confirms a `manual` checkbox.
    Gate,
    /// Allows re-running an interrupted step that is not idempotent.
    Retry,
}
