//! The JSON lines of `--output json` outside a run (`run --dry-run`, `validate`), byte for
//! byte: CI jobs parse them, so a key, a type name or the order of keys must not move.

use crate::harness::{Deployctl, Workspace, fixture, repo};

#[test]
fn dry_run_json_lines_are_unchanged() {
    let out = Deployctl::new()
        .current_dir(&repo())
        .env("DEPLOYCTL_NOW", "2026-03-03T02:30:00Z")
        .args([
            "--output",
            "json",
            "run",
            "--dry-run",
            "--offline",
            "runbooks/tech-debt-001.1.yaml",
        ])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    // The sha256 changes with every edit of the runbook; the snapshot is about the shape.
    insta::with_settings!({filters => vec![(r#""sha256":"[0-9a-f]{64}""#, r#""sha256":"…""#)]}, {
        insta::assert_snapshot!(out.stdout);
    });
}

#[test]
fn validate_json_lines_are_unchanged() {
    let invalid = fixture("runbooks/invalid/several-problems.yaml");
    let valid = repo().join("runbooks/tech-debt-001.1.yaml");
    let out = Deployctl::new()
        .current_dir(&repo())
        .args([
            "--output".as_ref(),
            "json".as_ref(),
            "validate".as_ref(),
            valid.as_os_str(),
            invalid.as_os_str(),
        ])
        .run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    let text = out.stdout.replace(&repo().display().to_string(), "[repo]");
    insta::assert_snapshot!(text);
}

#[test]
fn warnings_as_json_lines_are_unchanged() {
    let ws =
        Workspace::new("deployctl: 1\nname: w\nphases:\n  - id: p\n    steps:\n      - { id: a, shell: \"deploy\" }\n");
    let mut text = String::new();
    for args in [
        vec!["--output", "json", "validate", "r.yaml"],
        vec!["--output", "json", "validate", "--strict", "r.yaml"],
        vec!["--output", "json", "run", "--dry-run", "--offline", "r.yaml"],
    ] {
        let out = ws.deployctl().args(&args).run();
        text.push_str(&format!(
            "$ deployctl {} (exit {})\n{}",
            args.join(" "),
            out.code,
            out.stdout
        ));
    }
    insta::with_settings!({filters => vec![(r#""sha256":"[0-9a-f]{64}""#, r#""sha256":"…""#)]}, {
        insta::assert_snapshot!(text);
    });
}
