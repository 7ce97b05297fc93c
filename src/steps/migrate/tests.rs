//! Tests against a real PostgreSQL (`DEPLOYCTL_TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`): each test creates its own database and
//! drops it when done, even when it panics.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::Digest;

use crate::redact::Redactor;
use crate::runbook::model::{Migrate, MigrationStyle, StepKind};
use crate::runbook::{LoadOptions, load};
use crate::steps::kind::Kind;
use crate::steps::scratch::ScratchDb;
use crate::steps::{Databases, StepContext, StepOutcome};

pub(super) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/migrations")
        .join(name)
}

/// A copy of a fixture folder that a test may edit.
pub(super) fn copy_fixture(name: &str) -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(&fixture(name), dir.path());
    dir
}

/// A scratch database for migrate tests.
pub(super) struct TestDb {
    db: ScratchDb,
}

impl std::ops::Deref for TestDb {
    type Target = ScratchDb;
    fn deref(&self) -> &ScratchDb {
        &self.db
    }
}

impl TestDb {
    pub(super) async fn create() -> Self {
        TestDb {
            db: ScratchDb::create("deployctl_t").await,
        }
    }

    /// A migrate step for this database, loaded from a real runbook.
    pub(super) fn step(&self, dir: &Path, style: MigrationStyle) -> (Migrate, Databases) {
        self.step_at(&self.url, dir, style)
    }

    /// A migrate step for `url` (e.g. this database's URL with `?schema=`).
    pub(super) fn step_at(&self, url: &str, dir: &Path, style: MigrationStyle) -> (Migrate, Databases) {
        let yaml = format!(
            "deployctl: 1\nname: migrate-test\ndatabases:\n  app: {{ url: \"{url}\" }}\nphases:\n  - id: db\n    steps:\n      - id: migrate\n        migrate: {{ database: app, dir: migrations, lock_timeout: 1s }}\n"
        );
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), yaml).unwrap();
        let loaded = load(file.path(), &LoadOptions::default()).expect("test runbook loads");
        let StepKind::Migrate(mut step) = loaded.runbook.phases[0].steps[0].kind.clone() else {
            panic!("not a migrate step")
        };
        step.dir = dir.to_path_buf();
        step.style = style;
        (step, Databases::new(&loaded.runbook, "run-1"))
    }

    pub(super) async fn run(&self, step: &Migrate, databases: &Databases) -> StepOutcome {
        let redactor = Redactor::default();
        let http = reqwest::Client::new();
        step.execute(&context(&redactor, &http, databases)).await
    }

    /// Builds the step and runs it once.
    pub(super) async fn migrate(&self, dir: &Path, style: MigrationStyle, check: bool) -> StepOutcome {
        let (mut step, databases) = self.step(dir, style);
        step.check = check;
        self.run(&step, &databases).await
    }
}

/// The context a step of these tests runs in.
pub(super) fn context<'a>(
    redactor: &'a Redactor,
    http: &'a reqwest::Client,
    databases: &'a Databases,
) -> StepContext<'a> {
    StepContext {
        run_id: "run-1",
        runbook: "migrate-test",
        step_id: "migrate",
        redactor,
        http,
        databases,
        timeout: Duration::from_secs(60),

        clock: crate::clock::Clock::system(),
        live: None,
    }
}

/// A done outcome with this detail, whatever its output.
pub(super) fn done(detail: &str) -> StepOutcome {
    StepOutcome::Done {
        detail: Some(detail.into()),
        output: None,
    }
}

/// The outcome without its output, to compare with [`done`].
pub(super) fn detail(outcome: StepOutcome) -> StepOutcome {
    match outcome {
        StepOutcome::Done { detail, .. } => StepOutcome::Done { detail, output: None },
        failed => failed,
    }
}

pub(super) fn failure(outcome: StepOutcome) -> String {
    match outcome {
        StepOutcome::Failed { reason, hint, .. } => crate::steps::Failure { reason, hint }.text(),
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// id, checksum, migration_name, finished?, applied_steps_count, logs, not rolled back?
type PrismaRow = (String, String, String, bool, i32, Option<String>, bool);

const ALL: &str = "20240101000000_init, 20240102000000_notes, 20240103000000_rls";

#[tokio::test]
async fn prisma_applies_from_scratch_with_prisma_shaped_rows() {
    let db = TestDb::create().await;
    let outcome = db.migrate(&fixture("prisma"), MigrationStyle::Prisma, false).await;
    assert_eq!(detail(outcome), done(&format!("applied 3 migrations: {ALL}")));

    let mut conn = db.conn().await;
    let rows: Vec<PrismaRow> = sqlx::query_as(
        "SELECT id, checksum, migration_name, finished_at IS NOT NULL, applied_steps_count, logs, \
         rolled_back_at IS NULL FROM _prisma_migrations ORDER BY migration_name",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(rows.len(), 3);
    for (id, checksum, _, finished, steps, logs, not_rolled_back) in &rows {
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4", "v4 uuid: {id}");
        assert_eq!(checksum.len(), 64);
        assert!(
            checksum
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert!(*finished && *not_rolled_back);
        assert_eq!(*steps, 1);
        assert_eq!(logs, &None);
    }
    let bytes = std::fs::read(fixture("prisma/20240101000000_init/migration.sql")).unwrap();
    let expected = hex::encode(sha2::Sha256::digest(&bytes));
    assert_eq!(rows[0].1, expected);
    let rls: bool = sqlx::query_scalar("SELECT relrowsecurity FROM pg_class WHERE relname = 'Note'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(rls);
}

#[tokio::test]
async fn prisma_second_run_applies_nothing_and_check_agrees() {
    let db = TestDb::create().await;
    db.migrate(&fixture("prisma"), MigrationStyle::Prisma, false).await;
    let again = db.migrate(&fixture("prisma"), MigrationStyle::Prisma, false).await;
    assert_eq!(again, done("up to date (3 migrations)"));
    let check = db.migrate(&fixture("prisma"), MigrationStyle::Prisma, true).await;
    assert_eq!(check, done("up to date (3 migrations)"));
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM _prisma_migrations")
        .fetch_one(&mut db.conn().await)
        .await
        .unwrap();
    assert_eq!(count, 3);
}

#[tokio::test]
async fn prisma_check_reports_pending_and_changes_nothing() {
    let db = TestDb::create().await;
    let reason = failure(db.migrate(&fixture("prisma"), MigrationStyle::Prisma, true).await);
    assert!(
        reason.contains("pending: `20240101000000_init`, `20240102000000_notes`, `20240103000000_rls`"),
        "{reason}"
    );
    let table: bool = sqlx::query_scalar("SELECT to_regclass('public._prisma_migrations') IS NOT NULL")
        .fetch_one(&mut db.conn().await)
        .await
        .unwrap();
    assert!(!table, "check must not create the table");
}

#[tokio::test]
async fn prisma_check_reports_drift_and_missing_locally() {
    let db = TestDb::create().await;
    let dir = copy_fixture("prisma");
    db.migrate(dir.path(), MigrationStyle::Prisma, false).await;
    let notes = dir.path().join("20240102000000_notes/migration.sql");
    let edited = std::fs::read_to_string(&notes).unwrap() + "\n-- edited afterwards\n";
    std::fs::write(&notes, edited).unwrap();
    std::fs::remove_dir_all(dir.path().join("20240103000000_rls")).unwrap();

    let reason = failure(db.migrate(dir.path(), MigrationStyle::Prisma, true).await);
    assert!(
        reason.contains("edited after being applied (checksum drift): `20240102000000_notes`"),
        "{reason}"
    );
    assert!(
        reason.contains("applied but missing locally: `20240103000000_rls`"),
        "{reason}"
    );
    assert!(!reason.contains("pending"), "{reason}");
    // Like `prisma migrate deploy`, applying goes on regardless.
    let deploy = db.migrate(dir.path(), MigrationStyle::Prisma, false).await;
    assert_eq!(deploy, done("up to date (2 migrations)"));
}

#[tokio::test]
async fn prisma_failing_migration_leaves_failed_row_and_blocks_next_runs() {
    let db = TestDb::create().await;
    let dir = copy_fixture("prisma");
    let bad = dir.path().join("20240104000000_bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(
        bad.join("migration.sql"),
        "CREATE TABLE half (id INT);\nALTER TABLE nope ADD COLUMN x INT;\n",
    )
    .unwrap();

    let reason = failure(db.migrate(dir.path(), MigrationStyle::Prisma, false).await);
    assert!(
        reason.starts_with("migration `20240104000000_bad` failed in database `app`"),
        "{reason}"
    );
    assert!(
        reason.contains("relation \"nope\" does not exist (SQLSTATE 42P01)"),
        "{reason}"
    );
    assert!(
        reason.contains("prisma migrate resolve --rolled-back 20240104000000_bad"),
        "{reason}"
    );

    let mut conn = db.conn().await;
    let (finished, logs, steps): (bool, Option<String>, i32) = sqlx::query_as(
        "SELECT finished_at IS NOT NULL, logs, applied_steps_count FROM _prisma_migrations \
         WHERE migration_name = '20240104000000_bad'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(!finished);
    assert_eq!(steps, 0);
    assert!(logs.unwrap().contains("\"nope\" does not exist"));
    let half: bool = sqlx::query_scalar("SELECT to_regclass('public.half') IS NOT NULL")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(!half, "the whole file is one transaction");

    let refused = failure(db.migrate(dir.path(), MigrationStyle::Prisma, false).await);
    assert!(
        refused.starts_with("migration `20240104000000_bad` failed earlier and is not rolled back"),
        "{refused}"
    );
    let check = failure(db.migrate(dir.path(), MigrationStyle::Prisma, true).await);
    assert!(
        check.contains("failed and not rolled back: `20240104000000_bad`"),
        "{check}"
    );

    // Marked rolled back and fixed, it applies.
    sqlx::query("UPDATE _prisma_migrations SET rolled_back_at = now() WHERE finished_at IS NULL")
        .execute(&mut conn)
        .await
        .unwrap();
    std::fs::write(bad.join("migration.sql"), "CREATE TABLE half (id INT);\n").unwrap();
    let fixed = db.migrate(dir.path(), MigrationStyle::Prisma, false).await;
    assert_eq!(detail(fixed), done("applied 1 migration: 20240104000000_bad"));
}

#[tokio::test]
async fn prisma_crlf_copy_is_not_drift() {
    let db = TestDb::create().await;
    db.migrate(&fixture("prisma"), MigrationStyle::Prisma, false).await;
    let check = db.migrate(&fixture("prisma-crlf"), MigrationStyle::Prisma, true).await;
    assert_eq!(check, done("up to date (3 migrations)"));

    let other = TestDb::create().await;
    other
        .migrate(&fixture("prisma-crlf"), MigrationStyle::Prisma, false)
        .await;
    let check = other.migrate(&fixture("prisma"), MigrationStyle::Prisma, true).await;
    assert_eq!(check, done("up to date (3 migrations)"));
}

#[tokio::test]
async fn lock_held_by_another_session_times_out() {
    let db = TestDb::create().await;
    let mut holder = db.conn().await;
    sqlx::query("SELECT pg_advisory_lock(72707369)")
        .execute(&mut holder)
        .await
        .unwrap();
    let (mut step, databases) = db.step(&fixture("prisma"), MigrationStyle::Prisma);
    step.lock_timeout = Duration::from_millis(300);
    let started = std::time::Instant::now();
    let reason = failure(db.run(&step, &databases).await);
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert!(
        reason.starts_with(
            "timed out after 0.3s waiting for the migration lock (advisory lock 72707369) on database `app`"
        ),
        "{reason}"
    );
    sqlx::query("SELECT pg_advisory_unlock(72707369)")
        .execute(&mut holder)
        .await
        .unwrap();
    let outcome = db.run(&step, &databases).await;
    assert_eq!(detail(outcome), done(&format!("applied 3 migrations: {ALL}")));
}

#[tokio::test]
async fn lock_is_released_after_the_step() {
    let db = TestDb::create().await;
    db.migrate(&fixture("prisma"), MigrationStyle::Prisma, false).await;
    let free: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(72707369)")
        .fetch_one(&mut db.conn().await)
        .await
        .unwrap();
    assert!(free);
}

#[tokio::test]
async fn plain_applies_once_ignoring_down_files() {
    let db = TestDb::create().await;
    let outcome = db.migrate(&fixture("plain"), MigrationStyle::Plain, false).await;
    let StepOutcome::Done {
        output: Some(output), ..
    } = &outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(output, r#"{"applied":["0001_accounts","0002_sessions"]}"#);
    assert_eq!(
        crate::steps::applied_migrations(output),
        Some(vec!["0001_accounts".to_string(), "0002_sessions".to_string()])
    );
    assert_eq!(
        detail(outcome),
        done("applied 2 migrations: 0001_accounts, 0002_sessions")
    );
    let again = db.migrate(&fixture("plain"), MigrationStyle::Plain, false).await;
    assert_eq!(again, done("up to date (2 migrations)"));
    let check = db.migrate(&fixture("plain"), MigrationStyle::Plain, true).await;
    assert_eq!(check, done("up to date (2 migrations)"));
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM deployctl_migrations ORDER BY name")
        .fetch_all(&mut db.conn().await)
        .await
        .unwrap();
    assert_eq!(names, ["0001_accounts", "0002_sessions"]);
}

#[tokio::test]
async fn plain_refuses_drift_and_rolls_back_a_failing_file() {
    let db = TestDb::create().await;
    let dir = copy_fixture("plain");
    db.migrate(dir.path(), MigrationStyle::Plain, false).await;
    std::fs::write(
        dir.path().join("0001_accounts.sql"),
        "CREATE TABLE accounts (id INT);\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("0003_bad.sql"),
        "CREATE TABLE half (id INT);\nSELECT 1/0;\n",
    )
    .unwrap();

    let refused = failure(db.migrate(dir.path(), MigrationStyle::Plain, false).await);
    assert!(
        refused.starts_with("applied migration(s) edited since: `0001_accounts`"),
        "{refused}"
    );
    let check = failure(db.migrate(dir.path(), MigrationStyle::Plain, true).await);
    assert!(
        check.contains("pending: `0003_bad`; edited after being applied (checksum drift): `0001_accounts`"),
        "{check}"
    );

    std::fs::copy(fixture("plain/0001_accounts.sql"), dir.path().join("0001_accounts.sql")).unwrap();
    let failed = failure(db.migrate(dir.path(), MigrationStyle::Plain, false).await);
    assert_eq!(
        failed,
        "migration `0003_bad` failed in database `app`: division by zero (SQLSTATE 22012)"
    );
    let mut conn = db.conn().await;
    let half: bool = sqlx::query_scalar("SELECT to_regclass('public.half') IS NOT NULL")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM deployctl_migrations")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(!half);
    assert_eq!(rows, 2);
}

#[tokio::test]
async fn missing_dir_is_a_failure() {
    let db = TestDb::create().await;
    let reason_dir = failure(
        db.migrate(Path::new("/nonexistent/migrations"), MigrationStyle::Prisma, false)
            .await,
    );
    assert!(
        reason_dir.starts_with("cannot read migrations dir `/nonexistent/migrations`"),
        "{reason_dir}"
    );
}

/// The dry-run probe of a migrate step over `dir`.
async fn probe(db: &TestDb, dir: &Path, style: MigrationStyle, check: bool) -> Result<String, String> {
    let (mut step, databases) = db.step(dir, style);
    step.check = check;
    let (redactor, http) = (Redactor::default(), reqwest::Client::new());
    super::probe(&step, &context(&redactor, &http, &databases))
        .await
        .map_err(|f| f.text())
}

/// Whether `_prisma_migrations` or `deployctl_migrations` exists: nothing was applied.
async fn bookkeeping_exists(db: &TestDb) -> bool {
    sqlx::query_scalar(
        "SELECT to_regclass('_prisma_migrations') IS NOT NULL OR to_regclass('deployctl_migrations') IS NOT NULL",
    )
    .fetch_one(&mut db.conn().await)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_prisma_folder_without_migration_sql_is_refused_like_prisma_p3015() {
    let db = TestDb::create().await;
    let dir = copy_fixture("prisma");
    let odd = dir.path().join("20240104000000_more");
    std::fs::create_dir(&odd).unwrap();
    std::fs::write(odd.join("migrations.sql"), "CREATE TABLE more (id INT);").unwrap();
    let expected = format!(
        "migrations dir `{}`: 1 migration folder without a `migration.sql`: `20240104000000_more` (holds `migrations.sql`)\nhint: Prisma refuses such a folder too (error P3015)",
        dir.path().display()
    );
    for check in [false, true] {
        let reason = failure(db.migrate(dir.path(), MigrationStyle::Prisma, check).await);
        assert!(reason.starts_with(&expected), "check: {check}\n{reason}");
        let probed = probe(&db, dir.path(), MigrationStyle::Prisma, check).await.unwrap_err();
        assert!(probed.starts_with(&expected), "check: {check}\n{probed}");
    }
    assert!(!bookkeeping_exists(&db).await, "nothing was applied");
}

#[tokio::test]
async fn a_folder_of_the_other_style_or_of_none_names_the_style_to_use() {
    let db = TestDb::create().await;
    let plain = fixture("plain");
    let reason = failure(db.migrate(&plain, MigrationStyle::Prisma, false).await);
    assert_eq!(
        reason,
        format!(
            "migrations dir `{}` holds plain migration files (`0001_accounts.sql`, `0002_sessions.sql`) but the step's style is `prisma`\nhint: add `style: plain` to the step (the default style is `prisma`: one folder per migration holding `migration.sql`)",
            plain.display()
        )
    );
    let reason = failure(db.migrate(&fixture("prisma"), MigrationStyle::Plain, true).await);
    assert!(
        reason.contains("holds Prisma migration folders (`20240101000000_init/migration.sql`, "),
        "{reason}"
    );
    assert!(reason.contains("\nhint: use `style: prisma` (the default)"), "{reason}");
    let empty = tempfile::tempdir().unwrap();
    let reason = failure(db.migrate(empty.path(), MigrationStyle::Prisma, false).await);
    assert!(reason.ends_with("holds no migration\nhint: a Prisma migration is a folder `<dir>/<name>/migration.sql`; plain `<dir>/<name>.sql` files need `style: plain`; check `dir` and `workdir`"), "{reason}");
    let probed = probe(&db, &plain, MigrationStyle::Prisma, false).await.unwrap_err();
    assert!(probed.contains("add `style: plain`"), "{probed}");
    assert!(
        !bookkeeping_exists(&db).await,
        "nothing was applied, no table was created"
    );
}
