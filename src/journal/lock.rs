//! The journal lock: an advisory `flock` on `<journal>.lock` plus a holder record in it.
//!
//! The kernel releases a `flock` when its process dies, so a crashed run never blocks the
//! next one; the holder record (pid, host, since, command, operator) is what lets a refused
//! second run say who is in the way, and what `deployctl unlock` clears when it is stale.

use std::fmt;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::{JournalError, io_error};

/// Who holds (or held) a journal lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// Process id.
    pub pid: u32,
    /// Host name.
    pub host: String,
    /// Since when.
    pub since: DateTime<Utc>,
    /// The command line.
    pub command: String,
    /// The operator.
    pub operator: String,
    /// When the holder last said it is alive (the PostgreSQL journal's holder row only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat: Option<DateTime<Utc>>,
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pid {} on host {} since {} ({}, `{}`)",
            self.pid,
            self.host,
            self.since.format("%Y-%m-%d %H:%M:%S UTC"),
            self.operator,
            self.command
        )?;
        match self.heartbeat {
            Some(at) => write!(f, ", heartbeat {}", at.format("%H:%M:%S UTC")),
            None => Ok(()),
        }
    }
}

/// A held journal lock; released (and its record cleared) on drop.
#[derive(Debug)]
pub struct JournalLock {
    file: File,
}

impl Drop for JournalLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// The lock file next to a journal.
pub fn lock_path(journal: &Path) -> PathBuf {
    let mut name = journal.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".lock");
    journal.with_file_name(name)
}

/// Takes the lock for `holder`, or says who has it.
pub fn acquire(journal: &Path, holder: &Holder) -> Result<JournalLock, JournalError> {
    let path = lock_path(journal);
    let io = |action: &'static str| io_error(&path, action);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io("create the lock's directory"))?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(io("open the lock file"))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let recorded = read_holder(&mut file).unwrap_or_else(unknown_holder);
            return Err(JournalError::Locked {
                path: journal.to_path_buf(),
                holder: Box::new(recorded),
            });
        }
        Err(TryLockError::Error(source)) => return Err(io("lock")(source)),
    }
    let record = serde_json::to_vec(holder).map_err(|e| io("encode the holder")(std::io::Error::other(e)))?;
    file.set_len(0).map_err(io("write the holder"))?;
    file.seek(SeekFrom::Start(0)).map_err(io("write the holder"))?;
    file.write_all(&record).map_err(io("write the holder"))?;
    file.sync_data().map_err(io("write the holder"))?;
    Ok(JournalLock { file })
}

/// What the lock file says right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockState {
    /// No lock and no record.
    Free,
    /// Nobody holds the lock, but a holder record was left behind (a crashed run).
    Stale(Holder),
    /// A live process holds the lock.
    Held(Holder),
}

/// Looks at the lock without taking it for long: if it can be taken, it is not held.
pub fn inspect(journal: &Path) -> Result<LockState, JournalError> {
    let path = lock_path(journal);
    let io = |action: &'static str| io_error(&path, action);
    let mut file = match OpenOptions::new().read(true).write(true).open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(LockState::Free),
        Err(source) => return Err(io("open the lock file")(source)),
    };
    let recorded = read_holder(&mut file);
    match file.try_lock() {
        Ok(()) => {
            let _ = file.unlock();
            Ok(recorded.map_or(LockState::Free, LockState::Stale))
        }
        Err(TryLockError::WouldBlock) => Ok(LockState::Held(recorded.unwrap_or_else(unknown_holder))),
        Err(TryLockError::Error(source)) => Err(io("inspect the lock")(source)),
    }
}

/// Clears a stale holder record; refuses while the lock is held.
pub fn clear_stale(journal: &Path) -> Result<Option<Holder>, JournalError> {
    let path = lock_path(journal);
    let io = |action: &'static str| io_error(&path, action);
    let mut file = match OpenOptions::new().read(true).write(true).open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(io("open the lock file")(source)),
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let holder = read_holder(&mut file).unwrap_or_else(unknown_holder);
            return Err(JournalError::Locked {
                path: journal.to_path_buf(),
                holder: Box::new(holder),
            });
        }
        Err(TryLockError::Error(source)) => return Err(io("lock")(source)),
    }
    let recorded = read_holder(&mut file);
    file.set_len(0).map_err(io("clear the holder"))?;
    file.sync_data().map_err(io("clear the holder"))?;
    let _ = file.unlock();
    Ok(recorded)
}

fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

/// The holder shown when a lock is held but its record cannot be read (both journal kinds).
pub(super) fn unknown_holder() -> Holder {
    Holder {
        pid: 0,
        host: "unknown".into(),
        since: Utc::now(),
        command: "unknown".into(),
        operator: "unknown".into(),
        heartbeat: None,
    }
}
