//! `Event`: what the engine emits, what the journal stores, what reporters render.
//!
//! One type for all three keeps them from drifting: the journal is the events, state is the
//! fold of the events, and `status` renders that fold. Every journal line is one [`Entry`]:
//! `{"at": .., "run_id": .., "event": {"type": .., ...}}`. Text fields that came from the
//! outside world (command output, failure reasons) are already redacted when built.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Version of the journal format, written in every `run_started`.
pub const JOURNAL_FORMAT: u32 = 1;

/// One journal line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// When it happened (UTC).
    pub at: DateTime<Utc>,
    /// The run it belongs to.
    pub run_id: String,
    /// What happened.
    pub event: Event,
}

/// Something that happened in a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    /// A new run began. Carries the plan, so `status` needs only the journal.
    RunStarted {
        /// Journal format version.
        format: u32,
        /// Runbook name.
        runbook: String,
        /// Runbook title.
        title: String,
        /// sha256 of the runbook file.
        runbook_sha256: String,
        /// sha256 of the resolved vars (names and values), binding the run to its inputs.
        vars_sha256: String,
        /// Who runs it.
        operator: String,
        /// Where.
        host: String,
        /// Process id of the deployctl that started it.
        pid: u32,
        /// Phases and steps in order.
        plan: Vec<PlannedPhase>,
        /// The deployment window as one line (`tue,wed,thu 02:00-06:00 (UTC), overrun
        /// finish`), for the evidence report; absent when the runbook has none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        window: Option<String>,
        /// The inputs `vars_sha256` covers, by reference (`vars.X`, `env.X`), so a resume
        /// can say which changed; secret values are never journaled. Absent in journals
        /// written before it existed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        inputs: Option<Inputs>,
        /// The runbook file's absolute path, so `rollback` with no runbook argument finds
        /// it from the journal alone. Absent in journals written before it existed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        runbook_file: Option<String>,
    },
    /// A run was picked up again after it stopped unfinished.
    RunResumed {
        /// Who resumed it.
        operator: String,
        /// Where.
        host: String,
        /// Process id.
        pid: u32,
        /// The runbook digest it resumed with (a new one under `--allow-changed`).
        runbook_sha256: String,
        /// Under `--allow-changed`, when the inputs changed: their new digest.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        vars_sha256: Option<String>,
        /// Under `--allow-changed`, when the inputs changed: the new inputs.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        inputs: Option<Inputs>,
        /// Under `--allow-changed`, when the runbook changed: the plan it goes on with.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        plan: Option<Vec<PlannedPhase>>,
    },
    /// A step attempt began.
    StepStarted {
        /// Step id.
        step: String,
        /// 1 for the first attempt.
        attempt: u32,
    },
    /// A step ended, one way or another.
    StepFinished {
        /// Step id.
        step: String,
        /// How.
        status: StepStatus,
        /// Attempts made.
        attempts: u32,
        /// Wall time of all attempts, in milliseconds.
        duration_ms: u64,
        /// Why it failed or what it found (redacted).
        reason: Option<String>,
        /// Bounded, redacted excerpt of what it printed.
        output: Option<String>,
        /// The undo this completed step put on the ledger (journaled in the same line, so a
        /// done step can never be on disk without its undo).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        undo: Option<UndoEntry>,
        /// What a failed step asks of the engine beyond its `on_failure` (a monitor's rule
        /// held, or it had no data under `on_no_data: pause`), so the decision to roll back
        /// or to wait for the operator is read from the journal, like every other.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        escalation: Option<Escalation>,
    },
    /// An attempt failed and the step will be tried again (its retries): the failure stays
    /// in the history even when a later attempt succeeds.
    AttemptFailed {
        /// Step id.
        step: String,
        /// The attempt that failed (1 for the first).
        attempt: u32,
        /// Why (redacted).
        reason: String,
    },
    /// One service of a rolling restart was restarted and its health judged. Journaled per
    /// service, so a resumed restart skips the services already up.
    ServiceRestarted {
        /// The rolling_restart step.
        step: String,
        /// Service name.
        service: String,
        /// 1-based batch number.
        batch: u32,
        /// How it went.
        result: ServiceResult,
        /// What went wrong, or what the health check found (redacted).
        reason: Option<String>,
        /// From the restart command's start to the verdict.
        duration_ms: u64,
    },
    /// One monitor window: the evidence rollback rules are judged on.
    MonitorSample {
        /// The monitor step.
        step: String,
        /// What the window saw.
        sample: Sample,
    },
    /// A monitor rule held: the rollback starts next.
    TriggerFired {
        /// The monitor step.
        step: String,
        /// The rule as written, e.g. `error_rate above 0.05 for 5m`.
        rule: String,
        /// The windows that tripped it.
        windows: Vec<u32>,
    },
    /// The rollback procedure began (or resumed, when one is already in the journal).
    RollbackStarted {
        /// Why it runs.
        cause: RollbackCause,
        /// In words, e.g. "step `health-community` failed: ...".
        reason: String,
        /// Who started it (the operator, for a command or an automatic rollback).
        by: String,
        /// The rollback steps in the order they will run (undos first, then `rollback:`),
        /// with titles, so `status` can show the rollback from the journal alone.
        steps: Vec<PlannedStep>,
    },
    /// The `verify` check of a completed step was re-run on resume.
    Verified {
        /// Step id.
        step: String,
        /// Whether it still holds.
        ok: bool,
        /// What was wrong, when it does not.
        reason: Option<String>,
    },
    /// Someone approved a gate, confirmed a checkbox, or allowed a retry.
    Approval {
        /// Step id.
        step: String,
        /// What the approval allows.
        kind: ApprovalKind,
        /// Who.
        by: String,
        /// Role they approved as, when the step names one.
        role: Option<String>,
        /// Free text.
        note: Option<String>,
        /// Where.
        host: String,
        /// The runbook digest they approved.
        runbook_sha256: String,
    },
    /// The run stopped to wait for a person.
    RunPaused {
        /// The step waiting.
        step: String,
        /// Why, and what to do.
        reason: String,
    },
    /// The run was interrupted by a signal.
    RunInterrupted {
        /// The step that was running, if any.
        step: Option<String>,
        /// SIGINT or SIGTERM.
        signal: String,
    },
    /// The run ended.
    RunFinished {
        /// How.
        status: RunStatus,
        /// The exit code deployctl returned.
        exit_code: u8,
    },
    /// The deployment window kept the run from starting or going on (exit 3), or closed
    /// while changes were running and `overrun` was applied.
    WindowWait {
        /// What happened, e.g. "outside the window (...)" or "window closed during `migrate`".
        reason: String,
        /// When the window opens next, if it does.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next_opening: Option<DateTime<Utc>>,
    },
    /// The operator ran outside the window on purpose (`--ignore-window`).
    WindowOverride {
        /// Who.
        by: String,
        /// What the window said at that moment.
        reason: String,
    },
    /// The invocation pretends another time (`--now`, for rehearsals and tests): the
    /// entry's own `at` and every later one of this invocation are pretended times.
    ClockOverride {
        /// Who ran the invocation.
        by: String,
        /// The real time when it was journaled.
        real_at: DateTime<Utc>,
    },
    /// A stale lock holder was cleared with `deployctl unlock`.
    Unlocked {
        /// Who cleared it.
        by: String,
        /// The holder that was cleared, as recorded.
        holder: String,
    },
}

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
    /// The first failure seen in the window, for the report (redacted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

/// A rule's reading in one monitor window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleReading {
    /// The rule as written.
    pub rule: String,
    /// The metric's value in the window (absent: no data).
    pub value: Option<f64>,
    /// The threshold it must stay at or under.
    pub above: f64,
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

/// What an approval allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalKind {
    /// Passes an `approval` gate or confirms a `manual` checkbox.
    Gate,
    /// Allows re-running an interrupted step that is not idempotent.
    Retry,
}
