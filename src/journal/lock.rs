//! The journal lock: an advisory `flock` on `<journal>.lock` plus a holder record in it,
//! and a second `flock` on the journal file itself.
//!
//! The kernel releases a `flock` when its process dies, so a crashed run never blocks the
//! next one; the holder record (pid, host, since, command, operator) is what lets a refused
//! second run say who is in the way, and what `deployctl unlock` clears when it is stale.
//!
//! A `flock` belongs to an inode, not a name. So after locking, deployctl checks that the
//! path still names the inode it locked (a file removed or replaced in between is opened
//! again), and it also locks the journal file: a lock file deleted during a live run (its
//! holder keeps a lock on an inode nobody can open any more) does not let a second run in,
//! because the journal itself is still locked. Both are opened without following links, in
//! a directory no other user may write ([`super::safe_path`]).

use std::fmt;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::{JournalError, io_error};
use super::safe_path;

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
    /// The journal file, locked too (closed, so unlocked, after the record is cleared).
    _journal: File,
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

/// How often a lock file that vanished or changed between its open and its `flock` is
/// opened again before deployctl gives up.
const ATTEMPTS: usize = 5;

/// Takes the lock for `holder`, or says who has it.
pub fn acquire(journal: &Path, holder: &Holder) -> Result<JournalLock, JournalError> {
    let path = lock_path(journal);
    let io = |action: &'static str| io_error(&path, action);
    let dir = safe_path::parent(&path);
    super::ignore::create_dir(dir).map_err(io("create the lock's directory"))?;
    safe_path::check_dir(dir).map_err(io("check its directory"))?;
    let (mut file, journal_file) = lock_both(journal, &path)?;
    let record = serde_json::to_vec(holder).map_err(|e| io("encode the holder")(std::io::Error::other(e)))?;
    file.set_len(0).map_err(io("write the holder"))?;
    file.seek(SeekFrom::Start(0)).map_err(io("write the holder"))?;
    file.write_all(&record).map_err(io("write the holder"))?;
    file.sync_data().map_err(io("write the holder"))?;
    Ok(JournalLock {
        file,
        _journal: journal_file,
    })
}

/// Locks the lock file, then the journal file, each checked to be still the file its path
/// names once locked.
fn lock_both(journal: &Path, path: &Path) -> Result<(File, File), JournalError> {
    for _ in 0..ATTEMPTS {
        let Some(file) = lock_named(path, journal)? else {
            continue;
        };
        let existed = std::fs::symlink_metadata(journal).is_ok();
        let Some(journal_file) = lock_named(journal, journal).map_err(|e| match e {
            // The lock file is ours, so another process that holds the journal lost its
            // lock file: deleted or replaced during its run. It is still running.
            JournalError::Locked { path, .. } => JournalError::Locked {
                holder: Box::new(orphaned_holder(journal)),
                path,
            },
            other => other,
        })?
        else {
            continue;
        };
        if !existed {
            // Make the new journal's directory entry durable, as the writer would.
            File::open(safe_path::parent(journal))
                .and_then(|d| d.sync_all())
                .map_err(io_error(journal, "sync its directory"))?;
        }
        return Ok((file, journal_file));
    }
    Err(io_error(path, "lock")(std::io::Error::other(
        "the lock file kept being removed or replaced while deployctl took it",
    )))
}

/// Opens (creating, mode 0600) and locks `path`; `None` when, once locked, the path no
/// longer names the file (removed or replaced in between: try again).
fn lock_named(path: &Path, journal: &Path) -> Result<Option<File>, JournalError> {
    let io = |action: &'static str| io_error(path, action);
    let mut file = safe_path::open(
        path,
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600),
    )
    .map_err(io("open"))?;
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
    if safe_path::still_names(path, &file).map_err(io("check the locked file"))? {
        Ok(Some(file))
    } else {
        Ok(None)
    }
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
    let mut file = match safe_path::open(&path, OpenOptions::new().read(true).write(true)) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(journal_held(journal)),
        Err(source) => return Err(io("open the lock file")(source)),
    };
    let recorded = read_holder(&mut file);
    match file.try_lock() {
        Ok(()) => {
            let _ = file.unlock();
            Ok(match (recorded, journal_held(journal)) {
                (_, held @ LockState::Held(_)) => held,
                (Some(holder), _) => LockState::Stale(holder),
                (None, _) => LockState::Free,
            })
        }
        Err(TryLockError::WouldBlock) => Ok(LockState::Held(recorded.unwrap_or_else(unknown_holder))),
        Err(TryLockError::Error(source)) => Err(io("inspect the lock")(source)),
    }
}

/// Clears a stale holder record; refuses while the lock is held.
pub fn clear_stale(journal: &Path) -> Result<Option<Holder>, JournalError> {
    let path = lock_path(journal);
    let io = |action: &'static str| io_error(&path, action);
    let mut file = match safe_path::open(&path, OpenOptions::new().read(true).write(true)) {
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

/// Whether a live process holds the journal file's own lock (its lock file gone or
/// replaced): peeks with a `flock` taken and released at once.
fn journal_held(journal: &Path) -> LockState {
    let Ok(file) = safe_path::open(journal, OpenOptions::new().read(true)) else {
        return LockState::Free;
    };
    match file.try_lock() {
        Ok(()) => {
            let _ = file.unlock();
            LockState::Free
        }
        Err(_) => LockState::Held(orphaned_holder(journal)),
    }
}

/// The holder of a journal whose lock file is gone: the pid from `/proc/locks` when the
/// kernel says it, the rest unknown.
fn orphaned_holder(journal: &Path) -> Holder {
    let pid = std::fs::metadata(journal)
        .ok()
        .and_then(|m| flock_owner(m.ino()))
        .unwrap_or(0);
    Holder {
        pid,
        command: "unknown: its lock file was removed or replaced while it ran".into(),
        ..unknown_holder()
    }
}

/// The pid holding a `flock` on inode `ino`, from `/proc/locks` (Linux): lines such as
/// `1: FLOCK  ADVISORY  WRITE 17003 08:01:1234567 0 EOF`.
fn flock_owner(ino: u64) -> Option<u32> {
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    locks.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let at = fields.iter().position(|f| *f == "FLOCK")?;
        let pid = fields.get(at + 3)?.parse().ok()?;
        let inode = fields.get(at + 4)?.rsplit(':').next()?.parse::<u64>().ok()?;
        (inode == ino).then_some(pid)
    })
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
