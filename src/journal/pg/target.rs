//! A PostgreSQL journal's address: the database URL (a secret, because of its password)
//! and the journal's name in it (the runbook's name).
//!
//! The URL is never shown as given: every message uses [`PgTarget::shown`], the URL with its
//! password masked by [`crate::redact`], and every database error passes the same mask.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use sha2::{Digest, Sha256};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};

use super::cause::DbCause;
use crate::journal::JournalError;
use crate::pg_error::sql_error;
use crate::redact::Redactor;

/// How long connecting to the journal database may take before deployctl gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a PostgreSQL journal lives.
#[derive(Clone)]
pub struct PgTarget {
    url: String,
    name: String,
    redactor: Redactor,
    shown: String,
}

impl fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the URL itself: it may hold a password.
        f.debug_struct("PgTarget").field("shown", &self.shown).finish()
    }
}

impl PgTarget {
    /// The journal `name` in the database at `url`.
    pub fn new(url: &str, name: &str) -> Self {
        let mut redactor = Redactor::default();
        redactor.register_url_password(url);
        let shown = format!("{}#{name}", redactor.mask(url));
        PgTarget {
            url: url.to_string(),
            name: name.to_string(),
            redactor,
            shown,
        }
    }

    /// Whether `--journal` names a PostgreSQL database rather than a file.
    fn is_url(arg: &str) -> bool {
        arg.starts_with("postgres://") || arg.starts_with("postgresql://")
    }

    /// The database URL `--journal` gives, if it gives one rather than a file's path.
    pub fn url_of(arg: &std::path::Path) -> Option<&str> {
        arg.to_str().filter(|s| Self::is_url(s))
    }

    /// The journal's name (the runbook's name): its key in the tables and its lock.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `postgres://user:***@host:port/db#name`, for every message.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The advisory lock key: a stable 64-bit hash of the journal name, so different
    /// runbooks never block each other and every deployctl version agrees on it.
    pub fn lock_key(&self) -> i64 {
        let digest = Sha256::digest(format!("deployctl journal {}", self.name).as_bytes());
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&digest[..8]);
        i64::from_be_bytes(bytes)
    }

    /// A new session with `synchronous_commit` on, so a commit returns only once the WAL
    /// is flushed: the database's equivalent of the file journal's fsync.
    pub(super) async fn connect(&self, purpose: &str) -> Result<PgConnection, JournalError> {
        let options = PgConnectOptions::from_str(&self.url)
            .map_err(|e| self.failed("parse the database URL", &e))?
            .application_name(&format!("deployctl {purpose}"))
            .options([("synchronous_commit", "on")])
            .disable_statement_logging();
        match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options)).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(self.failed("connect", &e)),
            Err(_) => Err(self.failed("connect", &sqlx::Error::PoolTimedOut)),
        }
    }

    /// The error of `action` on this journal, its text masked.
    pub(super) fn failed(&self, action: &'static str, error: &sqlx::Error) -> JournalError {
        JournalError::Database {
            journal: self.shown.clone(),
            action,
            message: self.redactor.mask(&sql_error(error)).into_owned(),
            cause: DbCause::of(error),
        }
    }

    /// An entry that does not parse, or of a newer format, named like a file's line.
    pub(super) fn path(&self) -> std::path::PathBuf {
        std::path::PathBuf::from(&self.shown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_masked_and_the_name_shown() {
        let target = PgTarget::new("postgres://deploy:hunter22@db:5432/ops", "hello");
        assert_eq!(target.shown(), "postgres://deploy:***@db:5432/ops#hello");
        assert!(!format!("{target:?}").contains("hunter22"));
    }

    #[test]
    fn the_lock_key_is_stable_and_differs_by_name() {
        let key = |name| PgTarget::new("postgres://db/ops", name).lock_key();
        // Fixed forever: processes of different versions must agree on it.
        assert_eq!(key("hello"), -8_929_572_820_189_305_661);
        assert_eq!(key("hello"), PgTarget::new("postgres://other/db", "hello").lock_key());
        assert_ne!(key("hello"), key("hello2"));
    }
}
