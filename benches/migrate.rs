//! Database step benchmarks (issue 4), each against a baseline measured in the same run:
//! - 200 small one-table migrations applied by `deployctl run` (a `migrate` step, Prisma
//!   style) vs. `psql` applying the same files in one session, and vs. the real
//!   `prisma migrate deploy` (`../shared/tools/prisma-peer`);
//! - the `rls` check of 20 tables vs. `psql` sending the same statements in one session;
//! - "reader stall": the longest wait of a table's readers while an `ALTER TABLE` is stuck
//!   behind a long transaction, deployctl (`lock_timeout: 1s, lock_retries: 3`) vs. `psql -f`
//!   (`support/reader_stall.rs`).
//! - `backup` with `verify: restore` of a 100 MB database vs. the same by hand with the same
//!   tools: `pg_dump`, a scratch database, `pg_restore`, row counts of both with `psql`.
//!
//! Run: `cargo bench --bench migrate` (needs the PostgreSQL of `scripts/ensure-postgres`,
//! `psql`, and Node.js + npm for Prisma). Whole runs of each program are timed (start-up,
//! connection and all), migrations each on a fresh database. The contenders run interleaved,
//! one after the other in each of 7 rounds (Prisma in 4 of them), so that load from other
//! processes falls on all of them alike; figures are medians.

#[path = "support/reader_stall.rs"]
mod reader_stall;

#[path = "../tests/integration/peer.rs"]
#[allow(dead_code)]
mod peer;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_deployctl");
const MIGRATIONS: usize = 200;
/// Interleaved rounds of the contenders (Prisma runs in every other one).
const ROUNDS: usize = 7;
const TABLES: usize = 20;
const TENANT_A: &str = "11111111-1111-1111-1111-111111111111";
const TENANT_B: &str = "22222222-2222-2222-2222-222222222222";
const ROLE: &str = "deployctl_bench_app";

fn admin_url() -> String {
    std::env::var("DEPLOYCTL_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn report(what: &str, baseline: Duration, measured: Duration, goal: &str) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{what:<52} baseline {:>8.1} ms   measured {:>8.1} ms   ratio {:>5.2}   goal {goal}",
        ms(baseline),
        ms(measured),
        measured.as_secs_f64() / baseline.as_secs_f64()
    );
}

/// Runs a program to success and returns how long it took.
fn timed(command: &mut Command, what: &str) -> Duration {
    let start = Instant::now();
    let output = command.stdin(Stdio::null()).output();
    let took = start.elapsed();
    match output {
        Ok(o) if o.status.success() => took,
        Ok(o) => panic!(
            "{what} failed: {}\n{}\n{}",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!("{what} did not start: {e}"),
    }
}

fn psql(url: &str) -> Command {
    let mut command = Command::new("psql");
    command.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url]);
    command
}

fn admin(sql: &str) {
    timed(psql(&admin_url()).args(["-c", sql]), sql);
}

/// A database for one run, dropped with it.
struct Db {
    name: String,
    url: String,
}

impl Db {
    fn create(label: &str) -> Db {
        let name = format!("deployctl_bench_{label}_{}", std::process::id());
        admin(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        admin(&format!("CREATE DATABASE {name}"));
        let url = match url::Url::parse(&admin_url()) {
            Ok(mut url) => {
                url.set_path(&name);
                url.to_string()
            }
            Err(e) => panic!("DEPLOYCTL_TEST_DATABASE_URL: {e}"),
        };
        Db { name, url }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let _ = psql(&admin_url())
            .args(["-c", &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)])
            .output();
    }
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent()
        && let Err(e) = std::fs::create_dir_all(parent)
    {
        panic!("cannot create {}: {e}", parent.display());
    }
    if let Err(e) = std::fs::write(path, text) {
        panic!("cannot write {}: {e}", path.display());
    }
}

/// The same 200 one-table migrations in Prisma layout (`prisma/`) and plain layout (`plain/`).
fn migrations(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for i in 0..MIGRATIONS {
        let name = format!("20260101{i:06}_t{i}");
        let sql = format!(
            "-- CreateTable\nCREATE TABLE \"t{i}\" (\n    \"id\" SERIAL NOT NULL,\n    \"name\" TEXT NOT NULL,\n    CONSTRAINT \"t{i}_pkey\" PRIMARY KEY (\"id\")\n);\n"
        );
        let file = root.join("prisma").join(&name).join("migration.sql");
        write(&file, &sql);
        write(&root.join("plain").join(format!("{name}.sql")), &sql);
        files.push(file);
    }
    files
}

/// `deployctl run` of a one-step runbook in `dir`, journal included.
fn deployctl(dir: &Path, runbook: &str) -> Duration {
    let _ = std::fs::remove_dir_all(dir.join(".deployctl"));
    write(&dir.join("r.yaml"), runbook);
    timed(
        Command::new(BIN)
            .args(["run", "--new", "r.yaml"])
            .current_dir(dir)
            .env_remove("DEPLOYCTL_JOURNAL")
            .env("DEPLOYCTL_OPERATOR", "bench"),
        "deployctl run",
    )
}

fn migrate_runbook(url: &str, dir: &Path, style: &str) -> String {
    format!(
        "deployctl: 1\nname: bench\ndatabases:\n  app: {{ url: \"{url}\" }}\nphases:\n  - id: p\n    steps:\n      - {{ id: m, timeout: 10m, migrate: {{ database: app, dir: \"{}\", style: {style} }} }}\n",
        dir.display()
    )
}

/// The median of each column of `rounds` rows of samples.
fn medians<const N: usize>(rounds: &[[Duration; N]]) -> [Duration; N] {
    std::array::from_fn(|i| {
        let mut column: Vec<Duration> = rounds.iter().map(|round| round[i]).collect();
        column.sort();
        column[column.len() / 2]
    })
}

fn migrations_200(work: &Path) {
    let files = migrations(work);
    let runner = peer::peer();
    // Interleaved rounds, so that load from other processes hits every contender alike.
    let rounds: Vec<[Duration; 4]> = (0..ROUNDS)
        .map(|round| {
            let psql_time = {
                let db = Db::create("psql");
                let mut command = psql(&db.url);
                for file in &files {
                    command.arg("-f").arg(file);
                }
                timed(&mut command, "psql")
            };
            let prisma_style = {
                let db = Db::create("prisma");
                deployctl(work, &migrate_runbook(&db.url, &work.join("prisma"), "prisma"))
            };
            let plain_style = {
                let db = Db::create("plain");
                deployctl(work, &migrate_runbook(&db.url, &work.join("plain"), "plain"))
            };
            // Prisma takes seconds: every other round is enough for its median.
            let peer_time = if round % 2 == 0 {
                let db = Db::create("peer");
                let start = Instant::now();
                let run = runner.stock().deploy(&db.url, &work.join("prisma"));
                let took = start.elapsed();
                assert_eq!(run.code, 0, "prisma migrate deploy failed: {run}");
                took
            } else {
                Duration::MAX
            };
            [psql_time, prisma_style, plain_style, peer_time]
        })
        .collect();
    let [psql_time, prisma_style, plain_style, _] = medians(&rounds);
    let peer_rounds: Vec<[Duration; 1]> = rounds
        .iter()
        .filter(|r| r[3] != Duration::MAX)
        .map(|r| [r[3]])
        .collect();
    let [peer_time] = medians(&peer_rounds);
    report(
        "200 migrations, deployctl (prisma) vs psql",
        psql_time,
        prisma_style,
        "ratio <= 1.5",
    );
    report("  same, style: plain (diagnostic)", psql_time, plain_style, "");
    report(
        "200 migrations, deployctl vs prisma migrate deploy",
        peer_time,
        prisma_style,
        "ratio < 1 (faster)",
    );
}

/// 20 tenant tables with RLS forced, a policy each, and 100 + 150 rows of two tenants.
fn rls_setup(db: &Db) {
    let mut sql = format!(
        "DO $$ BEGIN CREATE ROLE {ROLE} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;\nGRANT USAGE ON SCHEMA public TO {ROLE};\n"
    );
    for i in 0..TABLES {
        sql.push_str(&format!(
            "CREATE TABLE t{i} (id serial PRIMARY KEY, tenant_id uuid NOT NULL, body text NOT NULL DEFAULT '');
ALTER TABLE t{i} ENABLE ROW LEVEL SECURITY; ALTER TABLE t{i} FORCE ROW LEVEL SECURITY;
CREATE POLICY t{i}_tenant ON t{i} USING (tenant_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
  WITH CHECK (tenant_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON t{i} TO {ROLE};
INSERT INTO t{i} (tenant_id) SELECT '{TENANT_A}' FROM generate_series(1, 100);
INSERT INTO t{i} (tenant_id) SELECT '{TENANT_B}' FROM generate_series(1, 150);
"
        ));
    }
    let file = std::env::temp_dir().join(format!("deployctl-bench-rls-{}.sql", std::process::id()));
    write(&file, &sql);
    timed(psql(&db.url).arg("-f").arg(&file), "rls setup");
    let _ = std::fs::remove_file(file);
}

/// The statements the `rls` step sends, as one psql script (literal tenants, same order).
fn rls_script() -> String {
    let mut sql = String::from("BEGIN;\nSET LOCAL statement_timeout = 60000;\n");
    sql.push_str(&format!(
        "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = '{ROLE}';\n"
    ));
    let tenants = [TENANT_A, TENANT_B];
    for i in 0..TABLES {
        sql.push_str(&format!(
            "SELECT c.relrowsecurity, c.relforcerowsecurity FROM pg_class c WHERE c.oid = to_regclass('t{i}');\n"
        ));
        sql.push_str(&format!(
            "SELECT p.cmd FROM pg_policies p WHERE p.tablename = 't{i}';\n"
        ));
        for t in tenants {
            sql.push_str(&format!("SELECT count(*) FROM t{i} WHERE tenant_id = '{t}';\n"));
        }
    }
    sql.push_str(&format!("SET LOCAL ROLE {ROLE};\n"));
    let guarded = |s: &str| format!("SAVEPOINT p;\n{s};\nROLLBACK TO SAVEPOINT p; RELEASE SAVEPOINT p;\n");
    for i in 0..TABLES {
        for (a, b) in [(TENANT_A, TENANT_B), (TENANT_B, TENANT_A)] {
            sql.push_str(&format!("SELECT set_config('app.current_user_id', '{a}', true);\n"));
            sql.push_str(&guarded(&format!("SELECT count(*) FROM t{i}")));
            sql.push_str(&guarded(&format!("SELECT count(*) FROM t{i} WHERE tenant_id = '{a}'")));
            sql.push_str(&guarded(&format!("SELECT count(*) FROM t{i} WHERE tenant_id = '{b}'")));
            sql.push_str(&guarded(&format!(
                "UPDATE t{i} SET tenant_id = tenant_id WHERE tenant_id = '{b}'"
            )));
            sql.push_str(&guarded(&format!("DELETE FROM t{i} WHERE tenant_id = '{b}'")));
            sql.push_str(&guarded(&format!("INSERT INTO t{i} (tenant_id) VALUES ('{b}')")));
        }
        sql.push_str("SELECT set_config('app.current_user_id', '', true);\n");
        sql.push_str(&guarded(&format!("SELECT count(*) FROM t{i}")));
    }
    sql.push_str("ROLLBACK;\n");
    sql
}

fn rls_20(work: &Path) {
    let db = Db::create("rls");
    rls_setup(&db);
    let script = work.join("rls.sql");
    write(&script, &rls_script());
    let tables: Vec<String> = (0..TABLES)
        .map(|i| format!("{{ name: t{i}, tenant_column: tenant_id }}"))
        .collect();
    let runbook = format!(
        "deployctl: 1\nname: bench\ndatabases:\n  app: {{ url: \"{}\" }}\nphases:\n  - id: p\n    steps:\n      - {{ id: rls, rls: {{ database: app, role: {ROLE}, setting: app.current_user_id, tenants: [\"{TENANT_A}\", \"{TENANT_B}\"], tables: [{}] }} }}\n",
        db.url,
        tables.join(", ")
    );
    let rounds: Vec<[Duration; 2]> = (0..ROUNDS)
        .map(|_| {
            // The refused cross-tenant INSERTs are expected errors: no ON_ERROR_STOP here.
            let mut command = Command::new("psql");
            command
                .args(["-X", "-q", "-o", "/dev/null", "-d", &db.url, "-f"])
                .arg(&script)
                .stderr(Stdio::null());
            [timed(&mut command, "psql rls script"), deployctl(work, &runbook)]
        })
        .collect();
    let [baseline, measured] = medians(&rounds);
    report(
        "rls check of 20 tables vs psql, same statements",
        baseline,
        measured,
        "ratio <= 1.5",
    );
    drop(db);
    admin(&format!("DROP ROLE IF EXISTS {ROLE}"));
}

/// Rounds of the 100 MB backup contenders (each round dumps and restores 100 MB twice).
const BACKUP_ROUNDS: usize = 3;

/// Row counts of the bench tables by hand, one `psql` session.
fn count_by_hand(url: &str) -> Duration {
    timed(
        psql(url).args([
            "-c",
            "SELECT count(*) FROM big_a; SELECT count(*) FROM big_b; SELECT count(*) FROM small",
            "-o",
            "/dev/null",
        ]),
        "psql counts",
    )
}

/// `pg_dump`, a scratch database, `pg_restore` into it, counts of both, the scratch dropped.
fn backup_by_hand(db: &Db, work: &Path) -> Duration {
    let file = work.join("hand.dump");
    let scratch = format!("{}_hand", db.name);
    let start = Instant::now();
    timed(
        Command::new("pg_dump")
            .args(["--format=custom", "--file"])
            .arg(&file)
            .args(["-d", &db.url]),
        "pg_dump",
    );
    count_by_hand(&db.url);
    admin(&format!("CREATE DATABASE {scratch} TEMPLATE template0"));
    let scratch_url = db.url.replace(&db.name, &scratch);
    timed(
        Command::new("pg_restore")
            .args([
                "--exit-on-error",
                "--single-transaction",
                "--no-owner",
                "--no-privileges",
                "-d",
                &scratch_url,
            ])
            .arg(&file),
        "pg_restore",
    );
    count_by_hand(&scratch_url);
    admin(&format!("DROP DATABASE {scratch} WITH (FORCE)"));
    let took = start.elapsed();
    let _ = std::fs::remove_file(&file);
    took
}

fn backup_100mb(work: &Path) {
    if let Err(e) = std::fs::create_dir_all(work) {
        panic!("cannot create {}: {e}", work.display());
    }
    let db = Db::create("backup");
    timed(
        psql(&db.url).args([
            "-c",
            "CREATE TABLE big_a (id int PRIMARY KEY, payload text); \
             INSERT INTO big_a SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, 340000) g; \
             CREATE TABLE big_b (id int PRIMARY KEY, a int REFERENCES big_a, note text); \
             INSERT INTO big_b SELECT g, g, repeat('n', 80) FROM generate_series(1, 300000) g; \
             CREATE TABLE small (id int); INSERT INTO small SELECT generate_series(1, 1000)",
            "-c",
            "VACUUM ANALYZE",
        ]),
        "fill the backup database",
    );
    let size: String = String::from_utf8_lossy(
        &psql(&db.url)
            .args([
                "-At",
                "-c",
                "SELECT pg_size_pretty(pg_database_size(current_database()))",
            ])
            .output()
            .map(|o| o.stdout)
            .unwrap_or_default(),
    )
    .trim()
    .to_string();
    println!("backup database: {size}");
    let runbook = format!(
        "deployctl: 1\nname: bench\ndatabases:\n  app: {{ url: \"{}\" }}\nphases:\n  - id: p\n    steps:\n      - {{ id: b, timeout: 30m, backup: {{ database: app, dir: backups, verify: restore }} }}\n",
        db.url
    );
    let rounds: Vec<[Duration; 2]> = (0..BACKUP_ROUNDS)
        .map(|_| {
            let _ = std::fs::remove_dir_all(work.join("backups"));
            let hand = backup_by_hand(&db, work);
            [hand, deployctl(work, &runbook)]
        })
        .collect();
    let [baseline, measured] = medians(&rounds);
    report(
        "backup verify: restore, 100 MB vs by hand",
        baseline,
        measured,
        "ratio <= 1.3",
    );
}

fn main() {
    let work = std::env::temp_dir().join(format!("deployctl-bench-migrate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    if std::env::var("BENCH_MIGRATE_ONLY").as_deref() == Ok("backup") {
        backup_100mb(&work);
        let _ = std::fs::remove_dir_all(&work);
        return;
    }
    // `cargo bench --bench migrate -- reader-stall` runs that case alone.
    if !std::env::args().any(|a| a == "reader-stall") {
        migrations_200(&work);
        rls_20(&work);
        backup_100mb(&work);
    }
    let (psql, deployctl) = reader_stall::measure(&work);
    report(
        "reader stall: max read wait, deployctl vs psql -f",
        psql,
        deployctl,
        "about lock_timeout (1 s)",
    );
    let _ = std::fs::remove_dir_all(&work);
}
