//! `deployctl run`: executing, journaling, retries, timeouts, webhooks and `status`.

use crate::harness::{Workspace, alive, eventually};
use crate::http_server::TestHttp;

fn happy(http: &TestHttp) -> String {
    format!(
        r#"deployctl: 1
name: happy
title: "Happy path ✅"
notify: [ {{ webhook: "{hook}" }} ]
phases:
  - id: checks
    title: Checks
    steps:
      - {{ id: hello, shell: "echo hello-from-shell" }}
      - id: health
        http: {{ url: "{health}", expect: {{ status: 200, body_contains: ok }} }}
  - id: finish
    steps:
      - {{ id: settle, wait: {{ for: 50ms }} }}
      - {{ id: tell, notify: {{ webhook: "{hook}", message: "run ${{run.id}} finished" }} }}
"#,
        hook = http.url("/hook"),
        health = http.url("/health"),
    )
}

#[test]
fn happy_path_runs_journals_and_notifies() {
    let http = TestHttp::start();
    let ws = Workspace::new(&happy(&http));
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    for id in ["hello", "health", "settle", "tell"] {
        assert!(
            out.stdout.contains(&format!("[x] {id}")),
            "{id} ticked:\n{}",
            out.stdout
        );
    }
    let finished = ws.events("happy", "step_finished");
    assert_eq!(finished.len(), 4);
    assert!(finished.iter().all(|e| e["status"] == "done"));
    assert_eq!(finished[0]["output"], "hello-from-shell\n");
    assert_eq!(ws.events("happy", "run_finished")[0]["status"], "done");
    let hooks: Vec<serde_json::Value> = http
        .requests()
        .iter()
        .filter(|r| r.path == "/hook")
        .map(|r| serde_json::from_str(&r.body).expect("json payload"))
        .collect();
    let events: Vec<&str> = hooks.iter().filter_map(|h| h["event"].as_str()).collect();
    assert_eq!(events, ["run_started", "step", "run_finished"], "{hooks:?}");
    assert!(
        hooks[1]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("run 2") && m.ends_with(" finished"))
    );

    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(ws.journal_path("happy"))
            .expect("journal")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "journal is private");

    // After a finished run, a new one needs `--new` off a terminal (issue 18).
    let again = ws.deployctl().args(["run", "--new", "r.yaml"]).run();
    assert_eq!(again.code, 0);
    let runs = ws.events("happy", "run_started");
    assert_eq!(runs.len(), 2, "a run after a finished run starts a new run");
    let ids: Vec<String> = ws
        .journal("happy")
        .iter()
        .filter(|e| e["event"]["type"] == "run_started")
        .map(|e| e["run_id"].to_string())
        .collect();
    assert_ne!(ids[0], ids[1]);
}

#[test]
fn a_failing_step_stops_with_exit_1_and_contacts() {
    let ws = Workspace::new(
        r#"deployctl: 1
name: failing
contacts:
  technical: { primary: "@devops (Gage)", backup: "@data-engineer (Dara)" }
phases:
  - id: p
    steps:
      - { id: ok, shell: "true" }
      - { id: boom, shell: "echo about to fail; exit 7" }
      - { id: never, shell: "touch never-ran" }
"#,
    );
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.contains("[!] boom"), "{}", out.stdout);
    assert!(
        out.stdout.contains("about to fail"),
        "failure output shown:\n{}",
        out.stdout
    );
    assert!(
        out.stderr.contains("exited with status 7 (expected 0)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("technical: @devops (Gage), backup @data-engineer (Dara)"),
        "{}",
        out.stderr
    );
    assert!(!ws.file("never-ran").exists());
    let failed = ws.events("failing", "step_finished");
    assert_eq!(failed.last().map(|e| e["status"].clone()), Some("failed".into()));
    assert!(
        ws.events("failing", "run_finished").is_empty(),
        "a failed run stays resumable"
    );

    let status = ws.deployctl().args(["status", "r.yaml"]).run();
    assert_eq!(status.code, 0);
    assert!(status.stdout.contains("[x] ok"), "{}", status.stdout);
    assert!(status.stdout.contains("[!] boom"), "{}", status.stdout);
    assert!(status.stdout.contains("[ ] never"), "{}", status.stdout);
    assert!(status.stdout.contains("· failed ·"), "{}", status.stdout);
}

#[test]
fn on_failure_continue_records_and_goes_on() {
    let ws = Workspace::new(
        "deployctl: 1\nname: cont\nphases:\n  - id: p\n    steps:\n      - { id: a, shell: \"exit 1\", on_failure: continue }\n      - { id: b, shell: \"touch b-ran\" }\n",
    );
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(ws.file("b-ran").exists());
    assert!(out.stderr.contains("continuing (on_failure: continue)"));
}

#[test]
fn retries_are_counted_and_back_off() {
    let ws = Workspace::new(
        r#"deployctl: 1
name: retry
phases:
  - id: p
    steps:
      - id: flaky
        shell: "echo x >> tries; test $(wc -l < tries) -ge 3"
        retries: 4
        retry_delay: 50ms
        backoff: { factor: 2, max: 1s }
"#,
    );
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let tries = std::fs::read_to_string(ws.file("tries")).expect("tries");
    assert_eq!(tries.lines().count(), 3);
    let finished = &ws.events("retry", "step_finished")[0];
    assert_eq!(finished["attempts"], 3);
    assert_eq!(ws.events("retry", "step_started").len(), 3);
    assert!(
        out.stderr.contains("attempt 1/5 failed") && out.stderr.contains("retrying in 50ms"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("attempt 2/5 failed") && out.stderr.contains("retrying in 100ms"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_timeout_kills_the_command_and_its_children() {
    let ws = Workspace::new(
        r#"deployctl: 1
name: slow
phases:
  - id: p
    steps:
      - { id: sleepy, shell: "sleep 100 & echo $! > child.pid; echo $$ > shell.pid; sleep 100", timeout: 700ms }
"#,
    );
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("timed out after 700ms"), "{}", out.stderr);
    for file in ["child.pid", "shell.pid"] {
        let pid: i32 = std::fs::read_to_string(ws.file(file))
            .expect("pid file")
            .trim()
            .parse()
            .expect("pid");
        assert!(
            eventually(5, || !alive(pid)),
            "{file} ({pid}) still alive after the timeout"
        );
    }
}

#[test]
fn an_http_step_names_what_differed() {
    let http = TestHttp::start();
    http.answer(503, "degraded");
    let ws = Workspace::new(&format!(
        "deployctl: 1\nname: web\nphases:\n  - id: p\n    steps:\n      - {{ id: health, http: {{ url: \"{}\", expect: {{ status: 200 }} }} }}\n",
        http.url("/health")
    ));
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("503") && out.stderr.contains("expected 200"),
        "{}",
        out.stderr
    );
}

#[test]
fn status_renders_json_and_markdown() {
    let http = TestHttp::start();
    let ws = Workspace::new(&happy(&http));
    assert_eq!(ws.deployctl().args(["run", "r.yaml"]).run().code, 0);
    let json = ws.deployctl().args(["status", "r.yaml", "--format", "json"]).run();
    assert_eq!(json.code, 0, "{}", json.stderr);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("status json");
    assert_eq!(v["state"], "done");
    assert_eq!(v["phases"][0]["steps"][0]["status"], "done");
    let md = ws.deployctl().args(["status", "r.yaml", "--format", "markdown"]).run();
    assert_eq!(md.code, 0);
    assert!(md.stdout.starts_with("# Happy path ✅"), "{}", md.stdout);
    assert_eq!(md.stdout.matches("- [x] **").count(), 4, "{}", md.stdout);
    let host = v["host"].as_str().expect("host");
    let scrubbed: String = md.stdout.lines().map(scrub_durations).collect::<Vec<_>>().join("\n");
    let scrubbed = scrubbed
        .replace(&http.url(""), "http://127.0.0.1:PORT")
        .replace(&format!("gage on {host} |"), "gage on <host> |");
    insta::with_settings!({filters => vec![
        (r"\d{8}T\d{6}Z-[0-9a-f]{4}", "<run id>"),
        (r"[0-9a-f]{64}", "<sha256>"),
        (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC", "<time>"),
        (r" · \d{2}:\d{2}:\d{2}", " · <clock>"),
        (r"\*\*Duration\*\* \| [^|]+\|", "**Duration** | <duration> |"),
    ]}, {
        insta::assert_snapshot!(scrubbed);
    });
}

/// Replaces `(12ms)`-style timings and `in 3ms` latencies, which vary run to run.
fn scrub_durations(line: &str) -> String {
    let line = match (line.rfind(" ("), line.ends_with(')')) {
        (Some(i), true) if line[i + 2..].chars().next().is_some_and(|c| c.is_ascii_digit()) => {
            format!("{} (<took>)", &line[..i])
        }
        _ => line.to_string(),
    };
    match line.find(" in ").filter(|i| line[i + 4..].ends_with("ms")) {
        Some(i) => format!("{} in <latency>", &line[..i]),
        None => line,
    }
}

#[test]
fn status_without_a_run_or_target_explains() {
    let ws =
        Workspace::new("deployctl: 1\nname: nothing\nphases: [ { id: p, steps: [ { id: a, shell: \"true\" } ] } ]\n");
    let out = ws.deployctl().args(["status", "r.yaml"]).run();
    assert_eq!(out.code, 0);
    assert!(out.stderr.contains("no run recorded"), "{}", out.stderr);
    let out = ws.deployctl().args(["status"]).run();
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("no journal found"), "{}", out.stderr);
}

#[test]
fn json_output_is_one_journal_entry_per_line_and_verbose_shows_output() {
    let http = TestHttp::start();
    let ws = Workspace::new(&happy(&http));
    let out = ws.deployctl().args(["--output", "json", "run", "r.yaml"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = out.json_lines();
    assert_eq!(
        lines,
        ws.journal("happy"),
        "stdout carries exactly the journaled entries"
    );

    let quiet = ws.deployctl().args(["run", "--new", "r.yaml"]).run();
    assert!(!quiet.stdout.contains("| hello-from-shell"), "{}", quiet.stdout);
    let verbose = ws.deployctl().args(["-v", "run", "--new", "r.yaml"]).run();
    assert!(verbose.stdout.contains("| hello-from-shell"), "{}", verbose.stdout);
}
