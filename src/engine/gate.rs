//! Gates: `approval` and `manual` steps pass when the journal holds an approval for them.
//!
//! Without one the run pauses (exit 3) and says exactly what to type. The rules about who may
//! approve (separation of duties, `from`, `ttl`, digests) are applied by `deployctl approve`
//! when the approval is given, so an approval in the journal is one that was allowed.

use std::path::Path;

use crate::event::ApprovalKind;
use crate::journal::RunState;
use crate::runbook::Loaded;
use crate::runbook::model::{Step, StepKind};

/// What the journal says about a gate.
pub(super) enum GateDecision {
    /// Approved or confirmed.
    Passed {
        /// Who, as what (for the journal).
        reason: String,
    },
    /// Still waiting.
    Waiting {
        /// What it waits for.
        reason: String,
        /// The command that unblocks it.
        hint: String,
    },
}

/// `None` when `step` is not a gate.
pub(super) fn decide_gate(step: &Step, run: Option<&RunState>, loaded: &Loaded, file: &Path) -> Option<GateDecision> {
    let (what, role) = match &step.kind {
        StepKind::Approval(a) => (format!("approval by role {}", a.role), Some(a.role.clone())),
        StepKind::Manual(m) => (format!("confirmation: {}", m.text), None),
        _ => return None,
    };
    let given = run
        .map(|r| r.approvals_for(&step.id, ApprovalKind::Gate, None))
        .unwrap_or_default()
        .into_iter()
        .rfind(|a| a.runbook_sha256 == loaded.sha256);
    Some(match given {
        Some(a) => Passed {
            reason: format!(
                "approved by {}{}",
                a.by,
                role.map(|r| format!(" as {r}")).unwrap_or_default()
            ),
        },
        None => Waiting {
            reason: format!("step `{}` awaits {what}", step.id),
            hint: format!(
                "deployctl approve {} {} --by NAME [--note TEXT], then run again",
                file.display(),
                step.id
            ),
        },
    })
}

use GateDecision::{Passed, Waiting};
