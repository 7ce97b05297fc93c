//! The one place that knows what is secret, and masks it.
//!
//! Secrets follow the value, not the field: once a value is registered (a database URL's
//! password, a `*TOKEN*`/`*PASSWORD*`/`*SECRET*`/`*KEY*` environment variable), every string
//! that leaves deployctl through [`Redactor::mask`] shows it as `***`, wherever it appears:
//! in a URL, a command line, or a child process's output. URL passwords are also masked
//! structurally, so a password never registered (typed inline in a URL) is hidden too.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

/// The mask shown in place of a secret.
pub const MASK: &str = "***";

/// Secret values shorter than this are not masked by value: masking every `1` or `a` in
/// all output would hide everything and protect nothing. URL passwords are masked anyway.
const MIN_SECRET_LEN: usize = 4;

/// Whether an environment variable's name marks its value as a secret.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["PASSWORD", "SECRET", "TOKEN", "KEY"].iter().any(|w| upper.contains(w))
}

/// The set of secret values of one run, and the masking of text.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Longest first, so a secret containing another is masked whole.
    secrets: Vec<String>,
}

impl Redactor {
    /// A redactor that already knows the secret-named variables of `env` (inherited by shell steps).
    pub fn from_env<'a>(env: impl IntoIterator<Item = (&'a String, &'a String)>) -> Self {
        let mut redactor = Redactor::default();
        for (name, value) in env {
            if is_secret_name(name) {
                redactor.register(value);
            }
        }
        redactor
    }

    /// Marks `value` as secret from now on.
    pub fn register(&mut self, value: &str) {
        if value.len() < MIN_SECRET_LEN || self.secrets.iter().any(|s| s == value) {
            return;
        }
        self.secrets.push(value.to_owned());
        self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    /// Registers the password of a URL, if it has one (including its percent-decoded form).
    pub fn register_url_password(&mut self, url: &str) {
        if let Ok(parsed) = url::Url::parse(url)
            && let Some(password) = parsed.password()
        {
            self.register(password);
            if let Ok(decoded) = percent_decode_str(password).decode_utf8() {
                self.register(&decoded);
            }
        }
    }

    /// Length of the longest registered secret (0 when none): how much text near a cut
    /// could be part of one.
    pub fn longest_secret(&self) -> usize {
        self.secrets.first().map_or(0, String::len)
    }

    /// `text` with every secret and every URL password replaced by `***`.
    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = mask_url_passwords(text);
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), MASK));
            }
        }
        out
    }
}

/// Masks the password part of anything shaped like `scheme://user:password@host`.
fn mask_url_passwords(text: &str) -> Cow<'_, str> {
    if !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        // The authority ends at the first '/', '?', '#' or whitespace.
        let end = tail
            .find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace())
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority
            .rfind('@')
            .and_then(|at| authority[..at].find(':').map(|colon| (colon, at)))
        {
            Some((colon, at)) => {
                out.push_str(&authority[..=colon]);
                out.push_str(MASK);
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_url_passwords_even_unregistered() {
        let r = Redactor::default();
        assert_eq!(
            r.mask("connect postgres://app:hunter2@db:5432/x failed"),
            "connect postgres://app:***@db:5432/x failed"
        );
        assert_eq!(r.mask("http://host/path?a=b"), "http://host/path?a=b");
        assert_eq!(r.mask("postgres://app@db/x"), "postgres://app@db/x");
    }

    #[test]
    fn masks_registered_values_everywhere() {
        let mut r = Redactor::default();
        r.register("canary-s3cret");
        r.register("ab");
        assert_eq!(
            r.mask("token=canary-s3cret; again canary-s3cret; ab"),
            "token=***; again ***; ab"
        );
    }

    #[test]
    fn registers_decoded_url_passwords() {
        let mut r = Redactor::default();
        r.register_url_password("postgres://u:p%40ss-word@h/d");
        assert_eq!(r.mask("echo p@ss-word"), "echo ***");
    }

    #[test]
    fn secret_names() {
        assert!(is_secret_name("DEPLOY_TOKEN"));
        assert!(is_secret_name("pg_password"));
        assert!(is_secret_name("API_KEY"));
        assert!(!is_secret_name("HOME"));
    }
}
