//! `deployctl validate`: valid fixtures pass, every invalid fixture fails with a located
//! message (snapshotted), and problems are reported all at once.

use crate::harness::{Deployctl, files, fixture, repo};

#[test]
fn valid_fixtures_and_shipped_runbooks_validate() {
    let mut paths = files(&fixture("runbooks/valid"), "yaml");
    paths.extend(files(&repo().join("runbooks"), "yaml"));
    assert!(
        paths.len() >= 20,
        "expected fixtures and runbooks, found {}",
        paths.len()
    );
    for path in paths {
        let out = Deployctl::new()
            .env("DEPLOYCTL_FIXTURE_TOKEN", "tok-fixture-123")
            .args(["validate".as_ref(), path.as_os_str()])
            .run();
        assert_eq!(out.code, 0, "{} should validate:\n{}", path.display(), out.stderr);
        assert!(out.stdout.contains(": ok ("), "{}", out.stdout);
    }
}

#[test]
fn invalid_fixtures_fail_with_located_messages() {
    let dir = fixture("runbooks/invalid");
    let paths = files(&dir, "yaml");
    assert!(paths.len() >= 30, "at least 30 invalid fixtures, found {}", paths.len());
    insta::glob!("../fixtures/runbooks/invalid", "*.yaml", |path| {
        let name = path.file_name().expect("file name");
        let out = Deployctl::new()
            .current_dir(&dir)
            .args(["validate".as_ref(), name])
            .run();
        assert_eq!(out.code, 2, "{} must exit 2:\n{}", path.display(), out.stderr);
        let first = out.stderr.lines().next().unwrap_or_default();
        let prefix = format!("{}:", name.to_string_lossy());
        assert!(first.starts_with(&prefix), "first line names file:line:col: {first}");
        let mut parts = first[prefix.len()..].splitn(3, ':');
        let line: u32 = parts.next().and_then(|l| l.parse().ok()).expect("a line number");
        let col: u32 = parts.next().and_then(|c| c.parse().ok()).expect("a column number");
        assert!(line >= 1 && col >= 1, "{first}");
        insta::assert_snapshot!(out.stderr);
    });
}

#[test]
fn all_semantic_problems_come_in_one_pass() {
    let out = Deployctl::new()
        .args([
            "validate".as_ref(),
            fixture("runbooks/invalid/several-problems.yaml").as_os_str(),
        ])
        .run();
    assert_eq!(out.code, 2);
    let errors = out
        .stderr
        .lines()
        .filter(|l| l.contains(".yaml:") && !l.contains("warning:"))
        .count();
    assert_eq!(errors, 4, "{}", out.stderr);
}

#[test]
fn strict_turns_readiness_warnings_into_failures() {
    let path = fixture("runbooks/valid/all-kinds.yaml");
    let lenient = Deployctl::new().args(["validate".as_ref(), path.as_os_str()]).run();
    assert_eq!(lenient.code, 0, "{}", lenient.stderr);
    let runbook = tempfile::tempdir().expect("tempdir");
    let copy = runbook.path().join("r.yaml");
    std::fs::write(
        &copy,
        "deployctl: 1\nname: r\ndatabases: { app: { url: \"postgres://u@h/d\" } }\nphases:\n  - id: p\n    steps:\n      - { id: m, migrate: { database: app, dir: migrations } }\n",
    )
    .expect("write");
    let warned = Deployctl::new().args(["validate".as_ref(), copy.as_os_str()]).run();
    assert_eq!(warned.code, 0);
    assert!(
        warned
            .stderr
            .contains("warning: step `m` migrates database `app` with no `backup`"),
        "{}",
        warned.stderr
    );
    let strict = Deployctl::new()
        .args(["validate".as_ref(), "--strict".as_ref(), copy.as_os_str()])
        .run();
    assert_eq!(strict.code, 2, "{}", strict.stderr);
}

#[test]
fn unset_env_is_an_error_and_set_env_resolves() {
    let path = fixture("runbooks/valid/env-required.yaml");
    let unset = Deployctl::new().args(["validate".as_ref(), path.as_os_str()]).run();
    assert_eq!(unset.code, 2);
    assert!(
        unset.stderr.contains("`DEPLOYCTL_FIXTURE_TOKEN` is not set"),
        "{}",
        unset.stderr
    );
    let set = Deployctl::new()
        .env("DEPLOYCTL_FIXTURE_TOKEN", "tok-fixture-123")
        .args(["validate".as_ref(), path.as_os_str()])
        .run();
    assert_eq!(set.code, 0, "{}", set.stderr);
}

#[test]
fn var_overrides_must_be_declared() {
    let path = repo().join("runbooks/tech-debt-001.1.yaml");
    let out = Deployctl::new()
        .args([
            "validate".as_ref(),
            "--var".as_ref(),
            "nope=1".as_ref(),
            path.as_os_str(),
        ])
        .run();
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("`--var nope=...` sets a variable this runbook does not declare"),
        "{}",
        out.stderr
    );
}

#[test]
fn missing_file_is_exit_2_with_a_hint() {
    let out = Deployctl::new().args(["validate", "does/not/exist.yaml"]).run();
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("does/not/exist.yaml: cannot read runbook"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);
}

#[test]
fn huge_and_binary_files_are_refused_quickly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let huge = dir.path().join("huge.yaml");
    std::fs::write(&huge, "a".repeat(5 * 1024 * 1024)).expect("write");
    let out = Deployctl::new().args(["validate".as_ref(), huge.as_os_str()]).run();
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("larger than 4 MiB"), "{}", out.stderr);

    let binary = dir.path().join("binary.yaml");
    std::fs::write(&binary, b"deployctl: 1\nname: \xff\xfe\n").expect("write");
    let out = Deployctl::new().args(["validate".as_ref(), binary.as_os_str()]).run();
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("binary.yaml:2:7: runbook is not valid UTF-8"),
        "{}",
        out.stderr
    );
}

#[test]
fn json_output_is_one_object_per_line() {
    let out = Deployctl::new()
        .args([
            "--output".as_ref(),
            "json".as_ref(),
            "validate".as_ref(),
            fixture("runbooks/invalid/several-problems.yaml").as_os_str(),
        ])
        .run();
    assert_eq!(out.code, 2);
    let lines = out.json_lines();
    assert!(
        lines
            .iter()
            .filter(|l| l["type"] == "diagnostic" && l["severity"] == "error")
            .count()
            == 4,
        "{}",
        out.stdout
    );
    assert_eq!(
        lines.last().map(|l| l["ok"].clone()),
        Some(serde_json::Value::Bool(false))
    );
}

/// A first runbook's plain `NNN_name.sql` folder under a `migrate` without `style: plain`
/// applied nothing and said "up to date": `validate`, the dry-run and `run` refuse it now,
/// at the `dir` that is wrong. A folder that does not exist yet is the step's to check.
#[test]
fn a_migrations_folder_of_the_other_style_is_refused_before_anything_runs() {
    let ws = crate::harness::Workspace::new(
        "deployctl: 1\nname: first\ndatabases: { app: { url: \"postgres://u@127.0.0.1:1/d\" } }\nphases:\n  - id: p\n    steps:\n      - { id: m, migrate: { database: app, dir: db/migrations, check: true } }\n",
    );
    let missing = ws.deployctl().args(["validate", "r.yaml"]).run();
    assert_eq!(missing.code, 0, "not there yet: {}", missing.stderr);
    std::fs::create_dir_all(ws.file("db/migrations")).expect("mkdir");
    std::fs::write(ws.file("db/migrations/001_init.sql"), "create table t (id int);").expect("write");
    for args in [
        vec!["validate", "r.yaml"],
        vec!["run", "r.yaml", "--dry-run", "--offline"],
        vec!["run", "r.yaml"],
    ] {
        let out = ws.deployctl().args(&args).run();
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("r.yaml:7:49: migrations dir `db/migrations` holds plain migration files (`001_init.sql`) but the step's style is `prisma`\n  hint: add `style: plain` to the step"),
            "{args:?}: {}",
            out.stderr
        );
    }
    std::fs::remove_file(ws.file("db/migrations/001_init.sql")).expect("rm");
    let empty = ws.deployctl().args(["validate", "r.yaml"]).run();
    assert_eq!(empty.code, 2, "{}", empty.stderr);
    assert!(
        empty
            .stderr
            .contains("migrations dir `db/migrations` holds no migration"),
        "{}",
        empty.stderr
    );
}

#[test]
fn shipped_runbooks_and_valid_fixtures_pass_strict() {
    let mut paths = files(&fixture("runbooks/valid"), "yaml");
    paths.extend(files(&repo().join("runbooks"), "yaml"));
    for path in paths {
        let out = Deployctl::new()
            .env("DEPLOYCTL_FIXTURE_TOKEN", "tok-fixture-123")
            .args(["validate".as_ref(), "--strict".as_ref(), path.as_os_str()])
            .run();
        assert_eq!(out.code, 0, "{} should pass --strict:\n{}", path.display(), out.stderr);
    }
}
