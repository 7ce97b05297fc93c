//! A deployctl killed with -9 leaves its step's process group running (issue 14 item 18):
//! the group is journaled when it starts, a resume waits (exit 3) while it lives, and
//! `unlock --kill-orphans` kills it, journaled. Journals that name groups which are not the
//! step's (init, a reused id) never make deployctl wait or kill.

use nix::sys::signal::{Signal, kill};
use std::os::unix::process::CommandExt;

use nix::unistd::Pid;

use crate::harness::{Workspace, alive, eventually, lines};

/// An idempotent step that hangs on its first run, writing its shell's pid.
const HANGING: &str = r#"deployctl: 1
name: orphaned
phases:
  - id: p
    steps:
      - id: long
        idempotent: true
        shell: "echo x >> runs.count; echo $$ > step.pid; if [ $(wc -l < runs.count) -lt 2 ]; then sleep 100; fi"
      - { id: after, shell: "touch after-ran" }
"#;

/// Starts a run, waits until the step's group is journaled, and kills deployctl with -9.
/// Returns the group id (the step's shell).
fn kill_9_mid_step(ws: &Workspace) -> i32 {
    let mut child = ws.spawn_run();
    assert!(
        eventually(20, || ws.file("step.pid").exists()
            && !ws.events("orphaned", "process_started").is_empty()),
        "the step started and its process group was journaled"
    );
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).expect("kill -9 deployctl");
    let _ = child.wait();
    let pid: i32 = std::fs::read_to_string(ws.file("step.pid"))
        .expect("pid")
        .trim()
        .parse()
        .expect("pid");
    let started = ws.events("orphaned", "process_started");
    assert_eq!(started[0]["pgid"], pid, "the journaled group is the step's shell's");
    assert_eq!(started[0]["step"], "long");
    assert!(started[0]["leader_start"].as_u64().is_some());
    pid
}

/// Kills what a test left running.
struct Reaper(i32);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(-self.0), Signal::SIGKILL);
    }
}

#[test]
fn a_resume_waits_while_the_killed_runs_step_still_runs_and_unlock_kill_orphans_ends_it() {
    let ws = Workspace::new(HANGING);
    let orphan = kill_9_mid_step(&ws);
    let _reaper = Reaper(orphan);
    assert!(alive(orphan), "kill -9 of deployctl leaves the step's group running");

    let resumed = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(resumed.code, 3, "waits for the orphan:\n{}", resumed.stderr);
    assert!(resumed.stderr.contains("step `long` of run"), "{}", resumed.stderr);
    assert!(
        resumed.stderr.contains(&format!("process group {orphan}")),
        "{}",
        resumed.stderr
    );
    assert!(
        resumed.stderr.contains("deployctl unlock r.yaml --kill-orphans"),
        "{}",
        resumed.stderr
    );
    assert_eq!(lines(&ws, "runs.count").len(), 1, "not retried beside the orphan");
    assert!(alive(orphan), "a resume never kills on its own");

    let rollback = ws.deployctl().args(["rollback", "r.yaml"]).run();
    assert_eq!(rollback.code, 3, "a rollback waits too:\n{}", rollback.stderr);

    let unlocked = ws
        .deployctl()
        .args(["unlock", "r.yaml", "--kill-orphans", "--operator", "Dara"])
        .run();
    assert_eq!(unlocked.code, 0, "{}", unlocked.stderr);
    assert!(
        unlocked
            .stdout
            .contains(&format!("killed process group {orphan} of step `long`")),
        "{}",
        unlocked.stdout
    );
    assert!(eventually(5, || !alive(orphan)), "the orphan was killed");
    let killed = ws.events("orphaned", "orphan_killed");
    assert_eq!(killed.len(), 1);
    assert_eq!(killed[0]["by"], "Dara");
    assert_eq!(killed[0]["pgid"], orphan);
    let report = ws.deployctl().args(["status", "r.yaml", "--format", "markdown"]).run();
    assert!(
        report
            .stdout
            .contains(&format!("process group {orphan}, left running by a killed run, killed")),
        "the evidence report's history names the kill:\n{}",
        report.stdout
    );

    let done = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(lines(&ws, "runs.count").len(), 2, "the idempotent step re-ran once");
    assert!(ws.file("after-ran").exists());
}

#[test]
fn a_resume_goes_on_once_the_orphan_ended_by_itself() {
    let ws = Workspace::new(HANGING);
    let orphan = kill_9_mid_step(&ws);
    let _ = kill(Pid::from_raw(-orphan), Signal::SIGKILL);
    assert!(eventually(5, || !alive(orphan)));
    let done = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(done.code, 0, "{}", done.stderr);
    let unlocked = ws.deployctl().args(["unlock", "r.yaml", "--kill-orphans"]).run();
    assert_eq!(unlocked.code, 0, "{}", unlocked.stderr);
    assert!(
        unlocked.stdout.contains("no process group of a step still runs here"),
        "{}",
        unlocked.stdout
    );
}

/// A journal is input: one naming init, deployctl's own group, or a living group whose
/// leader is not the journaled one must neither hold the run nor get anything killed.
#[test]
fn groups_a_journal_names_that_are_not_the_steps_are_never_waited_for_or_killed() {
    let ws = Workspace::new(
        "deployctl: 1\nname: orphaned\nphases:\n  - id: p\n    steps:\n      - { id: first, shell: \"test -e go\" }\n",
    );
    let failed = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    let mut stranger = std::process::Command::new("sleep")
        .arg("100")
        .process_group(0)
        .spawn()
        .expect("spawn sleep");
    let stranger_pid = stranger.id() as i32;
    let _reaper = Reaper(stranger_pid);
    let run_id = ws.journal("orphaned")[0]["run_id"]
        .as_str()
        .expect("run id")
        .to_string();
    let mut text = std::fs::read_to_string(ws.journal_path("orphaned")).expect("journal");
    for (pgid, leader_start) in [(1, None), (0, None), (-1, None), (stranger_pid, Some(1u64))] {
        let mut event = serde_json::json!({"type": "process_started", "step": "first", "pgid": pgid});
        if let Some(start) = leader_start {
            event["leader_start"] = start.into();
        }
        let entry = serde_json::json!({"at": "2026-11-29T00:00:00Z", "run_id": run_id, "event": event});
        text.push_str(&format!("{entry}\n"));
    }
    std::fs::write(ws.journal_path("orphaned"), text).expect("write journal");

    let unlocked = ws.deployctl().args(["unlock", "r.yaml", "--kill-orphans"]).run();
    assert_eq!(unlocked.code, 0, "{}", unlocked.stderr);
    assert!(
        unlocked.stdout.contains("no process group of a step still runs here"),
        "{}",
        unlocked.stdout
    );
    assert!(
        alive(stranger_pid),
        "a group whose leader is not the journaled one is not ours"
    );
    std::fs::write(ws.file("go"), "").expect("go");
    let done = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(alive(stranger_pid));
    let _ = stranger.kill();
    let _ = stranger.wait();
}

/// A service's restart command leaves the service running on purpose: its group is
/// journaled as ended once the command returns, so a later resume does not wait for it.
#[test]
fn a_service_left_running_by_its_restart_command_is_no_orphan() {
    let server = crate::http_server::TestHttp::start();
    let ws = Workspace::new(&format!(
        r#"deployctl: 1
name: orphaned
services:
  svc: {{ health: "{}", restart: "sleep 100 >/dev/null 2>&1 & echo $! > service.pid" }}
phases:
  - id: p
    steps:
      - {{ id: restart, rolling_restart: {{ services: [svc], health_timeout: 5s }} }}
      - {{ id: later, shell: "test -e go" }}
"#,
        server.url("/health")
    ));
    let failed = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    let service: i32 = std::fs::read_to_string(ws.file("service.pid"))
        .expect("service pid")
        .trim()
        .parse()
        .expect("pid");
    let _reaper = Reaper(service);
    assert!(alive(service), "the service outlives its restart command");
    let started = ws.events("orphaned", "process_started");
    let ended = ws.events("orphaned", "process_ended");
    assert_eq!(started.len(), 2, "the restart command and the shell step: {started:?}");
    assert_eq!(ended.len(), 1, "{ended:?}");
    assert_eq!(ended[0]["pgid"], started[0]["pgid"]);
    std::fs::write(ws.file("go"), "").expect("go");
    let done = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(done.code, 0, "not held by the service: {}", done.stderr);
    assert!(alive(service));
}
