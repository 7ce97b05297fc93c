//! What goes wrong at 3 a.m.: kill -9 mid-step, Ctrl-C, a second run, torn and corrupt
//! journals, a runbook edited mid-run, and state that drifted before a resume.

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::harness::{Workspace, alive, eventually};
use crate::http_server::TestHttp;

/// A step that counts its runs in a side file and hangs on the first, so it can be killed.
fn hanging(idempotent: bool) -> String {
    format!(
        r#"deployctl: 1
name: crashy
phases:
  - id: p
    steps:
      - {{ id: before, shell: "echo x >> before.count" }}
      - id: migrate-ish
        idempotent: {idempotent}
        shell: "echo x >> runs.count; echo $$ > step.pid; if [ $(wc -l < runs.count) -lt 2 ]; then sleep 100; fi"
      - {{ id: after, shell: "touch after-ran" }}
"#
    )
}

/// A SIGKILLed deployctl cannot clean up: the step's process group (led by its shell) is
/// killed here so the test leaves nothing behind.
fn kill_group(leader: i32) {
    let _ = kill(Pid::from_raw(-leader), Signal::SIGKILL);
    // A resume waits while the group still runs (issue 14 item 18).
    assert!(eventually(5, || !alive(leader)), "the step's group ended");
}

fn lines(ws: &Workspace, file: &str) -> usize {
    std::fs::read_to_string(ws.file(file))
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

fn kill_mid_step(ws: &Workspace) -> i32 {
    let mut child = ws.spawn_run();
    assert!(eventually(20, || ws.file("step.pid").exists()), "the step started");
    let pid = Pid::from_raw(child.id() as i32);
    kill(pid, Signal::SIGKILL).expect("kill -9 deployctl");
    let _ = child.wait();
    std::fs::read_to_string(ws.file("step.pid"))
        .expect("pid")
        .trim()
        .parse()
        .expect("pid")
}

#[test]
fn kill_9_then_resume_does_not_rerun_a_non_idempotent_step_without_approval() {
    let ws = Workspace::new(&hanging(false));
    let orphan = kill_mid_step(&ws);
    kill_group(orphan);

    let status = ws.deployctl().args(["status", "r.yaml"]).run();
    assert!(
        status.stdout.contains("[x] before") && status.stdout.contains("[~] migrate-ish"),
        "{}",
        status.stdout
    );

    let resumed = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(resumed.code, 3, "paused for a decision:\n{}", resumed.stderr);
    assert!(resumed.stderr.contains("not idempotent"), "{}", resumed.stderr);
    assert!(
        resumed
            .stderr
            .contains("deployctl approve r.yaml migrate-ish --by NAME"),
        "{}",
        resumed.stderr
    );
    assert!(
        resumed.stderr.contains("or `deployctl rollback r.yaml`"),
        "{}",
        resumed.stderr
    );
    assert_eq!(lines(&ws, "runs.count"), 1, "not re-run without approval");
    assert_eq!(lines(&ws, "before.count"), 1, "done steps are not re-run");

    let approved = ws
        .deployctl()
        .args([
            "approve",
            "r.yaml",
            "migrate-ish",
            "--by",
            "Dara",
            "--note",
            "checked: nothing applied",
        ])
        .run();
    assert_eq!(approved.code, 0, "{}", approved.stderr);
    let done = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(lines(&ws, "runs.count"), 2);
    assert_eq!(lines(&ws, "before.count"), 1);
    assert!(ws.file("after-ran").exists());
    let retry = ws.events("crashy", "approval");
    assert_eq!(retry[0]["kind"], "retry");
    assert_eq!(retry[0]["by"], "Dara");
}

#[test]
fn kill_9_then_resume_reruns_an_idempotent_step() {
    let ws = Workspace::new(&hanging(true));
    let orphan = kill_mid_step(&ws);
    kill_group(orphan);
    let resumed = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert!(resumed.stdout.contains("resuming run"), "{}", resumed.stdout);
    assert_eq!(lines(&ws, "runs.count"), 2);
    assert_eq!(lines(&ws, "before.count"), 1);
    assert_eq!(ws.events("crashy", "run_started").len(), 1, "same run resumed");
}

#[test]
fn sigint_interrupts_the_step_kills_its_children_and_exits_130() {
    let ws = Workspace::new(&hanging(false));
    let mut child = ws.spawn_run();
    assert!(eventually(20, || ws.file("step.pid").exists()));
    let shell: i32 = std::fs::read_to_string(ws.file("step.pid"))
        .expect("pid")
        .trim()
        .parse()
        .expect("pid");
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).expect("SIGINT");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(130));
    assert!(eventually(5, || !alive(shell)), "the step's shell was killed");
    let finished = ws.events("crashy", "step_finished");
    assert_eq!(finished.last().map(|e| e["status"].clone()), Some("interrupted".into()));
    assert_eq!(ws.events("crashy", "run_interrupted")[0]["signal"], "SIGINT");
}

#[test]
fn a_second_run_exits_6_naming_the_holder() {
    let ws = Workspace::new(&hanging(false));
    let mut first = ws.spawn_run();
    assert!(eventually(20, || ws.file("step.pid").exists()));
    let second = ws.deployctl().args(["run", "r.yaml"]).run();
    second.assert_locked_by(first.id());
    let unlock = ws.deployctl().args(["unlock", "r.yaml"]).run();
    assert_eq!(
        unlock.code, 6,
        "unlock refuses while the holder lives: {}",
        unlock.stderr
    );
    kill(Pid::from_raw(first.id() as i32), Signal::SIGKILL).expect("kill");
    let _ = first.wait();
    let shell: i32 = std::fs::read_to_string(ws.file("step.pid"))
        .expect("pid")
        .trim()
        .parse()
        .expect("pid");
    kill_group(shell);
    let unlock = ws.deployctl().args(["unlock", "r.yaml"]).run();
    assert_eq!(unlock.code, 0, "{}", unlock.stderr);
    assert!(
        unlock.stdout.contains(&format!("held by pid {}", first.id())),
        "{}",
        unlock.stdout
    );
    assert_eq!(ws.events("crashy", "unlocked").len(), 1);
    let again = ws.deployctl().args(["unlock", "r.yaml"]).run();
    assert!(again.stdout.contains("is not locked"), "{}", again.stdout);
}

fn simple() -> &'static str {
    "deployctl: 1\nname: simple\nphases:\n  - id: p\n    steps:\n      - { id: a, shell: \"echo a >> a.count\" }\n      - { id: b, shell: \"exit 1\" }\n"
}

#[test]
fn a_torn_last_line_is_dropped_with_a_warning_and_cut_before_appending() {
    let ws = Workspace::new(simple());
    assert_eq!(ws.deployctl().args(["run", "r.yaml"]).run().code, 1);
    let journal = ws.journal_path("simple");
    let mut bytes = std::fs::read(&journal).expect("journal");
    bytes.extend_from_slice(br#"{"at":"2026-11-29T00:00:00Z","run_id":"x","event":{"type":"step_sta"#);
    std::fs::write(&journal, &bytes).expect("tear");
    let status = ws.deployctl().args(["status", "r.yaml"]).run();
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(
        status.stderr.contains("cut short by a crash mid-write"),
        "{}",
        status.stderr
    );
    let resumed = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(resumed.code, 1);
    assert!(
        resumed.stderr.contains("torn last line was cut off"),
        "{}",
        resumed.stderr
    );
    assert_eq!(
        ws.journal("simple").len(),
        ws.journal("simple").len(),
        "every line parses again"
    );
}

#[test]
fn a_corrupt_middle_line_is_refused_by_number() {
    let ws = Workspace::new(simple());
    assert_eq!(ws.deployctl().args(["run", "r.yaml"]).run().code, 1);
    let journal = ws.journal_path("simple");
    let text = std::fs::read_to_string(&journal).expect("journal");
    let mut lines: Vec<&str> = text.lines().collect();
    lines[1] = "{ this is not json";
    std::fs::write(&journal, lines.join("\n") + "\n").expect("corrupt");
    for args in [vec!["status", "r.yaml"], vec!["run", "r.yaml"]] {
        let out = ws.deployctl().args(args).run();
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(out.stderr.contains("line 2 is unreadable"), "{}", out.stderr);
    }
    assert_eq!(
        std::fs::read_to_string(&journal).expect("journal"),
        lines.join("\n") + "\n",
        "nothing appended"
    );
}

#[test]
fn a_changed_runbook_is_refused_unless_allowed() {
    let ws = Workspace::new(simple());
    assert_eq!(ws.deployctl().args(["run", "r.yaml"]).run().code, 1);
    ws.rewrite(&simple().replace("exit 1", "true"));
    let refused = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("changed since run"), "{}", refused.stderr);
    assert!(refused.stderr.contains("--allow-changed"), "{}", refused.stderr);
    let allowed = ws.deployctl().args(["run", "r.yaml", "--allow-changed"]).run();
    assert_eq!(allowed.code, 0, "{}", allowed.stderr);
    assert_eq!(lines(&ws, "a.count"), 1, "the done step was not re-run");
}

#[test]
fn resume_reverifies_completed_steps() {
    let http = TestHttp::start();
    let ws = Workspace::new(&format!(
        r#"deployctl: 1
name: verify
phases:
  - id: p
    steps:
      - {{ id: deploy, shell: "echo deployed", verify: {{ http: "{}" }} }}
      - {{ id: later, shell: "test -f go" }}
"#,
        http.url("/health")
    ));
    assert_eq!(ws.deployctl().args(["run", "r.yaml"]).run().code, 1);
    http.answer(500, "broken");
    std::fs::write(ws.file("go"), "").expect("go");
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("verify check no longer holds"), "{}", out.stderr);
    assert_eq!(ws.events("verify", "verified")[0]["ok"], false);
    http.answer(200, "ok");
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn gates_pause_with_exit_3_and_approvals_are_checked() {
    let ws = Workspace::new(
        r#"deployctl: 1
name: gates
phases:
  - id: approvals
    steps:
      - { id: pm, approval: { role: "@pm" } }
      - { id: cto, approval: { role: cto, from: [Casey] } }
      - { id: briefed, manual: "Operations team briefed" }
      - { id: go, shell: "touch went" }
"#,
    );
    let paused = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(paused.code, 3, "{}", paused.stderr);
    assert!(
        paused.stderr.contains("deployctl approve r.yaml pm --by NAME"),
        "{}",
        paused.stderr
    );
    let refusals = [
        (
            vec!["approve", "r.yaml", "pm", "--by", "gage"],
            "cannot approve its own gate",
        ),
        (
            vec!["approve", "r.yaml", "nope", "--by", "Morgan"],
            "has no step `nope`",
        ),
        (
            vec!["approve", "r.yaml", "cto", "--by", "Morgan"],
            "may not approve `cto`",
        ),
        (
            vec!["approve", "r.yaml", "go", "--by", "Morgan"],
            "not waiting for anyone",
        ),
    ];
    for (args, expected) in refusals {
        let out = ws.deployctl().args(args.clone()).run();
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(expected), "{args:?}: {}", out.stderr);
    }
    assert!(ws.events("gates", "approval").is_empty(), "refusals journal nothing");
    assert_eq!(
        ws.deployctl()
            .args(["approve", "r.yaml", "pm", "--by", "Morgan"])
            .run()
            .code,
        0
    );
    let twice = ws.deployctl().args(["approve", "r.yaml", "pm", "--by", "Morgan"]).run();
    assert_eq!(twice.code, 2, "{}", twice.stderr);
    let two_roles = ws
        .deployctl()
        .args(["approve", "r.yaml", "cto", "--by", "Morgan"])
        .run();
    assert_eq!(two_roles.code, 2);
    assert_eq!(
        ws.deployctl()
            .args(["approve", "r.yaml", "cto", "--by", "Casey"])
            .run()
            .code,
        0
    );
    let paused = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(paused.code, 3, "the checkbox still waits: {}", paused.stderr);
    let status = ws.deployctl().args(["status", "r.yaml"]).run();
    assert!(
        status.stdout.contains("[x] pm") && status.stdout.contains("[?] briefed"),
        "{}",
        status.stdout
    );
    assert_eq!(
        ws.deployctl()
            .args(["approve", "r.yaml", "briefed", "--by", "gage"])
            .run()
            .code,
        0
    );
    let done = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(ws.file("went").exists());
}

#[test]
fn sigterm_is_journaled_like_sigint() {
    let ws = Workspace::new(&hanging(true));
    let mut child = ws.spawn_run();
    assert!(eventually(20, || ws.file("step.pid").exists()));
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).expect("SIGTERM");
    assert_eq!(child.wait().expect("wait").code(), Some(130));
    assert_eq!(ws.events("crashy", "run_interrupted")[0]["signal"], "SIGTERM");
    let status = ws.deployctl().args(["status", "r.yaml"]).run();
    assert!(status.stdout.contains("[~] migrate-ish"), "{}", status.stdout);
}
