//! The end-to-end test: `scripts/demo` itself, on the test's own ports, databases, state dir
//! and journal, in a copy of the repository's runbook, scripts and migrations (so backups
//! and journals stay in a temporary directory).

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::demo_stack::{DemoStack, ENDPOINTS, SERVICES, TENANT_A, TENANT_B, owners, text};
use crate::harness::{Deployctl, repo};

/// The files `scripts/demo` needs, copied into `dir`.
fn workspace(dir: &Path) {
    for rel in [
        "scripts/demo",
        "scripts/demo-db",
        "scripts/demo-services",
        "scripts/demo-metrics",
        "scripts/ensure-postgres",
        "scripts/ensure-smtp",
        "scripts/demo-receivers",
        "scripts/ensure-prometheus",
        // `scripts/demo-services artifact` (the release-artifact step) compares the service
        // binary's version with its source's.
        "demo/service/Cargo.toml",
        "runbooks/tech-debt-001.1.yaml",
        "ops/allowed_signers",
    ] {
        let to = dir.join(rel);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(repo().join(rel), &to).unwrap_or_else(|e| panic!("copy {rel}: {e}"));
    }
    let status = Command::new("cp")
        .args(["-R", "services"])
        .arg(dir)
        .current_dir(repo())
        .status()
        .expect("cp runs");
    assert!(status.success(), "copy services/");
}

/// Runs `scripts/demo --no-build ARGS` in a fresh workspace; returns its output and the
/// workspace (journal at `journal.jsonl`).
fn demo(stack: &DemoStack, args: &[&str], env: &[(&str, &str)]) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("workspace");
    workspace(dir.path());
    let mut cmd = Command::new(dir.path().join("scripts/demo"));
    for (key, _) in std::env::vars() {
        if key.starts_with("DEPLOYCTL_") || key.starts_with("DEMO_") || key.ends_with("_URL") {
            cmd.env_remove(key);
        }
    }
    let output = cmd
        .arg("--no-build")
        .args(args)
        .current_dir(dir.path())
        .envs(stack.env())
        .env("DEPLOYCTL_JOURNAL", dir.path().join("journal.jsonl"))
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("scripts/demo runs");
    (output, dir)
}

/// `deployctl status` of the demo's journal.
fn status(dir: &Path, format: &str) -> String {
    let out = Deployctl::new()
        .current_dir(dir)
        .env("DEPLOYCTL_JOURNAL", &dir.join("journal.jsonl").display().to_string())
        .args(["status", "runbooks/tech-debt-001.1.yaml", "--format", format])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout
}

/// The status lines of every step, by id.
fn step_statuses(json: &Value) -> Vec<(String, String)> {
    json["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .flat_map(|p| p["steps"].as_array().expect("steps"))
        .map(|s| {
            (
                s["id"].as_str().expect("id").into(),
                s["status"].as_str().expect("status").into(),
            )
        })
        .collect()
}

#[test]
fn the_seed_runbook_completes_with_approvals_rls_holds_and_every_box_is_ticked() {
    let stack = DemoStack::create();
    let (out, dir) = demo(
        &stack,
        &[],
        &[("DEMO_SMOKE_DURATION", "5s"), ("DEMO_WATCH_DURATION", "5s")],
    );
    assert_eq!(out.status.code(), Some(0), "scripts/demo:\n{}", text(&out));
    let shown = text(&out);
    // The demo keeps its evidence report and says how to look at what it ran (issue 18).
    assert!(shown.contains("Kept for you"), "{shown}");
    let report = shown
        .lines()
        .find_map(|l| l.trim().strip_prefix("open "))
        .expect("the report's path is printed");
    let html = std::fs::read_to_string(report).expect("the HTML report is kept");
    assert!(html.contains("<html"), "{html}");
    assert!(
        shown.contains("deployctl approve runbooks/tech-debt-001.1.yaml pm-approval --by Morgan"),
        "the approvals are made visibly:\n{shown}"
    );
    assert!(
        shown.contains("lock report:") && shown.contains("\"posts\" ACCESS EXCLUSIVE"),
        "the dry-run shows the migrations' lock report:\n{shown}"
    );
    // The notifications reached their receivers, and every approval verifies.
    assert!(
        !shown.contains("was not told") && !shown.contains("failed (not required)"),
        "{shown}"
    );
    assert!(
        shown.contains("security-lead@example.com\n    - TECH-DEBT-001.1 RLS - Production Deployment Scheduled"),
        "{shown}"
    );
    assert!(
        shown.contains("morgan@example.com\n    - TECH-DEBT-001.1 RLS - Ready for Production"),
        "{shown}"
    );
    assert!(
        shown.contains("TECH-DEBT-001.1 RLS production deployment starting now"),
        "{shown}"
    );
    assert!(
        shown.contains("approvals: ") && shown.contains(" unsigned, 0 failed"),
        "{shown}"
    );
    assert!(shown.contains("signed by Morgan, key SHA256:"), "{shown}");

    let json: Value = serde_json::from_str(&status(dir.path(), "json")).expect("status json");
    assert_eq!(json["state"], "done", "{json:#}");
    for (id, status) in step_statuses(&json) {
        assert_eq!(status, "done", "step `{id}`");
    }
    for approval in json["approvals"].as_array().expect("approvals") {
        if approval["role"].is_string() {
            assert_ne!(
                approval["by"], json["operator"],
                "the operator approved a gate: {approval}"
            );
        }
    }

    let markdown = status(dir.path(), "markdown");
    assert!(markdown.contains("[x]"), "{markdown}");
    for unticked in ["[ ]", "[!]", "[~]", "[-]", "[?]"] {
        assert!(!markdown.contains(unticked), "`{unticked}` in the report:\n{markdown}");
    }

    // The deployed release (v2, with the middleware) reads under RLS: each user sees only
    // their own rows.
    stack.start_release("v2");
    for (service, path, column) in ENDPOINTS {
        for user in [TENANT_A, TENANT_B] {
            let seen = owners(stack.port(service), path, column, user);
            assert!(
                !seen.is_empty() && seen.iter().all(|o| o == user),
                "{service}{path} as {user}: {seen:?}"
            );
        }
    }
}

#[test]
fn break_mode_trips_the_monitor_rolls_back_to_v1_and_exits_4() {
    let stack = DemoStack::create();
    let (out, dir) = demo(
        &stack,
        &["--break"],
        &[
            ("DEMO_BREAK_AFTER", "10s"),
            ("DEMO_SMOKE_INTERVAL", "500ms"),
            // The users' error rate in Prometheus sees the break first (a few seconds); the
            // probes' own rule is the backstop.
            ("DEMO_SMOKE_ERROR_SPAN", "30s"),
            ("DEMO_WATCH_DURATION", "5s"),
        ],
    );
    assert_eq!(out.status.code(), Some(4), "scripts/demo --break:\n{}", text(&out));
    assert!(text(&out).contains("$ deployctl status"), "the report is printed");

    // Every service is back on the release that ran before the deployment.
    for service in SERVICES {
        let release =
            std::fs::read_to_string(stack.state.path().join(format!("{service}.release"))).expect("release recorded");
        assert_eq!(release.trim(), "v1", "{service}");
        assert!(
            !stack.state.path().join(format!("{service}.previous")).exists(),
            "{service}"
        );
    }
    let json: Value = serde_json::from_str(&status(dir.path(), "json")).expect("status json");
    let statuses = step_statuses(&json);
    assert!(
        statuses.iter().any(|(id, s)| id == "rolling-restart" && s == "done"),
        "{statuses:?}"
    );
    assert!(
        !statuses.iter().any(|(id, s)| id.starts_with("signoff-") && s == "done"),
        "nobody signs off a broken deployment: {statuses:?}"
    );
    // The users' error rate in Prometheus tripped it: the background monitor, not a probe.
    let journal = std::fs::read_to_string(dir.path().join("journal.jsonl")).expect("journal");
    let fired: Vec<Value> = journal
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|e| e["event"].clone())
        .filter(|e| e["type"] == "trigger_fired")
        .collect();
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0]["step"], "users-watch", "{fired:?}");
    assert!(
        fired[0]["rule"].as_str().is_some_and(|r| r.starts_with("error_rate")),
        "{fired:?}"
    );
    // The schema went back with the code: each RLS migration's down.sql ran, and through
    // each service the pre-RLS release v1 served every user exactly their rows again.
    let journal = std::fs::read_to_string(dir.path().join("journal.jsonl")).expect("journal");
    for id in [
        "migrate-community.undo",
        "migrate-marketplace.undo",
        "migrate-academy.undo",
        "rollback-tenants-community",
        "rollback-tenants-marketplace",
        "rollback-tenants-academy",
    ] {
        let done = journal.lines().any(|line| {
            serde_json::from_str::<Value>(line).is_ok_and(|e| {
                e["event"]["type"] == "step_finished" && e["event"]["step"] == id && e["event"]["status"] == "done"
            })
        });
        assert!(done, "`{id}` did not finish done after the rollback:\n{}", text(&out));
    }
    for db in [&stack.community, &stack.marketplace, &stack.academy] {
        assert_eq!(
            db.scalar("SELECT count(*)::text FROM pg_class WHERE relrowsecurity")
                .as_deref(),
            Some("0"),
            "RLS is reverted"
        );
    }
}
