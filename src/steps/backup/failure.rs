//! Why `pg_dump` failed, read from its stderr: version mismatch, lock wait, authentication,
//! connection.

use std::process::ExitStatus;
use std::time::Duration;

use super::pg::describe;
use crate::steps::Failure;

/// Bytes of `pg_dump`'s stderr kept whole for recognizing its errors.
pub(super) const CLASSIFY_BYTES: usize = 16 * 1024;

/// Why `pg_dump` failed, from its stderr: version mismatch, authentication, connection.
pub(super) fn dump_failure(target: &str, user: &str, status: ExitStatus, stderr: &str) -> Failure {
    if let Some((server, dump)) = version_mismatch(stderr) {
        let major = server.split('.').next().unwrap_or(server);
        return Failure::new(format!("pg_dump {dump} is older than server {server} of {target}"))
            .with_hint(format!("install postgresql-client-{major}"));
    }
    if let Some(table) = lock_timeout(stderr) {
        return Failure::new(format!(
            "pg_dump of {target} gave up waiting for a lock on `{table}`: another session holds a conflicting lock (a migration, an `ALTER TABLE`, a long transaction)"
        ))
        .with_hint("find the holder in `pg_stat_activity` and `pg_locks`; pg_dump waits for a lock at most half the step's `timeout`");
    }
    let lower = stderr.to_ascii_lowercase();
    if lower.contains("authentication failed") || lower.contains("no password supplied") {
        return Failure::new(format!("authentication failed for user `{user}` on {target}"))
            .with_hint("check the password in the database URL");
    }
    if lower.contains("connection to server")
        || lower.contains("could not connect")
        || lower.contains("could not translate host name")
    {
        let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or_default();
        return Failure::new(format!("cannot connect to {target}: {}", first.trim()));
    }
    Failure::new(format!("pg_dump of {target} {}", describe(status)))
}

/// The table of "Query was: LOCK TABLE public.t IN ACCESS SHARE MODE" after a statement
/// timeout: what `--lock-wait-timeout` stopped waiting for.
pub(super) fn lock_timeout(stderr: &str) -> Option<&str> {
    if !stderr.contains("statement timeout") {
        return None;
    }
    let start = stderr.find("LOCK TABLE ")? + "LOCK TABLE ".len();
    let rest = &stderr[start..];
    Some(rest.find(" IN ").map_or(rest.trim_end(), |end| &rest[..end]))
}

/// How long `pg_dump` may wait for each table lock: half the step's timeout. Killed at the
/// step's timeout instead, it would leave its server session queued on the lock (holding
/// the locks it already has, blocking DDL behind it) until the lock is granted; giving up
/// first ends that session cleanly and says which lock it waited for.
pub(super) fn lock_wait(timeout: Duration) -> Duration {
    (timeout / 2).max(Duration::from_millis(1))
}

/// `(server, pg_dump)` versions from "server version: 16.2; pg_dump version: 15.20 …".
pub(super) fn version_mismatch(stderr: &str) -> Option<(&str, &str)> {
    if !stderr.contains("server version mismatch") {
        return None;
    }
    let after = |key: &str| {
        let start = stderr.find(key)? + key.len();
        let rest = stderr[start..].trim_start();
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
            .unwrap_or(rest.len());
        Some(&rest[..end])
    };
    Some((after("server version:")?, after("pg_dump version:")?))
}
