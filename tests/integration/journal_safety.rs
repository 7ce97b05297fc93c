//! The file journal and its lock cannot be redirected or sidestepped: a planted link is
//! refused and its target left alone, a directory other users can write is refused, and a
//! lock file deleted during a live run does not let a second run start beside it.

use std::os::unix::fs::PermissionsExt;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::harness::{Workspace, eventually};

const QUICK: &str = "deployctl: 1\nname: h\nphases:\n  - id: p\n    steps:\n      - { id: a, shell: \"touch a-ran\", idempotent: true }\n";

/// One step that waits for the file `go`.
const WAITING: &str = r#"deployctl: 1
name: h
phases:
  - id: p
    steps:
      - id: work
        idempotent: true
        shell: "echo x >> runs.count; echo $$ > step.pid; while [ ! -f go ]; do sleep 0.05; done"
"#;

fn journal_dir(ws: &Workspace) -> std::path::PathBuf {
    let dir = ws.file(".deployctl");
    std::fs::create_dir_all(&dir).expect("journal dir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    dir
}

#[test]
fn a_lock_file_that_is_a_link_is_refused_and_its_target_kept() {
    let ws = Workspace::new(QUICK);
    let precious = ws.file("precious.txt");
    std::fs::write(&precious, "do not truncate me").expect("write");
    std::os::unix::fs::symlink(&precious, journal_dir(&ws).join("h.jsonl.lock")).expect("symlink");
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&precious).expect("read"), "do not truncate me");
    assert!(out.stderr.contains("is a symbolic link"), "{}", out.stderr);
    assert!(out.stderr.contains("hint: remove the link"), "{}", out.stderr);
    assert!(!ws.file("a-ran").exists(), "nothing ran");
}

#[test]
fn a_journal_that_is_a_link_is_refused_by_run_and_status() {
    let ws = Workspace::new(QUICK);
    let elsewhere = ws.file("elsewhere.jsonl");
    std::fs::write(&elsewhere, "").expect("write");
    std::os::unix::fs::symlink(&elsewhere, journal_dir(&ws).join("h.jsonl")).expect("symlink");
    for args in [["run", "r.yaml"], ["status", "r.yaml"]] {
        let out = ws.deployctl().args(args).run();
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains("is a symbolic link"), "{args:?}: {}", out.stderr);
    }
    assert_eq!(
        std::fs::read(&elsewhere).expect("read").len(),
        0,
        "nothing was written through the link"
    );
}

#[test]
fn a_journal_directory_other_users_can_write_is_refused() {
    let ws = Workspace::new(QUICK);
    let dir = journal_dir(&ws);
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("is writable by other users (mode 1777)"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("hint: `chmod o-w"), "{}", out.stderr);
    assert!(!ws.file("a-ran").exists(), "nothing ran");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    assert_eq!(ws.deployctl().args(["run", "r.yaml"]).run().code, 0);
}

#[test]
fn deleting_the_lock_file_during_a_run_does_not_let_a_second_run_in() {
    let ws = Workspace::new(WAITING);
    let mut first = ws.spawn_run();
    assert!(eventually(20, || ws.file("step.pid").exists()), "the step started");
    std::fs::remove_file(ws.file(".deployctl/h.jsonl.lock")).expect("delete the lock file");

    let second = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(
        second.code, 6,
        "a second run started beside the first:\n{}",
        second.stderr
    );
    assert!(
        second.stderr.contains(&format!("locked by pid {}", first.id())),
        "names the holder from the kernel's locks: {}",
        second.stderr
    );
    let status = ws.deployctl().args(["status", "r.yaml"]).run();
    assert!(status.stdout.contains("running now"), "{}", status.stdout);

    std::fs::write(ws.file("go"), "").expect("go");
    let status = first.wait().expect("the first run ends");
    assert_eq!(status.code(), Some(0));
    let runs = std::fs::read_to_string(ws.file("runs.count")).expect("count");
    assert_eq!(runs.lines().count(), 1, "the step ran once");
    let shell: i32 = std::fs::read_to_string(ws.file("step.pid"))
        .expect("pid")
        .trim()
        .parse()
        .expect("pid");
    let _ = kill(Pid::from_raw(-shell), Signal::SIGKILL);
    // A resume waits while a killed run's step still runs (issue 14 item 18).
    assert!(
        crate::harness::eventually(5, || !crate::harness::alive(shell)),
        "the step's group ended"
    );
}
