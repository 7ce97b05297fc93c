//! The commands as users type them (issue 18): `status` and `rollback` with no runbook find
//! the journal written last, `run NAME.yaml` from a repository's root finds
//! `runbooks/NAME.yaml`, and a `.deployctl/` directory deployctl creates is git-ignored.

use std::path::Path;

use crate::db::TestDb;
use crate::harness::Deployctl;

const HELLO: &str = "deployctl: 1\nname: hello\nphases: [ { id: p, steps: [ { id: a, shell: \"echo did >> ../did.txt\", undo: { shell: \"echo undid >> ../did.txt\" } } ] } ]\n";

/// A repository: `runbooks/hello.yaml`, and a `src/` to run from below the root.
fn repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("runbooks")).expect("mkdir");
    std::fs::create_dir_all(dir.path().join("src/deep")).expect("mkdir");
    std::fs::write(dir.path().join("runbooks/hello.yaml"), HELLO).expect("write");
    dir
}

fn deployctl(dir: &Path) -> Deployctl {
    Deployctl::new().current_dir(dir).env("DEPLOYCTL_OPERATOR", "gage")
}

#[test]
fn run_from_the_root_uses_runbooks_and_the_new_journal_directory_is_git_ignored() {
    let repo = repository();
    let out = deployctl(repo.path()).args(["run", "hello.yaml"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("`hello.yaml` is not here; using `runbooks/hello.yaml`"),
        "{}",
        out.stderr
    );
    let journal_dir = repo.path().join("runbooks/.deployctl");
    assert!(journal_dir.join("hello.jsonl").is_file());
    let ignore = std::fs::read_to_string(journal_dir.join(".gitignore")).expect(".gitignore written");
    assert!(ignore.lines().any(|l| l == "*"), "{ignore}");
    // Another command that does not fall back says where the runbook is.
    let out = deployctl(repo.path())
        .args(["approve", "hello.yaml", "a", "--by", "x"])
        .run();
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("`runbooks/hello.yaml` exists"), "{}", out.stderr);
}

#[test]
fn a_journal_directory_that_exists_is_left_as_it_is() {
    let repo = repository();
    std::fs::create_dir_all(repo.path().join("runbooks/.deployctl")).expect("mkdir");
    let out = deployctl(repo.path()).args(["run", "runbooks/hello.yaml"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!repo.path().join("runbooks/.deployctl/.gitignore").exists());
}

#[test]
fn status_without_a_runbook_shows_the_journal_written_last_here_or_above() {
    let repo = repository();
    std::fs::write(repo.path().join("runbooks/other.yaml"), HELLO.replace("hello", "other")).expect("write");
    for runbook in ["runbooks/other.yaml", "runbooks/hello.yaml"] {
        let out = deployctl(repo.path()).args(["run", runbook]).run();
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
    for dir in [
        repo.path().to_path_buf(),
        repo.path().join("runbooks"),
        repo.path().join("src/deep"),
    ] {
        let out = deployctl(&dir).args(["status"]).run();
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(out.stdout.starts_with("hello"), "the latest run: {}", out.stdout);
        assert!(
            out.stderr
                .contains("hello.jsonl` (runbook `hello`), the one written last"),
            "names its choice: {}",
            out.stderr
        );
    }
    let out = deployctl(repo.path())
        .args(["--quiet", "status", "--format", "json"])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "", "--quiet keeps the note away");
}

#[test]
fn status_with_no_journal_anywhere_says_what_was_searched() {
    let repo = repository();
    let out = deployctl(&repo.path().join("src")).args(["status"]).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("no journal found"), "{}", out.stderr);
    assert!(out.stderr.contains("hint: give the runbook"), "{}", out.stderr);
}

#[test]
fn rollback_without_a_runbook_needs_yes_off_a_terminal_and_names_the_run() {
    let repo = repository();
    let out = deployctl(repo.path()).args(["run", "runbooks/hello.yaml"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let did = || std::fs::read_to_string(repo.path().join("did.txt")).unwrap_or_default();
    let out = deployctl(&repo.path().join("src")).args(["rollback"]).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("runbook `hello`"), "{}", out.stderr);
    assert!(out.stderr.contains("hint: add --yes"), "{}", out.stderr);
    assert_eq!(did(), "did\n", "nothing undone without --yes");
    let out = deployctl(&repo.path().join("src"))
        .args(["rollback", "--dry-run"])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("a.undo"), "{}", out.stdout);
    let out = deployctl(&repo.path().join("src")).args(["rollback", "--yes"]).run();
    assert_eq!(out.code, 4, "a successful rollback exits 4: {}", out.stderr);
    assert!(out.stderr.contains("hello.yaml"), "names the runbook: {}", out.stderr);
    assert_eq!(did(), "did\nundid\n");
}

#[test]
fn status_and_rollback_without_a_runbook_use_the_postgres_journal_written_last() {
    let db = TestDb::create();
    let repo = repository();
    let pg = |dir: &Path| deployctl(dir).env("DEPLOYCTL_JOURNAL", &db.url);
    let out = pg(repo.path()).args(["run", "runbooks/hello.yaml"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let out = pg(elsewhere.path()).args(["status"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("hello"), "{}", out.stdout);
    assert!(out.stderr.contains("#hello"), "names the journal: {}", out.stderr);
    // The runbook comes from the journal: the run recorded its file.
    let out = pg(elsewhere.path()).args(["rollback", "--yes"]).run();
    assert_eq!(out.code, 4, "{}", out.stderr);
    let did = std::fs::read_to_string(repo.path().join("did.txt")).unwrap_or_default();
    assert_eq!(did, "did\nundid\n");
}

/// `--environment` narrows the PostgreSQL finder to that environment's journals
/// (`hello@staging`), as it does the file finder: not the run written last elsewhere.
#[test]
fn status_and_rollback_without_a_runbook_take_the_given_environment_in_postgres() {
    let db = TestDb::create();
    let repo = repository();
    let pg = |dir: &Path| deployctl(dir).env("DEPLOYCTL_JOURNAL", &db.url);
    for env in ["staging", "production"] {
        let out = pg(repo.path())
            .args(["run", "runbooks/hello.yaml", "--environment", env])
            .run();
        assert_eq!(out.code, 0, "{env}: {}", out.stderr);
    }
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let latest = pg(elsewhere.path()).args(["status"]).run();
    assert_eq!(latest.code, 0, "{}", latest.stderr);
    assert!(latest.stderr.contains("#hello@production"), "{}", latest.stderr);
    let staging = pg(elsewhere.path()).args(["status", "--environment", "staging"]).run();
    assert_eq!(staging.code, 0, "{}", staging.stderr);
    assert!(staging.stderr.contains("#hello@staging"), "{}", staging.stderr);
    let out = pg(elsewhere.path())
        .args(["rollback", "--environment", "staging", "--yes"])
        .run();
    assert_eq!(out.code, 4, "{}", out.stderr);
    let rolled_back = |env: &str| {
        let out = pg(elsewhere.path())
            .args(["status", "--environment", env, "--format", "json"])
            .run();
        assert_eq!(out.code, 0, "{}", out.stderr);
        let view: serde_json::Value = serde_json::from_str(&out.stdout).expect("status json");
        view["state"].clone()
    };
    assert_eq!(rolled_back("staging"), "rolled_back");
    assert_eq!(rolled_back("production"), "done", "production's run was not touched");
    let none = pg(elsewhere.path()).args(["status", "--environment", "qa"]).run();
    assert_eq!(none.code, 2, "{}", none.stderr);
    assert!(
        none.stderr.contains("no journal of environment `qa`"),
        "{}",
        none.stderr
    );
}

#[test]
fn titles_are_interpolated_secrets_masked_and_the_report_lists_the_inputs() {
    let ws = crate::harness::Workspace::new(
        "deployctl: 1\nname: rel\ntitle: \"Release ${vars.release}\"\nvars:\n  release: \"v1.2.3\"\nphases:\n  - id: p\n    steps:\n      - { id: point, title: \"Point instances at release ${vars.release} (${env.DB_PASSWORD})\", shell: \"true\" }\n",
    );
    let run = ws
        .deployctl()
        .env("DB_PASSWORD", "hunter22x")
        .args(["run", "r.yaml"])
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("Point instances at release v1.2.3 (***)"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("hunter22x"), "{}", run.stdout);
    let report = ws.deployctl().args(["status", "r.yaml", "--format", "markdown"]).run();
    assert_eq!(report.code, 0, "{}", report.stderr);
    assert!(report.stdout.starts_with("# Release v1.2.3"), "{}", report.stdout);
    assert!(report.stdout.contains("## Inputs"), "{}", report.stdout);
    assert!(
        report.stdout.contains("- `vars.release` = `v1.2.3`"),
        "{}",
        report.stdout
    );
    assert!(
        report
            .stdout
            .contains("- `env.DB_PASSWORD` = *(secret, not journaled)*"),
        "{}",
        report.stdout
    );
    assert!(!report.stdout.contains("hunter22x"));
    let html = ws.deployctl().args(["status", "r.yaml", "--format", "html"]).run();
    assert!(html.stdout.contains("v1.2.3"), "the HTML report carries the inputs too");

    ws.rewrite("deployctl: 1\nname: rel\nphases: [ { id: p, steps: [ { id: a, title: \"at ${vars.nope}\", shell: \"true\" } ] } ]\n");
    let out = ws.deployctl().args(["validate", "r.yaml"]).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("r.yaml:3:49: unknown variable `nope`"),
        "{}",
        out.stderr
    );
}

#[test]
fn validate_and_the_offline_dry_run_warn_about_files_and_folders_that_do_not_exist() {
    let ws = crate::harness::Workspace::new(
        r#"deployctl: 1
name: paths
databases:
  app: { url: "postgres://nobody@127.0.0.1:1/app" }
services:
  web: { health: "http://127.0.0.1:1/health", restart: "./bin/restart web" }
phases:
  - id: p
    steps:
      - { id: backup, backup: { database: app, dir: backups } }
      - { id: migrate, migrate: { database: app, dir: migrations }, undo: { shell: "true" } }
      - { id: deploy, shell: "scripts/deploy.sh v2", undo: { shell: "true" } }
      - { id: system, shell: "/bin/true && echo $HOME/x", undo: { shell: "true" } }
"#,
    );
    let out = ws.deployctl().args(["validate", "r.yaml"]).run();
    assert_eq!(out.code, 0, "warnings only: {}", out.stderr);
    for expected in [
        "migrations dir `migrations` does not exist",
        "the command's program `scripts/deploy.sh` does not exist",
        "the command's program `./bin/restart` does not exist",
    ] {
        assert!(out.stderr.contains(expected), "{expected}: {}", out.stderr);
    }
    assert_eq!(out.stderr.matches("does not exist").count(), 3, "{}", out.stderr);
    assert_eq!(ws.deployctl().args(["validate", "--strict", "r.yaml"]).run().code, 2);
    let dry = ws.deployctl().args(["run", "--dry-run", "--offline", "r.yaml"]).run();
    assert!(
        dry.stderr.contains("migrations dir `migrations` does not exist"),
        "{}",
        dry.stderr
    );

    std::fs::create_dir_all(ws.file("migrations/20260101000000_init")).expect("mkdir");
    std::fs::write(ws.file("migrations/20260101000000_init/migration.sql"), "select 1;").expect("write");
    std::fs::create_dir_all(ws.file("scripts")).expect("mkdir");
    std::fs::write(ws.file("scripts/deploy.sh"), "#!/bin/sh\n").expect("write");
    std::fs::create_dir_all(ws.file("bin")).expect("mkdir");
    std::fs::write(ws.file("bin/restart"), "#!/bin/sh\n").expect("write");
    let out = ws.deployctl().args(["validate", "--strict", "r.yaml"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn run_after_a_finished_run_needs_new_off_a_terminal() {
    let ws = crate::harness::Workspace::new(
        "deployctl: 1\nname: again\nphases: [ { id: p, steps: [ { id: a, shell: \"echo ran >> ran.log\" } ] } ]\n",
    );
    assert_eq!(ws.deployctl().args(["run", "r.yaml"]).run().code, 0);
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("the last run of `again`"), "{}", out.stderr);
    assert!(
        out.stderr.contains("ended done at"),
        "says how and when: {}",
        out.stderr
    );
    assert!(out.stderr.contains("hint: pass --new"), "{}", out.stderr);
    assert_eq!(crate::harness::lines(&ws, "ran.log"), ["ran"], "nothing ran");
    let out = ws.deployctl().args(["run", "--new", "r.yaml"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(crate::harness::lines(&ws, "ran.log"), ["ran", "ran"]);
    assert_eq!(ws.events("again", "run_started").len(), 2);
}
