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

/// A monitor of `server` for `duration`, a window every 200 ms, rolling back when the
/// error rate is over 5 % as `holds` says (`for: 600ms`, `consecutive: 10`).
pub(crate) fn monitored(server: &TestHttp, duration: &str, holds: &str) -> String {
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
            - {{ metric: error_rate, above: 0.05, {holds} }}
"#,
        server.url("/health")
    )
}

#[test]
fn a_tripped_monitor_says_why_once_and_its_windows_follow_its_header() {
    let server = TestHttp::start();
    server.answer(500, "boom");
    let ws = Workspace::new(&monitored(&server, "30s", "for: 600ms"));
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
    let ws = Workspace::new(&monitored(&server, "1s", "for: 600ms"));
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

/// A rolling restart of one service, `svc0`, whose health is `server`'s `/health`.
fn one_service_restart(server: &TestHttp) -> String {
    format!(
        "deployctl: 1\nname: restart\nservices:\n  svc0: {{ health: \"{}\", restart: \"true\" }}\nphases:\n  - id: p\n    steps:\n      - {{ id: restart, rolling_restart: {{ services: [svc0], health_timeout: 5s }} }}\n",
        server.url("/health")
    )
}

#[test]
fn batch_lines_follow_their_restart_step_line() {
    let server = TestHttp::start();
    let ws = Workspace::new(&one_service_restart(&server));
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let step = index(&out.stdout, "  ▸ restart");
    let batch = index(&out.stdout, "batch 1: svc0");
    let done = index(&out.stdout, "[x] restart");
    assert!(step < batch && batch < done, "{}", out.stdout);
}

#[test]
fn a_restart_says_which_service_it_polls_before_its_verdict_and_masks_the_url() {
    let server = TestHttp::start();
    let health = server.url("/health").replace("http://", "http://ops:hunter2@");
    let ws = Workspace::new(&format!(
        "deployctl: 1\nname: restart\nservices:\n  svc0: {{ health: \"{health}\", restart: \"true\" }}\n  svc1: {{ health: \"{health}\", restart: \"true\" }}\nphases:\n  - id: p\n    steps:\n      - {{ id: restart, rolling_restart: {{ services: [svc0, svc1], health_timeout: 5s }} }}\n"
    ));
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let masked = health.replace("hunter2", "***");
    for (batch, svc) in [(1, "svc0"), (2, "svc1")] {
        let polling = format!("      ↻ {svc}: restarted, polling {masked}");
        assert_eq!(count(&out.stdout, &polling), 1, "{}", out.stdout);
        let verdict = index(&out.stdout, &format!("batch {batch}: {svc}"));
        assert!(
            index(&out.stdout, "  ▸ restart") < index(&out.stdout, &polling),
            "{}",
            out.stdout
        );
        assert!(index(&out.stdout, &polling) < verdict, "{}", out.stdout);
    }
    assert!(!out.stdout.contains("hunter2"), "{}", out.stdout);
    let polled = ws.events("restart", "service_polling");
    assert_eq!(polled.len(), 2, "{polled:?}");
    assert_eq!(polled[0]["service"], "svc0");
    assert_eq!(polled[0]["batch"], 1);
    assert_eq!(polled[0]["health"], masked.as_str());
    let journal = std::fs::read_to_string(ws.journal_path("restart")).unwrap_or_default();
    assert!(!journal.contains("hunter2"), "the journal holds no credentials");
}

#[test]
fn output_json_streams_the_polling_entry_before_the_verdict() {
    let server = TestHttp::start();
    let ws = Workspace::new(&one_service_restart(&server));
    let out = ws.deployctl().args(["--output", "json", "run", "r.yaml"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let types: Vec<String> = out
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| v["event"]["type"].as_str().unwrap_or_default().to_string())
        .collect();
    let at = |t: &str| types.iter().position(|x| x == t);
    assert!(at("service_polling").is_some(), "{types:?}");
    assert!(at("service_polling") < at("service_restarted"), "{types:?}");
}

/// A background watch's windows keep coming while later steps start and end: its start
/// line is said once, not again above each window that follows another step's line, and
/// each such window names the watch.
#[test]
fn a_background_watch_says_its_start_line_once_while_later_steps_run() {
    let server = TestHttp::start();
    server.answer(500, "boom");
    let ws = Workspace::new(&format!(
        r#"deployctl: 1
name: watch
phases:
  - id: p
    steps:
      - id: users-watch
        monitor:
          background: true
          probes:
            - http: "{}"
          duration: 60s
          interval: 200ms
          rollback_when:
            - {{ metric: error_rate, above: 0.05, consecutive: 300 }}
      - id: a
        timeout: 30s
        shell: "until [ \"$(grep -c monitor_sample .deployctl/watch.jsonl)\" -ge 3 ]; do sleep 0.05; done"
      - id: b
        timeout: 30s
        shell: "until [ \"$(grep -c monitor_sample .deployctl/watch.jsonl)\" -ge 5 ]; do sleep 0.05; done"
"#,
        server.url("/health")
    ));
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(count(&out.stdout, "▸ users-watch"), 1, "{}", out.stdout);
    // Every window breaches, so each has a line; some come after `a` and `b` finished.
    let header = index(&out.stdout, "  ▸ users-watch");
    assert!(header < index(&out.stdout, "      w1 "), "{}", out.stdout);
    // The first window after `a`'s line is not read as `a`'s: it names its monitor (the
    // next, right under it, need not).
    let after_a: Vec<&str> = out.stdout.lines().skip_while(|l| !l.contains("[x] a ")).collect();
    assert!(
        after_a.get(1).is_some_and(|l| l.starts_with("      users-watch  w")),
        "{}",
        out.stdout
    );
}
