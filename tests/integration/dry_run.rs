//! `deployctl run --dry-run --offline`: the plan, its verdicts, and that nothing is written.

use crate::harness::{Deployctl, files, fixture, repo};

#[test]
fn seed_runbook_plan_snapshot() {
    let out = Deployctl::new()
        .current_dir(&repo())
        .args(["--now", "2026-03-03T02:30:00Z"])
        .args(["run", "--dry-run", "--offline", "runbooks/tech-debt-001.1.yaml"])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    // The sha256 changes with every edit of the runbook; the snapshot is about the shape.
    let stable: String = out
        .stdout
        .lines()
        .map(|l| {
            if l.contains("(sha256 ") {
                "  runbook  runbooks/tech-debt-001.1.yaml (sha256 …)"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!(stable);
}

#[test]
fn every_step_gets_a_verdict_and_shell_is_opaque() {
    let out = Deployctl::new()
        .current_dir(&repo())
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
    let lines = out.json_lines();
    assert_eq!(lines[0]["type"], "plan");
    assert_eq!(lines[0]["mode"], "offline");
    let steps: Vec<&serde_json::Value> = lines.iter().filter(|l| l["type"] == "plan_step").collect();
    assert!(steps.len() > 40);
    for line in &steps {
        let step = &line["step"];
        let expected = if step["kind"] == "shell" { "opaque" } else { "simulated" };
        assert_eq!(step["verdict"], expected, "{step}");
        assert!(step["timeout_ms"].as_u64().is_some_and(|t| t > 0));
        assert!(step["target"].as_str().is_some_and(|t| !t.is_empty()));
    }
    let summary = lines.last().expect("summary");
    assert_eq!(summary["type"], "plan_summary");
    assert_eq!(summary["verified"], 0);
}

#[test]
fn dry_run_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let runbook = dir.path().join("seed.yaml");
    std::fs::copy(repo().join("runbooks/examples/shell.yaml"), &runbook).expect("copy");
    let before = files(dir.path(), "jsonl").len() + std::fs::read_dir(dir.path()).expect("dir").count();
    let out = Deployctl::new()
        .current_dir(dir.path())
        .args(["run", "--dry-run", "--offline", "seed.yaml"])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let after = files(dir.path(), "jsonl").len() + std::fs::read_dir(dir.path()).expect("dir").count();
    assert_eq!(before, after, "dry-run created files");
    assert!(!dir.path().join(".deployctl").exists());
}

#[test]
fn every_valid_fixture_plans() {
    for path in files(&fixture("runbooks/valid"), "yaml") {
        let out = Deployctl::new()
            .env("DEPLOYCTL_FIXTURE_TOKEN", "tok-fixture-123")
            .args([
                "run".as_ref(),
                "--dry-run".as_ref(),
                "--offline".as_ref(),
                path.as_os_str(),
            ])
            .run();
        assert_eq!(out.code, 0, "{}: {}", path.display(), out.stderr);
        assert!(out.stdout.contains(" steps in "), "{}", out.stdout);
    }
}

#[test]
fn invalid_runbook_dry_run_is_exit_2() {
    let out = Deployctl::new()
        .args([
            "run".as_ref(),
            "--dry-run".as_ref(),
            "--offline".as_ref(),
            fixture("runbooks/invalid/unknown-database.yaml").as_os_str(),
        ])
        .run();
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("unknown database `comunity`"), "{}", out.stderr);
}

#[test]
fn offline_requires_dry_run_and_usage_errors_exit_2() {
    let out = Deployctl::new().args(["run", "--offline", "x.yaml"]).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    let out = Deployctl::new().args(["frobnicate"]).run();
    assert_eq!(out.code, 2);
}

/// What the CI job's dry-run step does (`.github/workflows/ci.yml`): every runbook of the
/// repository dry-runs offline without a problem.
#[test]
fn every_runbook_of_the_repository_dry_runs_offline_as_the_ci_job_does() {
    let workflow = std::fs::read_to_string(crate::harness::repo().join(".github/workflows/ci.yml")).expect("ci.yml");
    assert!(
        workflow.contains("for runbook in runbooks/*.yaml runbooks/examples/*.yaml"),
        "the CI job dry-runs every runbook"
    );
    let mut runbooks = crate::harness::files(&crate::harness::repo().join("runbooks"), "yaml");
    runbooks.retain(|p| !p.components().any(|c| c.as_os_str() == ".deployctl"));
    assert!(runbooks.len() > 5, "{runbooks:?}");
    for runbook in runbooks {
        let out = crate::harness::Deployctl::new()
            .current_dir(&crate::harness::repo())
            .args(["--output", "github", "run", "--dry-run", "--offline"])
            .args([runbook.as_os_str()])
            .run();
        assert_eq!(out.code, 0, "{}: {}{}", runbook.display(), out.stdout, out.stderr);
        assert!(!out.stdout.contains("::error"), "{}: {}", runbook.display(), out.stdout);
    }
}
