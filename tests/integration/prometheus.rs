//! `query` steps and monitor `queries` against a real Prometheus (one per test) scraping an
//! exporter whose values the test drives.

use std::time::Duration;

use crate::harness::Workspace;
use crate::http_server::TestHttp;
use crate::prom_server::{TestPrometheus, until};

const TOKEN: &str = "prom-tok-5bd1c9";

const RULES: &str = r#"groups:
  - name: deploy
    rules:
      - alert: HighErrorRate
        expr: demo_error_ratio > 0.05
        for: 5m
      - alert: HighLatency
        expr: demo_latency_ms > 1000
        for: 5m
"#;

/// An exporter serving these two gauges.
fn exporter(error_ratio: f64, latency_ms: f64) -> TestHttp {
    let server = TestHttp::start();
    set(&server, error_ratio, latency_ms);
    server
}

fn set(server: &TestHttp, error_ratio: f64, latency_ms: f64) {
    let body = format!(
        "# TYPE demo_error_ratio gauge\ndemo_error_ratio {error_ratio}\n# TYPE demo_latency_ms gauge\ndemo_latency_ms {latency_ms}\n"
    );
    server.answer(200, &body);
}

fn runbook(prom: &TestPrometheus, phases: &str) -> String {
    format!(
        r#"deployctl: 1
name: prom
prometheus:
  prod: {{ url: "{}", headers: {{ Authorization: "Bearer ${{env.PROM_TOKEN}}" }} }}
phases:
{phases}"#,
        prom.url()
    )
}

fn samples(ws: &Workspace) -> Vec<serde_json::Value> {
    ws.events("prom", "monitor_sample")
}

#[test]
fn query_steps_pass_and_fail_on_what_prometheus_answers() {
    let exp = exporter(0.2, 100.0);
    let prom = TestPrometheus::start(&[exp.port], RULES);
    prom.wait_for("demo_error_ratio", |v| v == 0.2);
    let ws = Workspace::new(&runbook(
        &prom,
        r#"  - id: checks
    steps:
      - { id: ready, query: { prometheus: prod, promql: 'up{job="services"}', expect: { min_series: 1, all: { equals: 1 } } } }
      - { id: rules, query: { prometheus: prod, alert_rules: [HighErrorRate, HighLatency] } }
      - { id: no-alerts, query: { prometheus: prod, promql: 'ALERTS{alertstate="firing"}', expect: { empty: true } } }
      - { id: calm, query: { prometheus: prod, promql: 'demo_error_ratio', expect: { value: { below: 0.005 } } } }
"#,
    ));
    let dry = ws
        .deployctl()
        .env("PROM_TOKEN", TOKEN)
        .args(["--output", "json", "run", "--dry-run", "r.yaml"])
        .run();
    let verdicts: Vec<(String, String)> = dry
        .json_lines()
        .iter()
        .filter(|l| l["type"] == "plan_step")
        .map(|l| {
            (
                l["step"]["id"].as_str().unwrap_or_default().to_string(),
                l["step"]["verdict"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert!(
        verdicts.contains(&("ready".into(), "verified".into())),
        "{verdicts:?}\n{}",
        dry.stdout
    );
    assert!(verdicts.contains(&("rules".into(), "verified".into())), "{verdicts:?}");
    assert!(
        verdicts.contains(&("calm".into(), "simulated".into())),
        "its probe failed: {verdicts:?}"
    );

    let out = ws.deployctl().env("PROM_TOKEN", TOKEN).args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let finished = ws.events("prom", "step_finished");
    let status = |id: &str| {
        finished
            .iter()
            .find(|e| e["step"] == id)
            .map(|e| {
                (
                    e["status"].as_str().unwrap_or_default().to_string(),
                    e["reason"].to_string(),
                )
            })
            .unwrap_or_default()
    };
    assert_eq!(status("ready").0, "done");
    assert_eq!(status("rules").0, "done");
    assert_eq!(status("no-alerts").0, "done");
    let (calm, reason) = status("calm");
    assert_eq!(calm, "failed");
    assert!(reason.contains("expected a value < 0.005, got 0.2"), "{reason}");
    let journal = std::fs::read_to_string(ws.journal_path("prom")).unwrap_or_default();
    for text in [&out.stdout, &out.stderr, &dry.stdout, &dry.stderr, &journal] {
        assert!(!text.contains(TOKEN), "the token leaked: {text}");
    }

    // A rule that is not loaded fails and names it.
    let ws = Workspace::new(&runbook(
        &prom,
        "  - id: checks\n    steps:\n      - { id: rules, query: { prometheus: prod, alert_rules: [HighErrorRate, NoSuchAlert] } }\n",
    ));
    let out = ws.deployctl().env("PROM_TOKEN", TOKEN).args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("alerting rules not loaded: NoSuchAlert")
            || out.stdout.contains("alerting rules not loaded: NoSuchAlert"),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
}

#[test]
fn a_monitor_trips_on_a_metric_the_test_drives() {
    let exp = exporter(0.0, 100.0);
    let prom = TestPrometheus::start(&[exp.port], "");
    prom.wait_for("demo_error_ratio", |v| v == 0.0);
    let ws = Workspace::new(&runbook(
        &prom,
        r#"  - id: watch
    steps:
      - id: users
        monitor:
          duration: 60s
          interval: 1s
          queries:
            error_rate: { prometheus: prod, promql: 'max(demo_error_ratio)' }
          rollback_when:
            - { metric: error_rate, above: 0.05, consecutive: 2 }
"#,
    ));
    let child = ws.spawn_run_with_env(&[("PROM_TOKEN", TOKEN)]);
    until(30, "two calm windows journaled", || samples(&ws).len() >= 2);
    for s in samples(&ws) {
        assert_eq!(s["sample"]["queries"]["error_rate"], 0.0, "{s}");
    }
    set(&exp, 0.5, 100.0);
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(4), "{}", String::from_utf8_lossy(&out.stderr));
    let fired = ws.events("prom", "trigger_fired");
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0]["rule"], "error_rate above 0.05 for 2 windows in a row");
    let last = samples(&ws).last().cloned().unwrap_or_default();
    assert_eq!(last["sample"]["queries"]["error_rate"], 0.5);
    assert_eq!(last["sample"]["rules"][0]["breach"], true);
    assert_eq!(last["sample"]["rules"][0]["streak"], 2);
}

/// The same value (140ms) passes against a baseline of 100ms and trips against one of
/// 50ms: the rule compares with what the metric was before the change.
#[test]
fn a_baseline_rule_holds_only_relative_to_the_value_before_the_change() {
    let code = |before: f64| {
        let exp = exporter(0.0, before);
        let prom = TestPrometheus::start(&[exp.port], "");
        prom.wait_for("demo_latency_ms", |v| v == before);
        // The baseline window (3s) holds only the value before the change.
        std::thread::sleep(Duration::from_secs(3));
        let ws = Workspace::new(&runbook(
            &prom,
            r#"  - id: deploy
    steps:
      - { id: change, shell: "sleep 2" }
  - id: watch
    steps:
      - id: users
        monitor:
          duration: 5s
          interval: 1s
          queries:
            p99_ms: { prometheus: prod, promql: 'max(demo_latency_ms)' }
          baseline: { window: 3s }
          rollback_when:
            - { metric: p99_ms, above_baseline: "50%", consecutive: 2 }
"#,
        ));
        let child = ws.spawn_run_with_env(&[("PROM_TOKEN", TOKEN)]);
        until(30, "the change started", || {
            ws.events("prom", "step_started").iter().any(|e| e["step"] == "change")
        });
        set(&exp, 0.0, 140.0);
        prom.wait_for("demo_latency_ms", |v| v == 140.0);
        let out = child.wait_with_output().expect("wait");
        let baseline = ws.events("prom", "baseline_measured");
        assert_eq!(baseline.len(), 1, "journaled once");
        assert_eq!(baseline[0]["baseline"]["before"], "change");
        let measured = baseline[0]["baseline"]["values"]["p99_ms"].as_f64().unwrap_or_default();
        assert!(
            (measured - before).abs() < 1e-9,
            "baseline {measured}, expected {before}"
        );
        let last = samples(&ws).last().cloned().unwrap_or_default();
        assert_eq!(last["sample"]["rules"][0]["baseline"], before, "{last}");
        assert_status_shows_the_baseline(&ws, before);
        out.status.code()
    };
    assert_eq!(code(100.0), Some(0), "140 is within 50% of 100");
    assert_eq!(code(50.0), Some(4), "140 is more than 50% over 50");
}

/// `status` in every format shows the baseline beside each evaluation; the HTML chart
/// draws it as a line.
fn assert_status_shows_the_baseline(ws: &Workspace, before: f64) {
    let status = |format: &str| ws.deployctl().args(["status", "r.yaml", "--format", format]).run();
    let human = status("human");
    let shown = format!("baseline (3s before `change`): p99_ms {before}ms");
    assert!(human.stdout.contains(&shown), "{}", human.stdout);
    assert!(
        human.stdout.contains(&format!("(baseline {before}ms)")),
        "{}",
        human.stdout
    );
    let markdown = status("markdown");
    assert!(
        markdown.stdout.contains(&format!("(baseline {before}ms)")),
        "{}",
        markdown.stdout
    );
    let html = status("html");
    assert!(
        html.stdout
            .contains(&format!("class=\"baseline\" data-baseline=\"{before}\"")),
        "{}",
        html.stdout
    );
    assert!(html.stdout.contains("data-metric=\"p99_ms\""));
}

#[test]
fn a_monitor_without_prometheus_has_no_data_and_fails_closed() {
    let exp = exporter(0.0, 100.0);
    let mut prom = TestPrometheus::start(&[exp.port], "");
    prom.wait_for("demo_error_ratio", |v| v == 0.0);
    let ws = Workspace::new(&runbook(
        &prom,
        r#"  - id: watch
    steps:
      - id: users
        monitor:
          duration: 60s
          interval: 1s
          queries:
            error_rate: { prometheus: prod, promql: 'max(demo_error_ratio)' }
          rollback_when:
            - { metric: error_rate, above: 0.05, consecutive: 3 }
"#,
    ));
    let child = ws.spawn_run_with_env(&[("PROM_TOKEN", TOKEN)]);
    until(30, "two windows with data", || samples(&ws).len() >= 2);
    prom.stop();
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(4), "{}", String::from_utf8_lossy(&out.stderr));
    let all = samples(&ws);
    let last = all.last().cloned().unwrap_or_default();
    assert!(last["sample"]["queries"]["error_rate"].is_null(), "{last}");
    let error = last["sample"]["first_error"].as_str().unwrap_or_default();
    assert!(error.contains("query `error_rate`: prometheus `prod`"), "{error}");
    assert!(!error.contains(TOKEN));
    let tripped = &ws.events("prom", "trigger_fired")[0];
    let windows: Vec<u64> = tripped["windows"]
        .as_array()
        .map(|w| w.iter().filter_map(|v| v.as_u64()).collect())
        .unwrap_or_default();
    // The windows with data did not breach: the streak is made of no-data windows only.
    let with_data = all
        .iter()
        .filter(|s| !s["sample"]["queries"]["error_rate"].is_null())
        .count() as u64;
    assert!(
        windows.iter().all(|w| *w > with_data),
        "{windows:?} after {with_data} windows with data"
    );
}

const BACKGROUND: &str = r#"  - id: deploy
    steps:
      - id: live-watch
        monitor:
          background: true
          duration: 120s
          interval: 1s
          queries:
            error_rate: { prometheus: prod, promql: 'max(demo_error_ratio)' }
          rollback_when:
            - { metric: error_rate, above: 0.05, consecutive: 2 }
      - { id: long, shell: "echo $$ > long.pid; exec sleep 120" }
      - { id: after, shell: "touch after-ran" }
rollback:
  steps:
    - { id: restore, shell: "touch restored" }
"#;

#[test]
fn a_background_monitor_interrupts_the_step_in_flight_and_rolls_back() {
    let exp = exporter(0.0, 100.0);
    let prom = TestPrometheus::start(&[exp.port], "");
    prom.wait_for("demo_error_ratio", |v| v == 0.0);
    let ws = Workspace::new(&runbook(&prom, BACKGROUND));
    let child = ws.spawn_run_with_env(&[("PROM_TOKEN", TOKEN)]);
    until(30, "the long step runs and two calm windows are journaled", || {
        ws.file("long.pid").exists() && samples(&ws).len() >= 2
    });
    let pid: i32 = std::fs::read_to_string(ws.file("long.pid"))
        .unwrap_or_default()
        .trim()
        .parse()
        .unwrap_or_default();
    assert!(pid > 0 && crate::harness::alive(pid));
    set(&exp, 0.5, 100.0);
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(4), "{}", String::from_utf8_lossy(&out.stderr));
    let finished = ws.events("prom", "step_finished");
    let of = |id: &str| finished.iter().find(|e| e["step"] == id).cloned().unwrap_or_default();
    assert_eq!(of("long")["status"], "interrupted", "{finished:?}");
    assert!(
        of("long")["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("background monitor")
    );
    assert_eq!(of("live-watch")["status"], "failed");
    assert_eq!(of("live-watch")["escalation"], "rollback");
    assert_eq!(of("restore")["status"], "done");
    assert!(!ws.file("after-ran").exists(), "the run did not go on past the trip");
    assert!(ws.file("restored").exists());
    assert!(
        crate::harness::eventually(5, || !crate::harness::alive(pid)),
        "the long step's process group was killed"
    );
    let rollback = ws.events("prom", "rollback_started");
    assert_eq!(rollback[0]["cause"], "trigger");
    // The trip came while `long` ran: its start precedes the trigger, its end follows it.
    let journal = ws.journal("prom");
    let index = |pred: &dyn Fn(&serde_json::Value) -> bool| journal.iter().position(|e| pred(&e["event"]));
    let fired = index(&|e| e["type"] == "trigger_fired");
    let long_end = index(&|e| e["type"] == "step_finished" && e["step"] == "long");
    assert!(fired < long_end, "{fired:?} {long_end:?}");
}

#[test]
fn a_calm_background_monitor_stops_when_the_run_finishes() {
    let exp = exporter(0.0, 100.0);
    let prom = TestPrometheus::start(&[exp.port], "");
    prom.wait_for("demo_error_ratio", |v| v == 0.0);
    let calm = BACKGROUND.replace("exec sleep 120", "sleep 3");
    let ws = Workspace::new(&runbook(&prom, &calm));
    let out = ws.deployctl().env("PROM_TOKEN", TOKEN).args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(ws.file("after-ran").exists());
    let finished = ws.events("prom", "step_finished");
    let watch = finished
        .iter()
        .find(|e| e["step"] == "live-watch")
        .cloned()
        .unwrap_or_default();
    assert_eq!(watch["status"], "done", "{finished:?}");
    assert!(!samples(&ws).is_empty(), "it watched while `long` ran");
}

/// A pause stops the watch (journaled interrupted); the resumed run watches again for the
/// rest of its duration, then the run finishes with it.
#[test]
fn a_resumed_run_watches_again_in_the_background() {
    let exp = exporter(0.0, 100.0);
    let prom = TestPrometheus::start(&[exp.port], "");
    prom.wait_for("demo_error_ratio", |v| v == 0.0);
    let ws = Workspace::new(&runbook(
        &prom,
        r#"  - id: deploy
    steps:
      - id: live-watch
        monitor:
          background: true
          duration: 10m
          interval: 1s
          queries:
            error_rate: { prometheus: prod, promql: 'max(demo_error_ratio)' }
          rollback_when:
            - { metric: error_rate, above: 0.05, consecutive: 2 }
      - { id: gate, approval: { role: ops } }
      - { id: after, shell: "sleep 2; touch after-ran" }
"#,
    ));
    let first = ws.deployctl().env("PROM_TOKEN", TOKEN).args(["run", "r.yaml"]).run();
    assert_eq!(first.code, 3, "{}\n{}", first.stdout, first.stderr);
    let finished = ws.events("prom", "step_finished");
    let watch = finished
        .iter()
        .find(|e| e["step"] == "live-watch")
        .cloned()
        .unwrap_or_default();
    assert_eq!(watch["status"], "interrupted", "{finished:?}");
    let approve = ws
        .deployctl()
        .env("PROM_TOKEN", TOKEN)
        .args(["approve", "r.yaml", "gate", "--by", "olivia"])
        .run();
    assert_eq!(approve.code, 0, "{}", approve.stderr);
    let second = ws.deployctl().env("PROM_TOKEN", TOKEN).args(["run", "r.yaml"]).run();
    assert_eq!(second.code, 0, "{}\n{}", second.stdout, second.stderr);
    assert!(ws.file("after-ran").exists());
    let starts: Vec<u64> = ws
        .events("prom", "step_started")
        .iter()
        .filter(|e| e["step"] == "live-watch")
        .filter_map(|e| e["attempt"].as_u64())
        .collect();
    assert_eq!(starts, vec![1, 2], "watched again on resume");
    let last = ws
        .events("prom", "step_finished")
        .into_iter()
        .rfind(|e| e["step"] == "live-watch")
        .unwrap_or_default();
    assert_eq!(last["status"], "done", "{last}");
    assert!(!samples(&ws).is_empty(), "it watched while `after` ran");
}
