//! A migration stuck behind a long transaction must not take the application down: with
//! `lock_timeout` and `lock_retries`, the readers of the table wait at most about one lock
//! timeout (never the whole long transaction), the step fails cleanly after its retries, and
//! the Prisma bookkeeping stays what Prisma expects (checked with the real Prisma CLI).
//! The timing comparison with `psql -f` is `cargo bench --bench migrate` ("reader stall").

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sqlx::{Connection, PgConnection};

use crate::db::TestDb;
use crate::harness::{Outcome, Workspace};
use crate::peer::peer;

const RLS: &str = "20240102000000_rls";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A session in an open transaction that read `posts` (ACCESS SHARE, held until it ends).
pub(crate) struct Blocker {
    end: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl Blocker {
    pub(crate) fn hold(url: &str) -> Self {
        let (ready_tx, ready_rx) = mpsc::channel();
        let (end, end_rx) = mpsc::channel::<()>();
        let url = url.to_string();
        let thread = std::thread::spawn(move || {
            runtime().block_on(async {
                let mut conn = PgConnection::connect(&url).await.expect("connect");
                sqlx::raw_sql("BEGIN; SELECT count(*) FROM posts;")
                    .execute(&mut conn)
                    .await
                    .expect("blocker reads");
                ready_tx.send(()).expect("test listens");
                let _ = tokio::task::spawn_blocking(move || end_rx.recv()).await;
                sqlx::raw_sql("COMMIT").execute(&mut conn).await.expect("commit");
            });
        });
        ready_rx.recv().expect("the blocker holds its lock");
        Blocker { end, thread }
    }

    pub(crate) fn release(self) {
        let _ = self.end.send(());
        self.thread.join().expect("blocker thread");
    }
}

/// Readers of `posts`, one query after another, keeping the longest wait.
struct Readers {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<(Duration, u32)>,
}

impl Readers {
    fn start(url: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let url = url.to_string();
        let thread = std::thread::spawn(move || {
            runtime().block_on(async {
                let mut conn = PgConnection::connect(&url).await.expect("connect");
                let (mut worst, mut reads) = (Duration::ZERO, 0);
                while !flag.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    sqlx::raw_sql("SELECT count(*) FROM posts")
                        .execute(&mut conn)
                        .await
                        .expect("reader");
                    worst = worst.max(started.elapsed());
                    reads += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                (worst, reads)
            })
        });
        Readers { stop, thread }
    }

    /// The longest a read waited, and how many reads there were.
    fn stop(self) -> (Duration, u32) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("reader thread")
    }
}

/// A Prisma folder: a harmless first migration, then one that needs ACCESS EXCLUSIVE on `posts`.
fn migrations(root: &Path) -> std::path::PathBuf {
    let dir = root.join("migrations");
    for (name, sql) in [
        ("20240101000000_notes", "CREATE TABLE notes (id int PRIMARY KEY);\n"),
        (RLS, "ALTER TABLE posts ENABLE ROW LEVEL SECURITY;\n"),
    ] {
        std::fs::create_dir_all(dir.join(name)).expect("mkdir");
        std::fs::write(dir.join(name).join("migration.sql"), sql).expect("write");
    }
    std::fs::write(dir.join("migration_lock.toml"), "provider = \"postgresql\"\n").expect("write");
    dir
}

fn workspace(db: &TestDb, style: &str) -> (Workspace, std::path::PathBuf) {
    let ws = Workspace::new(&format!(
        "deployctl: 1\nname: locks\ndatabases:\n  app: {{ url: \"{}\" }}\nphases:\n  - id: db\n    steps:\n      - id: migrate\n        migrate: {{ database: app, dir: migrations, style: {style}, lock_timeout: 1s, lock_retries: 3 }}\n",
        db.url
    ));
    let dir = migrations(ws.path());
    if style == "plain" {
        for (name, file) in [("20240101000000_notes", "001_notes.sql"), (RLS, "002_rls.sql")] {
            std::fs::rename(dir.join(name).join("migration.sql"), dir.join(file)).expect("flatten");
            std::fs::remove_dir(dir.join(name)).expect("rmdir");
        }
        std::fs::remove_file(dir.join("migration_lock.toml")).expect("rm");
    }
    db.execute("CREATE TABLE posts (id int PRIMARY KEY, body text); INSERT INTO posts SELECT g, 'x' FROM generate_series(1, 100) g;");
    (ws, dir)
}

/// Runs `deployctl ARGS` while a long transaction holds its lock on `posts` (for about the
/// whole run) and readers keep reading the table; then asserts that the readers kept going
/// and never waited for a large part of the long transaction.
fn stalled_by_a_long_transaction(ws: &Workspace, db: &TestDb, args: &[&str]) -> Outcome {
    let blocker = Blocker::hold(&db.url);
    let held = Instant::now();
    let readers = Readers::start(&db.url);
    let out = ws.deployctl().args(args).run();
    let (worst, reads) = readers.stop();
    let hold = held.elapsed();
    blocker.release();
    assert!(reads > 10, "readers kept reading: {reads}");
    // The blocker held its lock for the whole run (four 1s attempts and their backoffs,
    // about 7.5s); a reader queued behind the ALTER waits at most about one lock_timeout.
    assert!(
        hold > Duration::from_secs(6),
        "held {hold:?}:\n{}\n{}",
        out.stdout,
        out.stderr
    );
    assert!(worst < hold / 2, "a reader waited {worst:?} of the blocker's {hold:?}");
    out
}

fn rls_enabled(db: &TestDb) -> String {
    db.scalar("SELECT relrowsecurity::text FROM pg_class WHERE relname = 'posts'")
        .unwrap_or_default()
}

#[test]
fn a_migration_behind_a_long_transaction_gives_up_without_stalling_readers() {
    let db = TestDb::create();
    let (ws, dir) = workspace(&db, "prisma");
    let out = stalled_by_a_long_transaction(&ws, &db, &["run", "r.yaml"]);

    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(said.contains("was not granted its locks"), "{said}");
    assert!(
        said.contains("20240102000000_rls: lock not granted within")
            && said.contains("(attempt 1 of 4), rolled back; again in 0.5s"),
        "each refusal is shown as it happens: {said}"
    );

    let attempts = ws.events("locks", "migration_attempt");
    let results: Vec<&str> = attempts.iter().map(|e| e["result"].as_str().unwrap_or("")).collect();
    assert_eq!(results, vec!["lock_not_granted"; 4], "{attempts:?}");
    assert_eq!(attempts[3]["retry_in_ms"], serde_json::Value::Null);

    // Nothing half-applied: the ALTER rolled back, its row is gone, the first one stays.
    assert_eq!(rls_enabled(&db), "false");
    let rows = db.scalar(
        "SELECT string_agg(migration_name || ':' || (finished_at IS NOT NULL)::text, ',' ORDER BY migration_name) FROM _prisma_migrations",
    );
    assert_eq!(rows.as_deref(), Some("20240101000000_notes:true"));
    let status = peer().stock().status(&db.url, &dir);
    assert!(status.stdout.contains(RLS) && !status.up_to_date(), "{status}");
    assert!(!status.stdout.to_lowercase().contains("failed"), "{status}");

    // Once the long transaction has ended, a new run applies it.
    std::fs::remove_dir_all(ws.path().join(".deployctl")).expect("a fresh journal");
    let again = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert_eq!(rls_enabled(&db), "true");
    assert!(peer().stock().status(&db.url, &dir).up_to_date());
}

#[test]
fn a_retried_migration_leaves_the_rows_prisma_expects() {
    let db = TestDb::create();
    let (ws, dir) = workspace(&db, "prisma");
    let blocker = Blocker::hold(&db.url);
    let mut run = ws.spawn_run();
    let refused = crate::harness::eventually(30, || !ws.events("locks", "migration_attempt").is_empty());
    blocker.release();
    let status = run.wait().expect("deployctl ends");
    assert!(refused, "a refused attempt was journaled");
    assert_eq!(status.code(), Some(0));

    let attempts = ws.events("locks", "migration_attempt");
    let results: Vec<&str> = attempts.iter().map(|e| e["result"].as_str().unwrap_or("")).collect();
    assert_eq!(results.last(), Some(&"applied"), "{attempts:?}");
    assert_eq!(results.first(), Some(&"lock_not_granted"), "{attempts:?}");
    assert_eq!(rls_enabled(&db), "true");
    let rows = db.scalar(
        "SELECT string_agg(migration_name || ':' || applied_steps_count || ':' || (finished_at IS NOT NULL)::text || ':' || (logs IS NULL)::text, ',' ORDER BY migration_name) FROM _prisma_migrations",
    );
    assert_eq!(
        rows.as_deref(),
        Some("20240101000000_notes:1:true:true,20240102000000_rls:1:true:true")
    );
    let prisma = peer().stock().status(&db.url, &dir);
    assert!(prisma.up_to_date(), "{prisma}");
}

#[test]
fn a_plain_migration_refused_to_the_end_leaves_nothing() {
    let db = TestDb::create();
    let (ws, _dir) = workspace(&db, "plain");
    let blocker = Blocker::hold(&db.url);
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    blocker.release();
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(said.contains("`002_rls` was not granted its locks"), "{said}");
    assert_eq!(rls_enabled(&db), "false");
    let rows = db.scalar("SELECT string_agg(name, ',' ORDER BY name) FROM deployctl_migrations");
    assert_eq!(rows.as_deref(), Some("001_notes"));
    assert_eq!(ws.events("locks", "migration_attempt").len(), 4);
}

#[test]
fn a_down_file_behind_a_long_transaction_gives_up_without_stalling_readers() {
    let db = TestDb::create();
    let (ws, dir) = workspace(&db, "plain");
    std::fs::write(dir.join("001_notes.down.sql"), "DROP TABLE notes;\n").expect("down file");
    std::fs::write(
        dir.join("002_rls.down.sql"),
        "ALTER TABLE posts DISABLE ROW LEVEL SECURITY;\n",
    )
    .expect("down file");
    let applied = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(applied.code, 0, "{}\n{}", applied.stdout, applied.stderr);
    assert_eq!(rls_enabled(&db), "true");

    let out = stalled_by_a_long_transaction(&ws, &db, &["rollback", "r.yaml"]);

    assert_eq!(out.code, 5, "the rollback failed:\n{}\n{}", out.stdout, out.stderr);
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(
        said.contains("down migration `002_rls.down.sql` was not granted its locks"),
        "{said}"
    );
    assert!(said.contains("`deployctl rollback` again once it has ended"), "{said}");
    let attempts = ws.events("locks", "migration_attempt");
    let seen: Vec<(&str, &str)> = attempts
        .iter()
        .map(|e| (e["step"].as_str().unwrap_or(""), e["result"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(seen, vec![("migrate.undo", "lock_not_granted"); 4], "{attempts:?}");
    assert_eq!(rls_enabled(&db), "true", "the refused down file was rolled back");
    let rows = db.scalar("SELECT string_agg(name, ',' ORDER BY name) FROM deployctl_migrations");
    assert_eq!(rows.as_deref(), Some("001_notes,002_rls"), "nothing was reverted");

    // Once the long transaction has ended, the rollback goes on from where it stopped.
    let again = ws.deployctl().args(["rollback", "r.yaml"]).run();
    assert_eq!(again.code, 4, "{}\n{}", again.stdout, again.stderr);
    assert_eq!(rls_enabled(&db), "false");
    assert_eq!(
        db.scalar("SELECT count(*)::text FROM deployctl_migrations").as_deref(),
        Some("0")
    );
}
