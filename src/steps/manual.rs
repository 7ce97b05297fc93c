//! `manual`: a human checkbox. Nothing runs: it is confirmed at the terminal or with
//! `deployctl approve`, and the engine passes it on the journaled confirmation.

use super::kind::Kind;
use super::{StepContext, StepOutcome};
use crate::runbook::Runbook;
use crate::runbook::model::Manual;

impl Kind for Manual {
    fn describe(&self, _runbook: &Runbook) -> String {
        format!("confirm: {}", self.text)
    }

    /// A checkbox is decided from the journal, never attempted.
    async fn execute(&self, ctx: &StepContext<'_>) -> StepOutcome {
        StepOutcome::failed(format!(
            "`{}` is a manual checkbox: the engine passes it on a journaled confirmation",
            ctx.step_id
        ))
    }
}
