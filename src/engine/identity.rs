//! Who runs a deployment, where, and the id of a new run.

use chrono::{DateTime, Utc};

/// The operator: `--operator`, else `DEPLOYCTL_OPERATOR`, else the OS user.
pub fn operator(flag: Option<&str>) -> String {
    let from_env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    flag.map(str::to_owned)
        .or_else(|| from_env("DEPLOYCTL_OPERATOR"))
        .or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::getuid())
                .ok()
                .flatten()
                .map(|u| u.name)
        })
        .or_else(|| from_env("USER"))
        .unwrap_or_else(|| "unknown".to_string())
}

/// This machine's host name.
pub fn host() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "unknown".to_string())
}

/// A new run id: the time it started (sortable, readable at 3 a.m.) plus 4 random hex
/// digits.
pub fn new_run_id(now: DateTime<Utc>) -> String {
    let random = uuid::Uuid::new_v4().as_u128();
    let suffix = random & 0xffff;
    format!("{}-{suffix:04x}", now.format("%Y%m%dT%H%M%SZ"))
}
