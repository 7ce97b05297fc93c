//! The "reader stall" case of `cargo bench --bench migrate`: how long readers of a table
//! wait while a migration's `ALTER TABLE` is stuck behind a long transaction.
//!
//! One session opens a transaction that reads `posts` and holds it for [`HOLD`]. Meanwhile
//! a reader queries `posts` every 20 ms, recording its longest wait, and the contender
//! applies `ALTER TABLE posts ENABLE ROW LEVEL SECURITY`:
//! - `psql -f` of the file: the ALTER queues for ACCESS EXCLUSIVE and every later read
//!   queues behind it until the long transaction ends (the outage);
//! - `deployctl run` of a `migrate` step with `lock_timeout: 1s, lock_retries: 3`: each
//!   attempt gives up after 1 s and rolls back, so a read waits at most about 1 s, and the
//!   step fails after its retries (exit 1) while the long transaction still runs.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sqlx::Connection;

/// How long the blocking transaction stays open.
const HOLD: Duration = Duration::from_secs(10);

/// Max reader wait with `psql -f` and with deployctl, each on a fresh database.
pub fn measure(work: &Path) -> (Duration, Duration) {
    let file = work.join("stall").join("rls.sql");
    super::write(&file, "ALTER TABLE posts ENABLE ROW LEVEL SECURITY;\n");
    let psql = {
        let db = super::Db::create("stall_psql");
        let url = db.url.clone();
        stalled(&url, || {
            let status = super::psql(&url).arg("-f").arg(&file).stdin(Stdio::null()).output();
            assert!(status.is_ok_and(|o| o.status.success()), "psql -f applies the ALTER");
        })
    };
    let deployctl = {
        let db = super::Db::create("stall_deployctl");
        let url = db.url.clone();
        let dir = work.join("stall").join("prisma");
        super::write(
            &dir.join("20260101000000_rls").join("migration.sql"),
            "ALTER TABLE posts ENABLE ROW LEVEL SECURITY;\n",
        );
        let runbook = format!(
            "deployctl: 1\nname: stall\ndatabases:\n  app: {{ url: \"{url}\" }}\nphases:\n  - id: p\n    steps:\n      - {{ id: m, migrate: {{ database: app, dir: \"{}\", lock_timeout: 1s, lock_retries: 3 }} }}\n",
            dir.display()
        );
        super::write(&work.join("stall").join("r.yaml"), &runbook);
        stalled(&url, || {
            let out = Command::new(super::BIN)
                .args(["run", "r.yaml"])
                .current_dir(work.join("stall"))
                .env_remove("DEPLOYCTL_JOURNAL")
                .env("DEPLOYCTL_OPERATOR", "bench")
                .stdin(Stdio::null())
                .output();
            let code = out.ok().and_then(|o| o.status.code());
            assert_eq!(code, Some(1), "deployctl gives up behind the long transaction");
        })
    };
    (psql, deployctl)
}

/// Runs `contender` while a long transaction holds `posts` and a reader reads it; the
/// reader's longest wait.
fn stalled(url: &str, contender: impl FnOnce()) -> Duration {
    let setup = "CREATE TABLE posts (id int PRIMARY KEY, body text); \
                 INSERT INTO posts SELECT g, 'x' FROM generate_series(1, 1000) g;";
    let ok = super::psql(url).args(["-c", setup]).output();
    assert!(ok.is_ok_and(|o| o.status.success()), "setup");
    let mut blocker = super::psql(url)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("psql starts");
    let mut stdin = blocker.stdin.take().expect("piped stdin");
    stdin
        .write_all(b"BEGIN;\nSELECT count(*) FROM posts;\nSELECT pg_sleep(0.2);\n")
        .expect("blocker reads");
    std::thread::sleep(Duration::from_millis(500));
    let stop = Arc::new(AtomicBool::new(false));
    let reader = reader(url, stop.clone());
    let started = Instant::now();
    let release = std::thread::spawn(move || {
        std::thread::sleep(HOLD.saturating_sub(started.elapsed()));
        let _ = stdin.write_all(b"COMMIT;\n");
        drop(stdin);
    });
    contender();
    release.join().expect("release thread");
    let _ = blocker.wait();
    stop.store(true, Ordering::Relaxed);
    reader.join().expect("reader thread")
}

fn reader(url: &str, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Duration> {
    let url = url.to_string();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let mut conn = sqlx::PgConnection::connect(&url).await.expect("reader connects");
            let mut worst = Duration::ZERO;
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                sqlx::raw_sql("SELECT count(*) FROM posts")
                    .execute(&mut conn)
                    .await
                    .expect("reader reads");
                worst = worst.max(started.elapsed());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            worst
        })
    })
}
