//! `backup`: `pg_dump --format=custom` of a runbook database into `dir`, verified with
//! `pg_restore --list`, reported with its size and sha256.
//!
//! Theory of operation: the dump is written to `<name>.dump.partial` and renamed to
//! `<name>.dump` only once `pg_restore --list` accepted it, so a `.dump` file in `dir` is
//! always a verified one. A [`PartialFile`] guard deletes the partial file on every other
//! way out (failure, verify failure, the engine dropping the future). Host, port, user and
//! database go on the command line; the password goes only through `PGPASSWORD` (argv is
//! visible to every local user in `ps`), and `--no-password` makes a missing or wrong
//! password fail instead of prompting. Children lead their own process group, SIGKILLed when
//! the guard drops, as in the `shell` step.
//!
//! The programs are fields of [`Programs`] rather than a `PATH` lookup hook: production
//! uses `pg_dump`/`pg_restore` from `PATH`, tests pass names that do not exist.

use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use indicatif::HumanBytes;
use percent_encoding::percent_decode_str;
use sha2::{Digest, Sha256};
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use tokio::io::AsyncReadExt;
use tokio::process::Command;

use super::kind::{Kind, rel_path};
use super::process::{ProcessGroup, io_reason};
use super::{Excerpt, Failure, StepContext, StepOutcome};
use crate::redact::Redactor;
use crate::runbook::Runbook;
use crate::runbook::model::Backup;

/// The dump program, looked up on `PATH`.
const PG_DUMP: &str = "pg_dump";
/// The verifying program, looked up on `PATH`.
const PG_RESTORE: &str = "pg_restore";
/// libpq's connect timeout, so an unanswering host fails before the step's own timeout.
const CONNECT_TIMEOUT_SECS: u64 = 15;

/// The programs a backup runs (tests substitute them).
struct Programs<'a> {
    pg_dump: &'a str,
    pg_restore: &'a str,
}

const PROGRAMS: Programs<'static> = Programs {
    pg_dump: PG_DUMP,
    pg_restore: PG_RESTORE,
};

/// The dry-run probe: `pg_dump` is installed and not older than the server, and the
/// database answers. Nothing is dumped.
async fn probe(backup: &Backup, ctx: &StepContext<'_>) -> Result<String, Failure> {
    let output = Command::new(PROGRAMS.pg_dump)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => not_installed(PROGRAMS.pg_dump),
            _ => Failure::new(format!("cannot start `{}`: {}", PROGRAMS.pg_dump, io_reason(&e))),
        })?;
    let version = String::from_utf8_lossy(&output.stdout);
    let dump_major = major(version.split_whitespace().last().unwrap_or(""));
    let pool = ctx.databases.pool(&backup.database, Duration::from_secs(5)).await?;
    let server: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&pool)
        .await
        .map_err(|e| format!("database `{}`: {}", backup.database, super::sql_error(&e)))?;
    let server_major = major(&server);
    match (dump_major, server_major) {
        (Some(d), Some(s)) if d < s => Err(Failure::new(format!(
            "pg_dump {d} is older than server {s}: it will refuse to dump"
        ))
        .with_hint(format!("apt-get install postgresql-client-{s}"))),
        _ => Ok(format!("pg_dump {} can dump server {}", version.trim(), server.trim())),
    }
}

/// The major version of "15.19 (Debian 15.19-0+deb12u1)" or "15.19".
fn major(version: &str) -> Option<u32> {
    version
        .split(|c: char| !c.is_ascii_digit())
        .find(|p| !p.is_empty())?
        .parse()
        .ok()
}

impl Kind for Backup {
    fn describe(&self, runbook: &Runbook) -> String {
        format!(
            "pg_dump database {} into {}",
            self.database,
            rel_path(&self.dir, &runbook.workdir)
        )
    }

    /// `pg_dump` is installed and not older than the server, and the database answers.
    async fn probe(&self, ctx: &StepContext<'_>) -> Option<Result<String, Failure>> {
        Some(probe(self, ctx).await)
    }

    async fn execute(&self, ctx: &StepContext<'_>) -> StepOutcome {
        outcome(self.backup(ctx, &PROGRAMS).await, ctx.redactor)
    }
}

/// A backup's result as the step's outcome, masked.
fn outcome(result: Result<String, Failed>, redactor: &Redactor) -> StepOutcome {
    match result {
        Ok(detail) => StepOutcome::Done {
            detail: Some(redactor.mask(&detail).into_owned()),
            output: None,
        },
        Err(failed) => StepOutcome::failed_with_output(failed.failure.masked(redactor), failed.output.render(redactor)),
    }
}

/// Why a backup failed, with what the failing program printed.
struct Failed {
    failure: Failure,
    output: Excerpt,
}

impl Failed {
    fn new(failure: impl Into<Failure>) -> Self {
        Failed {
            failure: failure.into(),
            output: Excerpt::new(),
        }
    }
}

impl Backup {
    async fn backup(&self, ctx: &StepContext<'_>, programs: &Programs<'_>) -> Result<String, Failed> {
        let name = &self.database;
        let options = ctx.databases.options(name).map_err(Failed::new)?;
        let password = ctx.databases.url(name).and_then(url_password);
        let target = format!("database `{name}` ({})", ctx.databases.describe(name));
        create_dir(&self.dir).map_err(Failed::new)?;
        let stamp = ctx.clock.now().format("%Y%m%dT%H%M%SZ");
        let file = self.dir.join(format!("{name}-{}-{stamp}.dump", ctx.run_id));
        let partial = PartialFile::new(file.with_extension("dump.partial"));

        let mut dump = Command::new(programs.pg_dump);
        dump.args(args(&options, partial.path(), lock_wait(ctx.timeout)))
            .env("PGSSLMODE", ssl_mode(options.get_ssl_mode()))
            .env("PGCONNECT_TIMEOUT", CONNECT_TIMEOUT_SECS.to_string());
        match &password {
            Some(password) => dump.env("PGPASSWORD", password),
            None => dump.env_remove("PGPASSWORD"),
        };
        let mut stderr = Excerpt::new();
        let mut stderr_text = Vec::new();
        let status = run(dump, programs.pg_dump, &mut |_| {}, &mut |b| {
            stderr.push(b);
            if stderr_text.len() < CLASSIFY_BYTES {
                stderr_text.extend_from_slice(b);
            }
        })
        .await
        .map_err(Failed::new)?;
        if !status.success() {
            let text = String::from_utf8_lossy(&stderr_text);
            let failure = dump_failure(&target, options.get_username(), status, &text);
            return Err(Failed {
                failure,
                output: stderr,
            });
        }

        let entries = verify(programs.pg_restore, partial.path()).await?;
        let (size, sha256) = digest(partial.path()).await.map_err(|e| {
            Failed::new(format!(
                "cannot read the dump `{}`: {}",
                partial.path().display(),
                io_reason(&e)
            ))
        })?;
        partial.keep_as(&file).map_err(|e| {
            Failed::new(format!(
                "cannot rename the dump to `{}`: {}",
                file.display(),
                io_reason(&e)
            ))
        })?;
        let verified = match entries {
            0 => "verified: no TOC entries, the database holds no objects".to_string(),
            n => format!("verified: {n} TOC entries"),
        };
        Ok(format!(
            "{}, {}, sha256 {sha256} ({verified})",
            file.display(),
            HumanBytes(size)
        ))
    }
}

/// Bytes of `pg_dump`'s stderr kept whole for recognizing its errors.
const CLASSIFY_BYTES: usize = 16 * 1024;

/// Runs `pg_restore --list` on the dump: the number of TOC entries it lists. An empty
/// database dumps to an archive that lists none, and `pg_restore` reads it (and restores
/// it) all the same: it is valid, and the detail says the database was empty.
async fn verify(pg_restore: &str, file: &Path) -> Result<u64, Failed> {
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

/// Spawns `command` in its own process group and collects its output until it exits.
async fn run(
    mut command: Command,
    program: &str,
    stdout: &mut dyn FnMut(&[u8]),
    stderr: &mut dyn FnMut(&[u8]),
) -> Result<ExitStatus, Failure> {
    let mut group = match ProcessGroup::spawn(&mut command) {
        Ok(group) => group,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(not_installed(program)),
        Err(e) => return Err(Failure::new(format!("cannot start `{program}`: {}", io_reason(&e)))),
    };
    group
        .run(stdout, stderr)
        .await
        .map_err(|e| Failure::new(format!("`{program}`: cannot wait for it: {}", io_reason(&e))))
}

/// "`pg_dump` is not installed: …" with the package to install.
fn not_installed(program: &str) -> Failure {
    let tool = Path::new(program)
        .file_name()
        .map_or(program.into(), |n| n.to_string_lossy());
    Failure::new(format!("{tool} is not installed: `{program}` is not on PATH"))
        .with_hint("apt-get install postgresql-client-NN matching the server's major version")
}

/// Why `pg_dump` failed, from its stderr: version mismatch, authentication, connection.
fn dump_failure(target: &str, user: &str, status: ExitStatus, stderr: &str) -> Failure {
    if let Some((server, dump)) = version_mismatch(stderr) {
        let major = server.split('.').next().unwrap_or(server);
        return Failure::new(format!("pg_dump {dump} is older than server {server} of {target}"))
            .with_hint(format!("install postgresql-client-{major}"));
    }
    if let Some(table) = lock_timeout(stderr) {
        return Failure::new(format!(
            "pg_dump of {target} gave up waiting for a lock on `{table}`: another session holds a conflicting lock (a migration, an `ALTER TABLE`, a long transaction)"
        ))
        .with_hint("find the holder in `pg_stat_activity` and `pg_locks`; pg_dump waits for a lock at most half the step's `timeout`");
    }
    let lower = stderr.to_ascii_lowercase();
    if lower.contains("authentication failed") || lower.contains("no password supplied") {
        return Failure::new(format!("authentication failed for user `{user}` on {target}"))
            .with_hint("check the password in the database URL");
    }
    if lower.contains("connection to server")
        || lower.contains("could not connect")
        || lower.contains("could not translate host name")
    {
        let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or_default();
        return Failure::new(format!("cannot connect to {target}: {}", first.trim()));
    }
    Failure::new(format!("pg_dump of {target} {}", describe(status)))
}

/// The table of "Query was: LOCK TABLE public.t IN ACCESS SHARE MODE" after a statement
/// timeout: what `--lock-wait-timeout` stopped waiting for.
fn lock_timeout(stderr: &str) -> Option<&str> {
    if !stderr.contains("statement timeout") {
        return None;
    }
    let start = stderr.find("LOCK TABLE ")? + "LOCK TABLE ".len();
    let rest = &stderr[start..];
    Some(rest.find(" IN ").map_or(rest.trim_end(), |end| &rest[..end]))
}

/// How long `pg_dump` may wait for each table lock: half the step's timeout. Killed at the
/// step's timeout instead, it would leave its server session queued on the lock (holding
/// the locks it already has, blocking DDL behind it) until the lock is granted; giving up
/// first ends that session cleanly and says which lock it waited for.
fn lock_wait(timeout: Duration) -> Duration {
    (timeout / 2).max(Duration::from_millis(1))
}

/// `(server, pg_dump)` versions from "server version: 16.2; pg_dump version: 15.20 …".
fn version_mismatch(stderr: &str) -> Option<(&str, &str)> {
    if !stderr.contains("server version mismatch") {
        return None;
    }
    let after = |key: &str| {
        let start = stderr.find(key)? + key.len();
        let rest = stderr[start..].trim_start();
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
            .unwrap_or(rest.len());
        Some(&rest[..end])
    };
    Some((after("server version:")?, after("pg_dump version:")?))
}

/// "exited with status 1" or "killed by signal 9".
fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => format!("ended with {status}"),
    }
}

/// Creates the backup folder (0700: dumps hold all the data) if missing.
fn create_dir(dir: &Path) -> Result<(), String> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create the backup folder `{}`: {}", dir.display(), io_reason(&e)))
}

/// Size and hex sha256 of a file.
async fn digest(path: &Path) -> io::Result<(u64, String)> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, hex::encode(hasher.finalize())))
}

/// Counts the TOC lines of `pg_restore --list` (lines not starting with `;`), chunk by chunk.
#[derive(Debug, Default)]
struct TocCounter {
    entries: u64,
    /// The current line's first byte, once seen.
    first: Option<u8>,
}

impl TocCounter {
    fn push(&mut self, bytes: &[u8]) {
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

/// The percent-decoded password of a URL, if it has one: its `password=` parameter (which
/// libpq and sqlx prefer, as the later setting), else its `user:password@` part (malformed
/// `%` sequences are kept as they are).
fn url_password(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    let parameter = url.query_pairs().filter(|(key, _)| key == "password").last();
    match parameter {
        Some((_, value)) => Some(value.into_owned()),
        None => Some(percent_decode_str(url.password()?).decode_utf8_lossy().into_owned()),
    }
}

/// libpq's name of an SSL mode.
fn ssl_mode(mode: PgSslMode) -> &'static str {
    match mode {
        PgSslMode::Disable => "disable",
        PgSslMode::Allow => "allow",
        PgSslMode::Prefer => "prefer",
        PgSslMode::Require => "require",
        PgSslMode::VerifyCa => "verify-ca",
        PgSslMode::VerifyFull => "verify-full",
    }
}

/// A `.partial` dump, deleted on drop unless [`PartialFile::keep_as`] renamed it.
struct PartialFile {
    path: PathBuf,
    kept: bool,
}

impl PartialFile {
    fn new(path: PathBuf) -> Self {
        PartialFile { path, kept: false }
    }

    fn path(&self) -> &Path {
        &self.path
    }

    /// Makes it private (0600) and renames it to its final name.
    fn keep_as(mut self, file: &Path) -> io::Result<()> {
        std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(0o600))?;
        std::fs::rename(&self.path, file)?;
        self.kept = true;
        Ok(())
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The arguments of `pg_dump` (never the password: argv is public).
fn args(options: &PgConnectOptions, file: &Path, lock_wait: Duration) -> Vec<String> {
    let host = match options.get_socket() {
        Some(socket) => socket.display().to_string(),
        None => options.get_host().to_owned(),
    };
    let mut args = vec![
        "--format=custom".to_owned(),
        "--no-password".to_owned(),
        "--file".to_owned(),
        file.display().to_string(),
        "--host".to_owned(),
        host,
        "--port".to_owned(),
        options.get_port().to_string(),
        "--username".to_owned(),
        options.get_username().to_owned(),
    ];
    if let Some(database) = options.get_database() {
        args.extend(["--dbname".to_owned(), database.to_owned()]);
    }
    args.push(format!("--lock-wait-timeout={}", lock_wait.as_millis()));
    args
}

#[cfg(test)]
mod tests {
    //! Against a real PostgreSQL (`DEPLOYCTL_TEST_DATABASE_URL`, default
    //! `postgres://postgres@127.0.0.1:5432/postgres`) and the installed `pg_dump`: each test
    //! creates its own database (and role) and drops them, even when it panics.

    use std::time::Duration;

    use super::*;
    use crate::redact::Redactor;
    use crate::runbook::model::StepKind;
    use crate::runbook::{LoadOptions, load};
    use crate::steps::Databases;
    use crate::steps::scratch::ScratchDb;

    const PASSWORD: &str = "bk-canary-pw";

    /// A scratch database (and optionally a role), dropped on drop.
    struct TestDb {
        /// The database; its `url` is superuser access, for setting it up.
        db: ScratchDb,
        role: Option<String>,
        /// What the runbook's `databases.app.url` says.
        url: String,
        backups: tempfile::TempDir,
    }

    impl TestDb {
        async fn create() -> Self {
            let db = ScratchDb::create("deployctl_bk").await;
            let url = db.url.clone();
            TestDb {
                db,
                role: None,
                url,
                backups: tempfile::tempdir().unwrap(),
            }
        }

        /// A database owned by a new password role, reached as that role.
        async fn create_with_role() -> Self {
            let mut db = Self::create().await;
            let role = db
                .db
                .create_role("deployctl_bk_role", &format!("LOGIN PASSWORD '{PASSWORD}'"))
                .await;
            db.sql(&format!("ALTER DATABASE {} OWNER TO \"{role}\"", db.db.name))
                .await;
            let mut url = url::Url::parse(&db.db.url).unwrap();
            url.set_username(&role).unwrap();
            url.set_password(Some(PASSWORD)).unwrap();
            db.url = url.to_string();
            db.role = Some(role);
            db
        }

        async fn sql(&self, sql: &str) {
            let mut conn = self.db.conn().await;
            sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
        }

        /// A backup step for `url`, loaded from a real runbook, into `self.backups`.
        fn step(&self, url: &str) -> (Backup, Databases) {
            let yaml = format!(
                "deployctl: 1\nname: backup-test\ndatabases:\n  app: {{ url: \"{url}\" }}\nphases:\n  - id: db\n    steps:\n      - id: backup\n        backup: {{ database: app, dir: backups }}\n"
            );
            let file = tempfile::NamedTempFile::new().unwrap();
            std::fs::write(file.path(), yaml).unwrap();
            let loaded = load(file.path(), &LoadOptions::default()).expect("test runbook loads");
            let StepKind::Backup(mut step) = loaded.runbook.phases[0].steps[0].kind.clone() else {
                panic!("not a backup step")
            };
            step.dir = self.backups.path().join("nested/backups");
            (step, Databases::new(&loaded.runbook, "run-1"))
        }

        async fn backup_with(&self, url: &str, programs: &Programs<'_>) -> StepOutcome {
            let (step, databases) = self.step(url);
            let mut redactor = Redactor::default();
            redactor.register_url_password(url);
            let http = reqwest::Client::new();
            let ctx = StepContext {
                run_id: "run-1",
                runbook: "backup-test",
                step_id: "backup",
                redactor: &redactor,
                http: &http,
                databases: &databases,
                timeout: Duration::from_secs(60),

                clock: crate::clock::Clock::system(),
                live: None,
            };
            outcome(step.backup(&ctx, programs).await, &redactor)
        }

        /// What the step does with the real programs.
        async fn backup(&self) -> StepOutcome {
            self.backup_for(Duration::from_secs(60))
                .await
                .expect("a backup of a test database ends within 60s")
        }

        /// The step with this timeout, dropped when it runs out as the engine drops it;
        /// `None` then.
        async fn backup_for(&self, timeout: Duration) -> Option<StepOutcome> {
            let (step, databases) = self.step(&self.url);
            let mut redactor = Redactor::default();
            redactor.register_url_password(&self.url);
            let http = reqwest::Client::new();
            let ctx = StepContext {
                run_id: "run-1",
                runbook: "backup-test",
                step_id: "backup",
                redactor: &redactor,
                http: &http,
                databases: &databases,
                timeout,

                clock: crate::clock::Clock::system(),
                live: None,
            };
            tokio::time::timeout(timeout, step.execute(&ctx)).await.ok()
        }

        fn files(&self) -> Vec<PathBuf> {
            let dir = self.backups.path().join("nested/backups");
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
                .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            files.sort();
            files
        }
    }

    fn done_detail(outcome: StepOutcome) -> String {
        match outcome {
            StepOutcome::Done { detail: Some(d), .. } => d,
            other => panic!("expected done, got {other:?}"),
        }
    }

    fn failure(outcome: StepOutcome) -> (String, Option<String>) {
        match outcome {
            StepOutcome::Failed {
                reason, hint, output, ..
            } => (crate::steps::Failure { reason, hint }.text(), output),
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    fn sha256_hex(path: &Path) -> String {
        hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
    }

    #[tokio::test]
    async fn backup_of_a_table_is_verified_with_matching_sha256() {
        let db = TestDb::create().await;
        db.sql("CREATE TABLE note (id int PRIMARY KEY, body text); INSERT INTO note SELECT g, 'row ' || g FROM generate_series(1, 500) g")
            .await;
        let detail = done_detail(db.backup().await);

        let files = db.files();
        assert_eq!(files.len(), 1, "only the final dump remains: {files:?}");
        let file = &files[0];
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("app-run-1-") && name.ends_with("Z.dump"), "{name}");
        assert_eq!(name.len(), "app-run-1-20260101T000000Z.dump".len(), "{name}");
        assert!(detail.starts_with(&format!("{}, ", file.display())), "{detail}");
        assert!(detail.contains(&format!("sha256 {} ", sha256_hex(file))), "{detail}");
        assert!(detail.contains(" TOC entries)"), "{detail}");
        let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = std::fs::metadata(file.parent().unwrap()).unwrap().permissions().mode() & 0o777;
        assert_eq!(dir_mode, 0o700);

        let list = std::process::Command::new(PG_RESTORE)
            .arg("--list")
            .arg(file)
            .output()
            .unwrap();
        assert!(list.status.success());
        assert!(String::from_utf8_lossy(&list.stdout).contains("TABLE DATA public note"));
    }

    #[tokio::test]
    async fn password_goes_through_pgpassword_never_argv_or_detail() {
        let db = TestDb::create_with_role().await;
        db.sql(&format!(
            "CREATE TABLE secretive (id int); ALTER TABLE secretive OWNER TO {}",
            db.role.as_deref().unwrap()
        ))
        .await;
        let outcome = db.backup().await;
        let rendered = format!("{outcome:?}");
        assert!(!rendered.contains(PASSWORD), "{rendered}");
        done_detail(outcome);

        let (step, databases) = db.step(&db.url);
        let options = databases.options(&step.database).unwrap();
        let argv = args(&options, Path::new("/tmp/x.dump.partial"), Duration::from_secs(30));
        assert!(!argv.iter().any(|a| a.contains(PASSWORD)), "{argv:?}");
        assert!(argv.contains(&"--no-password".to_owned()));
        assert_eq!(url_password(databases.url("app").unwrap()).as_deref(), Some(PASSWORD));
    }

    /// The local server trusts every login, so a fake `pg_dump` shows what the real one gets.
    #[tokio::test]
    async fn fake_pg_dump_receives_the_password_in_its_environment_only() {
        let db = TestDb::create_with_role().await;
        let bin = tempfile::tempdir().unwrap();
        let seen = bin.path().join("seen");
        let fake = bin.path().join("pg_dump");
        std::fs::write(
            &fake,
            format!("#!/bin/sh\nprintf 'env=%s\\nargv=%s\\n' \"$PGPASSWORD\" \"$*\" > {}\necho 'pg_dump: error: boom' >&2\nexit 1\n", seen.display()),
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let programs = Programs {
            pg_dump: fake.to_str().unwrap(),
            pg_restore: PG_RESTORE,
        };
        let (reason, output) = failure(db.backup_with(&db.url, &programs).await);
        assert!(reason.starts_with("pg_dump of database `app` ("), "{reason}");
        assert!(reason.ends_with(" exited with status 1"), "{reason}");
        assert_eq!(output.as_deref(), Some("pg_dump: error: boom\n"));
        let seen = std::fs::read_to_string(seen).unwrap();
        assert!(
            seen.starts_with(&format!("env={PASSWORD}\nargv=--format=custom --no-password --file ")),
            "{seen}"
        );
        assert_eq!(seen.matches(PASSWORD).count(), 1, "{seen}");
    }

    #[tokio::test]
    async fn missing_pg_dump_says_what_to_install() {
        let db = TestDb::create().await;
        let programs = Programs {
            pg_dump: "deployctl-test-no-pg_dump",
            pg_restore: PG_RESTORE,
        };
        let (reason, _) = failure(db.backup_with(&db.url, &programs).await);
        assert_eq!(
            reason,
            "deployctl-test-no-pg_dump is not installed: `deployctl-test-no-pg_dump` is not on PATH\nhint: apt-get install postgresql-client-NN matching the server's major version"
        );
        assert_eq!(db.files(), Vec::<PathBuf>::new());
    }

    #[tokio::test]
    async fn unreachable_database_names_host_and_port() {
        let db = TestDb::create().await;
        let mut url = url::Url::parse(&db.url).unwrap();
        url.set_port(Some(1)).unwrap();
        let (reason, output) = failure(db.backup_with(url.as_str(), &PROGRAMS).await);
        assert!(
            reason.starts_with("cannot connect to database `app` (127.0.0.1:1/"),
            "{reason}"
        );
        assert!(output.is_some_and(|o| o.contains("pg_dump")));
        assert_eq!(db.files(), Vec::<PathBuf>::new(), "no partial file is left");
    }

    #[tokio::test]
    async fn failed_verify_deletes_the_partial_file_and_says_so() {
        let db = TestDb::create().await;
        db.sql("CREATE TABLE t (id int)").await;
        let programs = Programs {
            pg_dump: PG_DUMP,
            pg_restore: "false",
        };
        let (reason, _) = failure(db.backup_with(&db.url, &programs).await);
        assert!(
            reason.starts_with("the dump did not verify: `false --list` exited with status 1; the partial file `"),
            "{reason}"
        );
        assert!(reason.ends_with(".dump.partial` was deleted"), "{reason}");
        assert_eq!(db.files(), Vec::<PathBuf>::new());
    }

    #[tokio::test]
    async fn an_empty_database_dumps_to_a_valid_archive() {
        let db = TestDb::create().await;
        let detail = done_detail(db.backup().await);
        assert!(
            detail.ends_with("(verified: no TOC entries, the database holds no objects)"),
            "{detail}"
        );
        let files = db.files();
        assert_eq!(files.len(), 1, "{files:?}");
        let list = std::process::Command::new(PG_RESTORE)
            .arg("--list")
            .arg(&files[0])
            .output()
            .unwrap();
        assert!(list.status.success(), "pg_restore reads it");
    }

    /// Backends of this database waiting on a lock, by application name.
    async fn queued(db: &TestDb, application: &str) -> i64 {
        sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2 AND wait_event_type = 'Lock'",
        )
        .bind(&db.db.name)
        .bind(application)
        .fetch_one(&mut crate::steps::scratch::admin().await)
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn a_dump_queued_behind_a_lock_gives_up_before_the_step_times_out() {
        let db = TestDb::create().await;
        db.sql("CREATE TABLE busy (id int)").await;
        let mut holder = db.db.conn().await;
        sqlx::raw_sql("BEGIN; LOCK TABLE busy IN ACCESS EXCLUSIVE MODE")
            .execute(&mut holder)
            .await
            .unwrap();
        let outcome = db.backup_for(Duration::from_secs(4)).await;
        let outcome = outcome.expect("pg_dump gave up waiting before the step's timeout dropped it");
        let (reason, _) = failure(outcome);
        assert!(
            reason.starts_with("pg_dump of database `app` (")
                && reason.contains(
                    ") gave up waiting for a lock on `public.busy`: another session holds a conflicting lock"
                ),
            "{reason}"
        );
        assert!(
            reason.contains("\nhint: find the holder in `pg_stat_activity`"),
            "{reason}"
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while queued(&db, "pg_dump").await > 0 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            queued(&db, "pg_dump").await,
            0,
            "no pg_dump session is left queued on the lock"
        );
        assert_eq!(db.files(), Vec::<PathBuf>::new());
    }

    /// sqlx and libpq take the password from `?password=` too: pg_dump gets it, only in
    /// its environment.
    #[tokio::test]
    async fn a_password_url_parameter_reaches_pg_dump_in_its_environment_only() {
        let db = TestDb::create_with_role().await;
        let mut url = url::Url::parse(&db.url).unwrap();
        url.set_password(None).unwrap();
        url.query_pairs_mut().append_pair("password", PASSWORD);
        let bin = tempfile::tempdir().unwrap();
        let seen = bin.path().join("seen");
        let fake = bin.path().join("pg_dump");
        std::fs::write(
            &fake,
            format!(
                "#!/bin/sh\nprintf 'env=%s\\nargv=%s\\n' \"$PGPASSWORD\" \"$*\" > {}\nexit 1\n",
                seen.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let programs = Programs {
            pg_dump: fake.to_str().unwrap(),
            pg_restore: PG_RESTORE,
        };
        failure(db.backup_with(url.as_str(), &programs).await);
        let seen = std::fs::read_to_string(seen).unwrap();
        assert!(seen.starts_with(&format!("env={PASSWORD}\nargv=")), "{seen}");
        assert_eq!(seen.matches(PASSWORD).count(), 1, "{seen}");
    }

    /// What the step says of `pg_dump` exiting 1 with `stderr`, dumping `app` at db:5432.
    fn dump_failure_of(stderr: &str) -> String {
        let status = std::process::ExitStatus::from_raw(1 << 8);
        dump_failure("database `app` (db:5432/app)", "app", status, stderr).text()
    }

    #[test]
    fn version_mismatch_names_both_versions_and_the_package() {
        let stderr = "pg_dump: error: aborting because of server version mismatch\npg_dump: detail: server version: 16.4 (Debian 16.4-1); pg_dump version: 15.20 (Debian 15.20-0+deb12u1)\n";
        assert_eq!(
            dump_failure_of(stderr),
            "pg_dump 15.20 is older than server 16.4 of database `app` (db:5432/app)\nhint: install postgresql-client-16"
        );
    }

    #[test]
    fn authentication_failure_names_the_user() {
        let stderr = "pg_dump: error: connection to server at \"db\" (10.0.0.1), port 5432 failed: FATAL:  password authentication failed for user \"app\"\n";
        assert_eq!(
            dump_failure_of(stderr),
            "authentication failed for user `app` on database `app` (db:5432/app)\nhint: check the password in the database URL"
        );
    }

    #[test]
    fn toc_counter_skips_comments_and_blank_lines() {
        let mut toc = TocCounter::default();
        toc.push(b";\n; Archive created\n;\n\n215; 1259 16385 TA");
        toc.push(b"BLE public note postgres\n3340; 0 16385 TABLE DATA public note postgres\n");
        assert_eq!(toc.entries, 2);
    }

    #[test]
    fn sizes_and_passwords_decode() {
        assert_eq!(HumanBytes(532).to_string(), "532 B");
        assert_eq!(HumanBytes(1_258_291).to_string(), "1.20 MiB");
        assert_eq!(
            url_password("postgres://u:p%40ss%2Fw%zz@h/d").as_deref(),
            Some("p@ss/w%zz")
        );
        assert_eq!(url_password("postgres://u:p%40ss@h/d").as_deref(), Some("p@ss"));
        assert_eq!(url_password("postgres://u@h/d"), None);
        assert_eq!(
            url_password("postgres://u:x@h/d?password=p%40ss+w").as_deref(),
            Some("p@ss w")
        );
    }
}
