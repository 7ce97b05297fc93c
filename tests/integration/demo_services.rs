//! `scripts/demo-services` against real processes: start, restart onto the next release,
//! status, rollback (idempotent) and stop, with its own state dir, ports and database; and
//! `artifact`, the check of the release artifact before the restarts.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::demo_stack::{DemoStack, SERVICES, demo_service_bin, get, text};
use crate::harness::{alive, eventually, repo};

/// The release a service's /health reports.
fn release(stack: &DemoStack, service: &str) -> String {
    let (_, body) = get(stack.port(service), "/health", None).expect("health answers");
    body["release"].as_str().expect("release").to_string()
}

#[test]
fn start_restart_status_rollback_and_stop_manage_real_processes() {
    let stack = DemoStack::create();
    stack.prepare_databases();
    let mut seen = Vec::new();

    stack.services_ok(&["start"]);
    for service in SERVICES {
        assert_eq!(release(&stack, service), "v1");
        seen.push(stack.pid(service).expect("pid recorded"));
    }
    let status = stack.services_ok(&["status"]);
    assert_eq!(status.matches(" running ").count(), 4, "{status}");

    // A second start leaves running services alone.
    stack.services_ok(&["start"]);
    assert_eq!(stack.pid("community"), Some(seen[0]));

    let old = stack.pid("community").expect("pid");
    let out = stack.services_ok(&["restart", "community"]);
    let new = stack.pid("community").expect("pid");
    seen.push(new);
    assert_ne!(old, new, "{out}");
    assert!(!alive(old), "the old community process {old} is still alive");
    assert_eq!(release(&stack, "community"), "v2");
    assert_eq!(release(&stack, "marketplace"), "v1");
    let status = stack.services_ok(&["status"]);
    assert!(status.contains("release v2 (previous v1)"), "{status}");

    let out = stack.services(&["restart", "payments"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("unknown service `payments`"), "{}", text(&out));

    // Rolling back returns community to v1 and touches nothing else; a second rollback is a no-op.
    let marketplace = stack.pid("marketplace");
    stack.services_ok(&["rollback"]);
    assert_eq!(release(&stack, "community"), "v1");
    assert_eq!(stack.pid("marketplace"), marketplace);
    seen.push(stack.pid("community").expect("pid"));
    let pids: Vec<_> = SERVICES.iter().map(|s| stack.pid(s)).collect();
    let again = stack.services_ok(&["rollback"]);
    assert_eq!(
        SERVICES.iter().map(|s| stack.pid(s)).collect::<Vec<_>>(),
        pids,
        "{again}"
    );
    assert_eq!(again.matches("already on release v1").count(), 4, "{again}");

    // A service that died is brought back by rollback.
    let academy = stack.pid("academy").expect("pid");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(academy), nix::sys::signal::Signal::SIGKILL)
        .expect("kill academy");
    assert!(eventually(10, || !alive(academy)), "academy survived SIGKILL");
    let out = stack.services(&["status"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    stack.services_ok(&["rollback"]);
    assert_eq!(release(&stack, "academy"), "v1");
    seen.push(stack.pid("academy").expect("pid"));

    stack.services_ok(&["stop"]);
    for pid in &seen {
        assert!(!alive(*pid), "process {pid} outlived `scripts/demo-services stop`");
    }
    let out = stack.services(&["status"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert_eq!(text(&out).matches(" stopped").count(), 4, "{}", text(&out));
}

#[test]
fn a_broken_next_release_turns_to_500_and_rollback_restores_v1() {
    let stack = DemoStack::create();
    stack.prepare_databases();
    stack.services_ok(&["start"]);
    let out = std::process::Command::new(crate::harness::repo().join("scripts/demo-services"))
        .args(["restart", "business"])
        .envs(stack.env())
        .env("DEMO_NEXT_RELEASE", "v2-broken")
        .env("DEMO_BREAK_AFTER", "200ms")
        .output()
        .expect("scripts/demo-services runs");
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        eventually(30, || get(stack.port("business"), "/health", None)
            .is_some_and(|(s, _)| s == 500)),
        "the broken release never failed"
    );
    stack.services_ok(&["rollback"]);
    let (status, body) = get(stack.port("business"), "/health", None).expect("health answers");
    assert_eq!((status, body["release"].as_str()), (200, Some("v1")), "{body}");
}

/// `scripts/demo-services artifact ...` with only the state dir and the binary set.
fn artifact(state: &Path, bin: &Path) -> Output {
    Command::new(repo().join("scripts/demo-services"))
        .arg("artifact")
        .env("DEMO_STATE_DIR", state)
        .env("DEMO_SERVICE_BIN", bin)
        .stdin(Stdio::null())
        .output()
        .expect("scripts/demo-services runs")
}

/// The seed runbook's `release-artifact` step: the release artifact must be there, run, and
/// report the version its source declares; anything else fails before a restart.
#[test]
fn artifact_fails_unless_the_binary_is_there_runs_and_is_the_source_version() {
    let state = tempfile::tempdir().expect("state dir");
    let real = artifact(state.path(), demo_service_bin());
    assert!(real.status.success(), "{}", text(&real));
    let manifest = std::fs::read_to_string(repo().join("demo/service/Cargo.toml")).expect("manifest");
    let version = manifest
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("the service's version");
    assert!(
        text(&real).contains(&format!("deployctl-demo-service {version} (sha256 ")),
        "{}",
        text(&real)
    );

    let missing = artifact(state.path(), &state.path().join("no-such-binary"));
    assert_eq!(missing.status.code(), Some(1), "{}", text(&missing));
    assert!(text(&missing).contains("is not there"), "{}", text(&missing));

    // A build that runs but is not the source's version (`echo --version` stands in for a
    // stale build; an existing binary, so no freshly written file is executed).
    let out = artifact(state.path(), Path::new("/bin/echo"));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("not version {version} of the source")),
        "{}",
        text(&out)
    );
}
