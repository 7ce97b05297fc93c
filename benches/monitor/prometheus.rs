//! The Prometheus case of `cargo bench --bench monitor` (issue 15): a monitor of 20
//! Prometheus queries every 1 s, against a real Prometheus (Debian's package, started here
//! on 127.0.0.1 with a temporary config and storage, scraping a local exporter every 1 s).
//! CPU and peak memory of deployctl against the same idle `wait` baseline as the probe case
//! (goal: under 5% of a core, under 50 MB), and time to rollback from the tripping window
//! to the first rollback step (goal: at most one interval plus 1 s).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{Measured, measure, mib, time_to_rollback, write};

const QUERIES: usize = 20;

/// Runs the case; `idle` is the baseline measured by the probe case.
pub fn run(dir: &Path, secs: u64, idle: &Measured) {
    let calm = exporter("0");
    let failing = exporter("0.5");
    let mut prometheus = start(dir, &[calm, failing]);
    let url = format!("http://127.0.0.1:{}", prometheus.port);
    let queries = |port: u16| -> String {
        (0..QUERIES)
            .map(|i| {
                format!(
                    "            q{i}: {{ prometheus: prod, promql: 'max(bench_error_ratio{{instance=\"127.0.0.1:{port}\"}}) + {i} * 0' }}"
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let runbook = |name: &str, duration: &str, port: u16, rollback: &str| {
        format!(
            "deployctl: 1\nname: {name}\nprometheus:\n  prod: {{ url: \"{url}\" }}\nphases:\n  - id: p\n    steps:\n      - id: watch\n        timeout: {}s\n        monitor:\n          duration: {duration}\n          interval: 1s\n          queries:\n{}\n          rollback_when:\n            - {{ metric: q0, above: 0.05, consecutive: 3 }}\n            - {{ metric: q19, above: 0.05, consecutive: 3 }}\n{rollback}",
            secs + 60,
            queries(port)
        )
    };
    write(
        dir,
        "prom-watch.yaml",
        &runbook("prom-watch", &format!("{secs}s"), calm, ""),
    );
    println!("\nmonitor of {QUERIES} Prometheus queries every 1s for {secs}s (real Prometheus, scrape every 1s)");
    let watch = measure(dir, "prom-watch.yaml", 0);
    let core = |m: &Measured| 100.0 * m.cpu.as_secs_f64() / m.wall.as_secs_f64();
    println!(
        "{:<44} baseline {:>6.2}% of a core   deployctl {:>6.2}%   ratio {:>6.1}   goal < 5%",
        "CPU, idle `wait` vs 20 queries",
        core(idle),
        core(&watch),
        watch.cpu.as_secs_f64() / idle.cpu.as_secs_f64().max(1e-6)
    );
    println!(
        "{:<44} baseline {:>6.1} MiB   deployctl {:>6.1} MiB   ratio {:>6.2}   goal < 50 MB",
        "peak RSS, idle `wait` vs 20 queries",
        mib(idle.peak_kib),
        mib(watch.peak_kib),
        watch.peak_kib as f64 / idle.peak_kib.max(1) as f64
    );
    let rollback = "rollback:\n  steps:\n    - { id: restore, shell: \"true\" }\n";
    write(dir, "prom-trip.yaml", &runbook("prom-trip", "1h", failing, rollback));
    measure(dir, "prom-trip.yaml", 4);
    time_to_rollback(dir, "prom-trip", "time to rollback, Prometheus (window → restore)");
    prometheus.stop();
}

/// A running Prometheus.
struct Prometheus {
    port: u16,
    child: Child,
}

impl Prometheus {
    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path, exporters: &[u16]) -> Prometheus {
    let home = dir.join("prometheus");
    let _ = std::fs::create_dir_all(&home);
    let targets: Vec<String> = exporters.iter().map(|p| format!("'127.0.0.1:{p}'")).collect();
    let config = format!(
        "global: {{ scrape_interval: 1s }}\nscrape_configs:\n  - job_name: bench\n    static_configs: [ {{ targets: [{}] }} ]\n",
        targets.join(", ")
    );
    write(&home, "prometheus.yml", &config);
    let port = match TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
        Ok(a) => a.port(),
        Err(e) => panic!("bind: {e}"),
    };
    let child = match Command::new("prometheus")
        .arg(format!("--config.file={}", home.join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", home.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => panic!("cannot start `prometheus` ({e}); scripts/ensure-prometheus installs it"),
    };
    let prometheus = Prometheus { port, child };
    let want = exporters.len();
    let deadline = Instant::now() + Duration::from_secs(60);
    while scraped(port) < want {
        assert!(
            Instant::now() < deadline,
            "Prometheus did not scrape the exporters within 60s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    prometheus
}

/// How many targets Prometheus has scraped successfully.
fn scraped(port: u16) -> usize {
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return 0;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = "GET /api/v1/query?query=up%3D%3D1 HTTP/1.0\r\nHost: x\r\n\r\n";
    let mut text = String::new();
    if stream.write_all(request.as_bytes()).is_err() || stream.read_to_string(&mut text).is_err() {
        return 0;
    }
    text.matches("\"__name__\":\"up\"").count()
}

/// An exporter answering `bench_error_ratio VALUE` to every request.
fn exporter(value: &str) -> u16 {
    let listener = match TcpListener::bind("127.0.0.1:0") {
        Ok(l) => l,
        Err(e) => panic!("bind: {e}"),
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let body = format!("# TYPE bench_error_ratio gauge\nbench_error_ratio {value}\n");
    let reply = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    port
}
