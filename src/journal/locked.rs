//! A journal whose lock this process holds: read it, append to it, release it.
//!
//! Appends are synchronous because the executor records from many places, some inside
//! `select!` arms; the PostgreSQL append bridges to async with `block_in_place`, which keeps
//! the runtime's other tasks (signals, the heartbeat, a step's output) running meanwhile.

use std::path::PathBuf;

use super::error::JournalError;
use super::lock::JournalLock;
use super::pg::{self, Commit, PgSession};
use super::reader::JournalRead;
use super::writer::JournalWriter;
use crate::event::Entry;

/// A locked journal on either backend.
#[derive(Debug)]
pub enum LockedJournal {
    /// A file, its `flock`, and its writer once opened.
    File {
        /// The journal file.
        path: PathBuf,
        /// Held until this value is dropped.
        lock: JournalLock,
        /// Opened by [`LockedJournal::open_for_append`].
        writer: Option<JournalWriter>,
    },
    /// A PostgreSQL session holding the advisory lock.
    Postgres(PgSession),
}

/// Whether an append waits for the disk (the file's fsync, the database's WAL flush).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durable {
    /// Durable before the call returns.
    Now,
    /// Durable with the next `Now` append: a file's next fsync; on PostgreSQL, a commit
    /// with `synchronous_commit` off, flushed by the next synchronous commit.
    WithNext,
}

impl LockedJournal {
    /// The journal, for messages (password masked).
    pub fn shown(&self) -> String {
        match self {
            LockedJournal::File { path, .. } => path.display().to_string(),
            LockedJournal::Postgres(session) => session.target().shown().to_string(),
        }
    }

    /// Reads every entry.
    pub async fn read(&mut self) -> Result<JournalRead, JournalError> {
        match self {
            LockedJournal::File { path, .. } => super::reader::read(path),
            LockedJournal::Postgres(session) => {
                let target = session.target().clone();
                pg::read_on(&mut *session.conn().await, &target).await
            }
        }
    }

    /// Gets ready to append: a file's torn last line is cut first (returns whether one was).
    pub fn open_for_append(&mut self) -> Result<bool, JournalError> {
        match self {
            LockedJournal::File { path, writer, .. } => {
                let (opened, cut) = JournalWriter::open(path)?;
                *writer = Some(opened);
                Ok(cut)
            }
            LockedJournal::Postgres(_) => Ok(false),
        }
    }

    /// Appends one entry from synchronous code running on the multi-threaded runtime.
    pub fn append_blocking(&mut self, entry: &Entry, sync: Durable) -> Result<(), JournalError> {
        match self {
            LockedJournal::File { path, writer, .. } => {
                let w = match writer {
                    Some(w) => w,
                    None => writer.insert(JournalWriter::open(path)?.0),
                };
                match sync {
                    Durable::Now => w.append(entry),
                    Durable::WithNext => w.append_unsynced(entry),
                }
            }
            LockedJournal::Postgres(session) => {
                let commit = match sync {
                    Durable::Now => Commit::Flushed,
                    Durable::WithNext => Commit::WithNextFlush,
                };
                let handle = runtime(session, "append an entry")?;
                let target = session.target().clone();
                tokio::task::block_in_place(|| {
                    handle.block_on(async { pg::append(&mut *session.conn().await, &target, entry, commit).await })
                })
            }
        }
    }

    /// Makes every entry appended so far durable (the file's fsync; on PostgreSQL, a
    /// synchronous commit that flushes the WAL past every earlier commit).
    pub fn sync_blocking(&mut self) -> Result<(), JournalError> {
        match self {
            LockedJournal::File { path, writer, .. } => match writer {
                Some(w) => w.sync(),
                None => JournalWriter::open(path)?.0.sync(),
            },
            LockedJournal::Postgres(session) => {
                let handle = runtime(session, "flush its entries")?;
                let target = session.target().clone();
                tokio::task::block_in_place(|| {
                    handle.block_on(async { pg::flush(&mut *session.conn().await, &target).await })
                })
            }
        }
    }

    /// Appends one entry, durable on return (for async commands: approve, unlock).
    pub async fn append(&mut self, entry: &Entry) -> Result<(), JournalError> {
        match self {
            LockedJournal::File { .. } => self.append_blocking(entry, Durable::Now),
            LockedJournal::Postgres(session) => {
                let target = session.target().clone();
                pg::append(&mut *session.conn().await, &target, entry, Commit::Flushed).await
            }
        }
    }

    /// Replaces the journal's entries with `entries` (an import), durable on return.
    pub async fn replace_with(&mut self, entries: &[Entry]) -> Result<(), JournalError> {
        match self {
            LockedJournal::File { path, writer, .. } => {
                std::fs::write(&*path, b"").map_err(|source| JournalError::Io {
                    path: path.clone(),
                    action: "empty it before the import",
                    source,
                })?;
                let mut opened = JournalWriter::open(path)?.0;
                for entry in entries {
                    opened.append_unsynced(entry)?;
                }
                // One fsync covers every line written before it.
                opened.sync()?;
                *writer = Some(opened);
                Ok(())
            }
            LockedJournal::Postgres(session) => {
                let target = session.target().clone();
                pg::replace(&mut *session.conn().await, &target, entries).await
            }
        }
    }

    /// For a PostgreSQL journal, fires when its session (and so the lock) is lost; a file's
    /// `flock` cannot be lost while the process lives.
    pub fn lost(&self) -> Option<tokio_util::sync::CancellationToken> {
        match self {
            LockedJournal::File { .. } => None,
            LockedJournal::Postgres(session) => Some(session.lost()),
        }
    }

    /// Releases the lock (and, on PostgreSQL, stops the heartbeat and deletes the row).
    pub async fn release(self) {
        match self {
            LockedJournal::File { lock, writer, .. } => {
                drop(writer);
                drop(lock);
            }
            LockedJournal::Postgres(session) => session.release().await,
        }
    }
}

/// The runtime a PostgreSQL journal operation from synchronous code blocks on:
/// `block_in_place` would panic on a current-thread runtime, so that is refused instead.
fn runtime(session: &PgSession, action: &'static str) -> Result<tokio::runtime::Handle, JournalError> {
    let handle = tokio::runtime::Handle::current();
    if handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
        return Err(JournalError::Database {
            journal: session.target().shown().to_string(),
            action,
            message: "the PostgreSQL journal needs the multi-threaded runtime".into(),
            cause: pg::DbCause::Other,
        });
    }
    Ok(handle)
}
