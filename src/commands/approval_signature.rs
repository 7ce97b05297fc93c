//! The signature of an approval being given: `--sign KEY` signs its statement with
//! `ssh-keygen -Y sign`, and the signature is verified here, before anything is journaled,
//! exactly as `run` and `deployctl verify` will verify it later. Under
//! `require_signature: true` an unsigned approval of a gate is refused.

use std::path::Path;

use chrono::{DateTime, Utc};

use crate::engine::proof::one_key_one_role;
use crate::event::ApprovalSignature;
use crate::journal::RunState;
use crate::runbook::Loaded;
use crate::signing::{Statement, sign, verify};

/// The approval about to be journaled.
pub(super) struct Proposal<'a> {
    pub loaded: &'a Loaded,
    pub run: &'a RunState,
    pub step: &'a str,
    pub role: Option<&'a str>,
    pub by: &'a str,
    pub note: Option<&'a str>,
    pub at: DateTime<Utc>,
}

/// The signature to journal with the approval (`None`: unsigned, allowed), or why the
/// approval is refused.
pub(super) async fn signed(p: &Proposal<'_>, key: Option<&Path>) -> Result<Option<ApprovalSignature>, String> {
    let approvals = &p.loaded.runbook.approvals;
    let Some(key) = key else {
        if approvals.require_signature && p.role.is_some() {
            return Err(format!(
                "the runbook requires signed approvals and this one is not signed\n  hint: deployctl approve {} {} --by \"{}\" --sign ~/.ssh/id_ed25519 (the key the allowed signers list for you)",
                p.loaded.path.display(),
                p.step,
                p.by
            ));
        }
        return Ok(None);
    };
    let Some(signers) = &approvals.signers else {
        return Err(
            "`--sign` needs the runbook's `approvals: { allowed_signers: FILE }` to check the signature against\n  hint: add the approvers' public keys to an allowed-signers file and name it in the runbook".into(),
        );
    };
    let statement = Statement {
        runbook_sha256: &p.loaded.sha256,
        run_id: &p.run.run_id,
        step: p.step,
        role: p.role,
        name: p.by,
        at: p.at,
        note: p.note,
    }
    .text();
    let armored = sign(key, &statement).await?;
    let verified = verify(signers, &statement, &armored, p.by).map_err(|why| {
        format!(
            "the signature is refused: {why}\n  hint: sign with your own key, listed for your name in `{}`",
            approvals.allowed_signers.as_deref().unwrap_or(Path::new("")).display()
        )
    })?;
    if let Some(role) = p.role.filter(|_| !p.loaded.runbook.allow_self_approval) {
        one_key_one_role(p.run, &verified, role, approvals)?;
    }
    Ok(Some(ApprovalSignature {
        sshsig: armored,
        principal: verified.principal,
        fingerprint: verified.fingerprint,
    }))
}
