//! `verify: list`: `pg_restore --list` reads the archive and counts its TOC entries.

use std::path::Path;

use tokio::process::Command;

use super::Failed;
use super::pg::{describe, run};
use crate::steps::{Excerpt, Failure};

/// Runs `pg_restore --list` on the dump: the number of TOC entries it lists. An empty
/// database dumps to an archive that lists none, and `pg_restore` reads it (and restores
/// it) all the same: it is valid, and the detail says the database was empty.
pub(super) async fn verify(pg_restore: &str, file: &Path) -> Result<u64, Failed> {
    let mut list = Command::new(pg_restore);
    list.arg("--list").arg(file);
    let mut toc = TocCounter::default();
    let mut stderr = Excerpt::new();
    let status = run(list, pg_restore, &mut |b| toc.push(b), &mut |b| stderr.push(b))
        .await
        .map_err(Failed::new)?;
    let entries = toc.entries;
    if status.success() {
        return Ok(entries);
    }
    Err(Failed {
        failure: Failure::new(format!(
            "the dump did not verify: `{pg_restore} --list` {}; the partial file `{}` was deleted",
            describe(status),
            file.display()
        )),
        output: stderr,
    })
}

/// Counts the TOC lines of `pg_restore --list` (lines not starting with `;`), chunk by chunk.
#[derive(Debug, Default)]
pub(super) struct TocCounter {
    pub(super) entries: u64,
    /// The current line's first byte, once seen.
    first: Option<u8>,
}

impl TocCounter {
    pub(super) fn push(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\n' {
                if matches!(self.first, Some(c) if c != b';' && !c.is_ascii_whitespace()) {
                    self.entries += 1;
                }
                self.first = None;
            } else if self.first.is_none() {
                self.first = Some(b);
            }
        }
    }
}
