//! What can go wrong with a journal, each naming the file (and line) and what to do.

use std::path::{Path, PathBuf};

use super::lock::Holder;
use super::pg::DbCause;
use super::safe_path::unsafe_path;

/// A journal problem deployctl cannot go on from.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Reading or writing failed (disk full, permissions, ...).
    #[error("journal `{path}`: {action}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What deployctl was doing.
        action: &'static str,
        /// The cause.
        source: std::io::Error,
    },
    /// A line other than a torn last one does not parse.
    #[error("journal `{path}` line {line} is unreadable: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The parser's complaint.
        message: String,
    },
    /// Written by a newer deployctl.
    #[error("journal `{path}` line {line} uses format {found}; this deployctl reads format {supported}")]
    Version {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// Format found.
        found: u32,
        /// Format this build reads.
        supported: u32,
    },
    /// The PostgreSQL journal could not be reached, read or written (the URL's password is
    /// masked in `journal` and `message`).
    #[error("journal `{journal}`: {action}: {message}")]
    Database {
        /// The journal, `postgres://user:***@host:port/db#name`.
        journal: String,
        /// What deployctl was doing.
        action: &'static str,
        /// The database's complaint.
        message: String,
        /// What kind of problem it is (from the SQLSTATE), which picks the hint.
        cause: DbCause,
    },
    /// The PostgreSQL tables were laid out by a newer deployctl.
    #[error("journal `{journal}` uses table layout {found}; this deployctl reads layout {supported}")]
    Schema {
        /// The journal.
        journal: String,
        /// Layout found in `deployctl_schema`.
        found: i32,
        /// Layout this build reads and writes.
        supported: i32,
    },
    /// Another live process holds the lock.
    #[error("journal `{path}` is locked by {holder}")]
    Locked {
        /// The journal.
        path: PathBuf,
        /// Who holds it (as recorded; boxed to keep every `Result` small).
        holder: Box<Holder>,
    },
}

impl JournalError {
    /// Whether the PostgreSQL journal's connection is gone: its session-level advisory
    /// lock went with it, so another runner may already hold the journal.
    pub fn lost_session(&self) -> bool {
        matches!(
            self,
            JournalError::Database {
                cause: DbCause::Unreachable,
                ..
            }
        )
    }

    /// What the operator can do about it.
    pub fn hint(&self) -> String {
        match self {
            JournalError::Io { source, .. } => match unsafe_path(source) {
                Some(refused) => refused.hint(),
                None => "free disk space or fix permissions, then run again: what was journaled is kept".into(),
            },
            JournalError::Corrupt { .. } => {
                "the journal was edited or damaged; keep a copy, then repair or move the line aside".into()
            }
            JournalError::Version { .. } => "use the deployctl version that wrote this journal".into(),
            JournalError::Database { cause, .. } => cause.hint(),
            JournalError::Schema { .. } => "use the deployctl version that created these tables".into(),
            JournalError::Locked { .. } => {
                "wait for that run to end; if its process is gone, `deployctl unlock RUNBOOK` clears the record".into()
            }
        }
    }
}

/// Builds the I/O error of `action` on `path`, for `map_err`.
pub(super) fn io_error(path: &Path, action: &'static str) -> impl FnOnce(std::io::Error) -> JournalError {
    let path = path.to_path_buf();
    move |source| JournalError::Io { path, action, source }
}
