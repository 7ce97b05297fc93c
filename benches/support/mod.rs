//! What the bench binaries share: a local HTTP server to point steps and probes at, a
//! scratch directory, a generated runbook, a timed run of deployctl, and the median of
//! whole runs.
#![allow(dead_code)] // each bench binary uses its own subset

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The deployctl binary the benches time.
pub const BIN: &str = env!("CARGO_BIN_EXE_deployctl");

/// How long `deployctl ARGS` took in `dir`, as operator `bench`, its output discarded, with
/// `journal` as `DEPLOYCTL_JOURNAL` (none: the default next to the runbook). Panics if it fails.
pub fn deployctl(dir: &Path, args: &[&str], journal: Option<&OsStr>) -> Duration {
    let mut command = Command::new(BIN);
    match journal {
        Some(journal) => command.env("DEPLOYCTL_JOURNAL", journal),
        None => command.env_remove("DEPLOYCTL_JOURNAL"),
    };
    let start = Instant::now();
    let status = command
        .args(args)
        .current_dir(dir)
        .env("DEPLOYCTL_OPERATOR", "bench")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let took = start.elapsed();
    match status {
        Ok(s) if s.success() => took,
        other => panic!("deployctl {args:?} failed: {other:?}"),
    }
}

/// The median of `runs` timings.
pub fn median(runs: usize, mut f: impl FnMut() -> Duration) -> Duration {
    let mut samples: Vec<Duration> = (0..runs).map(|_| f()).collect();
    samples.sort();
    samples[runs / 2]
}

/// Writes `r.yaml` in `dir`: one phase of `steps` steps, `step(i)` giving each one's kind.
pub fn runbook(dir: &Path, steps: usize, step: impl Fn(usize) -> String) {
    let mut text = String::from("deployctl: 1\nname: bench\nphases:\n  - id: p\n    steps:\n");
    for i in 0..steps {
        text.push_str(&format!("      - {{ id: s{i}, {} }}\n", step(i)));
    }
    if let Err(e) = std::fs::write(dir.join("r.yaml"), text) {
        panic!("cannot write runbook: {e}");
    }
}

/// An empty directory of its own under the system temp dir.
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("deployctl-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("cannot create {}: {e}", dir.display());
    }
    dir
}

/// A keep-alive HTTP/1.1 server answering `status` with body `ok` to everything, on a thread
/// per connection. Lives as long as the bench process.
pub fn serve(status: u16) -> u16 {
    let listener = match TcpListener::bind("127.0.0.1:0") {
        Ok(l) => l,
        Err(e) => panic!("bind: {e}"),
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let reply = format!("HTTP/1.1 {status} X\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let reply = reply.clone();
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut buf = [0u8; 4096];
                let mut pending = Vec::new();
                loop {
                    let n = match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    pending.extend_from_slice(&buf[..n]);
                    while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        pending.drain(..end + 4);
                        if stream.write_all(reply.as_bytes()).is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    port
}
