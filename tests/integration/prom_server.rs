//! A real Prometheus per test: started on 127.0.0.1 with a generated config (scrape every
//! second) and a temporary storage directory, scraping exporters the test serves, with the
//! alerting rules the test gives. Killed when dropped.
//!
//! The binary comes from `scripts/ensure-prometheus` (Debian's package); without it these
//! tests fail, they never skip.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running Prometheus.
pub struct TestPrometheus {
    pub port: u16,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

impl TestPrometheus {
    /// Starts Prometheus scraping `127.0.0.1:PORT/metrics` of each exporter port (job
    /// `services`), with `rules` (a Prometheus rules file's `groups:` YAML, or empty), and
    /// waits until it is ready and has scraped every target once.
    pub fn start(exporters: &[u16], rules: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let targets: Vec<String> = exporters.iter().map(|p| format!("'127.0.0.1:{p}'")).collect();
        let rule_files = if rules.is_empty() {
            String::new()
        } else {
            std::fs::write(dir.path().join("rules.yml"), rules).expect("write rules");
            "rule_files: ['rules.yml']\n".to_string()
        };
        let config = format!(
            "global: {{ scrape_interval: 1s, evaluation_interval: 1s }}\n{rule_files}scrape_configs:\n  - job_name: services\n    static_configs: [ {{ targets: [{}] }} ]\n",
            targets.join(", ")
        );
        std::fs::write(dir.path().join("prometheus.yml"), config).expect("write config");
        let port = free_port();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("`prometheus` runs (scripts/ensure-prometheus installs it)");
        let server = TestPrometheus {
            port,
            child: Some(child),
            _dir: dir,
        };
        let ready = crate::harness::eventually(60, || server.get("/-/ready").is_some_and(|(s, _)| s == 200));
        assert!(ready, "Prometheus on port {port} was not ready within 60s");
        let want = exporters.len();
        let scraped = crate::harness::eventually(60, || server.values("up{job=\"services\"} == 1").len() == want);
        assert!(scraped, "Prometheus did not scrape the {want} exporter(s) within 60s");
        server
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The values of an instant query now (empty when it fails).
    pub fn values(&self, promql: &str) -> Vec<f64> {
        let path = format!("/api/v1/query?query={}", encode(promql));
        let Some((200, body)) = self.get(&path) else {
            return Vec::new();
        };
        let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        json["data"]["result"]
            .as_array()
            .map(|r| {
                r.iter()
                    .filter_map(|s| s["value"][1].as_str().and_then(|v| v.parse().ok()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits until an instant query's one value satisfies `ok`.
    pub fn wait_for(&self, promql: &str, ok: impl Fn(f64) -> bool) {
        let held = crate::harness::eventually(60, || self.values(promql).first().is_some_and(|v| ok(*v)));
        assert!(
            held,
            "`{promql}` did not reach the expected value within 60s: {:?}",
            self.values(promql)
        );
    }

    /// Stops it (a monitor then gets no answers).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn get(&self, path: &str) -> Option<(u16, String)> {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
        let mut text = String::new();
        stream.read_to_string(&mut text).ok()?;
        let status = text.split_whitespace().nth(1)?.parse().ok()?;
        let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
        Some((status, body))
    }
}

impl Drop for TestPrometheus {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("addr").port()
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Waits `secs` of wall time at most for `cond`, polling (for journal contents).
pub fn until(secs: u64, what: &str, cond: impl FnMut() -> bool) {
    let started = Instant::now();
    assert!(
        crate::harness::eventually(secs, cond),
        "{what} within {secs}s (waited {:?})",
        started.elapsed()
    );
}
