//! Verification of an approval's signature, in-process.

use ssh_key::{HashAlg, PublicKey, SshSig};

use super::NAMESPACE;
use super::allowed_signers::{AllowedSigners, admits};
use crate::people::PersonName;

/// Who signed: the principal of the allowed-signers file that names the approver, and the
/// key's fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The principal as the allowed-signers file writes it.
    pub principal: String,
    /// `SHA256:...` of the signing key.
    pub fingerprint: String,
}

/// Checks that `armored` is a signature of `statement` in deployctl's namespace, by a key
/// of `signers` whose principals admit `name` (compared as people's names are).
pub fn verify(signers: &AllowedSigners, statement: &str, armored: &str, name: &str) -> Result<Verified, String> {
    let signature = SshSig::from_pem(armored.trim()).map_err(|e| format!("not an SSH signature: {e}"))?;
    if signature.namespace() != NAMESPACE {
        return Err(format!(
            "signed in namespace `{}`, not `{NAMESPACE}`",
            signature.namespace()
        ));
    }
    let key = PublicKey::from(signature.public_key().clone());
    let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
    key.verify(NAMESPACE, statement.as_bytes(), &signature)
        .map_err(|_| format!("the signature by key {fingerprint} does not match the approval as journaled"))?;
    let principals = signers.principals(&key, NAMESPACE);
    if principals.is_empty() {
        return Err(format!("key {fingerprint} is not in the allowed signers"));
    }
    let wanted = PersonName::parse(name).ok();
    let principal = principals.iter().find(|p| {
        admits(p, name)
            || wanted
                .as_ref()
                .is_some_and(|w| PersonName::parse(p).is_ok_and(|p| p.is_same(w)))
    });
    match principal {
        Some(p) => Ok(Verified {
            principal: if p.contains(['*', '?']) {
                name.to_owned()
            } else {
                (*p).to_owned()
            },
            fingerprint,
        }),
        None => Err(format!(
            "key {fingerprint} signs as {}, not as {name}",
            principals.join(", ")
        )),
    }
}
