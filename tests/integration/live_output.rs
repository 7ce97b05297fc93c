//! The live output of a run off a terminal, as a CI log or `| tee` shows it (issue 18):
//! a start line for a step still running after 2 s, sub-lines (batches, monitor windows)
//! after their step's line, a monitor's windows throttled, each message said once, contacts
//! only for problems, and no warning for a rollback the operator asked for.

use crate::harness::Workspace;
use crate::http_server::TestHttp;

fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

fn index(text: &str, needle: &str) -> usize {
    text.find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in:\n{text}"))
}

#[test]
fn a_step_still_running_after_2s_gets_a_start_line_and_a_quick_one_does_not() {
    let ws = Workspace::new(
        "deployctl: 1\nname: slow\nphases:\n  - id: p\n    steps:\n      - { id: quick, shell: \"true\" }\n      - { id: slow, shell: \"sleep 3\" }\n",
    );
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains("▸ quick"), "{}", out.stdout);
    assert!(
        index(&out.stdout, "  ▸ slow  $ sleep 3") < index(&out.stdout, "[x] slow"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_planned_pause_says_its_gate_once_and_pages_nobody() {
    let ws = Workspace::new(
        "deployctl: 1\nname: gate\ncontacts:\n  business: { primary: \"@pm (Morgan)\" }\n  technical: { primary: \"@devops (Gage)\" }\nphases:\n  - id: p\n    steps:\n      - { id: pm, approval: { role: \"@pm\" } }\n",
    );
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 3, "{}", out.stderr);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert_eq!(count(&all, "awaits approval by role @pm"), 1, "{all}");
    assert!(out.stdout.contains("[?] pm"), "{}", out.stdout);
    assert!(!out.stderr.contains("escalation contacts"), "{}", out.stderr);
}

#[test]
fn a_rollback_the_operator_asked_for_is_no_warning() {
    let ws = Workspace::new(
        "deployctl: 1\nname: undo\nphases:\n  - id: p\n    steps:\n      - { id: a, shell: \"true\", undo: { shell: \"true\" } }\n",
    );
    assert_eq!(ws.deployctl().args(["run", "r.yaml"]).run().code, 0);
    let out = ws.deployctl().args(["rollback", "r.yaml"]).run();
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
    assert!(out.stdout.contains("rollback (deployctl rollback)"), "{}", out.stdout);
}

fn monitored(server: &TestHttp, duration: &str) -> String {
    format!(
        r#"deployctl: 1
name: watch
phases:
  - id: p
    steps:
      - id: watch
        monitor:
          probes:
            - http: "{}"
          duration: {duration}
          interval: 200ms
          rollback_when:
            - {{ metric: error_rate, above: 0.05, for: 600ms }}
"#,
        server.url("/health")
    )
}

#[test]
fn a_tripped_monitor_says_why_once_and_its_windows_follow_its_header() {
    let server = TestHttp::start();
    server.answer(500, "boom");
    let ws = Workspace::new(&monitored(&server, "30s"));
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 4, "{}", out.stderr);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert_eq!(count(&all, "held over window(s)"), 1, "{all}");
    assert!(
        index(&out.stdout, "  ▸ watch") < index(&out.stdout, "      w1 "),
        "{}",
        out.stdout
    );
    // Every window is a breach here: each is shown.
    assert!(out.stdout.contains("      w3 "), "{}", out.stdout);
}

#[test]
fn a_green_monitor_off_a_terminal_prints_its_first_and_last_windows_not_every_one() {
    let server = TestHttp::start();
    let ws = Workspace::new(&monitored(&server, "1s"));
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("      w1 "), "{}", out.stdout);
    assert!(out.stdout.contains("      w5 "), "the last window: {}", out.stdout);
    for quiet in ["w2", "w3", "w4"] {
        assert!(!out.stdout.contains(&format!("      {quiet} ")), "{}", out.stdout);
    }
    let status = ws.deployctl().args(["status", "r.yaml"]).run();
    assert!(
        status.stdout.contains("5 windows"),
        "the full series stays in status: {}",
        status.stdout
    );
}

#[test]
fn batch_lines_follow_their_restart_step_line() {
    let server = TestHttp::start();
    let ws = Workspace::new(&format!(
        "deployctl: 1\nname: restart\nservices:\n  svc0: {{ health: \"{}\", restart: \"true\" }}\nphases:\n  - id: p\n    steps:\n      - {{ id: restart, rolling_restart: {{ services: [svc0], health_timeout: 5s }} }}\n",
        server.url("/health")
    ));
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let step = index(&out.stdout, "  ▸ restart");
    let batch = index(&out.stdout, "batch 1: svc0");
    let done = index(&out.stdout, "[x] restart");
    assert!(step < batch && batch < done, "{}", out.stdout);
}
