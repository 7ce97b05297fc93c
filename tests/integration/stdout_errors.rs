//! When stdout cannot be written, deployctl says so: a full device (`/dev/full`, ENOSPC)
//! means the report, the schema or the verdict the user asked for does not exist, so the
//! command exits non-zero with a message on stderr. A reader that went away (`| head`,
//! EPIPE) only ends the output, as it always has.

use std::process::{Command, Output, Stdio};

use crate::harness::{Workspace, fixture, repo};

fn deployctl() -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("deployctl"));
    cmd.env("NO_COLOR", "1")
        .env_remove("DEPLOYCTL_JOURNAL")
        .current_dir(repo());
    cmd
}

/// Runs deployctl with stdout on `/dev/full`.
fn into_dev_full(cmd: &mut Command) -> Output {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full exists on Linux");
    cmd.stdout(full).output().expect("deployctl runs")
}

fn assert_reported(what: &str, out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
    assert!(
        stderr.contains("cannot write to stdout: No space left on device"),
        "{what}: {stderr}"
    );
}

#[test]
fn a_full_stdout_fails_status_schema_and_validate() {
    let journal = fixture("journals/rolled-back.jsonl");
    for format in ["html", "markdown", "json", "human"] {
        let out = into_dev_full(
            deployctl()
                .args(["status".as_ref(), "--journal".as_ref(), journal.as_os_str()])
                .args(["--format", format]),
        );
        assert_reported(&format!("status --format {format}"), &out);
    }
    assert_reported("schema", &into_dev_full(deployctl().arg("schema")));
    assert_reported(
        "validate",
        &into_dev_full(deployctl().args(["validate", "runbooks/tech-debt-001.1.yaml"])),
    );
    assert_reported(
        "validate --output json",
        &into_dev_full(deployctl().args(["--output", "json", "validate", "runbooks/tech-debt-001.1.yaml"])),
    );
}

#[test]
fn a_run_into_a_full_stdout_is_journaled_and_fails() {
    let ws = Workspace::new(
        "deployctl: 1\nname: full\nphases:\n  - id: p\n    steps:\n      - { id: a, shell: \"true\" }\n",
    );
    let out = into_dev_full(
        deployctl()
            .current_dir(ws.path())
            .env("DEPLOYCTL_OPERATOR", "gage")
            .args(["run", "r.yaml"]),
    );
    assert_reported("run", &out);
    let finished = ws.events("full", "run_finished");
    assert_eq!(finished.len(), 1, "the run's own outcome is journaled");
    assert_eq!(finished[0]["status"], "done");
}

#[test]
fn a_closed_pipe_only_ends_the_output() {
    let journal = fixture("journals/rolled-back.jsonl");
    // The read end is closed before deployctl starts: its first write gets EPIPE.
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let out = deployctl()
        .args(["status".as_ref(), "--journal".as_ref(), journal.as_os_str()])
        .args(["--format", "html"])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("deployctl runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "a closed pipe is not an error: {stderr}");
}
