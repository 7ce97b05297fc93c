//! Per-step overhead of the PostgreSQL journal vs. the file journal (issue 9): the same
//! runbook of 1,000 steps run both ways, whole runs of the release binary, median of 3.
//! - 1,000 `shell: "true"` steps (the spawn dominates);
//! - 1,000 `http` steps against a local server (the journal dominates).
//!
//! Run: `cargo bench --bench journal_pg`. The database server is `DEPLOYCTL_TEST_DATABASE_URL`
//! (default: local trust auth); a scratch database is created and dropped.

use std::path::Path;
use std::time::Duration;

use sqlx::{Connection, Executor, PgConnection};

#[path = "support/mod.rs"]
mod support;

const STEPS: usize = 1_000;
const RUNS: usize = 3;

/// One whole run with the journal `journal` (a file path or a URL).
fn run(dir: &Path, journal: &str) -> Duration {
    support::deployctl(dir, &["run", "--new", "r.yaml"], Some(journal.as_ref()))
}

/// A scratch database on the test server; `None` (and the bench is skipped) without one.
struct ScratchDb {
    admin: String,
    name: String,
    url: String,
    runtime: tokio::runtime::Runtime,
}

impl ScratchDb {
    fn create() -> Option<Self> {
        let admin = std::env::var("DEPLOYCTL_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("deployctl_bench_{}", std::process::id());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        runtime
            .block_on(async {
                let mut conn = PgConnection::connect(&admin).await?;
                conn.execute(format!("DROP DATABASE IF EXISTS {name}").as_str()).await?;
                conn.execute(format!("CREATE DATABASE {name}").as_str()).await?;
                Ok::<_, sqlx::Error>(())
            })
            .map_err(|e| println!("skipped: no PostgreSQL at the test server ({e})"))
            .ok()?;
        let mut url = url::Url::parse(&admin).ok()?;
        url.set_path(&format!("/{name}"));
        Some(ScratchDb {
            admin,
            name,
            url: url.to_string(),
            runtime,
        })
    }

    /// Empties the journal so each run starts a new one (the tables are made by the first).
    fn reset(&self) {
        let result = self.runtime.block_on(async {
            let mut conn = PgConnection::connect(&self.url).await?;
            conn.execute("DROP TABLE IF EXISTS deployctl_journal, deployctl_lock_holder, deployctl_schema")
                .await?;
            Ok::<_, sqlx::Error>(())
        });
        if let Err(e) = result {
            panic!("cannot reset the bench database: {e}");
        }
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        let _ = self.runtime.block_on(async {
            let mut conn = PgConnection::connect(&self.admin).await?;
            conn.execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
                .await
        });
    }
}

fn compare(what: &str, dir: &Path, db: &ScratchDb) {
    let file = dir.join("journal.jsonl");
    let file_arg = file.display().to_string();
    let on_file = support::median(RUNS, || {
        let _ = std::fs::remove_file(&file);
        run(dir, &file_arg)
    });
    let on_pg = support::median(RUNS, || {
        db.reset();
        run(dir, &db.url)
    });
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let per_step = (on_pg.as_secs_f64() - on_file.as_secs_f64()) * 1e6 / STEPS as f64;
    println!(
        "{what:<30} file journal {:>8.1} ms   PostgreSQL journal {:>8.1} ms   ratio {:>5.2}   {per_step:+.0} µs per step",
        ms(on_file),
        ms(on_pg),
        on_pg.as_secs_f64() / on_file.as_secs_f64()
    );
}

fn main() {
    let Some(db) = ScratchDb::create() else {
        return;
    };
    let shell = support::fresh_dir("shell");
    support::runbook(&shell, STEPS, |_| "shell: \"true\"".into());
    compare("1,000 shell `true` steps", &shell, &db);
    let _ = std::fs::remove_dir_all(&shell);

    let port = support::serve(200);
    let http = support::fresh_dir("http");
    support::runbook(&http, STEPS, |i| {
        format!("http: \"http://127.0.0.1:{port}/health?i={i}\"")
    });
    compare("1,000 http steps", &http, &db);
    let _ = std::fs::remove_dir_all(&http);
}
