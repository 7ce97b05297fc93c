//! `rls` tables with `through:`: tenant isolation checked through the service's HTTP API
//! with the real binary, the real demo service and a real PostgreSQL (one database per
//! test). A service that leaks other tenants' rows, or serves a tenant none of its rows (a
//! middleware that never sets the tenant), fails the step while the database checks pass.

use crate::db::TestDb;
use crate::demo_stack::{ServiceProcess, TENANT_A, TENANT_B};
use crate::harness::{Outcome, Workspace};
use crate::http_server::TestHttp;
use crate::migrations::service;

/// Migrates the community set, seeds A with 2 posts and B with 3.
fn community_db() -> TestDb {
    let db = TestDb::create();
    let ws = Workspace::new(&format!(
        "deployctl: 1\nname: m\ndatabases:\n  app: {{ url: \"{}\" }}\nphases:\n  - id: p\n    steps:\n      - {{ id: m, migrate: {{ database: app, dir: \"{}\" }} }}\n",
        db.url,
        service("community").display()
    ));
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    db.execute(&format!(
        "INSERT INTO posts (author_id, title) VALUES ('{TENANT_A}', 'a1'), ('{TENANT_A}', 'a2'), ('{TENANT_B}', 'b1'), ('{TENANT_B}', 'b2'), ('{TENANT_B}', 'b3')"
    ));
    db
}

/// Runs one `rls` step over `posts` checked through `url`.
fn rls_through(db: &TestDb, url: &str) -> (Workspace, Outcome) {
    let ws = Workspace::new(&format!(
        r#"deployctl: 1
name: through
databases:
  app: {{ url: "{}" }}
phases:
  - id: p
    steps:
      - id: rls
        rls:
          database: app
          role: app_user
          setting: app.current_user_id
          tenants: ["{TENANT_A}", "{TENANT_B}"]
          tables: [{{ name: posts, tenant_column: author_id, through: {{ url: "{url}", tenant_header: X-User-Id, owner_field: author_id, items: /rows }} }}]
"#,
        db.url
    ));
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    (ws, out)
}

#[test]
fn the_demo_service_under_rls_serves_each_tenant_exactly_its_rows() {
    let db = community_db();
    let svc = ServiceProcess::start("community", &db.url, &[]);
    let (ws, out) = rls_through(&db, &format!("http://127.0.0.1:{}/posts", svc.port));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let done = ws.events("through", "step_finished");
    let detail = done[0]["detail"]
        .as_str()
        .or(done[0]["reason"].as_str())
        .unwrap_or_default()
        .to_string();
    assert!(detail.contains("assertions hold"), "{}", done[0]);
}

#[test]
fn a_service_that_leaks_other_tenants_rows_fails_the_step() {
    let db = community_db();
    let http = TestHttp::start();
    http.answer(
        200,
        &format!(r#"{{"rows":[{{"author_id":"{TENANT_A}"}},{{"author_id":"{TENANT_B}"}}]}}"#),
    );
    let (_, out) = rls_through(&db, &http.url("/posts"));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("1 of 2 items are not the tenant's (`author_id`: 2222…): the service leaks other tenants' rows"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("without `X-User-Id`: 2 items returned"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_service_that_never_sets_the_tenant_serves_nothing_and_fails_the_step() {
    let db = community_db();
    let http = TestHttp::start();
    http.answer(200, r#"{"rows":[]}"#);
    let (_, out) = rls_through(&db, &http.url("/posts"));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("0 items, but the tenant has 2 rows in `posts`"),
        "{}",
        out.stderr
    );
}
