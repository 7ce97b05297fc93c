//! Signed approvals: the statement an approver signs, OpenSSH allowed-signers files, signing
//! with `ssh-keygen -Y sign` (so ssh-agent and passphrase-protected keys work, as for git)
//! and verification in-process (the `ssh-key` crate's `sshsig`).
//!
//! Theory of operation: an approval's statement is rebuilt from the journaled fields
//! (runbook digest, run id, step, role, name, time, note), never stored, so changing any of
//! them, or copying a signature to another step or run, makes it a different statement that
//! the signature does not cover. Signatures are in namespace [`NAMESPACE`], so a signature
//! made for git or for a file cannot pass as an approval. `ssh-keygen -Y verify -f
//! allowed_signers -I NAME -n deployctl-approval -s SIG < STATEMENT` checks the same thing.

mod allowed_signers;
mod sign;
mod statement;
mod verify;

pub use allowed_signers::AllowedSigners;
pub use sign::sign;
pub use statement::Statement;
pub use verify::{Verified, verify};

/// The SSH signature namespace of deployctl approvals.
pub const NAMESPACE: &str = "deployctl-approval";
