//! The journal in PostgreSQL (`--journal postgres://...`): a run seen from a second process,
//! the advisory lock under contention and after kill -9, the database going away mid-step,
//! approvals from elsewhere, and export/import between a file and the database.

use std::process::{Child, Command, Stdio};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::db::TestDb;
use crate::harness::{Deployctl, Workspace, eventually};

/// A password the URL carries (trust auth ignores it), to prove it is never printed.
const PASSWORD: &str = "s3cret-journal-pw";

/// A workspace whose journal is a fresh PostgreSQL database.
struct PgWorkspace {
    ws: Workspace,
    db: TestDb,
    url: String,
}

impl PgWorkspace {
    fn new(runbook: &str) -> Self {
        let db = TestDb::create();
        let mut url = url::Url::parse(&db.url).expect("test database url");
        if url.password().is_none() {
            url.set_password(Some(PASSWORD)).expect("a password fits the url");
        }
        PgWorkspace {
            ws: Workspace::new(runbook),
            db,
            url: url.to_string(),
        }
    }

    fn password(&self) -> String {
        url::Url::parse(&self.url)
            .ok()
            .and_then(|u| u.password().map(str::to_string))
            .unwrap_or_else(|| PASSWORD.into())
    }

    fn deployctl(&self) -> Deployctl {
        self.ws.deployctl().env("DEPLOYCTL_JOURNAL", &self.url)
    }

    /// `deployctl ARGS` in the background, journaling to the database.
    fn spawn(&self, args: &[&str]) -> Child {
        Command::new(assert_cmd::cargo::cargo_bin("deployctl"))
            .args(args)
            .current_dir(self.ws.path())
            .env("DEPLOYCTL_OPERATOR", "gage")
            .env("DEPLOYCTL_JOURNAL", &self.url)
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn deployctl")
    }

    /// The journal's events of one type, from the table.
    fn events(&self, name: &str, kind: &str) -> Vec<serde_json::Value> {
        let text = self
            .db
            .scalar(&format!(
                "SELECT coalesce(json_agg(entry->'event' ORDER BY seq), '[]')::text FROM deployctl_journal
                 WHERE journal = '{name}' AND event = '{kind}'"
            ))
            .unwrap_or_else(|| "[]".into());
        serde_json::from_str::<Vec<serde_json::Value>>(&text).expect("json array")
    }

    fn step_pid(&self) -> i32 {
        std::fs::read_to_string(self.ws.file("step.pid"))
            .expect("pid")
            .trim()
            .parse()
            .expect("pid")
    }
}

/// One step that waits for the file `go`, between two quick ones.
fn waiting(name: &str, idempotent: bool) -> String {
    format!(
        r#"deployctl: 1
name: {name}
phases:
  - id: p
    steps:
      - {{ id: before, shell: "echo x >> before.count" }}
      - id: work
        idempotent: {idempotent}
        shell: "echo x >> runs.count; echo $$ > step.pid; while [ ! -f go ]; do sleep 0.05; done"
      - {{ id: after, shell: "touch after-ran" }}
"#
    )
}

fn finish(child: Child) -> std::process::Output {
    child.wait_with_output().expect("deployctl ends")
}

fn kill_group(leader: i32) {
    let _ = kill(Pid::from_raw(-leader), Signal::SIGKILL);
    // A resume waits while a killed run's step still runs (issue 14 item 18).
    assert!(
        crate::harness::eventually(5, || !crate::harness::alive(leader)),
        "the step's group ended"
    );
}

#[test]
fn a_run_journals_to_postgres_and_status_from_a_second_process_sees_it() {
    let pg = PgWorkspace::new(&waiting("shared", true));
    let child = pg.spawn(&["run", "r.yaml"]);
    let pid = child.id();
    assert!(eventually(30, || pg.ws.file("step.pid").exists()), "the step started");

    let live = pg.deployctl().args(["status", "r.yaml"]).run();
    assert_eq!(live.code, 0, "{}", live.stderr);
    assert!(live.stdout.contains("[x] before"), "{}", live.stdout);
    assert!(
        live.stdout.contains(&format!("pid {pid}")),
        "names the holder: {}",
        live.stdout
    );
    assert!(
        live.stdout.contains("heartbeat"),
        "shows the heartbeat: {}",
        live.stdout
    );
    assert!(!live.stdout.contains(&pg.password()), "{}", live.stdout);

    std::fs::write(pg.ws.file("go"), "").expect("go");
    let out = finish(child);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!pg.ws.journal_path("shared").exists(), "no file journal was written");
    assert_eq!(pg.events("shared", "run_finished").len(), 1);
    assert_eq!(
        pg.db
            .scalar("SELECT count(*)::text FROM deployctl_lock_holder")
            .as_deref(),
        Some("0"),
        "a normal release deletes the holder row"
    );
    let done = pg.deployctl().args(["status", "r.yaml"]).run();
    assert!(done.stdout.contains("[x] after"), "{}", done.stdout);
    assert!(!done.stdout.contains("running now"), "{}", done.stdout);
}

#[test]
fn a_second_run_exits_6_naming_the_holder_and_other_runbooks_are_not_blocked() {
    let pg = PgWorkspace::new(&waiting("contended", true));
    let first = pg.spawn(&["run", "r.yaml"]);
    assert!(eventually(30, || pg.ws.file("step.pid").exists()), "the step started");

    let second = pg.deployctl().args(["run", "r.yaml"]).run();
    second.assert_locked_by(first.id());
    assert!(
        second.stderr.contains("postgres://"),
        "names the journal: {}",
        second.stderr
    );
    assert!(!second.stderr.contains(&pg.password()), "{}", second.stderr);

    let unlock = pg.deployctl().args(["unlock", "r.yaml"]).run();
    assert_eq!(
        unlock.code, 6,
        "unlock refuses while the holder lives: {}",
        unlock.stderr
    );

    std::fs::write(
        pg.ws.file("other.yaml"),
        "deployctl: 1\nname: other\nphases:\n  - id: p\n    steps:\n      - { id: a, shell: \"true\" }\n",
    )
    .expect("write");
    let other = pg.deployctl().args(["run", "other.yaml"]).run();
    assert_eq!(other.code, 0, "another runbook is not blocked: {}", other.stderr);
    std::fs::write(pg.ws.file("go"), "").expect("go");
    let staging = pg.deployctl().args(["run", "r.yaml", "--environment", "staging"]).run();
    assert_eq!(
        staging.code, 0,
        "another environment is not blocked: {}",
        staging.stderr
    );
    assert_eq!(pg.events("contended@staging", "run_finished").len(), 1);

    let out = finish(first);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn kill_9_frees_the_lock_and_the_next_run_resumes_by_the_same_rules() {
    let pg = PgWorkspace::new(&waiting("crashy", false));
    let mut child = pg.spawn(&["run", "r.yaml"]);
    assert!(eventually(30, || pg.ws.file("step.pid").exists()), "the step started");
    let holder = child.id();
    kill(Pid::from_raw(holder as i32), Signal::SIGKILL).expect("kill -9 deployctl");
    let _ = child.wait();
    kill_group(pg.step_pid());

    // PostgreSQL ends the dead client's session, and the lock with it.
    let mut status = String::new();
    assert!(
        eventually(30, || {
            status = pg.deployctl().args(["status", "r.yaml"]).run().stdout;
            !status.contains("running now")
        }),
        "the lock was freed: {status}"
    );
    assert!(status.contains("[~] work"), "cut off, not done: {status}");

    let unlock = pg.deployctl().args(["unlock", "r.yaml"]).run();
    assert_eq!(unlock.code, 0, "{}", unlock.stderr);
    assert!(
        unlock.stdout.contains(&format!("held by pid {holder}")),
        "{}",
        unlock.stdout
    );
    assert_eq!(pg.events("crashy", "unlocked").len(), 1);

    let resumed = pg.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(
        resumed.code, 3,
        "a non-idempotent step needs a decision: {}",
        resumed.stderr
    );
    assert!(resumed.stderr.contains("not idempotent"), "{}", resumed.stderr);
    let approved = pg.deployctl().args(["approve", "r.yaml", "work", "--by", "Dara"]).run();
    assert_eq!(approved.code, 0, "{}", approved.stderr);
    std::fs::write(pg.ws.file("go"), "").expect("go");
    let done = pg.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(done.code, 0, "{}", done.stderr);
    let count = |f: &str| {
        std::fs::read_to_string(pg.ws.file(f))
            .unwrap_or_default()
            .lines()
            .count()
    };
    assert_eq!(count("before.count"), 1, "done steps are not re-run");
    assert_eq!(count("runs.count"), 2, "re-run once, after the approval");
    assert_eq!(pg.events("crashy", "run_started").len(), 1, "the same run resumed");
}

#[test]
fn the_journal_database_going_away_mid_step_is_a_clear_error_and_the_step_is_not_done() {
    let pg = PgWorkspace::new(&waiting("cut", true));
    let child = pg.spawn(&["run", "r.yaml", "--output", "json"]);
    assert!(eventually(30, || pg.ws.file("step.pid").exists()), "the step started");

    let terminated = pg.db.scalar(&format!(
        "SELECT count(pg_terminate_backend(pid))::text FROM pg_stat_activity
         WHERE datname = '{}' AND application_name LIKE 'deployctl journal%'",
        pg.db.name
    ));
    assert_ne!(
        terminated.as_deref(),
        Some("0"),
        "deployctl's journal sessions were cut"
    );
    std::fs::write(pg.ws.file("go"), "").expect("go");
    let out = finish(child);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("journal `postgres://"), "names the journal: {stderr}");
    assert!(stderr.contains("append an entry"), "says what failed: {stderr}");
    assert!(stderr.contains("***"), "the password is masked: {stderr}");
    assert!(!stderr.contains(&pg.password()), "{stderr}");
    assert!(
        !stdout
            .lines()
            .any(|l| l.contains("\"step_finished\"") && l.contains("\"step\":\"work\"")),
        "the step in flight was not reported as finished: {stdout}"
    );
    assert!(
        pg.events("cut", "step_finished").iter().all(|e| e["step"] != "work"),
        "nor journaled"
    );
    let status = pg.deployctl().args(["status", "r.yaml"]).run();
    assert!(status.stdout.contains("[~] work"), "{}", status.stdout);
}

#[test]
fn approve_from_another_process_passes_the_gate_the_run_waits_at() {
    let pg = PgWorkspace::new(
        "deployctl: 1\nname: gated\nphases:\n  - id: p\n    steps:\n      - { id: a, shell: \"true\" }\n      - { id: pm, approval: { role: \"@pm\" } }\n      - { id: b, shell: \"touch b-ran\" }\n",
    );
    let paused = pg.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(paused.code, 3, "{}", paused.stderr);
    let status = pg.deployctl().args(["status", "r.yaml"]).run();
    assert!(status.stdout.contains("[?] pm"), "{}", status.stdout);

    let approved = pg
        .deployctl()
        .env("DEPLOYCTL_OPERATOR", "morgan")
        .args(["approve", "r.yaml", "pm", "--by", "Morgan"])
        .run();
    assert_eq!(approved.code, 0, "{}", approved.stderr);
    assert_eq!(pg.events("gated", "approval")[0]["by"], "Morgan");

    let done = pg.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(pg.ws.file("b-ran").exists());
}

#[test]
fn export_and_import_copy_a_journal_between_a_file_and_postgres() {
    let pg = PgWorkspace::new(
        "deployctl: 1\nname: moved\nphases:\n  - id: p\n    steps:\n      - { id: a, shell: \"echo hello\" }\n      - { id: b, shell: \"exit 1\" }\n",
    );
    let local = pg.ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(local.code, 1, "{}", local.stderr);
    let original = pg.ws.journal_path("moved");

    let from = original.display().to_string();
    let imported = pg
        .deployctl()
        .args(["journal", "import", "r.yaml", "--from", &from])
        .run();
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    assert!(!imported.stdout.contains(&pg.password()), "{}", imported.stdout);
    let again = pg
        .deployctl()
        .args(["journal", "import", "r.yaml", "--from", &from])
        .run();
    assert_eq!(again.code, 2, "a non-empty destination is refused: {}", again.stderr);
    assert!(again.stderr.contains("--replace"), "{}", again.stderr);
    let replaced = pg
        .deployctl()
        .args(["journal", "import", "r.yaml", "--from", &from, "--replace"])
        .run();
    assert_eq!(replaced.code, 0, "{}", replaced.stderr);

    let exported = pg.ws.file("exported.jsonl");
    let to = exported.display().to_string();
    let out = pg.deployctl().args(["journal", "export", "r.yaml", "--to", &to]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let entries = |p: &std::path::Path| -> Vec<serde_json::Value> {
        std::fs::read_to_string(p)
            .expect("journal file")
            .lines()
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect()
    };
    assert_eq!(entries(&original), entries(&exported), "file → PostgreSQL → file");

    // The imported run goes on from the database like any other.
    let status = pg.deployctl().args(["status", "r.yaml"]).run();
    assert!(status.stdout.contains("[!] b"), "{}", status.stdout);
}

#[test]
fn a_newer_table_layout_is_refused() {
    let pg = PgWorkspace::new(&waiting("newer", true));
    std::fs::write(pg.ws.file("go"), "").expect("go");
    assert_eq!(pg.deployctl().args(["run", "r.yaml"]).run().code, 0);
    pg.db.execute("UPDATE deployctl_schema SET version = 99");
    let refused = pg.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("uses table layout 99"), "{}", refused.stderr);
    let status = pg.deployctl().args(["status", "r.yaml"]).run();
    assert_eq!(status.code, 2, "{}", status.stderr);
}

#[test]
fn a_nul_byte_in_step_output_is_journaled_visibly_and_the_run_finishes() {
    let pg = PgWorkspace::new(
        r#"deployctl: 1
name: nul
phases:
  - id: p
    steps:
      - { id: binary, shell: 'printf "before\000after\n"', idempotent: true }
      - { id: next, shell: "touch next-ran", idempotent: true }
"#,
    );
    let run = pg.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(run.code, 0, "the append of a NUL failed:\n{}", run.stderr);
    assert!(pg.ws.file("next-ran").exists(), "the run went on");
    let finished = pg.events("nul", "step_finished");
    let output = finished
        .iter()
        .find(|e| e["step"] == "binary")
        .and_then(|e| e["output"].as_str())
        .unwrap_or_default()
        .to_string();
    assert_eq!(output, "before\u{2400}after\n", "the NUL is shown as ␀");
    let status = pg.deployctl().args(["status", "r.yaml"]).run();
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(
        status.stdout.contains("[x] binary") && status.stdout.contains("[x] next"),
        "{}",
        status.stdout
    );
    let export = pg
        .deployctl()
        .args(["journal", "export", "r.yaml", "--to", "copy.jsonl"])
        .run();
    assert_eq!(export.code, 0, "the rows read back: {}", export.stderr);
}

#[test]
fn the_hint_names_the_database_problem_it_got() {
    let ws = Workspace::new(&waiting("hinted", true));
    let missing = ws
        .deployctl()
        .env(
            "DEPLOYCTL_JOURNAL",
            "postgres://postgres@127.0.0.1:5432/deployctl_no_such_database_14",
        )
        .args(["status", "r.yaml"])
        .run();
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(missing.stderr.contains("(SQLSTATE 3D000)"), "{}", missing.stderr);
    assert!(
        missing
            .stderr
            .contains("hint: create that database, or fix its name in the journal URL"),
        "{}",
        missing.stderr
    );
    assert!(!missing.stderr.contains("reachable"), "{}", missing.stderr);
    let refused = ws
        .deployctl()
        .env("DEPLOYCTL_JOURNAL", "postgres://postgres@127.0.0.1:1/deployctl")
        .args(["status", "r.yaml"])
        .run();
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("hint: check that the journal database is up and reachable"),
        "{}",
        refused.stderr
    );
}

/// The hostile review's case: the journal's session is cut while a step runs, and a second
/// runner takes the lock at once. The first runner must have stopped its step before the
/// second starts it again: one step never runs twice at the same time.
#[test]
fn a_runner_that_loses_its_session_stops_its_step_before_another_can_start_it() {
    let runbook = "deployctl: 1\nname: lease\nphases:\n  - id: p\n    steps:\n      - { id: work, idempotent: true, shell: \"echo $$ >> pids; sleep 100\" }\n";
    let pg = PgWorkspace::new(runbook);
    let first = pg.spawn(&["run", "r.yaml"]);
    let pids = || -> Vec<i32> {
        std::fs::read_to_string(pg.ws.file("pids"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    };
    assert!(eventually(30, || pids().len() == 1), "the step started");
    let terminated = pg.db.scalar(&format!(
        "SELECT count(pg_terminate_backend(pid))::text FROM pg_stat_activity
         WHERE datname = '{}' AND application_name LIKE 'deployctl journal%'",
        pg.db.name
    ));
    assert_ne!(terminated.as_deref(), Some("0"), "the journal session was cut");
    let second = pg.spawn(&["run", "r.yaml"]);
    assert!(
        eventually(30, || pids().len() == 2),
        "the second runner started the step"
    );
    let (old, new) = (pids()[0], pids()[1]);
    let old_alive = crate::harness::alive(old);
    kill_group(old);
    kill_group(new);
    let _ = kill(Pid::from_raw(second.id() as i32), Signal::SIGKILL);
    let out = finish(first);
    let _ = finish(second);
    assert!(
        !old_alive,
        "the first runner's step was still running when the second started it"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("lock was lost while `work` ran, so the step was stopped"),
        "{stderr}"
    );
}
