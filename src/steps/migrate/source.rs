//! The local side: a migrations folder read into names, SQL texts and checksums.
//!
//! Prisma style is `<dir>/<name>/migration.sql` (other files such as `migration_lock.toml`
//! are ignored); plain style is `<dir>/<name>.sql` without `*.down.sql`. Both are ordered by
//! name. The checksum is the lowercase hex sha256 of the raw bytes, as Prisma computes it;
//! a stored checksum also matches the same file with LF or CRLF line endings, because an
//! editor or a git checkout converting line endings is not an edit.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::runbook::model::MigrationStyle;

/// One migration found in the folder.
#[derive(Debug, Clone)]
pub(super) struct LocalMigration {
    /// Folder name (prisma) or file stem (plain).
    pub name: String,
    /// The SQL to run (without a leading BOM).
    pub sql: String,
    /// Checksum of the raw bytes, the one recorded when applying.
    pub checksum: String,
    /// Checksums of the raw, LF and CRLF forms, any of which counts as unchanged.
    accepted: [String; 3],
}

impl LocalMigration {
    fn new(name: String, bytes: &[u8], path: &Path) -> Result<Self, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| format!("migration `{}` is not UTF-8", path.display()))?;
        let lf = text.replace("\r\n", "\n");
        let crlf = lf.replace('\n', "\r\n");
        let checksum = hex(bytes);
        Ok(LocalMigration {
            name,
            sql: text.strip_prefix('\u{feff}').unwrap_or(text).to_string(),
            accepted: [checksum.clone(), hex(lf.as_bytes()), hex(crlf.as_bytes())],
            checksum,
        })
    }

    /// Whether a recorded checksum matches this file (modulo line endings).
    pub fn matches(&self, recorded: &str) -> bool {
        self.accepted.iter().any(|c| c.eq_ignore_ascii_case(recorded))
    }
}

/// Reads the folder's migrations in name order.
pub(super) fn read(dir: &Path, style: MigrationStyle) -> Result<Vec<LocalMigration>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot read migrations dir `{}`: {e}", dir.display()))?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read migrations dir `{}`: {e}", dir.display()))?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let path = match style {
            MigrationStyle::Prisma => entry.path().join("migration.sql"),
            MigrationStyle::Plain => entry.path(),
        };
        let name = match style {
            MigrationStyle::Prisma if path.is_file() => name,
            MigrationStyle::Plain if path.is_file() && !name.ends_with(".down.sql") => {
                match name.strip_suffix(".sql") {
                    Some(stem) => stem.to_string(),
                    None => continue,
                }
            }
            _ => continue,
        };
        found.push((name, path));
    }
    found.sort();
    found
        .into_iter()
        .map(|(name, path)| {
            let bytes = std::fs::read(&path).map_err(|e| format!("cannot read migration `{}`: {e}", path.display()))?;
            LocalMigration::new(name, &bytes, &path)
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}
