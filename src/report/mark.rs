//! How a step and a run are marked in every view, in one place: the view enums, the words
//! `status --format json` has always written for them (scripts match on those words, so
//! the serde names never change), and the one glyph table of DESIGN.md.
//!
//! The journal's own enums ([`StepStatus`], [`RunStatus`], [`ServiceResult`],
//! [`RollbackCause`], [`ApprovalKind`]) say what happened; a view needs a few more states
//! that only exist while a run is unfinished (pending, running, awaiting approval, paused,
//! rolling back), so [`StepMark`] and [`RunMark`] extend them. Renderers match on these
//! enums; no renderer compares status words.

use std::fmt;

use serde::Serialize;

use crate::event::{ApprovalKind, RollbackCause, RunStatus, ServiceResult, StepStatus};

/// Where a step stands on the checklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepMark {
    /// Finished and did what it should.
    Done,
    /// Not started in this run.
    Pending,
    /// Started, and a live process holds the journal lock.
    Running,
    /// Finished failing (after its retries).
    Failed,
    /// Started and never finished, with no process holding the lock: a signal or a crash.
    Interrupted,
    /// Skipped.
    Skipped,
    /// The run is paused at this step, waiting for a person.
    AwaitingApproval,
    /// The gate the run paused at has been approved since: the next `run` passes it.
    Approved,
}

impl StepMark {
    /// The glyph of DESIGN.md: `[x]` done, `[ ]` pending (and running), `[!]` failed, `[~]`
    /// interrupted, `[-]` skipped, `[?]` awaiting approval.
    pub fn glyph(self) -> &'static str {
        match self {
            StepMark::Done => "[x]",
            StepMark::Pending | StepMark::Running => "[ ]",
            StepMark::Failed => "[!]",
            StepMark::Interrupted => "[~]",
            StepMark::Skipped => "[-]",
            StepMark::AwaitingApproval => "[?]",
            StepMark::Approved => "[+]",
        }
    }

    /// A Markdown task-list box: task lists know only ticked and not ticked, so every state
    /// but done is an empty box (and the state is written beside it).
    pub fn task_box(self) -> &'static str {
        match self {
            StepMark::Done => "[x]",
            StepMark::Pending
            | StepMark::Running
            | StepMark::Failed
            | StepMark::Interrupted
            | StepMark::Skipped
            | StepMark::AwaitingApproval
            | StepMark::Approved => "[ ]",
        }
    }

    /// The JSON word, also the HTML class.
    pub fn as_str(self) -> &'static str {
        match self {
            StepMark::Done => "done",
            StepMark::Pending => "pending",
            StepMark::Running => "running",
            StepMark::Failed => "failed",
            StepMark::Interrupted => "interrupted",
            StepMark::Skipped => "skipped",
            StepMark::AwaitingApproval => "awaiting_approval",
            StepMark::Approved => "approved",
        }
    }

    /// The state in words for people (`awaiting approval`).
    pub fn words(self) -> String {
        self.as_str().replace('_', " ")
    }

    /// Whether the step is behind the run: done, or skipped on purpose.
    pub fn is_settled(self) -> bool {
        matches!(self, StepMark::Done | StepMark::Skipped)
    }

    /// Whether it ended badly and its reason and output are the story (failed, cut off).
    pub fn went_wrong(self) -> bool {
        matches!(self, StepMark::Failed | StepMark::Interrupted)
    }
}

impl From<StepStatus> for StepMark {
    fn from(status: StepStatus) -> Self {
        match status {
            StepStatus::Done => StepMark::Done,
            StepStatus::Failed => StepMark::Failed,
            StepStatus::Interrupted => StepMark::Interrupted,
            StepStatus::Skipped => StepMark::Skipped,
        }
    }
}

/// A service of a rolling restart is ticked when healthy, flagged otherwise.
impl From<ServiceResult> for StepMark {
    fn from(result: ServiceResult) -> Self {
        match result {
            ServiceResult::Healthy => StepMark::Done,
            ServiceResult::RestartFailed | ServiceResult::Unhealthy => StepMark::Failed,
        }
    }
}

impl fmt::Display for StepMark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a run stands: how it ended, or why it is not going on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunMark {
    /// Ended with every step done (or failed and continued).
    Done,
    /// A live process holds the journal lock.
    Running,
    /// Waiting for a person (an approval, a confirmation, a retry).
    Paused,
    /// Ended, or stopped, at a failed step.
    Failed,
    /// A signal or a crash cut it off.
    Interrupted,
    /// Not going on, for no recorded reason (steps are pending).
    Stopped,
    /// A rollback started and was cut off before its end.
    RollingBack,
    /// The rollback ran to its end (exit 4).
    RolledBack,
    /// The rollback itself failed (exit 5).
    RollbackFailed,
}

impl RunMark {
    /// The JSON word, also the HTML class.
    pub fn as_str(self) -> &'static str {
        match self {
            RunMark::Done => "done",
            RunMark::Running => "running",
            RunMark::Paused => "paused",
            RunMark::Failed => "failed",
            RunMark::Interrupted => "interrupted",
            RunMark::Stopped => "stopped",
            RunMark::RollingBack => "rolling_back",
            RunMark::RolledBack => "rolled_back",
            RunMark::RollbackFailed => "rollback_failed",
        }
    }
}

impl From<RunStatus> for RunMark {
    fn from(status: RunStatus) -> Self {
        match status {
            RunStatus::Done => RunMark::Done,
            RunStatus::Failed => RunMark::Failed,
            RunStatus::RolledBack => RunMark::RolledBack,
            RunStatus::RollbackFailed => RunMark::RollbackFailed,
        }
    }
}

impl fmt::Display for RunMark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened with the deployment window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowEventKind {
    /// The window kept the run waiting (or its `overrun` was applied).
    Wait,
    /// Someone ran outside it on purpose (`--ignore-window`).
    Override,
    /// An invocation pretended another time (`--now`): the times it journaled are not the
    /// real ones.
    ClockOverride,
}

impl WindowEventKind {
    /// The JSON word.
    #[cfg(test)]
    pub fn as_str(self) -> &'static str {
        match self {
            WindowEventKind::Wait => "wait",
            WindowEventKind::Override => "override",
            WindowEventKind::ClockOverride => "clock_override",
        }
    }

    /// How reports label it.
    pub fn label(self) -> &'static str {
        match self {
            WindowEventKind::Wait => "window wait",
            WindowEventKind::Override => "window override",
            WindowEventKind::ClockOverride => "clock override",
        }
    }
}

/// A gate step's kind key, the one place the report reads a kind: approvals get a sign-off
/// line, and both kinds show who passed them. Other kinds are an open set the report shows
/// as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateKind {
    /// `approval`: a named role signs.
    Approval,
    /// `manual`: a person ticks a box.
    Manual,
}

impl GateKind {
    /// The gate kind of a plan step's kind key, if it is a gate.
    pub fn of(kind: &str) -> Option<GateKind> {
        match kind {
            "approval" => Some(GateKind::Approval),
            "manual" => Some(GateKind::Manual),
            _ => None,
        }
    }
}

/// `gate` or `retry`, as the JSON says.
pub fn approval_word(kind: ApprovalKind) -> &'static str {
    match kind {
        ApprovalKind::Gate => "gate",
        ApprovalKind::Retry => "retry",
    }
}

/// `healthy`, `restart_failed` or `unhealthy`: the JSON word, also the HTML class.
pub fn service_word(result: ServiceResult) -> &'static str {
    match result {
        ServiceResult::Healthy => "healthy",
        ServiceResult::RestartFailed => "restart_failed",
        ServiceResult::Unhealthy => "unhealthy",
    }
}

/// Why the rollback ran, in words (`step failed`).
pub fn cause_words(cause: RollbackCause) -> &'static str {
    match cause {
        RollbackCause::StepFailed => "step failed",
        RollbackCause::Trigger => "trigger",
        RollbackCause::Command => "command",
        RollbackCause::Window => "window",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The serde names are the words scripts read, and the words the renderers use.
    #[test]
    fn serde_names_are_the_words() {
        let steps = [
            StepMark::Done,
            StepMark::Pending,
            StepMark::Running,
            StepMark::Failed,
            StepMark::Interrupted,
            StepMark::Skipped,
            StepMark::AwaitingApproval,
            StepMark::Approved,
        ];
        for mark in steps {
            assert_eq!(serde_json::to_value(mark).ok(), Some(mark.as_str().into()));
        }
        let runs = [
            RunMark::Done,
            RunMark::Running,
            RunMark::Paused,
            RunMark::Failed,
            RunMark::Interrupted,
            RunMark::Stopped,
            RunMark::RollingBack,
            RunMark::RolledBack,
            RunMark::RollbackFailed,
        ];
        for mark in runs {
            assert_eq!(serde_json::to_value(mark).ok(), Some(mark.as_str().into()));
        }
        for kind in [
            WindowEventKind::Wait,
            WindowEventKind::Override,
            WindowEventKind::ClockOverride,
        ] {
            assert_eq!(serde_json::to_value(kind).ok(), Some(kind.as_str().into()));
        }
        for result in [
            ServiceResult::Healthy,
            ServiceResult::RestartFailed,
            ServiceResult::Unhealthy,
        ] {
            assert_eq!(serde_json::to_value(result).ok(), Some(service_word(result).into()));
        }
        for kind in [ApprovalKind::Gate, ApprovalKind::Retry] {
            assert_eq!(serde_json::to_value(kind).ok(), Some(approval_word(kind).into()));
        }
    }

    #[test]
    fn glyphs_are_those_of_the_design() {
        let table: Vec<&str> = [
            StepMark::Done,
            StepMark::Pending,
            StepMark::Failed,
            StepMark::Interrupted,
            StepMark::Skipped,
            StepMark::AwaitingApproval,
        ]
        .map(StepMark::glyph)
        .to_vec();
        assert_eq!(table, ["[x]", "[ ]", "[!]", "[~]", "[-]", "[?]"]);
    }
}
