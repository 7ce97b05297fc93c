//! Against a real PostgreSQL (`DEPLOYCTL_TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and the installed `pg_dump`: each test
//! creates its own database (and role) and drops them, even when it panics.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::list::TocCounter;
use super::pg::url_password;
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
        self.step_verified(url, BackupVerify::List)
    }

    /// [`Self::step`] with its `verify` mode.
    fn step_verified(&self, url: &str, verify: BackupVerify) -> (Backup, Databases) {
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
        step.verify = verify;
        (step, Databases::new(&loaded.runbook, "run-1"))
    }

    async fn backup_with(&self, url: &str, programs: &Programs<'_>) -> StepOutcome {
        self.backup_verified(url, programs, BackupVerify::List).await
    }

    async fn backup_verified(&self, url: &str, programs: &Programs<'_>, verify: BackupVerify) -> StepOutcome {
        let (step, databases) = self.step_verified(url, verify);
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
            && reason
                .contains(") gave up waiting for a lock on `public.busy`: another session holds a conflicting lock"),
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

/// Scratch databases `verify: restore` left behind (there must be none).
async fn scratch_databases(db: &TestDb) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE starts_with(datname, $1 || '_verify_')")
        .bind(&db.db.name)
        .fetch_one(&mut db.db.conn().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn verify_restore_restores_into_a_scratch_database_and_records_the_snapshot_counts() {
    let db = TestDb::create().await;
    db.sql(
        "CREATE TABLE note (id int PRIMARY KEY, body text); INSERT INTO note SELECT g, 'n' FROM generate_series(1, 300) g;
         CREATE SCHEMA app; CREATE TABLE app.\"Odd Name\" (id int); INSERT INTO app.\"Odd Name\" VALUES (1), (2);
         CREATE TABLE empty (id int);
         ALTER TABLE note ENABLE ROW LEVEL SECURITY; ALTER TABLE note FORCE ROW LEVEL SECURITY;",
    )
    .await;
    let before = scratch_databases(&db).await;
    let outcome = db.backup_verified(&db.url, &PROGRAMS, BackupVerify::Restore).await;
    let StepOutcome::Done {
        detail: Some(detail),
        output: Some(output),
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    assert!(
        detail.contains("verified by a restore into a scratch database: 3 tables, 302 rows, counts equal"),
        "{detail}"
    );
    let record = BackupRecord::parse(&output).expect("a backup record");
    let rows = record.rows.expect("counts recorded");
    assert_eq!(
        rows.get("public.note"),
        Some(&300),
        "RLS does not hide rows from the count"
    );
    assert_eq!(rows.get("app.Odd Name"), Some(&2));
    assert_eq!(rows.get("public.empty"), Some(&0));
    assert_eq!(record.sha256, sha256_hex(&record.file));
    assert_eq!(db.files(), vec![record.file.clone()]);
    assert_eq!(scratch_databases(&db).await, before, "the scratch database is dropped");
}

#[tokio::test]
async fn verify_restore_fails_when_the_archive_does_not_restore_and_drops_the_scratch_database() {
    let db = TestDb::create().await;
    db.sql("CREATE TABLE note (id int); INSERT INTO note VALUES (1)").await;
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("pg_restore");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho 'pg_restore: error: could not execute query: boom' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let fake = fake.display().to_string();
    let programs = Programs {
        pg_dump: PG_DUMP,
        pg_restore: &fake,
    };
    let before = scratch_databases(&db).await;
    let (reason, output) = failure(db.backup_verified(&db.url, &programs, BackupVerify::Restore).await);
    assert!(
        reason.starts_with("the dump did not restore into a scratch database"),
        "{reason}"
    );
    assert!(output.unwrap_or_default().contains("boom"));
    assert!(db.files().is_empty(), "no unverified dump is kept");
    assert_eq!(scratch_databases(&db).await, before);
}

#[tokio::test]
async fn verify_restore_fails_when_a_restored_table_lacks_rows() {
    let db = TestDb::create().await;
    db.sql("CREATE TABLE note (id int); INSERT INTO note VALUES (1), (2)")
        .await;
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("pg_restore");
    // Restores the real archive, then loses a row, as a broken archive or tool would.
    std::fs::write(
        &fake,
        "#!/bin/sh\npg_restore \"$@\" || exit 1\nfor a; do case $prev in --dbname) db=$a;; esac; prev=$a; done\npsql -h 127.0.0.1 -U postgres -d \"$db\" -c 'DELETE FROM note WHERE id = 2' >/dev/null\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let fake = fake.display().to_string();
    let programs = Programs {
        pg_dump: PG_DUMP,
        pg_restore: &fake,
    };
    let (reason, _) = failure(db.backup_verified(&db.url, &programs, BackupVerify::Restore).await);
    assert!(
        reason.starts_with("the dump did not restore every row: `public.note`: 2 in the backup, 1 restored"),
        "{reason}"
    );
    assert!(db.files().is_empty());
}
