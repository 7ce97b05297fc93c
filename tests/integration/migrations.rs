//! Migration folders for the tests: the services' real Prisma sets, copies of them rewritten
//! byte for byte (CRLF, a UTF-8 BOM, only the first few), and `deployctl migrate` runs.
//!
//! The CRLF and BOM copies are generated in each test's temporary directory from
//! `services/*/prisma/migrations` rather than committed: they can never drift from the
//! service sets, and no git setting (`core.autocrlf`, `.gitattributes`) can rewrite their
//! bytes on checkout.

use std::path::{Path, PathBuf};

use crate::harness::{Outcome, Workspace, repo};

/// The services whose migration sets the seed deployment applies.
pub const SERVICES: [&str; 3] = ["community", "marketplace", "academy"];

/// `services/<service>/prisma/migrations`.
pub fn service(service: &str) -> PathBuf {
    repo().join("services").join(service).join("prisma/migrations")
}

/// How a copy rewrites each `migration.sql`.
#[derive(Clone, Copy, Debug)]
pub enum Bytes {
    /// Unchanged.
    Same,
    /// Every LF becomes CRLF.
    Crlf,
    /// A UTF-8 byte order mark in front.
    Bom,
}

impl Bytes {
    fn apply(self, bytes: &[u8]) -> Vec<u8> {
        match self {
            Bytes::Same => bytes.to_vec(),
            Bytes::Crlf => String::from_utf8_lossy(bytes).replace('\n', "\r\n").into_bytes(),
            Bytes::Bom => [b"\xef\xbb\xbf".as_slice(), bytes].concat(),
        }
    }
}

/// The migration folder names of a Prisma set, in order.
pub fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("migrations dir readable")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.join("migration.sql").is_file())
        .map(|p| p.file_name().expect("named").to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A copy of the Prisma set `from` in `into/<label>`: its first `take` migrations (all when
/// `None`), each `migration.sql` rewritten by `bytes`, plus `migration_lock.toml`.
pub fn copy(from: &Path, into: &Path, label: &str, take: Option<usize>, bytes: Bytes) -> PathBuf {
    let to = into.join(label);
    std::fs::create_dir_all(&to).expect("create the copy");
    let lock = from.join("migration_lock.toml");
    if lock.is_file() {
        std::fs::copy(&lock, to.join("migration_lock.toml")).expect("copy migration_lock.toml");
    }
    let all = names(from);
    for name in all.iter().take(take.unwrap_or(all.len())) {
        let sql = std::fs::read(from.join(name).join("migration.sql")).expect("read migration.sql");
        std::fs::create_dir_all(to.join(name)).expect("create a migration folder");
        std::fs::write(to.join(name).join("migration.sql"), bytes.apply(&sql)).expect("write migration.sql");
    }
    to
}

/// What `deployctl migrate` is asked to do.
#[derive(Clone, Copy, Debug)]
pub enum Mode {
    /// Apply pending migrations.
    Apply,
    /// `check: true`.
    Check,
}

/// Runs a one-step runbook migrating `url` from the Prisma set `dir` with the real binary.
pub fn deployctl_migrate(url: &str, dir: &Path, mode: Mode) -> Outcome {
    let check = matches!(mode, Mode::Check);
    let ws = Workspace::new(&format!(
        "deployctl: 1\nname: migrate\ndatabases:\n  app: {{ url: \"{url}\" }}\nphases:\n  - id: db\n    steps:\n      - {{ id: migrate, migrate: {{ database: app, dir: \"{}\", style: prisma, check: {check} }} }}\n",
        dir.display()
    ));
    ws.deployctl().args(["run", "r.yaml"]).run()
}
