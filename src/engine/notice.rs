//! [`Notice`]: what a run tells the people watching it, typed once for every consumer
//! (webhooks today; reporters may listen too).

use serde::Serialize;

use super::escalation::Problem;
use super::outcome::RunOutcome;
use crate::runbook::model::NotifyEvent;

/// A moment of a run worth telling people about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Notice {
    /// The run started or resumed.
    RunStarted,
    /// The run waits for a person at a step.
    RunPaused {
        /// The step waiting.
        step: String,
    },
    /// The run waits at an approval gate: the people of the role are asked.
    ApprovalRequested {
        /// The gate.
        step: String,
        /// The role that must approve.
        role: String,
        /// The exact `deployctl approve` command.
        command: String,
    },
    /// The deployment window keeps the run waiting.
    WindowClosed,
    /// A step failed and the run stopped (exit 1).
    RunFailed {
        /// The step.
        step: String,
    },
    /// A signal stopped the run.
    RunInterrupted {
        /// The step that was running.
        step: Option<String>,
    },
    /// Every step is done.
    RunFinished,
    /// A monitor rule held.
    TriggerFired {
        /// The monitor step.
        step: String,
    },
    /// The rollback began.
    RollbackStarted,
    /// The rollback ran to the end (exit 4).
    RolledBack,
    /// A rollback step failed: page a human (exit 5).
    RollbackFailed {
        /// The rollback step.
        step: String,
    },
}

impl Notice {
    /// What the webhooks hear when an invocation ends this way (nothing for a clean finish).
    pub(super) fn ending(outcome: &RunOutcome) -> Option<Notice> {
        match outcome {
            RunOutcome::Done => None,
            RunOutcome::RolledBack { .. } => Some(Notice::RolledBack),
            RunOutcome::RollbackFailed { step, .. } => Some(Notice::RollbackFailed { step: step.clone() }),
            RunOutcome::Failed { step, .. } => Some(Notice::RunFailed { step: step.clone() }),
            RunOutcome::Paused { step, .. } => Some(Notice::RunPaused { step: step.clone() }),
            RunOutcome::WindowClosed { .. } => Some(Notice::WindowClosed),
            RunOutcome::Interrupted { step, .. } => Some(Notice::RunInterrupted { step: step.clone() }),
        }
    }

    /// The event name webhooks receive.
    pub fn event(&self) -> &'static str {
        match self {
            Notice::RunStarted => "run_started",
            Notice::RunPaused { .. } | Notice::WindowClosed => "run_paused",
            Notice::ApprovalRequested { .. } => "approval_requested",
            Notice::RunFailed { .. } => "run_failed",
            Notice::RunInterrupted { .. } => "run_interrupted",
            Notice::RunFinished => "run_finished",
            Notice::TriggerFired { .. } => "trigger_fired",
            Notice::RollbackStarted => "rollback_started",
            Notice::RolledBack => "rolled_back",
            Notice::RollbackFailed { .. } => "rollback_failed",
        }
    }

    /// The status webhooks receive with it.
    pub fn status(&self) -> Option<&'static str> {
        match self {
            Notice::RunStarted => None,
            Notice::RunPaused { .. } | Notice::ApprovalRequested { .. } => Some("paused"),
            Notice::WindowClosed => Some("window"),
            Notice::RunFailed { .. } | Notice::TriggerFired { .. } => Some("failed"),
            Notice::RunInterrupted { .. } => Some("interrupted"),
            Notice::RunFinished => Some("done"),
            Notice::RollbackStarted => Some("rolling_back"),
            Notice::RolledBack => Some("rolled_back"),
            Notice::RollbackFailed { .. } => Some("rollback_failed"),
        }
    }

    /// The step concerned.
    pub fn step(&self) -> Option<&str> {
        match self {
            Notice::RunPaused { step }
            | Notice::ApprovalRequested { step, .. }
            | Notice::RunFailed { step }
            | Notice::TriggerFired { step }
            | Notice::RollbackFailed { step } => Some(step),
            Notice::RunInterrupted { step } => step.as_deref(),
            Notice::RunStarted
            | Notice::WindowClosed
            | Notice::RunFinished
            | Notice::RollbackStarted
            | Notice::RolledBack => None,
        }
    }

    /// The problem whose contacts go with it, if it is one.
    pub fn problem(&self) -> Option<Problem> {
        match self {
            Notice::RunFailed { .. } => Some(Problem::Step),
            Notice::RunPaused { .. } | Notice::ApprovalRequested { .. } => Some(Problem::Gate),
            Notice::RollbackFailed { .. } => Some(Problem::RollbackFailed),
            _ => None,
        }
    }

    /// The event as a runbook's `events:` names it.
    pub fn kind(&self) -> NotifyEvent {
        match self {
            Notice::RunStarted => NotifyEvent::RunStarted,
            Notice::RunPaused { .. } | Notice::WindowClosed => NotifyEvent::RunPaused,
            Notice::ApprovalRequested { .. } => NotifyEvent::ApprovalRequested,
            Notice::RunFailed { .. } => NotifyEvent::RunFailed,
            Notice::RunInterrupted { .. } => NotifyEvent::RunInterrupted,
            Notice::RunFinished => NotifyEvent::RunFinished,
            Notice::TriggerFired { .. } => NotifyEvent::TriggerFired,
            Notice::RollbackStarted => NotifyEvent::RollbackStarted,
            Notice::RolledBack => NotifyEvent::RolledBack,
            Notice::RollbackFailed { .. } => NotifyEvent::RollbackFailed,
        }
    }

    /// The role and command of an approval request, for the payload.
    pub fn request(&self) -> Option<(&str, &str)> {
        match self {
            Notice::ApprovalRequested { role, command, .. } => Some((role, command)),
            _ => None,
        }
    }

    /// Whether it is sent without waiting: nothing may delay a rollback.
    pub fn in_background(&self) -> bool {
        matches!(self, Notice::TriggerFired { .. } | Notice::RollbackStarted)
    }
}
