//! The notice of a run that stops to wait for a person: at an approval gate, an
//! `approval_requested` naming the role and the exact command to type; anywhere else a
//! plain `run_paused`.

use super::notice::Notice;
use crate::runbook::Loaded;
use crate::runbook::model::StepKind;

/// The notice for a run paused at `step`.
pub(super) fn paused(loaded: &Loaded, step: &str) -> Notice {
    let runbook = &loaded.runbook;
    let gate = runbook
        .steps()
        .map(|(_, s)| s)
        .chain(runbook.rollback.iter())
        .find(|s| s.id == step)
        .and_then(|s| match &s.kind {
            StepKind::Approval(a) => Some(a),
            _ => None,
        });
    match gate {
        Some(gate) => Notice::ApprovalRequested {
            step: step.to_owned(),
            role: gate.role.clone(),
            command: command(loaded, step),
        },
        None => Notice::RunPaused { step: step.to_owned() },
    }
}

/// `deployctl approve RUNBOOK STEP --by "NAME"`, plus `--sign KEY` when the runbook
/// requires signatures. The runbook path is the one this run was started with.
pub(crate) fn command(loaded: &Loaded, step: &str) -> String {
    let path = loaded.path.display().to_string();
    let path = if path.contains([' ', '"', '\'', '$']) {
        format!("'{}'", path.replace('\'', r"'\''"))
    } else {
        path
    };
    let sign = if loaded.runbook.approvals.require_signature {
        " --sign ~/.ssh/id_ed25519"
    } else {
        ""
    };
    format!("deployctl approve {path} {step} --by \"YOUR NAME\"{sign}")
}
