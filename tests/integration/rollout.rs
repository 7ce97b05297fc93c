//! Rolling restarts, monitors with automatic rollback, `on_failure`, and `deployctl
//! rollback`, against real HTTP servers on 127.0.0.1 and real restart commands.

use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::harness::{Workspace, eventually, lines};
use crate::http_server::TestHttp;

/// A runbook with one service per server (`svc0`, `svc1`, ...) whose restart appends its
/// name to restarts.log, then the given phases.
fn with_services(servers: &[&TestHttp], body: &str) -> String {
    let mut services = String::from("services:\n");
    for (i, server) in servers.iter().enumerate() {
        services.push_str(&format!(
            "  svc{i}: {{ health: \"{}\", restart: \"echo svc{i} >> restarts.log\" }}\n",
            server.url("/health")
        ));
    }
    format!("deployctl: 1\nname: rollout\ncontacts:\n  technical: {{ primary: \"@devops (Gage)\" }}\n{services}{body}")
}

#[test]
fn a_clean_rolling_restart_restarts_every_service_in_batches() {
    let servers: Vec<TestHttp> = (0..3).map(|_| TestHttp::start()).collect();
    let refs: Vec<&TestHttp> = servers.iter().collect();
    let ws = Workspace::new(&with_services(
        &refs,
        r#"phases:
  - id: deploy
    steps:
      - id: restart
        rolling_restart: { services: [svc0, svc1, svc2], batch: [1, 2], consecutive_ok: 2, health_timeout: 5s }
        undo: { shell: "echo undone >> undo.log" }
"#,
    ));
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    // The first batch is svc0 alone; svc1 and svc2 restart together after it is healthy.
    let restarts = lines(&ws, "restarts.log");
    assert_eq!(restarts.first().map(String::as_str), Some("svc0"), "{restarts:?}");
    assert_eq!(restarts.len(), 3, "{restarts:?}");
    for server in &servers {
        assert!(server.requests().len() >= 2, "each health URL was polled twice or more");
    }
    let journaled = ws.events("rollout", "service_restarted");
    assert_eq!(journaled.len(), 3);
    assert!(journaled.iter().all(|e| e["result"] == "healthy"), "{journaled:?}");
    assert_eq!(journaled[0]["batch"], 1);
    assert_eq!(journaled[2]["batch"], 2);
    let finished = ws.events("rollout", "step_finished");
    assert_eq!(finished[0]["undo"]["id"], "restart.undo", "the undo is on the ledger");
    let status = ws.deployctl().args(["status", "r.yaml"]).run();
    assert!(status.stdout.contains("[x] batch 1: svc0"), "{}", status.stdout);
    assert!(status.stdout.contains("[x] batch 2: svc2"), "{}", status.stdout);
}

#[test]
fn a_service_that_never_gets_healthy_stops_the_restart_and_leaves_later_services_alone() {
    let (a, b, c) = (TestHttp::start(), TestHttp::start(), TestHttp::start());
    b.answer(503, "starting");
    let ws = Workspace::new(&with_services(
        &[&a, &b, &c],
        r#"phases:
  - id: deploy
    steps:
      - id: restart
        rolling_restart: { services: [svc0, svc1, svc2], batch: 1, health_timeout: 1s }
"#,
    ));
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(lines(&ws, "restarts.log"), ["svc0", "svc1"]);
    assert!(c.requests().is_empty(), "svc2 was never touched");
    assert!(out.stderr.contains("`svc1` not healthy within 1s"), "{}", out.stderr);
    assert!(out.stderr.contains("answered 503"), "{}", out.stderr);
    assert!(out.stderr.contains("not restarted: svc2"), "{}", out.stderr);
    assert!(
        out.stderr.contains("@devops (Gage)"),
        "contacts printed: {}",
        out.stderr
    );
    let results: Vec<String> = ws
        .events("rollout", "service_restarted")
        .iter()
        .map(|e| {
            format!(
                "{}={}",
                e["service"].as_str().unwrap_or(""),
                e["result"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(results, ["svc0=healthy", "svc1=unhealthy"]);
}

#[test]
fn max_failed_is_a_budget_across_the_whole_restart() {
    let servers: Vec<TestHttp> = (0..4).map(|_| TestHttp::start()).collect();
    servers[1].answer(500, "broken");
    let refs: Vec<&TestHttp> = servers.iter().collect();
    let within = with_services(
        &refs,
        r#"phases:
  - id: deploy
    steps:
      - id: restart
        rolling_restart: { services: [svc0, svc1, svc2, svc3], batch: 2, max_failed: 1, health_timeout: 1s }
"#,
    );
    let ws = Workspace::new(&within);
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 0, "one failure is within the budget: {}", out.stderr);
    assert_eq!(lines(&ws, "restarts.log").len(), 4);
    let status = ws.deployctl().args(["status", "r.yaml"]).run();
    assert!(
        status.stdout.contains("1 failed within max_failed 1: svc1"),
        "{}",
        status.stdout
    );

    servers[2].answer(500, "broken too");
    let ws = Workspace::new(&within);
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("batch 2: 2 services failed, over max_failed 1"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_resumed_rolling_restart_restarts_only_the_services_not_done() {
    let servers: Vec<TestHttp> = (0..3).map(|_| TestHttp::start()).collect();
    let ws = Workspace::new(&format!(
        r#"deployctl: 1
name: rollout
services:
  svc0: {{ health: "{}", restart: "echo svc0 >> restarts.log" }}
  svc1: {{ health: "{}", restart: "echo svc1 >> restarts.log; echo $$ > hang.pid; [ -e resumed ] || sleep 100" }}
  svc2: {{ health: "{}", restart: "echo svc2 >> restarts.log" }}
phases:
  - id: deploy
    steps:
      - id: restart
        rolling_restart: {{ services: [svc0, svc1, svc2], batch: 1, health_timeout: 200s }}
"#,
        servers[0].url("/health"),
        servers[1].url("/health"),
        servers[2].url("/health")
    ));
    let mut child = ws.spawn_run();
    assert!(
        eventually(20, || ws.file("hang.pid").exists()),
        "svc1's restart started"
    );
    // The step reports svc0 healthy and goes on to svc1 while the engine journals that
    // report: the resume can skip only what reached the journal.
    assert!(
        eventually(20, || ws
            .events("rollout", "service_restarted")
            .iter()
            .any(|e| e["service"] == "svc0")),
        "svc0 was journaled healthy"
    );
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).expect("kill -9 deployctl");
    let _ = child.wait();
    let hung: i32 = std::fs::read_to_string(ws.file("hang.pid"))
        .expect("pid")
        .trim()
        .parse()
        .expect("pid");
    let _ = kill(Pid::from_raw(-hung), Signal::SIGKILL);
    // A resume waits while a killed run's step still runs (issue 14 item 18).
    assert!(
        crate::harness::eventually(5, || !crate::harness::alive(hung)),
        "the step's group ended"
    );

    // Not idempotent: the resume asks first.
    let paused = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(paused.code, 3, "{}", paused.stderr);
    let approved = ws
        .deployctl()
        .args(["approve", "r.yaml", "restart", "--by", "dara"])
        .run();
    assert_eq!(approved.code, 0, "{}", approved.stderr);
    std::fs::write(ws.file("resumed"), "").expect("marker");
    let resumed = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(resumed.code, 0, "{}\n{}", resumed.stdout, resumed.stderr);
    assert_eq!(
        lines(&ws, "restarts.log"),
        ["svc0", "svc1", "svc1", "svc2"],
        "svc0 was not restarted again"
    );
    assert!(resumed.stdout.contains("(1 already done before)"), "{}", resumed.stdout);
}

/// A runbook with a monitor over the given servers and a rollback that records itself.
fn monitored(servers: &[&TestHttp], monitor: &str, extra_rollback: &str) -> String {
    let probes: Vec<String> = servers
        .iter()
        .map(|s| format!("            - http: \"{}\"", s.url("/health")))
        .collect();
    format!(
        r#"deployctl: 1
name: rollout
contacts:
  technical: {{ primary: "@devops (Gage)", backup: "@data-engineer (Dara)" }}
phases:
  - id: deploy
    steps:
      - id: change
        shell: "echo changed >> change.log"
        undo: {{ shell: "echo undo-change >> rollback.log" }}
  - id: watch
    steps:
      - id: watch
        monitor:
          probes:
{}
{monitor}
      - {{ id: after, shell: "touch after-ran" }}
rollback:
  steps:
    - {{ id: restore, shell: "echo restore >> rollback.log" }}
{extra_rollback}"#,
        probes.join("\n")
    )
}

#[test]
fn a_green_monitor_passes_and_journals_every_window() {
    let (a, b) = (TestHttp::start(), TestHttp::start());
    let ws = Workspace::new(&monitored(
        &[&a, &b],
        r#"          duration: 1s
          interval: 200ms
          rollback_when:
            - { metric: error_rate, above: 0.05, for: 400ms }
            - { metric: p99_ms, above: 1000, consecutive: 3 }"#,
        "",
    ));
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let samples = ws.events("rollout", "monitor_sample");
    assert_eq!(samples.len(), 5, "1s of 200ms windows");
    for (n, s) in samples.iter().enumerate() {
        assert_eq!(s["sample"]["window"], n + 1);
        assert_eq!(s["sample"]["count"], 2);
        assert_eq!(s["sample"]["errors"], 0);
        assert!(s["sample"]["p99_ms"].as_f64().is_some(), "{s}");
        assert_eq!(s["sample"]["rules"][0]["needed"], 2);
    }
    assert!(ws.file("after-ran").exists());
    assert!(
        out.stdout.contains("w5  2 probes, 0 errors  err 0.0% ≤ 5%"),
        "{}",
        out.stdout
    );
    let status = ws.deployctl().args(["status", "r.yaml"]).run();
    assert!(
        status.stdout.contains("5 windows, 10 probes, 0 errors"),
        "{}",
        status.stdout
    );
    assert!(status.stdout.contains("error rate ▁▁▁▁▁"), "{}", status.stdout);
}

#[test]
fn an_error_rate_held_over_the_span_rolls_back_with_exit_4() {
    let (a, b) = (TestHttp::start(), TestHttp::start());
    b.answer(500, "boom");
    let ws = Workspace::new(&monitored(
        &[&a, &b],
        r#"          duration: 30s
          interval: 200ms
          rollback_when:
            - { metric: error_rate, above: 0.05, for: 600ms }"#,
        "",
    ));
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 4, "{}\n{}", out.stdout, out.stderr);
    // Undo of the completed change first, then the runbook's rollback steps.
    assert_eq!(lines(&ws, "rollback.log"), ["undo-change", "restore"]);
    assert!(!ws.file("after-ran").exists());
    let fired = ws.events("rollout", "trigger_fired");
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0]["rule"], "error_rate above 0.05 for 600ms");
    assert_eq!(fired[0]["windows"], serde_json::json!([1, 2, 3]));
    let samples = ws.events("rollout", "monitor_sample");
    assert_eq!(
        samples.len(),
        3,
        "the monitor stopped at the window that completed the rule"
    );
    assert!(samples.iter().all(|s| s["sample"]["error_rate"] == 0.5));
    let started = ws.events("rollout", "rollback_started");
    assert_eq!(started[0]["cause"], "trigger");
    assert_eq!(started[0]["steps"][0]["id"], "change.undo");
    assert!(out.stderr.contains("rolled back: monitor `watch`"), "{}", out.stderr);

    let status = ws.deployctl().args(["status", "r.yaml", "--format", "json"]).run();
    let view: serde_json::Value = serde_json::from_str(&status.stdout).expect("status json");
    assert_eq!(view["state"], "rolled_back");
    assert_eq!(view["rollback"]["cause"], "trigger");
    assert!(view["rollback"]["time_to_rollback_ms"].as_u64().is_some(), "{view}");
    assert_eq!(view["rollback"]["steps"][1]["status"], "done");
    let monitor = &view["phases"][1]["steps"][0]["monitor"];
    assert_eq!(monitor["trigger"]["windows"], serde_json::json!([1, 2, 3]));
    let text = ws.deployctl().args(["status", "r.yaml"]).run().stdout;
    assert!(
        text.contains("w3  2 probes, 1 error  err 50.0% > 5% (3/3) ← tripped"),
        "{text}"
    );
    assert!(text.contains("first error: GET http://127.0.0.1:"), "{text}");
    let markdown = ws
        .deployctl()
        .args(["status", "r.yaml", "--format", "markdown"])
        .run()
        .stdout;
    assert!(markdown.contains("## Rollback"), "{markdown}");
    assert!(markdown.contains("- [x] **restore**"), "{markdown}");

    // Rolled back is final: a second rollback refuses, a new run starts afresh.
    let again = ws.deployctl().args(["rollback", "r.yaml"]).run();
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(again.stderr.contains("already rolled back"), "{}", again.stderr);
    assert_eq!(lines(&ws, "rollback.log").len(), 2);
}

#[test]
fn a_latency_breach_rolls_back() {
    let slow = TestHttp::start();
    slow.delay(Duration::from_millis(150));
    let ws = Workspace::new(&monitored(
        &[&slow],
        r#"          duration: 30s
          interval: 300ms
          rollback_when:
            - { metric: p99_ms, above: 50, consecutive: 2 }"#,
        "",
    ));
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 4, "{}\n{}", out.stdout, out.stderr);
    let fired = ws.events("rollout", "trigger_fired");
    assert_eq!(fired[0]["rule"], "p99_ms above 50 for 2 windows in a row");
    let samples = ws.events("rollout", "monitor_sample");
    assert!(
        samples
            .iter()
            .all(|s| s["sample"]["p99_ms"].as_f64().unwrap_or(0.0) >= 150.0),
        "{samples:?}"
    );
    assert_eq!(samples[0]["sample"]["errors"], 0, "slow is not an error");
}

#[test]
fn no_data_fails_closed_pauses_or_is_ignored_as_the_runbook_says() {
    // Nothing listens on the port: no probe answers, so p99 has no data.
    let gone = TestHttp::start();
    let url = gone.url("/health");
    drop(gone);
    let runbook = |on_no_data: &str| {
        format!(
            r#"deployctl: 1
name: rollout
phases:
  - id: watch
    steps:
      - id: watch
        monitor:
          duration: 600ms
          interval: 200ms
          on_no_data: {on_no_data}
          probes: [{{ http: "{url}" }}]
          rollback_when: [{{ metric: p99_ms, above: 1000, consecutive: 2 }}]
rollback:
  steps:
    - {{ id: restore, shell: "echo restore >> rollback.log" }}
"#
        )
    };
    let ws = Workspace::new(&runbook("fail"));
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 4, "no data fails closed: {}", out.stderr);
    assert_eq!(lines(&ws, "rollback.log"), ["restore"]);

    let ws = Workspace::new(&runbook("ignore"));
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 0, "no data ignored: {}", out.stderr);
    assert_eq!(ws.events("rollout", "monitor_sample").len(), 3);

    let ws = Workspace::new(&runbook("pause"));
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 3, "no data pauses: {}", out.stderr);
    assert!(
        out.stderr.contains("window 1 had no data for rule `p99_ms above 1000"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("deployctl rollback r.yaml"), "{}", out.stderr);
    assert!(lines(&ws, "rollback.log").is_empty());
}

#[test]
fn a_failing_rollback_step_exits_5_and_prints_the_contacts() {
    let bad = TestHttp::start();
    bad.answer(500, "boom");
    let ws = Workspace::new(&monitored(
        &[&bad],
        r#"          duration: 30s
          interval: 200ms
          rollback_when:
            - { metric: error_rate, above: 0.5, consecutive: 1 }"#,
        r#"    - { id: restore-db, shell: "echo restore-db >> rollback.log; exit 7" }
    - { id: announce, shell: "echo announce >> rollback.log" }
"#,
    ));
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 5, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("ROLLBACK FAILED at `restore-db`"), "{}", out.stderr);
    assert!(out.stderr.contains("@data-engineer (Dara)"), "{}", out.stderr);
    assert_eq!(lines(&ws, "rollback.log"), ["undo-change", "restore", "restore-db"]);

    // `run` will not go forward over a half-done rollback.
    let forward = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(forward.code, 3, "{}", forward.stderr);
    assert!(forward.stderr.contains("is rolling back"), "{}", forward.stderr);

    // Fixed: `deployctl rollback` retries from the failed step, never re-running done ones.
    let fixed = std::fs::read_to_string(ws.file("r.yaml"))
        .expect("runbook")
        .replace("; exit 7", "");
    ws.rewrite(&fixed);
    let resumed = ws.deployctl().args(["rollback", "r.yaml", "--allow-changed"]).run();
    assert_eq!(resumed.code, 4, "{}\n{}", resumed.stdout, resumed.stderr);
    assert_eq!(
        lines(&ws, "rollback.log"),
        ["undo-change", "restore", "restore-db", "restore-db", "announce"]
    );
}

#[test]
fn on_failure_stop_continue_and_rollback() {
    let runbook = |on_failure: &str| {
        format!(
            r#"deployctl: 1
name: rollout
phases:
  - id: p
    steps:
      - {{ id: one, shell: "echo one >> ran.log", undo: {{ shell: "echo undo-one >> rollback.log" }} }}
      - {{ id: two, shell: "echo two >> ran.log", undo: {{ shell: "echo undo-two >> rollback.log" }} }}
      - {{ id: bad, shell: "exit 3", on_failure: {on_failure}, undo: {{ shell: "echo undo-bad >> rollback.log" }} }}
      - {{ id: three, shell: "echo three >> ran.log" }}
rollback:
  steps:
    - {{ id: restore, shell: "echo restore >> rollback.log" }}
"#
        )
    };
    let ws = Workspace::new(&runbook("stop"));
    assert_eq!(ws.deployctl().args(["run", "r.yaml"]).run().code, 1);
    assert_eq!(lines(&ws, "ran.log"), ["one", "two"]);
    assert!(lines(&ws, "rollback.log").is_empty());

    let ws = Workspace::new(&runbook("continue"));
    assert_eq!(ws.deployctl().args(["run", "r.yaml"]).run().code, 0);
    assert_eq!(lines(&ws, "ran.log"), ["one", "two", "three"]);

    let ws = Workspace::new(&runbook("rollback"));
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 4, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(lines(&ws, "ran.log"), ["one", "two"]);
    // The failed step never completed, so its undo is not on the ledger.
    assert_eq!(lines(&ws, "rollback.log"), ["undo-two", "undo-one", "restore"]);
    let started = ws.events("rollout", "rollback_started");
    assert_eq!(started[0]["cause"], "step_failed");
    assert!(
        started[0]["reason"]
            .as_str()
            .unwrap_or("")
            .starts_with("step `bad` failed (on_failure: rollback)"),
        "{started:?}"
    );

    // `defaults.on_failure` applies to every step that does not say otherwise.
    let ws = Workspace::new(
        &runbook("rollback")
            .replace(", on_failure: rollback", "")
            .replace("name: rollout\n", "name: rollout\ndefaults: { on_failure: rollback }\n"),
    );
    assert_eq!(ws.deployctl().args(["run", "r.yaml"]).run().code, 4);
}

#[test]
fn rollback_by_command_after_success_then_refuses_a_second_time() {
    let ws = Workspace::new("");
    ws.rewrite(
        r#"deployctl: 1
name: rollout
phases:
  - id: p
    steps:
      - { id: one, shell: "true", undo: { title: Put one back, shell: "echo undo-one >> rollback.log" } }
      - { id: two, shell: "true", undo: { shell: "echo undo-two >> rollback.log" } }
rollback:
  steps:
    - { id: restore, shell: "echo restore >> rollback.log" }
"#,
    );
    let nothing = ws.deployctl().args(["rollback", "r.yaml"]).run();
    assert_eq!(nothing.code, 2, "no run yet: {}", nothing.stderr);
    assert!(nothing.stderr.contains("nothing to roll back"), "{}", nothing.stderr);

    assert_eq!(ws.deployctl().args(["run", "r.yaml"]).run().code, 0);
    let plan = ws.deployctl().args(["rollback", "r.yaml", "--dry-run"]).run();
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stdout.contains("[ ] 1. two.undo  undo of `two` (shell)"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("[ ] 2. one.undo  Put one back (shell)"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("[ ] 3. restore"), "{}", plan.stdout);
    assert!(!ws.file("rollback.log").exists(), "a dry run runs nothing");

    let out = ws.deployctl().args(["rollback", "r.yaml"]).run();
    assert_eq!(out.code, 4, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(lines(&ws, "rollback.log"), ["undo-two", "undo-one", "restore"]);
    let started = ws.events("rollout", "rollback_started");
    assert_eq!(started[0]["cause"], "command");
    assert_eq!(started[0]["by"], "gage");

    let again = ws.deployctl().args(["rollback", "r.yaml"]).run();
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("already rolled back"), "{}", again.stderr);
    assert_eq!(lines(&ws, "rollback.log").len(), 3);
}

#[test]
fn kill_9_during_the_rollback_then_rollback_again_finishes_it() {
    let ws = Workspace::new(
        r#"deployctl: 1
name: rollout
phases:
  - id: p
    steps:
      - { id: one, shell: "true", undo: { shell: "echo undo-one >> rollback.log" } }
      - { id: bad, shell: "exit 1", on_failure: rollback }
rollback:
  steps:
    - id: slow
      idempotent: true
      shell: "echo slow >> rollback.log; echo $$ > slow.pid; [ -e go ] || sleep 100"
    - { id: last, shell: "echo last >> rollback.log" }
"#,
    );
    let mut child = ws.spawn_run();
    assert!(
        eventually(20, || ws.file("slow.pid").exists()),
        "the rollback reached `slow`"
    );
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).expect("kill -9 deployctl");
    let _ = child.wait();
    let hung: i32 = std::fs::read_to_string(ws.file("slow.pid"))
        .expect("pid")
        .trim()
        .parse()
        .expect("pid");
    let _ = kill(Pid::from_raw(-hung), Signal::SIGKILL);
    // A resume waits while a killed run's step still runs (issue 14 item 18).
    assert!(
        crate::harness::eventually(5, || !crate::harness::alive(hung)),
        "the step's group ended"
    );

    let status = ws.deployctl().args(["status", "r.yaml"]).run();
    assert!(status.stdout.contains("rolling_back"), "{}", status.stdout);
    std::fs::write(ws.file("go"), "").expect("marker");
    let out = ws.deployctl().args(["rollback", "r.yaml"]).run();
    assert_eq!(out.code, 4, "{}\n{}", out.stdout, out.stderr);
    // undo-one finished before the kill and did not run again; `slow` (idempotent) did.
    assert_eq!(lines(&ws, "rollback.log"), ["undo-one", "slow", "slow", "last"]);
    assert_eq!(
        ws.events("rollout", "rollback_started").len(),
        1,
        "the same rollback, resumed"
    );
}

#[test]
fn ctrl_c_during_a_monitor_exits_130_and_keeps_the_samples() {
    let ok = TestHttp::start();
    let ws = Workspace::new(&monitored(
        &[&ok],
        r#"          duration: 1h
          interval: 100ms
          rollback_when:
            - { metric: error_rate, above: 0.5, consecutive: 3 }"#,
        "",
    ));
    let mut child = ws.spawn_run();
    assert!(
        eventually(20, || ws.events("rollout", "monitor_sample").len() >= 2),
        "the monitor is sampling"
    );
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).expect("SIGINT");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(130));
    assert!(ws.events("rollout", "monitor_sample").len() >= 2);
    assert!(!ws.file("rollback.log").exists(), "Ctrl-C is not a rollback");
    let finished = ws.events("rollout", "step_finished");
    assert_eq!(finished.last().map(|f| f["status"].clone()), Some("interrupted".into()));
}

/// A webhook that answers only once `marker` exists (polled with a deadline): if deployctl
/// waited for it before starting the rollback, it would time out and say so.
fn webhook_held_until(marker: std::path::PathBuf) -> u16 {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let marker = marker.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0u8; length];
                let _ = reader.read_exact(&mut body);
                eventually(20, || marker.exists());
                let mut stream = stream;
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
            });
        }
    });
    port
}

#[test]
fn a_slow_webhook_does_not_hold_up_the_rollback() {
    let bad = TestHttp::start();
    bad.answer(500, "boom");
    let ws = Workspace::new("");
    let hook = webhook_held_until(ws.file("rollback.log"));
    ws.rewrite(
        &monitored(
            &[&bad],
            r#"          duration: 30s
          interval: 200ms
          rollback_when:
            - { metric: error_rate, above: 0.5, consecutive: 1 }"#,
            "",
        )
        .replace(
            "name: rollout\n",
            &format!("name: rollout\nnotify:\n  - webhook: \"http://127.0.0.1:{hook}/hook\"\n"),
        ),
    );
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 4, "{}\n{}", out.stdout, out.stderr);
    assert!(
        !out.stderr.contains("was not told `trigger_fired`") && !out.stderr.contains("was not told `rollback_started`"),
        "the rollback ran while the webhook was still waiting: {}",
        out.stderr
    );
}

#[test]
fn a_flapping_service_never_counts_as_up() {
    let (steady, flapping) = (TestHttp::start(), TestHttp::start());
    flapping.cycle(&[200, 200, 503]);
    let ws = Workspace::new(&with_services(
        &[&steady, &flapping],
        r#"phases:
  - id: deploy
    steps:
      - id: restart
        rolling_restart: { services: [svc0, svc1], batch: 1, consecutive_ok: 3, health_timeout: 2s }
"#,
    ));
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("`svc1` not healthy within 2s"), "{}", out.stderr);
    assert!(out.stderr.contains("answered 503"), "{}", out.stderr);
    assert!(flapping.requests().len() >= 6, "it kept polling through the flaps");
}

#[test]
fn a_plain_migrate_is_rolled_back_by_its_down_files() {
    let db = crate::db::TestDb::create();
    let ws = Workspace::new("");
    let dir = ws.file("migrations");
    std::fs::create_dir_all(&dir).expect("mkdir");
    for (name, up, down) in [
        (
            "0001_accounts",
            "create table accounts (id int primary key);",
            "drop table accounts;",
        ),
        (
            "0002_notes",
            "create table notes (id int primary key);",
            "drop table notes;",
        ),
    ] {
        std::fs::write(dir.join(format!("{name}.sql")), up).expect("up");
        std::fs::write(dir.join(format!("{name}.down.sql")), down).expect("down");
    }
    ws.rewrite(&format!(
        r#"deployctl: 1
name: rollout
databases:
  app: {{ url: "{}" }}
phases:
  - id: p
    steps:
      - {{ id: migrate, migrate: {{ database: app, dir: migrations, style: plain }} }}
      - {{ id: bad, shell: "exit 1", on_failure: rollback }}
"#,
        db.url
    ));
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 4, "{}\n{}", out.stdout, out.stderr);
    let started = ws.events("rollout", "rollback_started");
    assert_eq!(started[0]["steps"][0]["id"], "migrate.undo");
    assert_eq!(started[0]["steps"][0]["kind"], "migrate");
    assert_eq!(
        db.scalar("select count(*)::text from information_schema.tables where table_name in ('accounts', 'notes')")
            .as_deref(),
        Some("0"),
        "both tables dropped by their down files"
    );
    assert_eq!(
        db.scalar("select count(*)::text from deployctl_migrations").as_deref(),
        Some("0"),
        "their bookkeeping rows went with them"
    );
    let finished = ws.events("rollout", "step_finished");
    let undo = finished
        .iter()
        .find(|f| f["step"] == "migrate.undo")
        .expect("undo journaled");
    assert_eq!(undo["status"], "done");
    assert!(
        undo["reason"]
            .as_str()
            .unwrap_or("")
            .contains("reverted 2 migrations: 0002_notes, 0001_accounts"),
        "{undo}"
    );
}
