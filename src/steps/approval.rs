//! `approval`: a gate. Nothing runs: the engine passes it when the journal holds an
//! approval that still counts (`engine::approval` has the rules), and pauses otherwise.

use super::kind::Kind;
use super::{StepContext, StepOutcome};
use crate::runbook::Runbook;
use crate::runbook::model::Approval;

impl Kind for Approval {
    fn describe(&self, _runbook: &Runbook) -> String {
        if self.from.is_empty() {
            format!("approval by role {}", self.role)
        } else {
            format!("approval by role {} (one of {})", self.role, self.from.join(", "))
        }
    }

    /// A gate is decided from the journal, never attempted.
    async fn execute(&self, ctx: &StepContext<'_>) -> StepOutcome {
        StepOutcome::failed(format!(
            "`{}` is an approval gate: the engine passes it on a journaled approval",
            ctx.step_id
        ))
    }
}
