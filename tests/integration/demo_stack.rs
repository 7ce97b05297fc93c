//! The demo's moving parts for tests: its databases (one `TestDb` each), free ports for the
//! four services, a private `scripts/demo-services` state dir, and a tiny HTTP client.
//! Dropping a stack stops every service its state dir started.
//!
//! The service binary belongs to another workspace member (`demo/service`), which cargo does
//! not build for deployctl's tests, so [`demo_service_bin`] builds it once per test run.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use crate::db::TestDb;
use crate::harness::{eventually, repo};

/// The four services, in the runbook's restart order.
pub const SERVICES: [&str; 4] = ["community", "marketplace", "academy", "business"];

/// The seed's tenants: A and B are the runbook's RLS tenants, C a third user.
pub const TENANT_A: &str = "11111111-1111-1111-1111-111111111111";
pub const TENANT_B: &str = "22222222-2222-2222-2222-222222222222";
pub const TENANT_C: &str = "33333333-3333-3333-3333-333333333333";

/// Each service's data endpoint and the column naming a row's owner.
pub const ENDPOINTS: [(&str, &str, &str); 4] = [
    ("community", "/posts", "author_id"),
    ("marketplace", "/listings", "seller_id"),
    ("academy", "/enrollments", "student_id"),
    ("business", "/accounts", "owner_id"),
];

/// The owners of the rows a caller got.
pub fn owners(port: u16, path: &str, column: &str, user: &str) -> Vec<String> {
    let (status, body) = get(port, path, Some(user)).expect("the service answers");
    assert_eq!(status, 200, "{path} as {user}: {body}");
    assert_eq!(body["user_id"], user);
    body["rows"]
        .as_array()
        .expect("rows is an array")
        .iter()
        .map(|row| row[column].as_str().expect("owner column").to_string())
        .collect()
}

/// `deployctl-demo-service`, built (on first use, by `cargo build -p`) beside the deployctl
/// binary under test: same target dir, same profile, up to date with the source.
pub fn demo_service_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(build_demo_service)
}

/// What cargo sets for a test process. A nested cargo must not see them: build scripts that
/// watch them (ring's) would rerun, and the next `cargo test` would rebuild them once more.
const SET_FOR_TESTS: [&str; 7] = [
    "CARGO_PKG_",
    "CARGO_MANIFEST_",
    "CARGO_BIN_",
    "CARGO_CRATE_",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_TMPDIR",
    "OUT_DIR",
];

fn build_demo_service() -> PathBuf {
    let profile_dir = Path::new(env!("CARGO_BIN_EXE_deployctl"))
        .parent()
        .expect("the deployctl binary is in a profile dir");
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev",
        Some(other) => other,
    };
    let target_dir = profile_dir.parent().expect("the profile dir is in a target dir");
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    for (name, _) in std::env::vars_os() {
        if SET_FOR_TESTS.iter().any(|p| name.to_string_lossy().starts_with(p)) {
            cargo.env_remove(name);
        }
    }
    let status = cargo
        .args(["build", "--quiet", "--locked", "-p", "deployctl-demo-service"])
        .args(["--profile", profile])
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(repo())
        .stdin(Stdio::null())
        .status()
        .expect("cargo runs");
    assert!(status.success(), "`cargo build -p deployctl-demo-service` failed");
    profile_dir.join("deployctl-demo-service")
}

/// A port nobody listens on right now (bound on 127.0.0.1:0, then released).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// Databases, ports and a state dir for one demo.
pub struct DemoStack {
    pub community: TestDb,
    pub marketplace: TestDb,
    pub academy: TestDb,
    pub ports: [u16; 4],
    pub state: tempfile::TempDir,
    /// Where the demo's Prometheus listens (scripts/demo-metrics).
    pub prometheus_port: u16,
}

impl DemoStack {
    /// Empty databases; nothing started.
    pub fn create() -> Self {
        DemoStack {
            community: TestDb::create(),
            marketplace: TestDb::create(),
            academy: TestDb::create(),
            ports: [free_port(), free_port(), free_port(), free_port()],
            state: tempfile::tempdir().expect("state tempdir"),
            prometheus_port: free_port(),
        }
    }

    /// The environment the demo scripts and the seed runbook read.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("COMMUNITY_DATABASE_URL".into(), self.community.url.clone()),
            ("MARKETPLACE_DATABASE_URL".into(), self.marketplace.url.clone()),
            ("ACADEMY_DATABASE_URL".into(), self.academy.url.clone()),
            ("DEMO_STATE_DIR".into(), self.state.path().display().to_string()),
            ("DEMO_SERVICE_BIN".into(), demo_service_bin().display().to_string()),
            ("DEPLOYCTL_BIN".into(), env!("CARGO_BIN_EXE_deployctl").into()),
            ("NO_COLOR".into(), "1".into()),
            (
                "PROMETHEUS_URL".into(),
                format!("http://127.0.0.1:{}", self.prometheus_port),
            ),
        ];
        for (name, port) in SERVICES.iter().zip(self.ports) {
            env.push((
                format!("{}_URL", name.to_uppercase()),
                format!("http://127.0.0.1:{port}"),
            ));
        }
        env
    }

    /// The port of one service.
    pub fn port(&self, service: &str) -> u16 {
        let i = SERVICES.iter().position(|s| *s == service).expect("a demo service");
        self.ports[i]
    }

    /// `scripts/demo-db`: the databases as before the deployment, with seed rows.
    pub fn prepare_databases(&self) {
        let out = self.script("demo-db", &[]);
        assert!(out.status.success(), "scripts/demo-db failed:\n{}", text(&out));
    }

    /// Applies each service's RLS migration directly, as the runbook's migrate steps would.
    pub fn enable_rls(&self) {
        for (db, service) in [
            (&self.community, "community"),
            (&self.marketplace, "marketplace"),
            (&self.academy, "academy"),
        ] {
            let dir = repo().join("services").join(service).join("prisma/migrations");
            let rls = std::fs::read_dir(&dir)
                .expect("migrations folder")
                .map(|e| e.expect("dir entry").path())
                .find(|p| p.to_string_lossy().ends_with("_enable_rls"))
                .expect("an *_enable_rls migration");
            db.execute(&std::fs::read_to_string(rls.join("migration.sql")).expect("RLS migration readable"));
        }
    }

    /// `scripts/demo-services ARGS...` with this stack's environment.
    pub fn services(&self, args: &[&str]) -> Output {
        self.script("demo-services", args)
    }

    /// Like `services`, and fails the test unless it succeeded.
    pub fn services_ok(&self, args: &[&str]) -> String {
        let out = self.services(args);
        assert!(
            out.status.success(),
            "scripts/demo-services {args:?} failed:\n{}",
            text(&out)
        );
        text(&out)
    }

    /// `scripts/demo-services start` on `release` (v1 is the pre-RLS release without the
    /// tenant middleware; v2 carries it).
    pub fn start_release(&self, release: &str) -> String {
        let out = Command::new(repo().join("scripts/demo-services"))
            .arg("start")
            .envs(self.env())
            .env("DEMO_RELEASE", release)
            .stdin(Stdio::null())
            .output()
            .expect("scripts/demo-services runs");
        assert!(out.status.success(), "start on {release} failed:\n{}", text(&out));
        text(&out)
    }

    /// The pid `scripts/demo-services` recorded for a service.
    pub fn pid(&self, service: &str) -> Option<i32> {
        std::fs::read_to_string(self.state.path().join(format!("{service}.pid")))
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }

    fn script(&self, name: &str, args: &[&str]) -> Output {
        Command::new(repo().join("scripts").join(name))
            .args(args)
            .envs(self.env())
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("scripts/{name} runs: {e}"))
    }
}

impl Drop for DemoStack {
    fn drop(&mut self) {
        let _ = self.services(&["stop"]);
    }
}

/// stdout and stderr of a finished command, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `GET path` on 127.0.0.1:port with an optional `X-User-Id`; the status and the JSON body.
/// `None` when nothing answers (not listening, connection reset).
pub fn get(port: u16, path: &str, user: Option<&str>) -> Option<(u16, serde_json::Value)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let user = user.map(|u| format!("X-User-Id: {u}\r\n")).unwrap_or_default();
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{user}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, serde_json::from_str(body).ok()?))
}

/// Waits until something listens on the port.
pub fn wait_listening(port: u16) -> bool {
    eventually(20, || TcpStream::connect(("127.0.0.1", port)).is_ok())
}

/// One demo service started directly (not through the script); killed when dropped.
pub struct ServiceProcess {
    pub port: u16,
    child: Child,
}

impl ServiceProcess {
    /// Starts `service` with `database_url` and extra flags, and waits until it listens.
    pub fn start(service: &str, database_url: &str, extra: &[&str]) -> Self {
        let port = free_port();
        let child = Command::new(demo_service_bin())
            .args([
                "--service",
                service,
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--release",
                "t1",
            ])
            .args(extra)
            .env("DATABASE_URL", database_url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn deployctl-demo-service");
        let process = ServiceProcess { port, child };
        assert!(wait_listening(port), "{service} did not listen on {port}");
        process
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
