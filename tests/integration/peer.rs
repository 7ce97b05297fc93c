//! The real Prisma CLI as a reference peer: `tools/prisma-peer` (Prisma 6.19.3, its
//! WebAssembly schema engine through the `pg` driver adapter, offline).
//!
//! The peer's folder is read-only where CI runs, so it is copied under cargo's
//! `CARGO_TARGET_TMPDIR` and its packages installed there with `npm ci --ignore-scripts`:
//! once per test process (a `OnceLock`), under a file lock against other test processes, and
//! skipped when the installed `package-lock.json` is the current one. Without Node.js ≥ 18.18
//! and npm the tests FAIL, saying so: they never skip silently.
//!
//! Two runners share the install. [`Peer::stock`] is the peer as shipped. The stock peer
//! ignores a URL's `?schema=` (its adapter gets no `schema` and its connections keep the
//! default `search_path`, so `_prisma_migrations` lands in `public`; measured), whereas
//! Prisma's native schema engine honours it by setting `search_path` to that schema.
//! [`Peer::schema_aware`] is the same CLI with that one line of `prisma.config.ts` changed:
//! the adapter gets `{ schema }` and the pool `-c search_path="<schema>"`, as the native
//! engine connects.
//!
//! `benches/migrate.rs` includes this file too, so it depends on nothing else of the tests.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The line of the peer's `prisma.config.ts` that builds its adapter.
const ADAPTER_LINE: &str = "return new PeerPg({ connectionString: url, allowExitOnIdle: true });";

/// The same adapter, told the schema of `?schema=` and connecting with it as `search_path`.
const SCHEMA_AWARE_ADAPTER: &str = "const schema = new URL(url).searchParams.get(\"schema\") ?? undefined;
    return new PeerPg(
      schema ? { connectionString: url, allowExitOnIdle: true, options: `-c search_path=\"${schema}\"` } : { connectionString: url, allowExitOnIdle: true },
      schema ? { schema } : undefined,
    );";

/// A Prisma command is stopped after this long (Prisma needs about 2.5 s here).
const DEADLINE: Duration = Duration::from_secs(180);

/// The installed peer.
pub struct Peer {
    stock: PathBuf,
    schema_aware: PathBuf,
}

/// One way to run the Prisma CLI: a folder holding `run-prisma.sh`.
pub struct Runner<'a> {
    dir: &'a Path,
}

/// What a Prisma command did.
#[derive(Debug)]
pub struct PrismaRun {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl PrismaRun {
    /// `migrate status` said "up to date" and exited 0.
    pub fn up_to_date(&self) -> bool {
        self.code == 0 && self.stdout.contains("Database schema is up to date!")
    }
}

impl std::fmt::Display for PrismaRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// The peer, installed on first use in this process.
pub fn peer() -> &'static Peer {
    static PEER: OnceLock<Peer> = OnceLock::new();
    PEER.get_or_init(install)
}

impl Peer {
    /// The peer as shipped.
    pub fn stock(&self) -> Runner<'_> {
        Runner { dir: &self.stock }
    }

    /// The peer honouring `?schema=` as Prisma's native engine does (see the module doc).
    pub fn schema_aware(&self) -> Runner<'_> {
        Runner {
            dir: &self.schema_aware,
        }
    }
}

impl Runner<'_> {
    /// `prisma migrate deploy`.
    pub fn deploy(&self, url: &str, migrations: &Path) -> PrismaRun {
        self.run("deploy", url, migrations)
    }

    /// `prisma migrate status`.
    pub fn status(&self, url: &str, migrations: &Path) -> PrismaRun {
        self.run("status", url, migrations)
    }

    fn run(&self, command: &str, url: &str, migrations: &Path) -> PrismaRun {
        let out = tempfile::tempdir().expect("temp dir for Prisma's output");
        let (stdout, stderr) = (out.path().join("stdout"), out.path().join("stderr"));
        let mut child = Command::new("bash")
            .arg(self.dir.join("run-prisma.sh"))
            .args([command, url])
            .arg(migrations)
            .stdin(Stdio::null())
            .stdout(File::create(&stdout).expect("stdout file"))
            .stderr(File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("bash runs run-prisma.sh");
        let deadline = Instant::now() + DEADLINE;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for Prisma") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("`prisma migrate {command}` did not finish within {DEADLINE:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        PrismaRun {
            code: status.code().unwrap_or(-1),
            stdout: std::fs::read_to_string(stdout).unwrap_or_default(),
            stderr: std::fs::read_to_string(stderr).unwrap_or_default(),
        }
    }
}

/// Copies the peer, installs its packages (unless current) and writes the schema-aware copy.
fn install() -> Peer {
    require_node();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/prisma-peer");
    assert!(
        source.join("run-prisma.sh").is_file(),
        "the Prisma peer is missing at `{}`: the Prisma compatibility tests need it (it ships in the repository's tools/)",
        source.display()
    );
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let stock = root.join("prisma-peer");
    let schema_aware = root.join("prisma-peer-schema");
    std::fs::create_dir_all(&stock).expect("create the peer's copy");
    let lock = File::create(root.join("prisma-peer.lock")).expect("create the peer's lock file");
    lock.lock().expect("lock the peer's copy");
    copy_files(&source, &stock);
    let lockfile = std::fs::read(stock.join("package-lock.json")).expect("the peer's package-lock.json");
    let stamp = stock.join("node_modules/.deployctl-installed");
    if std::fs::read(&stamp).ok().as_deref() != Some(lockfile.as_slice()) {
        let npm = Command::new("npm")
            .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
            .current_dir(&stock)
            .output()
            .expect("npm runs");
        assert!(
            npm.status.success(),
            "`npm ci --ignore-scripts` failed in `{}`:\n{}\nhint: the npm registry must be reachable on first use",
            stock.display(),
            String::from_utf8_lossy(&npm.stderr)
        );
        std::fs::write(&stamp, &lockfile).expect("write the install stamp");
    }
    write_schema_aware(&stock, &schema_aware);
    drop(lock);
    Peer { stock, schema_aware }
}

/// Fails the test, saying what to do, when Node.js ≥ 18.18 or npm is missing.
fn require_node() {
    let version = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let hint = "hint: run `scripts/ensure-node` (scripts/test does), or install Node.js >= 18.18 with npm";
    let Some(node) = version("node") else {
        panic!("Node.js is not installed: the tests against the real Prisma CLI need it\n{hint}");
    };
    assert!(
        version("npm").is_some(),
        "npm is not installed: the tests against the real Prisma CLI need it\n{hint}"
    );
    let parts: Vec<u32> = node
        .trim_start_matches('v')
        .split('.')
        .filter_map(|p| p.parse().ok())
        .collect();
    assert!(
        matches!(parts.as_slice(), [major, minor, ..] if (*major, *minor) >= (18, 18)),
        "Node.js {node} is too old for Prisma 6.19.3 (needs >= 18.18)\n{hint}"
    );
}

/// Copies the regular files of `from` (not `node_modules`) into `to`, writable.
fn copy_files(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read the peer's folder") {
        let entry = entry.expect("a peer file");
        if entry.file_type().expect("file type").is_file() {
            let bytes = std::fs::read(entry.path()).expect("read a peer file");
            std::fs::write(to.join(entry.file_name()), bytes).expect("copy a peer file");
        }
    }
}

/// The schema-aware runner: the same files with the adapter line replaced, and the stock
/// copy's `node_modules` linked in.
fn write_schema_aware(stock: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the schema-aware copy");
    copy_files(stock, to);
    let config = std::fs::read_to_string(stock.join("prisma.config.ts")).expect("the peer's prisma.config.ts");
    assert!(
        config.contains(ADAPTER_LINE),
        "the peer's prisma.config.ts no longer contains `{ADAPTER_LINE}`: update the schema-aware copy in tests/integration/peer.rs"
    );
    std::fs::write(
        to.join("prisma.config.ts"),
        config.replace(ADAPTER_LINE, SCHEMA_AWARE_ADAPTER),
    )
    .expect("write the schema-aware prisma.config.ts");
    let link = to.join("node_modules");
    if std::fs::symlink_metadata(&link).is_err() {
        std::os::unix::fs::symlink(stock.join("node_modules"), &link).expect("link node_modules");
    }
}
