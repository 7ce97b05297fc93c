//! `sql` steps and checks against a real PostgreSQL, one database per test.

use crate::db::TestDb;
use crate::harness::Workspace;

fn runbook(db: &TestDb, steps: &str) -> String {
    format!(
        "deployctl: 1\nname: sqlsteps\nvars: {{ tenant: alice }}\ndatabases:\n  app: {{ url: \"{}\" }}\nphases:\n  - id: p\n    steps:\n{steps}",
        db.url
    )
}

#[test]
fn sql_steps_check_rows_values_and_bound_params() {
    let db = TestDb::create();
    db.execute(
        "create table posts (id int primary key, author text); insert into posts values (1, 'alice'), (2, 'bob');",
    );
    let ws = Workspace::new(&runbook(
        &db,
        r#"      - { id: ready, sql: { database: app, query: "select 1", expect: { rows: 1 } } }
      - { id: two, sql: { database: app, query: "select count(*) from posts", expect: { value: 2 } } }
      - { id: mine, sql: { database: app, query: "select count(*) from posts where author = $1", params: ["${vars.tenant}"], expect: { value: 1 } } }
      - { id: typed, sql: { database: app, query: "select $1::int + $2::int", params: [40, 2], expect: { value: 42 } } }
      - { id: nothing, sql: { database: app, query: "select * from posts where id = $1", params: [99], expect: { empty: true } } }
      - { id: injection-proof, sql: { database: app, query: "select count(*) from posts where author = $1", params: ["x'; drop table posts; --"], expect: { value: 0 } } }
"#,
    ));
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("[x] two") && out.stdout.contains("value 2"),
        "{}",
        out.stdout
    );
    assert_eq!(
        db.scalar("select count(*)::text from posts").as_deref(),
        Some("2"),
        "the table survived"
    );
}

#[test]
fn a_failed_expectation_says_what_was_found() {
    let db = TestDb::create();
    db.execute("create table posts (id int); insert into posts values (1);");
    let ws = Workspace::new(&runbook(
        &db,
        "      - { id: two, sql: { database: app, query: \"select * from posts\", expect: { rows: 2 } } }\n",
    ));
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("returned 1 row, expected 2 rows"), "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("/{}", db.name)),
        "names the database: {}",
        out.stderr
    );
}

#[test]
fn connection_errors_name_the_target_and_mask_the_password() {
    let ws = Workspace::new(
        "deployctl: 1\nname: down\ndatabases:\n  app: { url: \"postgres://app:canary-pw-9911@127.0.0.1:1/nodb\" }\nphases:\n  - id: p\n    steps:\n      - { id: ready, timeout: 3s, sql: { database: app, query: \"select 1\" } }\n",
    );
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("cannot connect to database `app` (127.0.0.1:1/nodb)"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("canary-pw-9911") && !out.stdout.contains("canary-pw-9911"));
    let journal = std::fs::read_to_string(ws.journal_path("down")).expect("journal");
    assert!(!journal.contains("canary-pw-9911"));
}

#[test]
fn a_slow_query_is_cancelled_by_the_server() {
    let db = TestDb::create();
    let ws = Workspace::new(&runbook(
        &db,
        "      - { id: slow, timeout: 2s, sql: { database: app, query: \"select pg_sleep(30)\" } }\n",
    ));
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("statement timeout"), "{}", out.stderr);
}

#[test]
fn an_sql_verify_is_rechecked_on_resume() {
    let db = TestDb::create();
    db.execute("create table flags (on_ boolean); insert into flags values (true);");
    let ws = Workspace::new(&runbook(
        &db,
        r#"      - id: enable
        shell: "echo enabled"
        verify: { sql: { database: app, query: "select on_ from flags", expect: { value: true } } }
      - { id: later, shell: "test -f go" }
"#,
    ));
    assert_eq!(ws.deployctl().args(["run", "r.yaml"]).run().code, 1);
    db.execute("update flags set on_ = false;");
    std::fs::write(ws.file("go"), "").expect("go");
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("verify check no longer holds") && out.stderr.contains("returned false, expected true"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_online_dry_run_probes_read_only_and_changes_nothing() {
    use crate::http_server::TestHttp;
    let db = TestDb::create();
    db.execute("create table counter (n int); insert into counter values (0);");
    let http = TestHttp::start();
    let ws = Workspace::new(&format!(
        r#"deployctl: 1
name: probes
databases:
  app: {{ url: "{db}" }}
  down: {{ url: "postgres://app:probe-pw-4417@127.0.0.1:1/nodb" }}
phases:
  - id: p
    steps:
      - {{ id: bump, sql: {{ database: app, query: "update counter set n = n + 1" }} }}
      - {{ id: health, http: "{health}" }}
      - {{ id: post, http: {{ url: "{hook}", method: POST, body: "x" }} }}
      - {{ id: cmd, shell: "touch ran" }}
"#,
        db = db.url,
        health = http.url("/health"),
        hook = http.url("/hook"),
    ));
    let out = ws
        .deployctl()
        .args(["--output", "json", "run", "--dry-run", "r.yaml"])
        .run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let lines: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let verdict = |id: &str| {
        lines
            .iter()
            .find(|l| l["step"]["id"] == id)
            .map(|l| l["step"]["verdict"].clone())
            .expect("step")
    };
    assert_eq!(verdict("bump"), "verified");
    assert_eq!(verdict("health"), "verified");
    assert_eq!(verdict("post"), "simulated", "a POST is never sent by a dry-run");
    assert_eq!(verdict("cmd"), "opaque");
    assert_eq!(
        db.scalar("select n::text from counter").as_deref(),
        Some("0"),
        "the step's own query did not run"
    );
    assert!(
        http.requests().iter().all(|r| r.path == "/health"),
        "only the GET was sent"
    );
    assert!(
        !ws.file("ran").exists() && !ws.path().join(".deployctl").exists(),
        "nothing run, no journal"
    );

    ws.rewrite(
        &std::fs::read_to_string(ws.file("r.yaml"))
            .expect("runbook")
            .replace("database: app, query", "database: down, query"),
    );
    let out = ws.deployctl().args(["run", "--dry-run", "r.yaml"]).run();
    assert_eq!(out.code, 1, "a failed probe is not a clean dry-run: {}", out.stdout);
    assert!(
        out.stdout
            .contains("✗ probe failed: cannot connect to database `down` (127.0.0.1:1/nodb)"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("probe-pw-4417") && !out.stderr.contains("probe-pw-4417"));
}

#[test]
fn migrate_plans_applies_and_is_then_up_to_date() {
    let db = TestDb::create();
    let dir = crate::harness::fixture("migrations/prisma");
    let ws = Workspace::new(&format!(
        r#"deployctl: 1
name: migrations
databases:
  app: {{ url: "{url}" }}
phases:
  - id: migrate
    steps:
      - {{ id: apply, migrate: {{ database: app, dir: "{dir}" }} }}
      - {{ id: status, migrate: {{ database: app, dir: "{dir}", check: true }} }}
"#,
        url = db.url,
        dir = dir.display()
    ));
    let plan = ws.deployctl().args(["run", "--dry-run", "r.yaml"]).run();
    // The dry-run models the run: the check verifies `apply`'s change, so it is not probed
    // now (it would find the migrations pending) and is no failure (issue 18).
    assert_eq!(plan.code, 0, "a check after the change it verifies: {}", plan.stdout);
    assert!(plan.stdout.contains("✓ would apply"), "{}", plan.stdout);
    assert!(plan.stdout.contains("checked after `apply`"), "{}", plan.stdout);
    assert!(!plan.stdout.contains("probe failed"), "{}", plan.stdout);
    assert_eq!(
        db.scalar("select to_regclass('public._prisma_migrations')::text"),
        None,
        "the probe created nothing"
    );

    let run = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("applied "), "{}", run.stdout);

    let again = ws.deployctl().args(["run", "--dry-run", "r.yaml"]).run();
    assert_eq!(again.code, 0, "{}", again.stdout);
    assert_eq!(again.stdout.matches("✓ up to date").count(), 2, "{}", again.stdout);
}

#[test]
fn backup_and_rls_are_probed_and_then_run_against_the_real_database() {
    let db = TestDb::create();
    let role = format!("probe_app_{}", db.name);
    db.execute(&format!(
        "DROP ROLE IF EXISTS \"{role}\"; CREATE ROLE \"{role}\" NOLOGIN;"
    ));
    let setup = std::fs::read_to_string(crate::harness::fixture("rls/good.sql")).expect("fixture");
    db.execute(&setup.replace("__ROLE__", &role));
    let ws = Workspace::new(&format!(
        r#"deployctl: 1
name: rlsrun
databases:
  app: {{ url: "{url}" }}
phases:
  - id: p
    steps:
      - {{ id: dump, backup: {{ database: app, dir: backups }} }}
      - id: isolation
        rls:
          database: app
          role: "{role}"
          setting: app.current_user_id
          tenants: ["11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"]
          tables: [ {{ name: posts, tenant_column: author_id }}, {{ name: listings, tenant_column: seller_id }} ]
"#,
        url = db.url
    ));
    let rows_before = db.scalar("select count(*)::text from posts");
    let plan = ws.deployctl().args(["run", "--dry-run", "r.yaml"]).run();
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout.contains("verified   dump") && plan.stdout.contains("✓ pg_dump"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("verified   isolation") && plan.stdout.contains("✓ catalog:"),
        "{}",
        plan.stdout
    );
    assert!(!ws.file("backups").exists(), "the probe dumped nothing");

    let run = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("assertions hold"), "{}", run.stdout);
    let dumps: Vec<_> = std::fs::read_dir(ws.file("backups"))
        .expect("backups")
        .flatten()
        .collect();
    assert_eq!(dumps.len(), 1, "one verified dump, no .partial");
    assert_eq!(
        db.scalar("select count(*)::text from posts"),
        rows_before,
        "rls left the data unchanged"
    );
    db.execute(&format!("DROP OWNED BY \"{role}\"; DROP ROLE \"{role}\";"));
}
