//! The evidence report keeps what went wrong on the way, and figures from first starts.

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::harness::{Workspace, eventually};

#[test]
fn a_run_that_failed_and_was_resumed_by_another_operator_says_so() {
    let ws = Workspace::new(
        "deployctl: 1\nname: hist\nphases:\n  - id: p\n    steps:\n      - { id: ready, shell: \"test -f ok\", retries: 1, retry_delay: 10ms }\n      - { id: go, shell: \"true\" }\n",
    );
    let failed = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    std::fs::write(ws.file("ok"), "").expect("touch ok");
    let done = ws.deployctl().args(["run", "r.yaml", "--operator", "bob"]).run();
    assert_eq!(done.code, 0, "{}", done.stderr);
    let markdown = ws
        .deployctl()
        .args(["status", "r.yaml", "--format", "markdown"])
        .run()
        .stdout;
    for expected in [
        "## History",
        "**Operators:** gage, bob",
        "attempt 1 failed: `test -f ok` exited with status 1 (expected 0); retried",
        "failed after 2 attempt(s): `test -f ok` exited with status 1 (expected 0)",
        "resumed by bob on",
    ] {
        assert!(markdown.contains(expected), "{expected:?} in:\n{markdown}");
    }
    let html = ws
        .deployctl()
        .args(["status", "r.yaml", "--format", "html"])
        .run()
        .stdout;
    assert!(
        html.contains("resumed by bob on") && html.contains("Operators: gage, bob"),
        "{html}"
    );
    let json = ws
        .deployctl()
        .args(["status", "r.yaml", "--format", "json"])
        .run()
        .stdout;
    let view: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(view["operators"], serde_json::json!(["gage", "bob"]));
    let kinds: Vec<&str> = view["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| h["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["started", "failed", "failed", "resumed"], "{view}");
    let step = &view["phases"][0]["steps"][0];
    assert_eq!(
        step["attempts"], 3,
        "two failed attempts and the one that passed: {step}"
    );
}

#[test]
fn a_rollback_step_cut_off_and_finished_later_keeps_its_first_start() {
    let ws = Workspace::new(
        r#"deployctl: 1
name: cut
phases:
  - id: p
    steps:
      - { id: break, shell: "exit 1", on_failure: rollback }
rollback:
  steps:
    - id: restore
      idempotent: true
      shell: "echo $$ > restore.pid; if [ -f again ]; then exit 0; fi; touch again; sleep 100"
"#,
    );
    let mut child = ws.spawn_run();
    assert!(
        eventually(20, || ws.file("restore.pid").exists()),
        "the rollback step started"
    );
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).expect("kill -9 deployctl");
    let _ = child.wait();
    let orphan: i32 = std::fs::read_to_string(ws.file("restore.pid"))
        .expect("pid")
        .trim()
        .parse()
        .expect("pid");
    let _ = kill(Pid::from_raw(-orphan), Signal::SIGKILL);
    // A rollback waits while the killed run's step still runs (issue 14 item 18).
    assert!(
        eventually(5, || !crate::harness::alive(orphan)),
        "the step's group ended"
    );
    let out = ws.deployctl().args(["rollback", "r.yaml"]).run();
    assert_eq!(out.code, 4, "{}", out.stderr);
    let starts: Vec<chrono::DateTime<chrono::Utc>> = ws
        .journal("cut")
        .iter()
        .filter(|e| e["event"]["type"] == "step_started" && e["event"]["step"] == "restore")
        .filter_map(|e| e["at"].as_str()?.parse().ok())
        .collect();
    assert_eq!(starts.len(), 2, "cut off once, finished on the second try");
    let json = ws
        .deployctl()
        .args(["status", "r.yaml", "--format", "json"])
        .run()
        .stdout;
    let view: serde_json::Value = serde_json::from_str(&json).expect("json");
    let rollback = &view["rollback"];
    let restore = &rollback["steps"][0];
    assert_eq!(restore["attempts"], 2, "the cut-off try counts: {restore}");
    assert_eq!(
        restore["started_at"].as_str(),
        ws.journal("cut")
            .iter()
            .find(|e| e["event"]["type"] == "step_started" && e["event"]["step"] == "restore")
            .and_then(|e| e["at"].as_str()),
        "the first start"
    );
    let ttr = rollback["time_to_rollback_ms"].as_u64().expect("time to rollback");
    let restarted_after = (starts[1] - starts[0]).num_milliseconds() as u64;
    assert!(
        ttr < restarted_after,
        "time to rollback runs to the first start ({ttr} ms), not the resumed one ({restarted_after} ms later)"
    );
}
