//! `Event`: what the engine emits, what the journal stores, what reporters render.
//!
//! One type for all three keeps them from drifting: the journal is the events, state is the
//! fold of the events, and `status` renders that fold. Every journal line is one [`Entry`]:
//! `{"at": .., "run_id": .., "event": {"type": .., ...}}`. Text fields that came from the
//! outside world (command output, failure reasons) are already redacted when built.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

mod parts;

pub use parts::*;

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
        /// The runbook's contacts (`kind: primary, backup B`), so reports name who to call
        /// from the journal alone. Absent in journals written before it existed.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        contacts: Vec<String>,
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
    /// A step started a child process group (a `shell` command, a service's `restart`).
    /// Journaled before the step goes on, so that a resume after deployctl itself was
    /// killed can tell whether the group still runs, and not start the step beside it.
    ProcessStarted {
        /// The step.
        step: String,
        /// The group's id (its leader's pid).
        pgid: i32,
        /// When the leader started, in clock ticks since boot (`/proc/PID/stat`): tells
        /// the group from a later process that reused the id. Absent where unreadable.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        leader_start: Option<u64>,
    },
    /// A started group's leader exited and what it left running is meant to stay (a
    /// service's `restart` leaves the service up): no longer a step's process. A group the
    /// step kills when it ends needs no entry: the step's finish says it.
    ProcessEnded {
        /// The step.
        step: String,
        /// The group's id.
        pgid: i32,
    },
    /// `deployctl unlock --kill-orphans` killed a process group a killed run left behind.
    OrphanKilled {
        /// The step that started it.
        step: String,
        /// The group's id.
        pgid: i32,
        /// Who killed it.
        by: String,
    },
    /// A migration's transaction was not granted a table lock within the step's
    /// `lock_timeout` and was rolled back (`lock_not_granted`), or, after such a refusal,
    /// an attempt applied it (`applied`). A migration applied at its first attempt has no
    /// such entry: the step's `finished` says it.
    MigrationAttempt {
        /// The migrate step.
        step: String,
        /// The migration's name.
        migration: String,
        /// 1-based attempt.
        attempt: u32,
        /// How many attempts it may have (`lock_retries` + 1).
        attempts: u32,
        /// What this attempt did.
        result: MigrationAttemptResult,
        /// From the attempt's start to its end.
        duration_ms: u64,
        /// The database's refusal (redacted); absent when applied.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// The backoff before the next attempt; absent when applied or on the last one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_in_ms: Option<u64>,
    },
    /// A service's restart command returned and its health URL is being polled: said
    /// before the wait (up to `health_timeout`), so a log off a terminal names the service
    /// being waited on. Informational; a resume needs nothing from it.
    ServicePolling {
        /// The rolling_restart step.
        step: String,
        /// Service name.
        service: String,
        /// 1-based batch number.
        batch: u32,
        /// The health URL polled (redacted: a URL may carry credentials).
        health: String,
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
    /// A monitor measured its queries' values before the change (its `baseline`): journaled
    /// once per run, and reused when the run resumes.
    BaselineMeasured {
        /// The monitor step.
        step: String,
        /// What was measured.
        baseline: Baseline,
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
        /// The approver's SSH signature of the approval statement (`deployctl approve
        /// --sign`); absent for an unsigned approval.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<ApprovalSignature>,
    },
    /// An approval of a gate not yet passed was withdrawn (`deployctl approve --revoke`).
    ApprovalRevoked {
        /// The gate.
        step: String,
        /// Who withdrew it (the approver or an operator).
        by: String,
        /// Why.
        note: Option<String>,
        /// Where.
        host: String,
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
