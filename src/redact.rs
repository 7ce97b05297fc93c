//! The one place that knows what is secret, and masks it.
//!
//! Secrets follow the value, not the field: once a value is registered (a database URL's
//! password, a `*TOKEN*`/`*PASSWORD*`/`*SECRET*`/`*KEY*` environment variable), every string
//! that leaves deployctl through [`Redactor::mask`] shows it as `***`, wherever it appears:
//! in a URL, a command line, or a child process's output. URL passwords are also masked
//! structurally, so a password never registered (typed inline in a URL) is hidden too: the
//! `user:password@` of any URL, and a `password=` query parameter (which sqlx and libpq
//! accept in a database URL as well).

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

    /// Registers the password of a URL, if it has one (including its percent-decoded form):
    /// the `user:password@` part, and every `password=` query parameter (sqlx and libpq take
    /// a database password from either).
    pub fn register_url_password(&mut self, url: &str) {
        let Ok(parsed) = url::Url::parse(url) else {
            return;
        };
        if let Some(password) = parsed.password() {
            self.register(password);
            if let Ok(decoded) = percent_decode_str(password).decode_utf8() {
                self.register(&decoded);
            }
        }
        let query = parsed.query().unwrap_or_default();
        for raw in query.split('&').filter_map(|pair| pair.strip_prefix("password=")) {
            self.register(raw);
        }
        for (key, decoded) in parsed.query_pairs() {
            if key == "password" {
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

/// Masks the password part of anything shaped like `scheme://user:password@host`, and the
/// value of a `password=` query parameter of such a URL.
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
        // Path and query run to whitespace, or to the next URL (masked on the next turn).
        let after = &tail[end..];
        let stop = after
            .find(char::is_whitespace)
            .into_iter()
            .chain(after.find("://"))
            .min()
            .unwrap_or(after.len());
        mask_query_password(&after[..stop], &mut out);
        rest = &after[stop..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Copies a URL's path and query to `out`, each `password=` parameter's value masked.
fn mask_query_password(path_and_query: &str, out: &mut String) {
    let mut rest = path_and_query;
    while let Some(i) = rest.find("password=") {
        let parameter = i > 0 && matches!(rest.as_bytes()[i - 1], b'?' | b'&');
        let value_start = i + "password=".len();
        out.push_str(&rest[..value_start]);
        rest = &rest[value_start..];
        if parameter {
            let end = rest.find(['&', '#']).unwrap_or(rest.len());
            if end > 0 {
                out.push_str(MASK);
            }
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
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
    fn a_password_url_parameter_is_a_secret_registered_or_not() {
        let mut r = Redactor::default();
        r.register_url_password("postgres://app@db/x?sslmode=disable&password=s3cr%40t+pw&application_name=a");
        assert_eq!(r.mask("echo s3cr@t pw; echo s3cr%40t+pw"), "echo ***; echo ***");
        let unregistered = Redactor::default();
        assert_eq!(
            unregistered.mask(
                "failed: postgres://app@db/x?password=hunter2&sslmode=require#f and http://h/?a=1&password=p2 end"
            ),
            "failed: postgres://app@db/x?password=***&sslmode=require#f and http://h/?a=1&password=*** end"
        );
        assert_eq!(
            unregistered.mask("see http://h/docs/password=reset and password=plain"),
            "see http://h/docs/password=reset and password=plain",
            "only a query parameter of a URL"
        );
        assert_eq!(
            unregistered.mask("http://h/?password=&x=1 https://u:pw@h/?next=https://v:pw2@h/?password=z"),
            "http://h/?password=&x=1 https://u:***@h/?next=https://v:***@h/?password=***"
        );
    }

    #[test]
    fn secret_names() {
        assert!(is_secret_name("DEPLOY_TOKEN"));
        assert!(is_secret_name("pg_password"));
        assert!(is_secret_name("API_KEY"));
        assert!(!is_secret_name("HOME"));
    }
}
