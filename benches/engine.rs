//! Engine benchmarks (issue 3), each against a baseline measured in the same run:
//! - 1,000 `shell: "true"` steps with the durable journal vs. a shell loop spawning `/bin/true`
//!   (and, like for like, one spawning `/bin/sh -c true`, which is what each step runs), and
//!   vs. the durable floor: the same spawns, each after one `fdatasync` of an appended line;
//! - 1,000 `http` steps against a local server vs. one reqwest client looping the same GETs
//!   (and, as a diagnostic, the run minus the same runbook's `validate`: the steps alone);
//! - `status` of a journal holding 100,000 events vs. parsing those lines as untyped JSON.
//!
//! Run: `cargo bench --bench engine`. Whole runs of the release binary are timed (start-up,
//! load, lock, journal and all), median of 3.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "support/mod.rs"]
mod support;

const STEPS: usize = 1_000;
const RUNS: usize = 3;

fn deployctl(dir: &Path, args: &[&str]) -> Duration {
    support::deployctl(dir, args, None)
}

/// With `journal`, the journal lives there (a tmpfs shows the engine without the disk's fsync).
fn deployctl_with(dir: &Path, args: &[&str], journal: &Path) -> Duration {
    let _ = std::fs::remove_file(journal);
    support::deployctl(dir, args, Some(journal.as_os_str()))
}

fn report(what: &str, baseline: Duration, measured: Duration, goal: &str) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{what:<44} baseline {:>8.1} ms   deployctl {:>8.1} ms   ratio {:>5.2}   goal {goal}",
        ms(baseline),
        ms(measured),
        measured.as_secs_f64() / baseline.as_secs_f64()
    );
}

fn shell_steps() {
    let dir = support::fresh_dir("shell");
    support::runbook(&dir, STEPS, |_| "shell: \"true\"".into());
    let baseline = shell_loop("/bin/true");
    // What a `shell: "true"` step spawns: `/bin/sh -c true`, whose `true` is the shell's
    // builtin. The same work per step as deployctl, with nothing else around it.
    let like_for_like = shell_loop("/bin/sh -c true");
    let measured = support::median(RUNS, || {
        let _ = std::fs::remove_dir_all(dir.join(".deployctl"));
        deployctl(&dir, &["run", "--new", "r.yaml"])
    });
    report(
        "1,000 shell `true` steps vs shell loop",
        baseline,
        measured,
        "ratio <= 1.5",
    );
    report(
        "  the same vs a loop of `/bin/sh -c true`",
        like_for_like,
        measured,
        "(like for like)",
    );
    let per_step = (measured.saturating_sub(baseline)).as_secs_f64() * 1e6 / STEPS as f64;
    println!("{:<44} {per_step:.0} µs per step over the spawn itself", "  overhead");
    // What any tool keeping deployctl's promise must do per step, and nothing else: the
    // step's start on disk (one fdatasync, next to the journal) before it runs.
    let floor = durable_spawn_loop(&dir);
    report("  the same vs the durable floor", floor, measured, "(fsync + spawn)");
    report(
        "  the floor itself vs the shell loop",
        baseline,
        floor,
        "(no engine at all)",
    );
    report_on_tmpfs(&dir, baseline);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The least a step that changes things costs with no engine around it: append a line the
/// size of a `step_started` entry to a file beside the journal, `fdatasync` it, then spawn
/// `/bin/sh -c true` as deployctl does (own process group, stdin `/dev/null`, output piped
/// and read to the end) and wait for it. The median of [`RUNS`] whole loops.
fn durable_spawn_loop(dir: &Path) -> Duration {
    use std::io::Write;
    use std::os::unix::process::CommandExt;
    let path = dir.join("floor.jsonl");
    let line = format!(
        "{{\"at\":\"2026-11-30T00:00:00.000000Z\",\"run_id\":\"{:032}\",\"event\":{{\"type\":\"step_started\",\"step\":\"s0\",\"attempt\":1}}}}\n",
        0
    );
    let took = support::median(RUNS, || {
        let _ = std::fs::remove_file(&path);
        let mut file = match std::fs::OpenOptions::new().create(true).append(true).open(&path) {
            Ok(f) => f,
            Err(e) => panic!("cannot open {}: {e}", path.display()),
        };
        let start = Instant::now();
        for _ in 0..STEPS {
            let synced = file.write_all(line.as_bytes()).and_then(|()| file.sync_data());
            assert!(synced.is_ok(), "floor: cannot write {}", path.display());
            let ran = Command::new("/bin/sh")
                .args(["-c", "true"])
                .process_group(0)
                .stdin(std::process::Stdio::null())
                .output();
            assert!(ran.is_ok_and(|o| o.status.success()), "floor: /bin/sh -c true failed");
        }
        start.elapsed()
    });
    let _ = std::fs::remove_file(&path);
    took
}

/// A shell loop spawning `command` once per step: the median of [`RUNS`] whole loops.
fn shell_loop(command: &str) -> Duration {
    support::median(RUNS, || {
        let start = Instant::now();
        let script = format!("i=0; while [ $i -lt {STEPS} ]; do {command}; i=$((i+1)); done");
        let ok = Command::new("sh")
            .args(["-c", &script])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "baseline loop `{command}` failed");
        start.elapsed()
    })
}

fn http_steps() {
    let port = support::serve(200);
    let url = format!("http://127.0.0.1:{port}/health");
    let dir = support::fresh_dir("http");
    support::runbook(&dir, STEPS, |i| format!("http: \"{url}?i={i}\""));
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    };
    let baseline = support::median(RUNS, || {
        runtime.block_on(async {
            let start = Instant::now();
            let client = reqwest::Client::new();
            for i in 0..STEPS {
                let ok = client
                    .get(format!("{url}?i={i}"))
                    .send()
                    .await
                    .map(|r| r.status().is_success());
                assert!(matches!(ok, Ok(true)), "baseline request failed");
            }
            start.elapsed()
        })
    });
    let measured = support::median(RUNS, || {
        let _ = std::fs::remove_dir_all(dir.join(".deployctl"));
        deployctl(&dir, &["run", "--new", "r.yaml"])
    });
    report("1,000 http steps vs reqwest loop", baseline, measured, "ratio <= 1.5");
    report_on_tmpfs(&dir, baseline);
    report_steps_alone(&dir, baseline, measured);
    let _ = std::fs::remove_dir_all(&dir);
}

fn status_of_100k() {
    let dir = support::fresh_dir("status");
    let journal = dir.join("big.jsonl");
    let steps = 50_000;
    let mut plan = String::new();
    for i in 0..steps {
        if i > 0 {
            plan.push(',');
        }
        plan.push_str(&format!(r#"{{"id":"s{i}","title":"$ echo step {i}","kind":"shell"}}"#));
    }
    let mut text = format!(
        r#"{{"at":"2026-11-29T00:00:00Z","run_id":"r1","event":{{"type":"run_started","format":1,"runbook":"bench","title":"Bench","runbook_sha256":"00","vars_sha256":"00","operator":"bench","host":"h","pid":1,"plan":[{{"id":"p","title":"P","steps":[{plan}]}}]}}}}"#
    );
    text.push('\n');
    for i in 0..steps - 1 {
        text.push_str(&format!(r#"{{"at":"2026-11-29T00:00:01Z","run_id":"r1","event":{{"type":"step_started","step":"s{i}","attempt":1}}}}"#));
        text.push('\n');
        text.push_str(&format!(
            r#"{{"at":"2026-11-29T00:00:02Z","run_id":"r1","event":{{"type":"step_finished","step":"s{i}","status":"done","attempts":1,"duration_ms":3,"reason":"exited with status 0","output":"step {i}\n"}}}}"#
        ));
        text.push('\n');
    }
    if let Err(e) = std::fs::write(&journal, &text) {
        panic!("cannot write journal: {e}");
    }
    let events = text.lines().count();
    let baseline = support::median(RUNS, || {
        let start = Instant::now();
        let parsed = text
            .lines()
            .filter(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
            .count();
        assert_eq!(parsed, events);
        start.elapsed()
    });
    let journal_arg = journal.display().to_string();
    let measured = support::median(RUNS, || deployctl(&dir, &["status", "--journal", &journal_arg]));
    report(
        &format!("status of {events} events vs JSON parse"),
        baseline,
        measured,
        "< 300 ms",
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The run without what comes before its first step: the same runbook's `validate` (start-up,
/// YAML, validation, the plan) taken off, which the baseline loop does not pay either.
fn report_steps_alone(dir: &Path, baseline: Duration, measured: Duration) {
    let before_steps = support::median(RUNS, || deployctl(dir, &["validate", "r.yaml"]));
    println!(
        "{:<44} {:>8.1} ms of the run (start-up, load, validate, plan)",
        "  before the first step",
        before_steps.as_secs_f64() * 1e3
    );
    report(
        "  the steps alone (run minus validate)",
        baseline,
        measured.saturating_sub(before_steps),
        "(diagnostic)",
    );
}

/// The same run with the journal on tmpfs: the engine's own cost, without the disk's fsync.
fn report_on_tmpfs(dir: &Path, baseline: Duration) {
    if let Some(tmpfs) = tmpfs_journal() {
        let on_tmpfs = support::median(RUNS, || deployctl_with(dir, &["run", "--new", "r.yaml"], &tmpfs));
        report(
            "  same, journal on tmpfs (no disk fsync)",
            baseline,
            on_tmpfs,
            "(diagnostic)",
        );
        if let Some(dir) = tmpfs.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A journal in a private directory on `/dev/shm` (itself mode 1777, which deployctl
/// refuses as a journal directory).
fn tmpfs_journal() -> Option<std::path::PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = Path::new("/dev/shm").join(format!("deployctl-bench-{}", std::process::id()));
    std::fs::DirBuilder::new().mode(0o700).create(&dir).ok()?;
    Some(dir.join("journal.jsonl"))
}

fn main() {
    shell_steps();
    http_steps();
    status_of_100k();
}
