//! Monitor benchmarks (issue 5), against a baseline measured in the same run:
//! - a monitor of 200 http probes every 1 s for 60 s against a local server: CPU time and
//!   peak memory of deployctl, vs. the same deployctl idling through a `wait` of the same
//!   length (goal: under 5% of one core and under 50 MB);
//! - time to rollback: from the journal entry of the window that completes a rule to the
//!   first rollback step starting (goal: at most one interval plus 1 s);
//! - the same two for a monitor of 20 Prometheus queries (`monitor/prometheus.rs`).
//!
//! Run: `cargo bench --bench monitor` (`BENCH_MONITOR_SECS=10` for a shorter watch). The
//! release binary runs as a child; its CPU time comes from `getrusage(RUSAGE_CHILDREN)`
//! deltas and its peak memory from `VmHWM` in `/proc`, read until it exits.

#[path = "support/mod.rs"]
mod support;

#[path = "monitor/prometheus.rs"]
mod prometheus;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::resource::{UsageWho, getrusage};

const BIN: &str = env!("CARGO_BIN_EXE_deployctl");
const PROBES: usize = 200;

fn main() {
    let secs: u64 = std::env::var("BENCH_MONITOR_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let ok = support::serve(200);
    let dir = support::fresh_dir("monitor");
    let probes: Vec<String> = (0..PROBES)
        .map(|i| format!("            - http: \"http://127.0.0.1:{ok}/health?probe={i}\""))
        .collect();
    write(
        &dir,
        "idle.yaml",
        &format!(
            "deployctl: 1\nname: idle\nphases:\n  - id: p\n    steps:\n      - {{ id: idle, timeout: {}s, wait: {{ for: {secs}s }} }}\n",
            secs + 60
        ),
    );
    write(
        &dir,
        "watch.yaml",
        &format!(
            "deployctl: 1\nname: watch\nphases:\n  - id: p\n    steps:\n      - id: watch\n        timeout: {}s\n        monitor:\n          duration: {secs}s\n          interval: 1s\n          probes:\n{}\n          rollback_when:\n            - {{ metric: error_rate, above: 0.05, consecutive: 3 }}\n            - {{ metric: p99_ms, above: 1000, consecutive: 3 }}\n",
            secs + 60,
            probes.join("\n")
        ),
    );
    println!("monitor of {PROBES} probes every 1s for {secs}s (release binary, one run each)");
    let idle = measure(&dir, "idle.yaml", 0);
    let watch = measure(&dir, "watch.yaml", 0);
    let core = |m: &Measured| 100.0 * m.cpu.as_secs_f64() / m.wall.as_secs_f64();
    println!(
        "{:<44} baseline {:>6.2}% of a core   deployctl {:>6.2}%   ratio {:>6.1}   goal < 5%",
        "CPU, idle `wait` vs monitor",
        core(&idle),
        core(&watch),
        watch.cpu.as_secs_f64() / idle.cpu.as_secs_f64().max(1e-6)
    );
    println!(
        "{:<44} baseline {:>6.1} MiB   deployctl {:>6.1} MiB   ratio {:>6.2}   goal < 50 MB",
        "peak RSS, idle `wait` vs monitor",
        mib(idle.peak_kib),
        mib(watch.peak_kib),
        watch.peak_kib as f64 / idle.peak_kib.max(1) as f64
    );

    // Time to rollback: every probe fails, the rule needs 3 windows.
    let failing = support::serve(500);
    let probes: Vec<String> = (0..PROBES)
        .map(|i| format!("            - http: \"http://127.0.0.1:{failing}/health?probe={i}\""))
        .collect();
    write(
        &dir,
        "trip.yaml",
        &format!(
            "deployctl: 1\nname: trip\nphases:\n  - id: p\n    steps:\n      - id: watch\n        monitor:\n          duration: 1h\n          interval: 1s\n          probes:\n{}\n          rollback_when:\n            - {{ metric: error_rate, above: 0.05, consecutive: 3 }}\nrollback:\n  steps:\n    - {{ id: restore, shell: \"true\" }}\n",
            probes.join("\n")
        ),
    );
    measure(&dir, "trip.yaml", 4);
    time_to_rollback(&dir, "trip", "time to rollback (tripping window → restore)");
    prometheus::run(&dir, secs, &idle);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Prints the time from the journal entry of the tripping window to the first rollback
/// step's start, against the goal of one interval (1 s) plus 1 s.
fn time_to_rollback(dir: &Path, name: &str, label: &str) {
    let journal = std::fs::read_to_string(dir.join(format!(".deployctl/{name}.jsonl"))).unwrap_or_default();
    let entries: Vec<serde_json::Value> = journal.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let at = |pred: &dyn Fn(&serde_json::Value) -> bool| {
        entries
            .iter()
            .filter(|e| pred(&e["event"]))
            .filter_map(|e| e["at"].as_str())
            .filter_map(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .next_back()
    };
    let tripping = at(&|e| e["type"] == "monitor_sample");
    let first = at(&|e| e["type"] == "step_started" && e["step"] == "restore");
    match (tripping, first) {
        (Some(window), Some(rollback)) => {
            let ms = (rollback - window).num_microseconds().unwrap_or(0) as f64 / 1000.0;
            println!(
                "{label:<44} goal ≤ {:>6.0} ms   deployctl {:>8.1} ms   ratio to goal {:.4}",
                2000.0,
                ms,
                ms / 2000.0
            );
        }
        _ => println!("time to rollback: not found in the journal of {name}.yaml"),
    }
}

struct Measured {
    cpu: Duration,
    wall: Duration,
    peak_kib: u64,
}

/// Runs `deployctl run FILE` to the end; CPU time from the children's rusage delta, peak
/// memory from the child's VmHWM, polled until it exits.
fn measure(dir: &Path, file: &str, expect: i32) -> Measured {
    let before = children_cpu();
    let started = Instant::now();
    let mut child = match Command::new(BIN)
        .args(["run", "--new", file])
        .current_dir(dir)
        .env("DEPLOYCTL_OPERATOR", "bench")
        .env_remove("DEPLOYCTL_JOURNAL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => panic!("cannot start deployctl: {e}"),
    };
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0;
    let code = loop {
        if let Some(kib) = std::fs::read_to_string(&status_file).ok().as_deref().and_then(vm_hwm) {
            peak_kib = peak_kib.max(kib);
        }
        match child.try_wait() {
            Ok(Some(status)) => break status.code().unwrap_or(-1),
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => panic!("wait: {e}"),
        }
    };
    let wall = started.elapsed();
    assert_eq!(code, expect, "deployctl run {file} exited {code}");
    Measured {
        cpu: children_cpu().saturating_sub(before),
        wall,
        peak_kib,
    }
}

fn children_cpu() -> Duration {
    match getrusage(UsageWho::RUSAGE_CHILDREN) {
        Ok(u) => {
            let t = |tv: nix::sys::time::TimeVal| Duration::new(tv.tv_sec() as u64, tv.tv_usec() as u32 * 1000);
            t(u.user_time()) + t(u.system_time())
        }
        Err(e) => panic!("getrusage: {e}"),
    }
}

fn vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn write(dir: &Path, name: &str, text: &str) {
    if let Err(e) = std::fs::write(dir.join(name), text) {
        panic!("cannot write {name}: {e}");
    }
}
