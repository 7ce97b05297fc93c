//! The JSON lines of `--output json` outside a run (`run --dry-run`, `validate`), byte for
//! byte: CI jobs parse them, so a key, a type name or the order of keys must not move.

use crate::harness::{Deployctl, Workspace, fixture, repo};

#[test]
fn dry_run_json_lines_are_unchanged() {
    let out = Deployctl::new()
        .current_dir(&repo())
        .args(["--now", "2026-03-03T02:30:00Z"])
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

#[test]
fn status_and_unlock_speak_json_lines_too() {
    let journal = fixture("journals/paused.jsonl");
    let status = |args: &[&str]| {
        let out = Deployctl::new()
            .args(["status".as_ref(), "--journal".as_ref(), journal.as_os_str()])
            .args(args)
            .run();
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.stdout
    };
    let line = status(&["--output", "json"]);
    assert_eq!(line.lines().count(), 1, "one line: {line}");
    let mut parsed: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
    assert_eq!(parsed["type"], "status");
    parsed.as_object_mut().map(|o| o.remove("type"));
    let pretty: serde_json::Value = serde_json::from_str(&status(&["--format", "json"])).expect("status json");
    assert_eq!(parsed, pretty, "the line carries the fields of --format json");

    let ws =
        Workspace::new("deployctl: 1\nname: nothing\nphases: [ { id: p, steps: [ { id: a, shell: \"true\" } ] } ]\n");
    let out = ws.deployctl().args(["--output", "json", "unlock", "r.yaml"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let line: serde_json::Value = serde_json::from_str(&out.stdout).expect("a JSON line");
    assert_eq!(line["type"], "unlock");
    assert!(
        line["journal"].as_str().is_some_and(|j| j.ends_with("nothing.jsonl")),
        "{line}"
    );
    assert_eq!(line["cleared"], serde_json::Value::Null);
}

#[test]
fn every_command_speaks_json_lines_under_output_json() {
    let ws = Workspace::new(
        "deployctl: 1\nname: gated\nphases:\n  - id: p\n    steps:\n      - { id: a, shell: \"true\", undo: { shell: \"true\" } }\n      - { id: pm, approval: { role: \"@pm\" } }\n",
    );
    let json = |args: &[&str], code: i32| {
        let out = ws.deployctl().args(["--output", "json"]).args(args).run();
        assert_eq!(out.code, code, "{args:?}: {}", out.stderr);
        for line in out.stdout.lines() {
            serde_json::from_str::<serde_json::Value>(line).expect("every stdout line is JSON");
        }
        out.stdout
    };
    let mut text = String::new();
    let mut show = |args: &[&str], code: i32| {
        let stdout = json(args, code);
        text.push_str(&format!("$ deployctl --output json {}\n{stdout}", args.join(" ")));
    };
    show(&["status", "r.yaml"], 0);
    show(&["rollback", "--dry-run", "r.yaml"], 0);
    json(&["run", "r.yaml"], 3);
    show(&["approve", "r.yaml", "pm", "--by", "Morgan"], 0);
    show(&["rollback", "--dry-run", "r.yaml"], 0);
    show(&["unlock", "r.yaml"], 0);
    insta::with_settings!({filters => vec![(r"\d{8}T\d{6}Z-[0-9a-f]{4}", "[run id]")]}, {
        insta::assert_snapshot!(text);
    });
}

#[test]
fn output_github_annotates_problems_and_failed_probes() {
    let invalid = fixture("runbooks/invalid/several-problems.yaml");
    let out = Deployctl::new()
        .args([
            "--output".as_ref(),
            "github".as_ref(),
            "validate".as_ref(),
            invalid.as_os_str(),
        ])
        .run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    let annotations: Vec<&str> = out.stdout.lines().collect();
    assert!(annotations.len() >= 2, "{}", out.stdout);
    for a in &annotations {
        let level = a.starts_with("::error file=") || a.starts_with("::warning file=");
        assert!(level && a.contains(",line=") && a.contains(",col="), "{a}");
    }
    assert!(annotations.iter().any(|a| a.starts_with("::error")), "{}", out.stdout);
    assert!(!out.stderr.is_empty(), "the human text stays on stderr");

    let ws = Workspace::new(
        "deployctl: 1\nname: probe\nphases:\n  - id: p\n    steps:\n      - { id: up, http: { url: \"http://127.0.0.1:1/health\" } }\n",
    );
    let out = ws
        .deployctl()
        .args(["--output", "github", "run", "--dry-run", "r.yaml"])
        .run();
    assert_eq!(out.code, 1, "{}", out.stdout);
    let annotation = out
        .stdout
        .lines()
        .find(|l| l.starts_with("::error"))
        .expect("an annotation");
    // At the step's id (line 6, column 15), where `validate` puts the step's own problems.
    assert!(
        annotation.starts_with("::error file=r.yaml,line=6,col=15,title=step up would likely fail now::"),
        "{annotation}"
    );
}

#[test]
fn output_github_puts_a_failed_probe_at_its_step_in_the_runbook() {
    let ws = Workspace::new(
        "deployctl: 1\nname: probe\nphases:\n  - id: p\n    steps:\n      - { id: quick, shell: \"true\" }\n      - id: down\n        http: { url: \"http://127.0.0.1:1/health\" }\n",
    );
    let out = ws
        .deployctl()
        .args(["--output", "github", "run", "--dry-run", "r.yaml"])
        .run();
    assert_eq!(out.code, 1, "{}", out.stdout);
    let failed: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains("title=step down would likely fail now"))
        .collect();
    assert_eq!(failed.len(), 1, "{}", out.stdout);
    assert!(
        failed[0].starts_with("::error file=r.yaml,line=7,col=13,"),
        "the id of `- id: down`: {}",
        failed[0]
    );
}
