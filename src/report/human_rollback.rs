//! The human reporter at the start of a rollback: why, in a word (the reason itself was
//! said by the failed step's line, or is the operator's own request), and the steps to run.

use super::{HumanReporter, StepInfo};
use crate::event::{PlannedStep, RollbackCause};
use crate::report::escape::one_line;

impl HumanReporter {
    /// `rollback (WHY)` and the numbered rollback steps, which become the last phase.
    pub(super) fn rollback_started(&mut self, cause: RollbackCause, reason: &str, steps: &[PlannedStep]) {
        self.stop_spinner();
        self.announcer.clear();
        let why = match cause {
            RollbackCause::StepFailed => "a step failed",
            RollbackCause::Trigger => "a monitor rule held",
            RollbackCause::Command => "deployctl rollback",
            RollbackCause::Window => "the window closed",
        };
        // A failure or a trip was said by its step's line; the command's last words say the
        // reason again.
        match cause {
            RollbackCause::Command | RollbackCause::Window => {
                self.line(&format!("\nrollback ({why}) — {}", one_line(reason)));
            }
            RollbackCause::StepFailed | RollbackCause::Trigger => self.line(&format!("\nrollback ({why})")),
        }
        self.phases.push(("rollback".into(), "Rollback".into()));
        let phase = self.phases.len() - 1;
        self.current_phase = Some(phase);
        for (n, step) in steps.iter().enumerate() {
            self.steps.insert(
                step.id.clone(),
                StepInfo {
                    phase,
                    title: one_line(&step.title).into_owned(),
                    kind: step.kind.clone(),
                },
            );
            if !self.quiet {
                self.line(&format!(
                    "  {}. {}  {}",
                    n + 1,
                    one_line(&step.id),
                    one_line(&step.title)
                ));
            }
        }
    }
}
