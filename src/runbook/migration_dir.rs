//! What a migrations folder holds, judged against the `style` its `migrate` step names.
//!
//! One walk of the folder serves `validate` (a located error when the folder can be read
//! then) and the `migrate` step (which refuses to apply, check or probe such a folder). The
//! rules follow Prisma where Prisma has one, and are stricter where applying nothing would
//! be a false green:
//!
//! - `style: prisma`: every subfolder is a migration and must hold a `migration.sql` file;
//!   one without it is refused, as `prisma migrate deploy` refuses it (error P3015). Files
//!   beside the subfolders (`migration_lock.toml`) are ignored.
//! - `style: plain`: every `*.sql` file except `*.down.sql` is a migration; subfolders are
//!   ignored.
//! - A folder that holds no migration of its style is refused: naming the other style when
//!   its content matches that one (plain `NNN_name.sql` files under the default `prisma`,
//!   `<name>/migration.sql` folders under `plain`), else saying what each style expects.
//!   `prisma migrate deploy` accepts an empty folder; deployctl does not, because "up to
//!   date (0 migrations)" from a mislaid or empty folder has hidden a deployment that
//!   applied nothing.

use std::io;
use std::path::{Path, PathBuf};

use super::model::MigrationStyle;

/// How many offending folders a message names.
const SHOWN: usize = 5;

/// One migration found in the folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationEntry {
    /// Folder name (prisma) or file stem (plain).
    pub name: String,
    /// The SQL file to run.
    pub path: PathBuf,
}

/// Why a folder yields no migrations to work with.
#[derive(Debug)]
pub enum DirError {
    /// The folder cannot be read now (missing, no permission): `validate` stays silent
    /// because an earlier step may create it, the step fails.
    Unreadable(io::Error),
    /// It was read and holds nothing the step may apply as the step is written.
    Layout(Layout),
}

/// What is wrong with a folder that was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// The path names a file, not a folder.
    NotAFolder,
    /// A name that is not UTF-8 (it cannot be recorded or compared).
    NotUtf8(String),
    /// Prisma style: subfolders without `migration.sql`: how many, and the first few in
    /// name order, each with up to three of the files it holds.
    MissingMigrationSql {
        total: usize,
        first: Vec<(String, Vec<String>)>,
    },
    /// No migration of the step's style, but migrations of the other style (a few names).
    OtherStyle {
        found: MigrationStyle,
        examples: Vec<String>,
    },
    /// No migration of either style.
    Empty,
}

impl Layout {
    /// The message and the hint, naming the folder as `shown`.
    pub fn describe(&self, shown: &str, style: MigrationStyle) -> (String, String) {
        match self {
            Layout::NotAFolder => (
                format!("migrations dir `{shown}` is not a folder"),
                "`dir` names the folder that holds the migrations".into(),
            ),
            Layout::NotUtf8(name) => (
                format!("migrations dir `{shown}` holds `{name}`, whose name is not UTF-8"),
                "rename it: migration names are recorded in the database as text".into(),
            ),
            Layout::MissingMigrationSql { total, first } => (
                format!(
                    "migrations dir `{shown}`: {} without a `migration.sql`: {}{}",
                    plural(*total, "migration folder", "migration folders"),
                    first.iter().map(|(f, files)| holding(f, files)).collect::<Vec<_>>().join(", "),
                    match total.saturating_sub(first.len()) {
                        0 => String::new(),
                        more => format!(" and {more} more"),
                    }
                ),
                "Prisma refuses such a folder too (error P3015): name the file `migration.sql`, or move the folder out of the migrations dir".into(),
            ),
            Layout::OtherStyle { found, examples } => other_style(shown, style, *found, examples),
            Layout::Empty => (format!("migrations dir `{shown}` holds no migration"), expected(style)),
        }
    }
}

/// "`a` (holds `migrations.sql`)" or "`a` (empty)".
fn holding(folder: &str, files: &[String]) -> String {
    if files.is_empty() {
        return format!("`{folder}` (empty)");
    }
    let files: Vec<String> = files.iter().map(|f| format!("`{f}`")).collect();
    format!("`{folder}` (holds {})", files.join(", "))
}

fn other_style(shown: &str, style: MigrationStyle, found: MigrationStyle, examples: &[String]) -> (String, String) {
    let examples = examples.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ");
    let (what, hint) = match found {
        MigrationStyle::Plain => (
            "plain migration files",
            "add `style: plain` to the step (the default style is `prisma`: one folder per migration holding `migration.sql`)",
        ),
        MigrationStyle::Prisma => (
            "Prisma migration folders",
            "use `style: prisma` (the default): remove `style: plain` from the step",
        ),
    };
    let message = format!(
        "migrations dir `{shown}` holds {what} ({examples}) but the step's style is `{}`",
        name(style)
    );
    (message, hint.into())
}

fn expected(style: MigrationStyle) -> String {
    match style {
        MigrationStyle::Prisma => "a Prisma migration is a folder `<dir>/<name>/migration.sql`; plain `<dir>/<name>.sql` files need `style: plain`; check `dir` and `workdir`".into(),
        MigrationStyle::Plain => "a plain migration is a file `<dir>/<name>.sql`; Prisma folders `<dir>/<name>/migration.sql` need `style: prisma`; check `dir` and `workdir`".into(),
    }
}

fn name(style: MigrationStyle) -> &'static str {
    match style {
        MigrationStyle::Prisma => "prisma",
        MigrationStyle::Plain => "plain",
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// What one walk of the folder found, for either style.
#[derive(Default)]
struct Census {
    prisma: Vec<MigrationEntry>,
    plain: Vec<MigrationEntry>,
    /// Subfolders without `migration.sql`.
    broken: Vec<String>,
}

/// The migrations of `dir` for `style`, in name order, or why there are none to use.
pub fn migrations(dir: &Path, style: MigrationStyle) -> Result<Vec<MigrationEntry>, DirError> {
    let census = census(dir)?;
    let (mine, theirs, other) = match style {
        MigrationStyle::Prisma => (census.prisma, census.plain, MigrationStyle::Plain),
        MigrationStyle::Plain => (census.plain, census.prisma, MigrationStyle::Prisma),
    };
    let mismatch = mine.is_empty() && !theirs.is_empty();
    if mismatch {
        let examples = theirs.iter().take(3).map(|e| shown_name(e, other)).collect();
        return Err(DirError::Layout(Layout::OtherStyle { found: other, examples }));
    }
    if style == MigrationStyle::Prisma && !census.broken.is_empty() {
        let first = census.broken.iter().take(SHOWN);
        return Err(DirError::Layout(Layout::MissingMigrationSql {
            total: census.broken.len(),
            first: first.map(|name| (name.clone(), first_files(&dir.join(name)))).collect(),
        }));
    }
    if mine.is_empty() {
        return Err(DirError::Layout(Layout::Empty));
    }
    Ok(mine)
}

/// How a migration of `style` is written in the folder: `x/migration.sql` or `x.sql`.
fn shown_name(entry: &MigrationEntry, style: MigrationStyle) -> String {
    match style {
        MigrationStyle::Prisma => format!("{}/migration.sql", entry.name),
        MigrationStyle::Plain => format!("{}.sql", entry.name),
    }
}

fn census(dir: &Path) -> Result<Census, DirError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotADirectory => return Err(DirError::Layout(Layout::NotAFolder)),
        Err(e) => return Err(DirError::Unreadable(e)),
    };
    let mut census = Census::default();
    for entry in entries {
        let path = entry.map_err(DirError::Unreadable)?.path();
        let Some(name) = path.file_name().map(|n| n.to_os_string()) else {
            continue;
        };
        let name = name
            .into_string()
            .map_err(|n| DirError::Layout(Layout::NotUtf8(n.to_string_lossy().into_owned())))?;
        if path.is_dir() {
            let sql = path.join("migration.sql");
            if sql.is_file() {
                census.prisma.push(MigrationEntry { name, path: sql });
            } else {
                census.broken.push(name);
            }
        } else if path.is_file()
            && !name.ends_with(".down.sql")
            && let Some(stem) = name.strip_suffix(".sql")
        {
            census.plain.push(MigrationEntry {
                name: stem.to_string(),
                path,
            });
        }
    }
    census.prisma.sort_by(|a, b| a.name.cmp(&b.name));
    census.plain.sort_by(|a, b| a.name.cmp(&b.name));
    census.broken.sort();
    Ok(census)
}

/// Up to three file names in a folder, sorted, for messages.
fn first_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names.truncate(3);
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for file in files {
            let path = dir.path().join(file);
            if file.ends_with('/') {
                std::fs::create_dir_all(path).unwrap();
            } else {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, "select 1;").unwrap();
            }
        }
        dir
    }

    fn layout(files: &[&str], style: MigrationStyle) -> Layout {
        match migrations(folder(files).path(), style) {
            Err(DirError::Layout(layout)) => layout,
            other => panic!("expected a layout problem, got {other:?}"),
        }
    }

    #[test]
    fn each_style_reads_its_own_shape_in_name_order() {
        let dir = folder(&["2_b/migration.sql", "1_a/migration.sql", "migration_lock.toml"]);
        let names: Vec<String> = migrations(dir.path(), MigrationStyle::Prisma)
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["1_a", "2_b"]);
        let dir = folder(&["002_b.sql", "001_a.sql", "001_a.down.sql", "notes/"]);
        let names: Vec<String> = migrations(dir.path(), MigrationStyle::Plain)
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["001_a", "002_b"]);
    }

    #[test]
    fn a_folder_of_the_other_style_names_the_style_to_use() {
        let found = layout(&["001_init.sql", "002_more.sql"], MigrationStyle::Prisma);
        let (message, hint) = found.describe("db", MigrationStyle::Prisma);
        assert_eq!(
            message,
            "migrations dir `db` holds plain migration files (`001_init.sql`, `002_more.sql`) but the step's style is `prisma`"
        );
        assert!(hint.starts_with("add `style: plain`"), "{hint}");
        let found = layout(&["1_a/migration.sql"], MigrationStyle::Plain);
        let (message, hint) = found.describe("db", MigrationStyle::Plain);
        assert!(
            message.contains("holds Prisma migration folders (`1_a/migration.sql`)"),
            "{message}"
        );
        assert!(hint.starts_with("use `style: prisma`"), "{hint}");
    }

    #[test]
    fn a_prisma_folder_without_migration_sql_is_refused_like_p3015() {
        let found = layout(
            &["1_a/migration.sql", "2_b/migrations.sql", "3_c/"],
            MigrationStyle::Prisma,
        );
        let (message, hint) = found.describe("db", MigrationStyle::Prisma);
        assert_eq!(
            message,
            "migrations dir `db`: 2 migration folders without a `migration.sql`: `2_b` (holds `migrations.sql`), `3_c` (empty)"
        );
        assert!(hint.contains("P3015"), "{hint}");
    }

    #[test]
    fn an_empty_folder_and_a_file_are_refused() {
        assert_eq!(layout(&[], MigrationStyle::Prisma), Layout::Empty);
        assert_eq!(
            layout(&["README.md", "x.down.sql"], MigrationStyle::Plain),
            Layout::Empty
        );
        let dir = folder(&["file.sql"]);
        match migrations(&dir.path().join("file.sql"), MigrationStyle::Plain) {
            Err(DirError::Layout(Layout::NotAFolder)) => {}
            other => panic!("{other:?}"),
        }
        match migrations(&dir.path().join("missing"), MigrationStyle::Plain) {
            Err(DirError::Unreadable(e)) => assert_eq!(e.kind(), io::ErrorKind::NotFound),
            other => panic!("{other:?}"),
        }
    }
}
