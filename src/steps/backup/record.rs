//! What a backup step journals as its `output`: the file, its size and sha256, and (with
//! `verify: restore`) the row counts of the dump's snapshot. A `restore` step of the same
//! run reads it back from the journal to find and check the file.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::counts::RowCounts;

/// A backup's journaled record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BackupRecord {
    /// The dump file.
    pub file: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Lowercase hex sha256 of its bytes.
    pub sha256: String,
    /// Rows per `schema.table` in the dump's snapshot (`verify: restore` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<RowCounts>,
}

impl BackupRecord {
    /// The record as journaled.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A record read back from a journaled `output`; `None` when it is not one.
    pub fn parse(output: &str) -> Option<Self> {
        serde_json::from_str(output.trim()).ok()
    }
}
