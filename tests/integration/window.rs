//! The deployment window (open, closed, across midnight, in a timezone, frozen), the
//! feasibility refusal, `--ignore-window`, each `overrun` policy, approval `ttl`, contacts
//! by kind of problem, and the `manual` prompt on a real pseudo-terminal.
//!
//! Time is moved with `--now` (for rehearsals and tests, journaled): the instant the
//! process starts at.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};

use nix::fcntl::{FcntlArg, OFlag, fcntl};

use crate::harness::{Workspace, eventually, lines};

/// Tue-Thu 02:00-06:00 and Fri 23:00-03:00 UTC, the seed's options A and B.
const WINDOW: &str = r#"window:
  timezone: UTC
  allow:
    - { days: [tue, wed, thu], start: "02:00", end: "06:00" }
    - { days: [fri], start: "23:00", end: "03:00" }
"#;

fn runbook(window: &str, steps: &str) -> String {
    format!(
        "deployctl: 1\nname: win\ncontacts:\n  technical: {{ primary: \"@devops (Gage)\" }}\n  database: {{ primary: \"@data-engineer (Dara)\" }}\n  business: {{ primary: \"@pm (Morgan)\" }}\n{window}phases:\n  - id: p\n    steps:\n{steps}rollback:\n  steps:\n    - {{ id: restore, shell: \"echo restore >> rollback.log\" }}\n"
    )
}

const ONE_STEP: &str = "      - { id: change, timeout: 1m, shell: \"echo change >> ran.log\" }\n";

/// The run's `state` and `outcome` as `status --format json` gives them.
fn state(ws: &Workspace) -> (String, String) {
    let out = ws.deployctl().args(["status", "r.yaml", "--format", "json"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let view: serde_json::Value = serde_json::from_str(&out.stdout).expect("status json");
    let text = |key: &str| view[key].as_str().unwrap_or_default().to_string();
    (text("state"), text("outcome"))
}

#[test]
fn outside_the_window_the_run_waits_and_names_the_next_opening() {
    let ws = Workspace::new(&runbook(WINDOW, ONE_STEP));
    // Monday 2026-03-02 12:00 UTC: next opening Tuesday 02:00.
    let out = ws
        .deployctl()
        .args(["--now", "2026-03-02T12:00:00Z"])
        .args(["run", "r.yaml"])
        .run();
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("outside the deployment window"), "{}", out.stderr);
    assert!(
        out.stderr.contains("it opens next at 2026-03-03 02:00 UTC"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--ignore-window"), "{}", out.stderr);
    assert!(lines(&ws, "ran.log").is_empty());
    let waits = ws.events("win", "window_wait");
    assert_eq!(waits[0]["next_opening"], "2026-03-03T02:00:00Z");
    // The state journal.md documents for a run the window held back.
    let (state, outcome) = state(&ws);
    assert_eq!(state, "stopped");
    assert_eq!(outcome, "stopped before `change`");

    // Inside the window the same run goes on.
    let out = ws
        .deployctl()
        .args(["--now", "2026-03-03T02:30:00Z"])
        .args(["run", "r.yaml"])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(lines(&ws, "ran.log"), ["change"]);
    assert_eq!(ws.events("win", "run_started").len(), 1, "the waiting run was resumed");
}

#[test]
fn a_slot_across_midnight_is_open_on_the_next_morning_and_timezones_count() {
    let ws = Workspace::new(&runbook(WINDOW, ONE_STEP));
    // Saturday 02:30 UTC is inside Friday's 23:00-03:00.
    let out = ws
        .deployctl()
        .args(["--now", "2026-03-07T02:30:00Z"])
        .args(["run", "r.yaml"])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);

    let berlin = WINDOW.replace("timezone: UTC", "timezone: Europe/Berlin");
    let ws = Workspace::new(&runbook(&berlin, ONE_STEP));
    // Tuesday 05:30 UTC is 06:30 in Berlin: closed.
    let out = ws
        .deployctl()
        .args(["--now", "2026-03-03T05:30:00Z"])
        .args(["run", "r.yaml"])
        .run();
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains("it opens next at 2026-03-04 01:00 UTC"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_freeze_keeps_the_window_closed() {
    let frozen = format!("{WINDOW}  deny:\n    - {{ from: 2026-03-03, to: 2026-03-05, reason: quarter close }}\n");
    let ws = Workspace::new(&runbook(&frozen, ONE_STEP));
    let out = ws
        .deployctl()
        .args(["--now", "2026-03-03T02:30:00Z"])
        .args(["run", "r.yaml"])
        .run();
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains("frozen on 2026-03-03: quarter close"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("it opens next at 2026-03-06 23:00 UTC"),
        "{}",
        out.stderr
    );
}

#[test]
fn ignore_window_runs_and_is_journaled_with_the_operator() {
    let ws = Workspace::new(&runbook(WINDOW, ONE_STEP));
    let out = ws
        .deployctl()
        .args(["--now", "2026-03-02T12:00:00Z"])
        .args(["run", "r.yaml", "--ignore-window"])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let overrides = ws.events("win", "window_override");
    assert_eq!(overrides[0]["by"], "gage");
    assert!(
        overrides[0]["reason"]
            .as_str()
            .unwrap_or("")
            .contains("was closed (outside every allowed slot)"),
        "{overrides:?}"
    );
}

#[test]
fn a_pretended_time_is_said_and_journaled_and_the_old_variable_is_refused() {
    let ws = Workspace::new(&runbook(WINDOW, ONE_STEP));
    // The variable that used to move the clock silently, even in a release binary.
    let refused = ws
        .deployctl()
        .env("DEPLOYCTL_NOW", "2026-03-03T02:30:00Z")
        .args(["run", "r.yaml"])
        .run();
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("DEPLOYCTL_NOW is set"), "{}", refused.stderr);
    assert!(refused.stderr.contains("--now"), "{}", refused.stderr);
    assert!(ws.journal("win").is_empty(), "nothing ran, nothing journaled");
    // `--now` says so, and the run journals who pretended and the real time.
    let out = ws
        .deployctl()
        .args(["--now", "2026-03-03T02:30:00Z", "run", "r.yaml"])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("pretending it is 2026-03-03 02:30:00 UTC (--now)"),
        "{}",
        out.stderr
    );
    let overrides = ws.events("win", "clock_override");
    assert_eq!(overrides.len(), 1, "{overrides:?}");
    assert_eq!(overrides[0]["by"], "gage");
    let real = overrides[0]["real_at"].as_str().unwrap_or_default();
    assert!(real.starts_with("20") && !real.starts_with("2026-03-03T02:3"), "{real}");
    let started = &ws.journal("win")[0];
    assert!(
        started["run_id"]
            .as_str()
            .unwrap_or_default()
            .starts_with("20260303T0230"),
        "the run id follows the pretended clock: {started}"
    );
}

#[test]
fn a_run_that_cannot_finish_before_the_window_closes_does_not_start() {
    let steps = "      - { id: migrate-ish, timeout: 45m, shell: \"echo m >> ran.log\" }\n      - { id: restart-ish, timeout: 30m, shell: \"echo r >> ran.log\" }\n      - id: watch\n        monitor: { duration: 4h, interval: 10s, probes: [ { http: \"http://127.0.0.1:9/\" } ], on_no_data: ignore, rollback_when: [ { metric: error_rate, above: 0.5, consecutive: 1 } ] }\n";
    let ws = Workspace::new(&runbook(WINDOW, steps));
    // 05:00: one hour left, 75 minutes of changes (the trailing 4 h watch does not count).
    let out = ws
        .deployctl()
        .args(["--now", "2026-03-03T05:00:00Z"])
        .args(["run", "r.yaml"])
        .run();
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("the 2 changing step(s) still to run are estimated at 1h15m")
            && out
                .stderr
                .contains("the window closes at 2026-03-03 06:00 UTC (1h from now)"),
        "{}",
        out.stderr
    );
    assert!(lines(&ws, "ran.log").is_empty());
}

/// A first run (inside the window) teaches the journal that both steps are quick; the
/// second starts 1.5 s before the window closes, and its first step then takes 2 s.
fn overrun(policy: &str) -> (Workspace, crate::harness::Outcome) {
    let window = format!("{WINDOW}  overrun: {policy}\n");
    let steps = "      - { id: first, timeout: 1m, shell: \"[ -e slow ] && sleep 2; echo first >> ran.log\", undo: { shell: \"echo undo-first >> rollback.log\" } }\n      - { id: second, timeout: 1m, shell: \"echo second >> ran.log\" }\n";
    let ws = Workspace::new(&runbook(&window, steps));
    let first = ws
        .deployctl()
        .args(["--now", "2026-03-03T03:00:00Z"])
        .args(["run", "r.yaml"])
        .run();
    assert_eq!(first.code, 0, "{}", first.stderr);
    std::fs::write(ws.file("slow"), "").expect("marker");
    std::fs::remove_file(ws.file("ran.log")).expect("reset");
    let out = ws
        .deployctl()
        .args(["--now", "2026-03-03T05:59:58.500Z"])
        .args(["run", "--new", "r.yaml"])
        .run();
    (ws, out)
}

#[test]
fn overrun_finish_completes_the_changes() {
    let (ws, out) = overrun("finish");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(lines(&ws, "ran.log"), ["first", "second"]);
    let waits = ws.events("win", "window_wait");
    assert!(
        waits[0]["reason"]
            .as_str()
            .unwrap_or("")
            .contains("closed before `second`")
            && waits[0]["reason"].as_str().unwrap_or("").contains("overrun: finish"),
        "{waits:?}"
    );
}

#[test]
fn overrun_pause_stops_before_the_next_change() {
    let (ws, out) = overrun("pause");
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert_eq!(lines(&ws, "ran.log"), ["first"]);
    assert!(out.stderr.contains("overrun: pause"), "{}", out.stderr);
    assert_eq!(state(&ws), ("stopped".into(), "stopped before `second`".into()));
}

#[test]
fn overrun_rollback_undoes_what_was_done() {
    let (ws, out) = overrun("rollback");
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert_eq!(lines(&ws, "ran.log"), ["first"]);
    assert_eq!(lines(&ws, "rollback.log"), ["undo-first", "restore"]);
    let started = ws.events("win", "rollback_started");
    assert_eq!(started[0]["cause"], "window");
}

#[test]
fn an_approval_older_than_its_ttl_is_asked_again_with_the_business_contact() {
    let steps = "      - { id: pm-approval, approval: { role: \"@pm\", ttl: 72h } }\n      - { id: change, timeout: 1m, shell: \"echo change >> ran.log\" }\n";
    let ws = Workspace::new(&runbook("", steps));
    let paused = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(paused.code, 3);
    assert!(paused.stderr.contains("business: @pm (Morgan)"), "{}", paused.stderr);
    assert!(
        !paused.stderr.contains("database:"),
        "only the contacts for this problem: {}",
        paused.stderr
    );
    let approved = ws
        .deployctl()
        .args(["approve", "r.yaml", "pm-approval", "--by", "Morgan"])
        .run();
    assert_eq!(approved.code, 0, "{}", approved.stderr);
    // Four days later the approval is void.
    let later = (chrono::Utc::now() + chrono::Duration::hours(96)).to_rfc3339();
    let out = ws.deployctl().args(["--now", &later]).args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("expired: ttl 72h"), "{}", out.stderr);
    // And may be given again then.
    let again = ws
        .deployctl()
        .args(["--now", &later])
        .args(["approve", "r.yaml", "pm-approval", "--by", "Morgan"])
        .run();
    assert_eq!(again.code, 0, "{}", again.stderr);
    let out = ws.deployctl().args(["--now", &later]).args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn a_failed_database_step_names_the_database_contact() {
    let steps = "      - { id: db, sql: { database: main, query: \"select 1\" }, timeout: 5s }\n";
    let ws = Workspace::new(&runbook("", steps).replace(
        "phases:",
        "databases:\n  main: { url: \"postgres://postgres@127.0.0.1:9/nope\" }\nphases:",
    ));
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    let contacts = out.stderr.split("escalation contacts:").nth(1).unwrap_or_default();
    assert!(
        contacts.trim_start().starts_with("database: @data-engineer (Dara)"),
        "{}",
        out.stderr
    );
}

/// Runs `deployctl run` on a pseudo-terminal and answers its prompt with `answer`.
fn run_on_a_terminal(ws: &Workspace, answer: &str) -> (i32, String) {
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let slave = |fd: &OwnedFd| Stdio::from(fd.try_clone().expect("dup pty"));
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("deployctl"))
        .args(["run", "r.yaml"])
        .current_dir(ws.path())
        .env("DEPLOYCTL_OPERATOR", "gage")
        .env("NO_COLOR", "1")
        .env_remove("DEPLOYCTL_JOURNAL")
        .stdin(slave(&pty.slave))
        .stdout(slave(&pty.slave))
        .stderr(slave(&pty.slave))
        .spawn()
        .expect("spawn deployctl on a pty");
    drop(pty.slave);
    // Non-blocking, so polling for the prompt can give up at its deadline.
    fcntl(&pty.master, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).expect("O_NONBLOCK");
    let mut master = std::fs::File::from(pty.master);
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    let asked = eventually(20, || {
        if let Ok(n) = master.read(&mut buf) {
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        seen.contains("[y/N]")
    });
    assert!(asked, "deployctl asked on the terminal: {seen}");
    master.write_all(answer.as_bytes()).expect("answer");
    // Keep reading while it runs, so a full pty buffer cannot block it.
    let mut status = None;
    eventually(60, || {
        if let Ok(n) = master.read(&mut buf) {
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        status = child.try_wait().ok().flatten();
        status.is_some()
    });
    let status = match status {
        Some(s) => s,
        None => {
            let _ = child.kill();
            panic!("deployctl did not finish after the answer: {seen}");
        }
    };
    (status.code().unwrap_or(-1), seen)
}

#[test]
fn a_manual_checkbox_is_confirmed_at_a_terminal_and_records_who() {
    let steps = "      - { id: briefed, manual: \"Operations team briefed\" }\n      - { id: change, timeout: 1m, shell: \"echo change >> ran.log\" }\n";
    let ws = Workspace::new(&runbook("", steps));
    let (code, seen) = run_on_a_terminal(&ws, "n\n");
    assert_eq!(code, 3, "{seen}");
    assert!(seen.contains("Operations team briefed"), "{seen}");
    assert!(lines(&ws, "ran.log").is_empty());

    let (code, seen) = run_on_a_terminal(&ws, "y\n");
    assert_eq!(code, 0, "{seen}");
    assert_eq!(lines(&ws, "ran.log"), ["change"]);
    let approvals = ws.events("win", "approval");
    assert_eq!(approvals[0]["by"], "gage");
    assert_eq!(approvals[0]["note"], "confirmed at the terminal");
}

#[test]
fn a_phase_with_window_false_runs_days_before_the_window_opens() {
    let text = format!(
        "deployctl: 1\nname: win\n{WINDOW}phases:\n  - id: approvals\n    window: false\n    steps:\n      - {{ id: prepare, shell: \"echo prepare >> ran.log\" }}\n      - {{ id: pm, approval: {{ role: \"@pm\" }} }}\n  - id: deploy\n    steps:\n{ONE_STEP}"
    );
    let ws = Workspace::new(&text);
    // Monday 12:00 UTC, closed: the approval phase runs and waits for the gate, not the window.
    let monday = ["--now", "2026-03-02T12:00:00Z"];
    let out = ws
        .deployctl()
        .args(monday)
        .args(["run", "r.yaml", "--operator", "gage"])
        .run();
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("awaits approval by role @pm"), "{}", out.stderr);
    assert!(!out.stderr.contains("outside the deployment window"), "{}", out.stderr);
    assert_eq!(lines(&ws, "ran.log"), ["prepare"]);
    let approve = ws
        .deployctl()
        .args(monday)
        .args(["approve", "r.yaml", "pm", "--by", "morgan"])
        .run();
    assert_eq!(approve.code, 0, "{}", approve.stderr);
    // Still Monday: the gate passes, then the deploy phase waits for the window.
    let out = ws
        .deployctl()
        .args(monday)
        .args(["run", "r.yaml", "--operator", "gage"])
        .run();
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("outside the deployment window"), "{}", out.stderr);
    assert_eq!(lines(&ws, "ran.log"), ["prepare"]);
    let tuesday = ["--now", "2026-03-03T02:30:00Z"];
    let out = ws
        .deployctl()
        .args(tuesday)
        .args(["run", "r.yaml", "--operator", "gage"])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(lines(&ws, "ran.log"), ["prepare", "change"]);
}
