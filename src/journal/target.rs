//! Where a journal lives, and the operations every command needs on either backend: a
//! JSON Lines file (the default) or a table in PostgreSQL (`--journal postgres://...`).
//!
//! This enum is the seam: commands and the executor call these methods and never ask which
//! backend they have. Both keep the same promises: entries are durable before they are
//! reported, the lock is released by the system when its holder dies, and `status` only
//! peeks at the lock.

use std::fmt;
use std::path::PathBuf;

use super::error::JournalError;
use super::lock::{Holder, LockState};
use super::locked::LockedJournal;
use super::pg::{self, PgTarget};
use super::reader::JournalRead;

/// A journal's address.
#[derive(Debug, Clone)]
pub enum JournalTarget {
    /// A JSON Lines file.
    File(PathBuf),
    /// A journal (named after the runbook) in a PostgreSQL database.
    Postgres(PgTarget),
}

impl JournalTarget {
    /// `--journal`/`DEPLOYCTL_JOURNAL` if given (a `postgres://` URL or a path), else
    /// `default`; `name` is the runbook's name, the journal's key in a database.
    pub fn from_arg(arg: Option<&std::path::Path>, name: &str, default: impl FnOnce() -> PathBuf) -> Self {
        match arg {
            Some(given) => match PgTarget::url_of(given) {
                Some(url) => JournalTarget::Postgres(PgTarget::new(url, name)),
                None => JournalTarget::File(given.to_path_buf()),
            },
            None => JournalTarget::File(default()),
        }
    }

    /// Reads every entry (a missing file or journal is empty).
    pub async fn read(&self) -> Result<JournalRead, JournalError> {
        match self {
            JournalTarget::File(path) => super::reader::read(path),
            JournalTarget::Postgres(target) => pg::read(target).await,
        }
    }

    /// Who holds the lock, without taking it.
    pub async fn inspect(&self) -> Result<LockState, JournalError> {
        match self {
            JournalTarget::File(path) => super::lock::inspect(path),
            JournalTarget::Postgres(target) => pg::inspect(target).await,
        }
    }

    /// Clears a stale holder record; refuses while a live process holds the lock.
    pub async fn clear_stale(&self) -> Result<Option<Holder>, JournalError> {
        match self {
            JournalTarget::File(path) => super::lock::clear_stale(path),
            JournalTarget::Postgres(target) => pg::clear_stale(target).await,
        }
    }

    /// Takes the lock for `holder` (or says who has it), ready to read and append.
    pub async fn lock(&self, holder: &Holder) -> Result<LockedJournal, JournalError> {
        match self {
            JournalTarget::File(path) => Ok(LockedJournal::File {
                lock: super::lock::acquire(path, holder)?,
                path: path.clone(),
                writer: None,
            }),
            JournalTarget::Postgres(target) => Ok(LockedJournal::Postgres(pg::acquire(target, holder).await?)),
        }
    }
}

impl fmt::Display for JournalTarget {
    /// The file's path, or the database URL with its password masked and `#name`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JournalTarget::File(path) => write!(f, "{}", path.display()),
            JournalTarget::Postgres(target) => f.write_str(target.shown()),
        }
    }
}
