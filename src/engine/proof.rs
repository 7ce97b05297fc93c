//! Whether a journaled approval proves who gave it: its signature is re-verified against the
//! runbook's allowed signers every time it is read (a journal is a file anyone with access
//! can edit), and an approval of a gate without one does not count when the runbook says
//! `require_signature: true`. Separation of duties then compares keys, not typed names.

use crate::event::ApprovalKind;
use crate::journal::{ApprovalRecord, RunState};
use crate::runbook::model::Approvals;
use crate::signing::{Statement, Verified, verify};

/// What an approval's signature proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proof {
    /// Signed by the key of the principal named.
    Signed(Verified),
    /// No signature.
    Unsigned,
    /// A signature that does not verify (why).
    Invalid(String),
}

/// The proof of approval `a` of run `run_id`.
pub fn proof(a: &ApprovalRecord, run_id: &str, approvals: &Approvals) -> Proof {
    let Some(signature) = &a.signature else {
        return Proof::Unsigned;
    };
    let Some(signers) = &approvals.signers else {
        return Proof::Invalid("the runbook names no `approvals.allowed_signers` to check it against".into());
    };
    let statement = Statement::of(a, run_id).text();
    match verify(signers, &statement, &signature.sshsig, &a.by) {
        Ok(verified) => Proof::Signed(verified),
        Err(why) => Proof::Invalid(why),
    }
}

/// Why approval `a` does not count, if it does not: its signature fails, or the gate needs
/// one and it has none.
pub fn discounted(a: &ApprovalRecord, run_id: &str, approvals: &Approvals) -> Option<String> {
    match proof(a, run_id, approvals) {
        Proof::Signed(_) => None,
        Proof::Invalid(why) => Some(format!("its signature does not verify: {why}")),
        Proof::Unsigned if approvals.require_signature && needs_signature(a) => {
            Some("it is not signed and the runbook requires signed approvals".into())
        }
        Proof::Unsigned => None,
    }
}

/// `require_signature` covers approvals of `approval` gates (those with a role); manual
/// checkboxes and retries are confirmed by the operator at hand.
pub fn needs_signature(a: &ApprovalRecord) -> bool {
    a.kind == ApprovalKind::Gate && a.role.is_some()
}

/// One key, one role: refuses `verified` when the same key already signed an approval of
/// this run in another role (whatever names were typed).
pub fn one_key_one_role(run: &RunState, verified: &Verified, role: &str, approvals: &Approvals) -> Result<(), String> {
    let other = run.approvals.iter().filter(|a| !a.revoked).find(|a| {
        a.role.as_deref().is_some_and(|r| r != role)
            && matches!(proof(a, &run.run_id, approvals), Proof::Signed(v) if v.fingerprint == verified.fingerprint)
    });
    match other {
        Some(a) => Err(format!(
            "key {} already signed `{}` as {} in this run (as {}) and cannot also act as {role}\n  hint: one person fills one role (or set `allow_self_approval: true`)",
            verified.fingerprint,
            a.step,
            a.role.as_deref().unwrap_or(""),
            a.by
        )),
        None => Ok(()),
    }
}
