//! Faults at the targets, each real, each ending in a message that names the target within
//! the step's timeout: PostgreSQL refusing a login or dropping a query mid-way, an HTTP
//! endpoint that refuses, hangs, is slow, resets, fails or floods, a name that does not
//! resolve, `pg_dump` missing, a restart command that never returns. PostgreSQL down and a
//! server-side statement timeout are in `sql.rs`; the unit tests of `src/steps` cover the
//! same faults below the CLI.
//!
//! Not testable here: a wrong password. The test cluster trusts every connection from
//! 127.0.0.1 (`pg_hba.conf`: `host all all 127.0.0.1/32 trust`), so any password is
//! accepted; the refusal path is exercised with a role that may not log in instead.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::db::TestDb;
use crate::harness::{Workspace, eventually};
use crate::http_server::TestHttp;

/// What a [`FaultServer`] does with each connection.
#[derive(Clone, Copy)]
enum Fault {
    /// Accepts, reads nothing, answers nothing, keeps the connection open.
    Hang,
    /// Closes with the request unread: the kernel answers with a TCP reset.
    Reset,
    /// Answers 200 with a body of this many bytes.
    Flood(usize),
}

/// A TCP server on 127.0.0.1:0 misbehaving on purpose; its threads end with the test process.
struct FaultServer {
    port: u16,
    _held: Arc<Mutex<Vec<TcpStream>>>,
}

impl FaultServer {
    fn start(fault: Fault) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let held = Arc::new(Mutex::new(Vec::new()));
        let keep = held.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let keep = keep.clone();
                std::thread::spawn(move || serve(stream, fault, &keep));
            }
        });
        FaultServer { port, _held: held }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/health", self.port)
    }
}

fn serve(mut stream: TcpStream, fault: Fault, held: &Mutex<Vec<TcpStream>>) {
    match fault {
        Fault::Hang => held.lock().expect("lock").push(stream),
        Fault::Reset => {
            // Wait for the request to arrive, then close with it unread.
            let _ = stream.peek(&mut [0u8; 1]);
        }
        Fault::Flood(size) => {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let head = format!("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {size}\r\n\r\n");
            let _ = stream.write_all(head.as_bytes());
            let chunk = vec![b'a'; 64 * 1024];
            let mut left = size;
            while left > 0 {
                let n = left.min(chunk.len());
                if stream.write_all(&chunk[..n]).is_err() {
                    return;
                }
                left -= n;
            }
        }
    }
}

fn one_step(name: &str, step: &str) -> Workspace {
    Workspace::new(&format!(
        "deployctl: 1\nname: {name}\nphases:\n  - id: p\n    steps:\n      - {step}\n"
    ))
}

fn assert_fails_naming(ws: &Workspace, needles: &[&str]) -> String {
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    for needle in needles {
        assert!(out.stderr.contains(needle), "expected `{needle}` in:\n{}", out.stderr);
    }
    out.stderr
}

#[test]
fn an_http_endpoint_that_refuses_names_the_url() {
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let url = format!("http://127.0.0.1:{port}/health");
    let ws = one_step("refused", &format!("{{ id: health, timeout: 5s, http: \"{url}\" }}"));
    assert_fails_naming(&ws, &[&format!("127.0.0.1:{port}"), "refused"]);
}

#[test]
fn an_http_endpoint_that_hangs_fails_at_the_step_timeout() {
    let server = FaultServer::start(Fault::Hang);
    let ws = one_step(
        "hang",
        &format!("{{ id: health, timeout: 1s, http: \"{}\" }}", server.url()),
    );
    assert_fails_naming(&ws, &["health", "timed out after 1s"]);
}

#[test]
fn a_slow_endpoint_passes_within_the_timeout_and_fails_over_max_ms_or_past_it() {
    let http = TestHttp::start();
    http.delay(Duration::from_millis(300));
    let url = http.url("/slow");
    let ws = Workspace::new(&format!(
        "deployctl: 1\nname: slow\nphases:\n  - id: p\n    steps:\n      - {{ id: patient, timeout: 10s, http: \"{url}\" }}\n      - {{ id: strict, timeout: 10s, http: {{ url: \"{url}\", expect: {{ max_ms: 100 }} }} }}\n"
    ));
    let stderr = assert_fails_naming(&ws, &["strict", "over max_ms 100"]);
    assert!(!stderr.contains("patient"), "the patient check passed: {stderr}");
    let too_slow = one_step("tooslow", &format!("{{ id: health, timeout: 100ms, http: \"{url}\" }}"));
    assert_fails_naming(&too_slow, &["timed out after 100ms"]);
}

#[test]
fn an_endpoint_that_resets_the_connection_names_the_url() {
    let server = FaultServer::start(Fault::Reset);
    let ws = one_step(
        "reset",
        &format!("{{ id: health, timeout: 5s, http: \"{}\" }}", server.url()),
    );
    assert_fails_naming(&ws, &[&format!("127.0.0.1:{}", server.port)]);
}

#[test]
fn a_500_names_the_status_and_the_body() {
    let http = TestHttp::start();
    http.answer(500, "database pool exhausted");
    let ws = one_step(
        "five",
        &format!("{{ id: health, timeout: 5s, http: \"{}\" }}", http.url("/health")),
    );
    assert_fails_naming(&ws, &["health", "answered 500", &http.url("/health")]);
    let finished = ws.events("five", "step_finished");
    let output = finished[0]["output"].as_str().unwrap_or_default();
    assert!(
        output.contains("database pool exhausted"),
        "the body is in the journal: {finished:?}"
    );
}

#[test]
fn a_10_mib_body_is_read_bounded_and_the_journal_stays_small() {
    let server = FaultServer::start(Fault::Flood(10 << 20));
    let ws = one_step(
        "flood",
        &format!(
            "{{ id: health, timeout: 20s, http: {{ url: \"{}\", expect: {{ body_contains: \"never-in-the-body\" }} }} }}",
            server.url()
        ),
    );
    assert_fails_naming(&ws, &["only the first 1 MiB was read"]);
    let journal = std::fs::metadata(ws.journal_path("flood")).expect("journal").len();
    assert!(
        journal < 64 * 1024,
        "the journal holds a bounded excerpt, not the body: {journal} bytes"
    );
}

#[test]
fn a_name_that_does_not_resolve_is_named_for_http_and_sql() {
    let ws = Workspace::new(
        "deployctl: 1\nname: dns\ndatabases:\n  app: { url: \"postgres://postgres@db.deployctl-test.invalid:5432/app\" }\nphases:\n  - id: p\n    steps:\n      - { id: web, timeout: 10s, http: \"http://api.deployctl-test.invalid/health\", on_failure: continue }\n      - { id: db, timeout: 10s, sql: { database: app, query: \"select 1\" } }\n",
    );
    assert_fails_naming(&ws, &["database `app`", "db.deployctl-test.invalid"]);
    let web = &ws.events("dns", "step_finished")[0];
    let reason = web["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("api.deployctl-test.invalid"), "{web}");
}

#[test]
fn a_role_that_may_not_log_in_is_refused_by_the_server_and_named() {
    let db = TestDb::create();
    let role = format!("deployctl_nologin_{}", std::process::id());
    db.execute(&format!(
        "do $$ begin if not exists (select from pg_roles where rolname = '{role}') then create role {role} nologin; end if; end $$;"
    ));
    let mut url = url::Url::parse(&db.url).expect("url");
    url.set_username(&role).expect("user");
    let ws = Workspace::new(&format!(
        "deployctl: 1\nname: refused\ndatabases:\n  app: {{ url: \"{url}\" }}\nphases:\n  - id: p\n    steps:\n      - {{ id: ready, timeout: 10s, sql: {{ database: app, query: \"select 1\" }} }}\n"
    ));
    assert_fails_naming(&ws, &["database `app`", "not permitted to log in"]);
    db.execute(&format!("drop role if exists {role}"));
}

#[test]
fn a_query_killed_by_pg_terminate_backend_fails_naming_the_database() {
    let db = TestDb::create();
    let ws = Workspace::new(&format!(
        "deployctl: 1\nname: dropped\ndatabases:\n  app: {{ url: \"{}\" }}\nphases:\n  - id: p\n    steps:\n      - {{ id: long, timeout: 60s, sql: {{ database: app, query: \"select pg_sleep(60)\" }} }}\n",
        db.url
    ));
    let child = ws.spawn_run();
    let running = "select count(*)::text from pg_stat_activity where query = 'select pg_sleep(60)' and datname = current_database()";
    assert!(
        eventually(20, || db.scalar(running).as_deref() == Some("1")),
        "the query is running"
    );
    db.execute(
        "select pg_terminate_backend(pid) from pg_stat_activity where query = 'select pg_sleep(60)' and datname = current_database()",
    );
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("long") && stderr.contains(&db.name), "{stderr}");
    assert!(stderr.contains("terminat"), "says the server ended it: {stderr}");
}

#[test]
fn a_missing_pg_dump_says_what_to_install() {
    let db = TestDb::create();
    let empty = tempfile::tempdir().expect("tempdir");
    let ws = Workspace::new(&format!(
        "deployctl: 1\nname: nodump\ndatabases:\n  app: {{ url: \"{}\" }}\nphases:\n  - id: p\n    steps:\n      - {{ id: backup, timeout: 30s, backup: {{ database: app, dir: backups }} }}\n",
        db.url
    ));
    let out = ws
        .deployctl()
        .env("PATH", &empty.path().to_string_lossy())
        .args(["run", "r.yaml"])
        .run();
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("pg_dump is not installed") && out.stderr.contains("postgresql-client"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_restart_command_that_never_returns_is_killed_and_named() {
    let http = TestHttp::start();
    let ws = Workspace::new(&format!(
        "deployctl: 1\nname: stuck\nservices:\n  api: {{ health: \"{}\", restart: \"echo $$ > restart.pid; sleep 1000\" }}\nphases:\n  - id: p\n    steps:\n      - {{ id: restart, rolling_restart: {{ services: [api], health_timeout: 1s }} }}\n",
        http.url("/health")
    ));
    let stderr = assert_fails_naming(&ws, &["api"]);
    assert!(stderr.contains("1s"), "names the limit: {stderr}");
    let pid: i32 = std::fs::read_to_string(ws.file("restart.pid"))
        .expect("pid")
        .trim()
        .parse()
        .expect("pid");
    assert!(
        eventually(5, || !crate::harness::alive(pid)),
        "the restart command was killed"
    );
}
