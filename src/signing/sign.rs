//! Signing a statement with `ssh-keygen -Y sign`, as git does: the key may be a private key
//! file (ssh-keygen asks for its passphrase on the terminal) or a public key whose private
//! half is in ssh-agent.

use std::path::Path;
use std::process::Stdio;

use tokio::io::AsyncWriteExt;

use super::NAMESPACE;

/// The armored SSH signature (`-----BEGIN SSH SIGNATURE-----`) of `statement` by `key`.
pub async fn sign(key: &Path, statement: &str) -> Result<String, String> {
    let mut child = tokio::process::Command::new("ssh-keygen")
        .args(["-q", "-Y", "sign", "-n", NAMESPACE, "-f"])
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            format!(
                "cannot run `ssh-keygen`: {e}\n  hint: install OpenSSH's client tools (apt-get install openssh-client)"
            )
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(statement.as_bytes())
            .await
            .map_err(|e| format!("cannot hand the statement to `ssh-keygen`: {e}"))?;
    }
    let output = child
        .wait_with_output()
        .await
        .map_err(|e| format!("`ssh-keygen -Y sign` did not finish: {e}"))?;
    let signature = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() && signature.contains("BEGIN SSH SIGNATURE") {
        return Ok(signature);
    }
    let why = String::from_utf8_lossy(&output.stderr);
    Err(format!(
        "`ssh-keygen -Y sign -f {}` failed ({}): {}\n  hint: give a private key file, or a public key whose private key is in ssh-agent (ssh-add -l)",
        key.display(),
        output.status,
        why.trim()
    ))
}
