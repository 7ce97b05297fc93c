//! OpenSSH's allowed-signers format (`ssh-keygen(1)`, "ALLOWED SIGNERS"): one key per line,
//! `principals [options] keytype base64 [comment]`. deployctl reads principals (with `*`
//! and `?` patterns), the `namespaces="..."` option, and refuses what it does not implement
//! (`cert-authority`, `valid-after`, `valid-before`) rather than silently trusting more.

use std::path::Path;

use ssh_key::PublicKey;

/// The keys trusted to sign approvals, with the principals each may sign as.
#[derive(Debug, Clone, Default)]
pub struct AllowedSigners {
    signers: Vec<Signer>,
}

#[derive(Debug, Clone)]
struct Signer {
    principals: Vec<String>,
    namespaces: Option<Vec<String>>,
    key: PublicKey,
}

impl AllowedSigners {
    /// Reads and parses the file; the error names the file and line.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("allowed_signers `{}` cannot be read: {e}", path.display()))?;
        Self::parse(&text).map_err(|(line, e)| format!("{}:{line}: {e}", path.display()))
    }

    /// Parses the text of an allowed-signers file; the error is the 1-based line and why.
    pub fn parse(text: &str) -> Result<Self, (usize, String)> {
        let mut signers = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            signers.push(signer(line).map_err(|e| (i + 1, e))?);
        }
        Ok(AllowedSigners { signers })
    }

    /// The principals `key` may sign as in `namespace`, in file order.
    pub fn principals(&self, key: &PublicKey, namespace: &str) -> Vec<&str> {
        self.signers
            .iter()
            .filter(|s| s.key.key_data() == key.key_data())
            .filter(|s| {
                s.namespaces
                    .as_ref()
                    .is_none_or(|ns| ns.iter().any(|n| pattern(n, namespace)))
            })
            .flat_map(|s| s.principals.iter().map(String::as_str))
            .collect()
    }
}

fn signer(line: &str) -> Result<Signer, String> {
    let (principals, rest) = word(line);
    let (second, after) = word(rest);
    let (options, key) = if is_key_type(second) {
        ("", rest)
    } else {
        (second, after)
    };
    let key = PublicKey::from_openssh(key.trim()).map_err(|e| format!("not a public key: {e}"))?;
    Ok(Signer {
        principals: principals.split(',').map(str::to_owned).collect(),
        namespaces: namespaces(options)?,
        key,
    })
}

/// The first whitespace-separated word (quotes keep spaces) and the rest.
fn word(text: &str) -> (&str, &str) {
    let text = text.trim_start();
    let mut quoted = false;
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => return (&text[..i], &text[i..]),
            _ => {}
        }
    }
    (text, "")
}

fn is_key_type(word: &str) -> bool {
    word.starts_with("ssh-") || word.starts_with("ecdsa-sha2-") || word.starts_with("sk-")
}

fn namespaces(options: &str) -> Result<Option<Vec<String>>, String> {
    let mut found = None;
    for option in split_options(options) {
        let (name, value) = option.split_once('=').unwrap_or((option, ""));
        match name.to_ascii_lowercase().as_str() {
            "namespaces" => found = Some(value.trim_matches('"').split(',').map(str::to_owned).collect()),
            other => return Err(format!("option `{other}` is not supported by deployctl")),
        }
    }
    Ok(found)
}

/// Options split at commas outside quotes (`namespaces="a,b"` is one option).
fn split_options(options: &str) -> Vec<&str> {
    let (mut parts, mut start, mut quoted) = (Vec::new(), 0, false);
    for (i, c) in options.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&options[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&options[start..]);
    parts.into_iter().filter(|p| !p.is_empty()).collect()
}

/// OpenSSH's pattern match: `*` any run, `?` any one character.
fn pattern(pattern: &str, text: &str) -> bool {
    fn go(p: &[char], t: &[char]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    go(&p, &t)
}

/// Whether principal pattern `principal` (from the file) admits `name`.
pub(super) fn admits(principal: &str, name: &str) -> bool {
    pattern(principal, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2J1Bx5TFs7CdR6bRWRWx9FeeKqVOYXHIrRl1dBI0tP";

    #[test]
    fn reads_principals_options_and_comments() {
        let text = format!(
            "# ops\n\nmorgan@example.com,morgan {KEY} laptop\ncto@* namespaces=\"git,deployctl-approval\" {KEY}\n"
        );
        let signers = AllowedSigners::parse(&text).unwrap_or_default();
        let key = PublicKey::from_openssh(KEY).ok();
        let principals = key.map(|k| signers.principals(&k, "deployctl-approval").join(" "));
        assert_eq!(principals.as_deref(), Some("morgan@example.com morgan cto@*"));
        assert!(admits("cto@*", "cto@example.com"));
        assert!(!admits("cto@*", "pm@example.com"));
    }

    #[test]
    fn refuses_what_it_does_not_implement_and_bad_keys() {
        let cert = format!("* cert-authority {KEY}");
        assert_eq!(
            AllowedSigners::parse(&cert)
                .err()
                .map(|(l, e)| (l, e.contains("cert-authority"))),
            Some((1, true))
        );
        assert!(AllowedSigners::parse("morgan ssh-ed25519 AAAA").is_err());
    }

    #[test]
    fn namespaces_limit_a_key() {
        let signers = AllowedSigners::parse(&format!("m namespaces=\"git\" {KEY}")).unwrap_or_default();
        let key = PublicKey::from_openssh(KEY).ok();
        assert_eq!(key.map(|k| signers.principals(&k, "deployctl-approval").len()), Some(0));
    }
}
