//! The local side: a migrations folder read into names, SQL texts and checksums.
//!
//! Prisma style is `<dir>/<name>/migration.sql` (other files such as `migration_lock.toml`
//! are ignored); plain style is `<dir>/<name>.sql` without `*.down.sql`. Both are ordered by
//! name; which entries count, and which folders are refused, is
//! [`crate::runbook::migration_dir`]'s to say. The checksum is the lowercase hex sha256 of the raw bytes, as Prisma computes it
//! (a UTF-8 BOM included). A stored checksum also matches the same file with LF or CRLF line
//! endings and with or without a leading UTF-8 BOM, because an editor or a git checkout
//! converting line endings or adding a BOM does not change the SQL. The BOM itself is never
//! sent: PostgreSQL reads it as part of the first token (Prisma 6.19.3, which sends it,
//! fails such a file with `syntax error at or near "\u{feff}"`; measured).

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::runbook::migration_dir::{self, DirError};
use crate::runbook::model::MigrationStyle;
use crate::steps::Failure;

/// The UTF-8 byte order mark some editors put at the start of a file.
const BOM: char = '\u{feff}';

/// One migration found in the folder.
#[derive(Debug, Clone)]
pub(super) struct LocalMigration {
    /// Folder name (prisma) or file stem (plain).
    pub name: String,
    /// The SQL to run (without a leading BOM).
    pub sql: String,
    /// Checksum of the raw bytes, the one recorded when applying.
    pub checksum: String,
    /// Checksums of the raw form and of the LF and CRLF forms with and without a BOM, any
    /// of which counts as unchanged.
    accepted: [String; 5],
}

impl LocalMigration {
    fn new(name: String, bytes: &[u8], path: &Path) -> Result<Self, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| format!("migration `{}` is not UTF-8", path.display()))?;
        let sql = text.strip_prefix(BOM).unwrap_or(text);
        let lf = sql.replace("\r\n", "\n");
        let crlf = lf.replace('\n', "\r\n");
        let checksum = sha256_hex(bytes);
        Ok(LocalMigration {
            name,
            accepted: [
                checksum.clone(),
                sha256_hex(lf.as_bytes()),
                sha256_hex(crlf.as_bytes()),
                sha256_hex(format!("{BOM}{lf}").as_bytes()),
                sha256_hex(format!("{BOM}{crlf}").as_bytes()),
            ],
            sql: sql.to_string(),
            checksum,
        })
    }

    /// Whether a recorded checksum matches this file (modulo line endings).
    pub fn matches(&self, recorded: &str) -> bool {
        self.accepted.iter().any(|c| c.eq_ignore_ascii_case(recorded))
    }
}

/// Reads the folder's migrations in name order; a folder that holds none of the step's
/// style, or a Prisma folder without `migration.sql`, is refused ([`migration_dir`]).
pub(super) fn read(dir: &Path, style: MigrationStyle) -> Result<Vec<LocalMigration>, Failure> {
    let entries = migration_dir::migrations(dir, style).map_err(|e| match e {
        DirError::Unreadable(e) => Failure::new(format!("cannot read migrations dir `{}`: {e}", dir.display())),
        DirError::Layout(layout) => {
            let (message, hint) = layout.describe(&dir.display().to_string(), style);
            Failure::new(message).with_hint(hint)
        }
    })?;
    entries
        .into_iter()
        .map(|entry| {
            let bytes = std::fs::read(&entry.path)
                .map_err(|e| format!("cannot read migration `{}`: {e}", entry.path.display()))?;
            LocalMigration::new(entry.name, &bytes, &entry.path)
        })
        .collect::<Result<_, String>>()
        .map_err(Failure::new)
}

/// Lowercase hex of the sha256 of `bytes`, as Prisma's `checksum` column holds it.
fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Where a migration's down file lives: `<dir>/<name>.down.sql` (plain) or
/// `<dir>/<name>/down.sql` beside its `migration.sql` (prisma, Prisma's documented
/// down-migration layout).
pub(super) fn down_path(dir: &Path, name: &str, style: MigrationStyle) -> std::path::PathBuf {
    match style {
        MigrationStyle::Plain => dir.join(format!("{name}.down.sql")),
        MigrationStyle::Prisma => dir.join(name).join("down.sql"),
    }
}

/// The SQL of a migration's down file ([`down_path`]) without a leading BOM; `None` when
/// there is no such file. `name` comes from a journal, so anything but a plain file stem is
/// refused.
pub(super) fn read_down(dir: &Path, name: &str, style: MigrationStyle) -> Result<Option<String>, String> {
    if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\', '\0']) {
        return Err(format!(
            "`{name}` is not a migration name (a file stem in `{}`)",
            dir.display()
        ));
    }
    let path = down_path(dir, name, style);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read down migration `{}`: {e}", path.display())),
    };
    let text = String::from_utf8(bytes).map_err(|_| format!("down migration `{}` is not UTF-8", path.display()))?;
    Ok(Some(match text.strip_prefix(BOM) {
        Some(rest) => rest.to_string(),
        None => text,
    }))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{LocalMigration, sha256_hex};

    #[test]
    fn line_endings_and_a_bom_are_not_edits_but_the_raw_bytes_are_recorded() {
        let lf = "CREATE TABLE a (id INT);\nCREATE TABLE b (id INT);\n";
        let crlf = lf.replace('\n', "\r\n");
        let bom_crlf = format!("\u{feff}{crlf}");
        let migration = LocalMigration::new("m".into(), bom_crlf.as_bytes(), Path::new("m")).unwrap();
        assert_eq!(migration.checksum, sha256_hex(bom_crlf.as_bytes()));
        assert_eq!(migration.sql, crlf, "the BOM is not sent");
        for recorded in [lf.to_string(), crlf, format!("\u{feff}{lf}"), bom_crlf] {
            assert!(migration.matches(&sha256_hex(recorded.as_bytes())), "{recorded:?}");
        }
        assert!(!migration.matches(&sha256_hex(b"CREATE TABLE a (id INT);\n")));
    }
}
