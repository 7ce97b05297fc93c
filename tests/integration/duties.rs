//! Separation of duties holds however a name is typed, and for everyone who operated the
//! run: the hostile review's spellings of one name, confusable names, and an operator who
//! resumed the run.

use crate::harness::{Outcome, Workspace};

const GATES: &str = r#"deployctl: 1
name: duties
phases:
  - id: p
    steps:
      - { id: pm, approval: { role: "@pm" } }
      - { id: cto, approval: { role: cto } }
      - { id: sec, approval: { role: security } }
      - { id: go, shell: "echo went >> went" }
"#;

fn approve(ws: &Workspace, step: &str, by: &str) -> Outcome {
    ws.deployctl().args(["approve", "r.yaml", step, "--by", by]).run()
}

fn run_as(ws: &Workspace, operator: &str) -> Outcome {
    ws.deployctl().args(["run", "r.yaml", "--operator", operator]).run()
}

#[test]
fn the_operator_cannot_approve_under_another_spelling_or_a_lookalike() {
    let ws = Workspace::new(GATES);
    assert_eq!(run_as(&ws, " alice").code, 3);
    for by in ["alice", "Alice", "ALICE", " alice ", "ａｌｉｃｅ"] {
        let out = approve(&ws, "pm", by);
        assert_eq!(out.code, 2, "{by:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("cannot approve its own gate"),
            "{by:?}: {}",
            out.stderr
        );
    }
    let lookalike = approve(&ws, "pm", "\u{430}lice");
    assert_eq!(lookalike.code, 2, "{}", lookalike.stderr);
    assert!(lookalike.stderr.contains("can be mistaken for"), "{}", lookalike.stderr);
    let hidden = approve(&ws, "pm", "alice\u{200b}");
    assert_eq!(hidden.code, 2, "{}", hidden.stderr);
    assert!(
        hidden.stderr.contains("invisible or control character (U+200B)"),
        "{}",
        hidden.stderr
    );
    assert!(ws.events("duties", "approval").is_empty(), "no refusal was journaled");
}

#[test]
fn one_person_fills_one_role_whatever_the_case() {
    let ws = Workspace::new(GATES);
    assert_eq!(run_as(&ws, "alice").code, 3);
    assert_eq!(approve(&ws, "pm", "bob").code, 0);
    let out = approve(&ws, "cto", "Bob");
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("cannot also act as cto"), "{}", out.stderr);
}

#[test]
fn whoever_resumes_the_run_is_an_operator_too() {
    let ws = Workspace::new(GATES);
    assert_eq!(run_as(&ws, "alice").code, 3);
    assert_eq!(approve(&ws, "pm", "bob").code, 0);
    // Dave approves the cto gate before he resumes the run himself.
    assert_eq!(approve(&ws, "cto", "dave").code, 0);
    let resumed = run_as(&ws, "Dave");
    assert_eq!(resumed.code, 3, "{}", resumed.stderr);
    assert!(
        resumed
            .stderr
            .contains("the approval by dave does not count: Dave operated this run since"),
        "{}",
        resumed.stderr
    );
    // Carol resumes it too: she cannot approve its next gate and finish it.
    assert_eq!(run_as(&ws, "carol").code, 3);
    let out = approve(&ws, "sec", "Carol");
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("cannot approve its own gate"), "{}", out.stderr);
    // An operator's name that passes for another's is refused before anything runs.
    let lookalike = run_as(&ws, "b\u{43e}b");
    assert_eq!(lookalike.code, 2, "{}", lookalike.stderr);
    assert!(lookalike.stderr.contains("can be mistaken for"), "{}", lookalike.stderr);
    let hidden = run_as(&ws, "eve\u{202e}");
    assert_eq!(hidden.code, 2, "{}", hidden.stderr);
    assert!(std::fs::read_to_string(ws.file("went")).is_err(), "nothing went");
}
