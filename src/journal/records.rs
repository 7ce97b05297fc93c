//! The small records of a folded run: a service restarted, an approval, the rollback,
//! a process group, a history line, a clock or window override. Plain data, built by the
//! fold ([`super::fold`]); an approval also by `verify`, which reads every one, revoked or
//! not, from the same [`ApprovalRecord::of`].

use chrono::{DateTime, Utc};

use crate::event::{ApprovalKind, Event, PlannedStep, RollbackCause, ServiceResult};

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
    /// The approver's signature, if signed.
    pub signature: Option<crate::event::ApprovalSignature>,
    /// Withdrawn (`approve --revoke`): it no longer counts.
    pub revoked: bool,
}

impl ApprovalRecord {
    /// The approval `event` (journaled at `at`) records, if it records one: the fold and
    /// `verify` read approvals the same way.
    pub fn of(event: &Event, at: DateTime<Utc>) -> Option<Self> {
        let Event::Approval {
            step,
            kind,
            by,
            role,
            note,
            host,
            runbook_sha256,
            signature,
        } = event
        else {
            return None;
        };
        Some(ApprovalRecord {
            step: step.clone(),
            kind: *kind,
            by: by.clone(),
            role: role.clone(),
            note: note.clone(),
            host: host.clone(),
            runbook_sha256: runbook_sha256.clone(),
            at,
            signature: signature.clone(),
            revoked: false,
        })
    }
}

/// A step's process group as journaled, not known to have ended.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessRecord {
    /// The step that started it.
    pub step: String,
    /// The group's id.
    pub pgid: i32,
    /// Its leader's start time (ticks since boot), to tell it from a reused id.
    pub leader_start: Option<u64>,
    /// The host it runs on: only there can anyone tell whether it still runs.
    pub host: String,
    /// When it started.
    pub at: DateTime<Utc>,
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
