//! The squawk lint of migrations in `validate` and `run --dry-run`, and the online dry-run's
//! lock report (tables, lock modes, row counts, the sessions that would block now).

use crate::db::TestDb;
use crate::harness::Workspace;

/// A runbook with one Prisma-style migrate step over `migrations/`, `extra` appended to it.
fn workspace(url: &str, extra: &str, sql: &str) -> Workspace {
    let ws = Workspace::new(&format!(
        "deployctl: 1\nname: lint\ndatabases:\n  app: {{ url: \"{url}\" }}\nphases:\n  - id: db\n    steps:\n      - id: migrate\n        migrate: {{ database: app, dir: migrations{extra} }}\n"
    ));
    let dir = ws.path().join("migrations/20240101000000_index");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("migration.sql"), sql).expect("write");
    ws
}

const INDEX: &str = "-- speed up the feed\nCREATE INDEX posts_body ON posts (body);\n";

#[test]
fn a_plain_create_index_warns_with_its_rule_and_strict_refuses() {
    let ws = workspace("postgres://127.0.0.1/x", "", INDEX);
    let out = ws.deployctl().args(["validate", "r.yaml"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "migrations/20240101000000_index/migration.sql:2:1: warning[require-concurrent-index-creation]: "
        ),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("hint: Use `concurrently`"), "{}", out.stderr);
    assert!(!out.stderr.contains("require-lock-timeout"), "{}", out.stderr);
    assert!(!out.stderr.contains("require-statement-timeout"), "{}", out.stderr);
    let strict = ws.deployctl().args(["validate", "--strict", "r.yaml"]).run();
    assert_eq!(strict.code, 2, "{}", strict.stderr);

    let dry = ws.deployctl().args(["run", "--dry-run", "--offline", "r.yaml"]).run();
    assert!(
        dry.stderr.contains("warning[require-concurrent-index-creation]"),
        "{}",
        dry.stderr
    );
}

#[test]
fn ignores_in_the_file_and_on_the_step_are_honoured() {
    let commented = "-- squawk-ignore require-concurrent-index-creation\nCREATE INDEX posts_body ON posts (body);\n";
    let ws = workspace("postgres://127.0.0.1/x", "", commented);
    let out = ws.deployctl().args(["validate", "r.yaml"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("warning["), "{}", out.stderr);

    let extra = ", lint: { ignore: [require-concurrent-index-creation] }";
    let ws = workspace("postgres://127.0.0.1/x", extra, INDEX);
    let out = ws.deployctl().args(["validate", "r.yaml"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("warning["), "{}", out.stderr);

    let ws = workspace("postgres://127.0.0.1/x", ", lint: { ignore: [no-such-rule] }", INDEX);
    let out = ws.deployctl().args(["validate", "r.yaml"]).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("unknown lint rule `no-such-rule`"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_online_dry_run_reports_locks_rows_and_the_session_that_would_block() {
    let db = TestDb::create();
    db.execute("CREATE TABLE posts (id int PRIMARY KEY, body text); INSERT INTO posts SELECT g, 'x' FROM generate_series(1, 42) g;");
    let sql = "ALTER TABLE posts ENABLE ROW LEVEL SECURITY;\nCREATE TABLE fresh (id bigint);\n";
    let ws = workspace(&db.url, "", sql);
    let quiet = ws.deployctl().args(["run", "--dry-run", "r.yaml"]).run();
    assert_eq!(quiet.code, 0, "{}\n{}", quiet.stdout, quiet.stderr);
    assert!(
        quiet
            .stdout
            .contains("`20240101000000_index`: posts ACCESS EXCLUSIVE, 42 rows, no session would block it now"),
        "{}",
        quiet.stdout
    );
    assert!(
        quiet.stdout.contains("(lock_timeout 5s, 3 retries)"),
        "{}",
        quiet.stdout
    );

    let blocker = crate::lock_retries::Blocker::hold(&db.url);
    let busy = ws.deployctl().args(["run", "--dry-run", "r.yaml"]).run();
    blocker.release();
    assert!(
        busy.stdout
            .contains("posts ACCESS EXCLUSIVE, 42 rows, would wait for pid "),
        "{}",
        busy.stdout
    );
    assert!(busy.stdout.contains("idle in transaction for"), "{}", busy.stdout);
    assert!(
        busy.stdout
            .contains("holds AccessShareLock: BEGIN; SELECT count(*) FROM posts"),
        "{}",
        busy.stdout
    );
}
