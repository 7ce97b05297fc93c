//! Appending entries durably: one line, one `write`, one `fsync`, before anyone is told.
//!
//! The file is opened without following a link, in a directory no other user may write
//! ([`super::safe_path`]): appending through a planted link would write into its target.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::error::{JournalError, io_error};
use super::safe_path;
use crate::event::Entry;

/// An open journal file for appending.
#[derive(Debug)]
pub struct JournalWriter {
    file: File,
    path: PathBuf,
}

impl JournalWriter {
    /// Opens (creating with mode 0600, in a 0700 directory) the journal at `path`. A torn
    /// last line left by a crash is cut off first, so the next entry starts on a clean line.
    /// Returns the writer and whether a torn line was cut.
    pub fn open(path: &Path) -> Result<(Self, bool), JournalError> {
        let io = |action: &'static str| io_error(path, action);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            super::ignore::create_dir(dir).map_err(io("create its directory"))?;
        }
        safe_path::check_dir(safe_path::parent(path)).map_err(io("check its directory"))?;
        let existed = std::fs::symlink_metadata(path).is_ok();
        let mut file = safe_path::open(
            path,
            OpenOptions::new().read(true).append(true).create(true).mode(0o600),
        )
        .map_err(io("open for appending"))?;
        let cut = cut_torn_tail(&mut file).map_err(io("repair its torn last line"))?;
        if !existed && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Make the new file's directory entry durable too.
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(io("sync its directory"))?;
        }
        Ok((
            JournalWriter {
                file,
                path: path.to_path_buf(),
            },
            cut,
        ))
    }

    /// Appends one entry and waits until it is on disk.
    pub fn append(&mut self, entry: &Entry) -> Result<(), JournalError> {
        self.append_unsynced(entry)?;
        self.file.sync_data().map_err(io_error(&self.path, "fsync an entry"))
    }

    /// Waits until every entry written so far is on disk.
    pub fn sync(&mut self) -> Result<(), JournalError> {
        self.file.sync_data().map_err(io_error(&self.path, "fsync an entry"))
    }

    /// Appends one entry without waiting for the disk; the next [`Self::append`] makes it
    /// durable with itself (one fsync covers every earlier write, in order). Only for
    /// entries whose loss in a crash changes nothing, such as the start of an idempotent
    /// step: resume re-runs an idempotent step whether or not it knows it had started.
    pub fn append_unsynced(&mut self, entry: &Entry) -> Result<(), JournalError> {
        let mut line = serde_json::to_vec(entry)
            .map_err(|e| std::io::Error::other(e.to_string()))
            .map_err(io_error(&self.path, "encode an entry"))?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .map_err(io_error(&self.path, "append an entry"))
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Makes the file end with a newline before appending. A last line without one is either
/// complete (the crash came between its bytes and its newline: it parses, so the reader kept
/// it, and it gets its newline) or torn (it does not parse: the reader dropped it, so it is
/// cut off). Returns whether a torn line was cut.
fn cut_torn_tail(file: &mut File) -> std::io::Result<bool> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(false);
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last)?;
    if last[0] == b'\n' {
        return Ok(false);
    }
    // Scan backwards in chunks for the last newline.
    let mut end = len;
    let mut keep = 0;
    let mut buf = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let chunk = &mut buf[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            keep = start + i as u64 + 1;
            break;
        }
        end = start;
    }
    let mut tail = vec![0u8; (len - keep) as usize];
    file.seek(SeekFrom::Start(keep))?;
    file.read_exact(&mut tail)?;
    if serde_json::from_slice::<Entry>(&tail).is_ok() {
        file.write_all(b"\n")?;
        file.sync_data()?;
        return Ok(false);
    }
    file.set_len(keep)?;
    file.sync_data()?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::read;

    fn entry_line() -> String {
        r#"{"at":"2026-11-29T00:00:00Z","run_id":"r","event":{"type":"run_paused","step":"s","reason":"x"}}"#.into()
    }

    #[test]
    fn a_complete_last_line_without_newline_is_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("j.jsonl");
        std::fs::write(&path, format!("{}\n{}", entry_line(), entry_line())).expect("write");
        let (_, cut) = JournalWriter::open(&path).expect("open");
        assert!(!cut);
        assert_eq!(read(&path).expect("read").entries.len(), 2);
    }

    #[test]
    fn a_torn_last_line_is_cut() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("j.jsonl");
        std::fs::write(&path, format!("{}\n{{\"at\":\"20", entry_line())).expect("write");
        let (_, cut) = JournalWriter::open(&path).expect("open");
        assert!(cut);
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            format!("{}\n", entry_line())
        );
    }
}
