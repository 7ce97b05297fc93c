//! The hostile corpus (`tests/fixtures/hostile/`, listed in its README): every runbook is
//! refused by `validate` and `run --dry-run --offline` with exit 2 and a message naming the
//! file; `status` answers or refuses; every journal is read by `status` and `run` with a
//! warning or a refusal naming the line, never a panic (the harness checks stderr). Huge
//! inputs are generated here instead of being committed.

use std::path::{Path, PathBuf};

use crate::harness::{Workspace, files, fixture};

/// A valid runbook whose journal the hostile journals replace.
const HOST: &str = "deployctl: 1\nname: h\nphases:\n  - id: p\n    steps:\n      - { id: a, shell: \"true\" }\n";

fn check_runbook(path: &Path, bytes: &[u8]) -> Vec<String> {
    let ws = Workspace::new("");
    std::fs::write(ws.file("r.yaml"), bytes).expect("write runbook");
    let mut problems = vec![];
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for args in [
        vec!["validate", "r.yaml"],
        vec!["run", "r.yaml", "--dry-run", "--offline"],
    ] {
        let out = ws.deployctl().args(&args).run();
        if out.code != 2 {
            problems.push(format!(
                "{name}: `{}` exited {}:\n{}",
                args.join(" "),
                out.code,
                out.stderr
            ));
        } else if !out.stderr.contains("r.yaml") {
            problems.push(format!(
                "{name}: `{}` does not name the file:\n{}",
                args.join(" "),
                out.stderr
            ));
        }
    }
    let status = ws.deployctl().args(["status", "r.yaml"]).run();
    if status.code != 0 && status.code != 2 {
        problems.push(format!("{name}: status exited {}:\n{}", status.code, status.stderr));
    }
    if ws.file(".deployctl").exists() && std::fs::read_dir(ws.file(".deployctl")).is_ok_and(|mut d| d.next().is_some())
    {
        problems.push(format!("{name}: a refused runbook left a journal behind"));
    }
    problems
}

/// `refuse-*` journals: exit 2 naming the journal and a line, and nothing appended.
/// `accept-*` journals: `status` answers (exit 0), a torn last line with a warning; `run`
/// goes on, or refuses (2: e.g. the runbook changed) or pauses (3: e.g. a rollback is due).
fn check_journal(path: &Path, bytes: &[u8]) -> Vec<String> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ws = Workspace::new(HOST);
    std::fs::create_dir_all(ws.file(".deployctl")).expect("journal dir");
    let journal = ws.journal_path("h");
    std::fs::write(&journal, bytes).expect("write journal");
    let mut problems = vec![];
    let refuse = name.starts_with("refuse-");
    let status = ws.deployctl().args(["status", "r.yaml"]).run();
    match (refuse, status.code) {
        (true, 2) if status.stderr.contains("h.jsonl") && status.stderr.contains("line ") => {}
        (false, 0) => {}
        (_, code) => problems.push(format!(
            "{name}: status exited {code}:\n{}{}",
            status.stdout, status.stderr
        )),
    }
    let run = ws.deployctl().args(["run", "r.yaml"]).run();
    if refuse {
        if run.code != 2 {
            problems.push(format!("{name}: run exited {}:\n{}", run.code, run.stderr));
        }
        if std::fs::read(&journal).expect("journal") != bytes {
            problems.push(format!("{name}: run changed a journal it refused"));
        }
    } else if ![0, 2, 3].contains(&run.code) {
        problems.push(format!("{name}: run exited {}:\n{}", run.code, run.stderr));
    }
    problems
}

fn generated_runbooks() -> Vec<(PathBuf, Vec<u8>)> {
    let mut huge = b"deployctl: 1\nname: h\n".to_vec();
    while huge.len() < 5 << 20 {
        huge.extend_from_slice(b"# padding padding padding padding padding padding padding padding\n");
    }
    huge.extend_from_slice(b"phases: []\n");
    let deep = format!(
        "deployctl: 1\nname: h\nvars: {}{}\n",
        "[".repeat(1 << 20),
        "]".repeat(1 << 20)
    );
    let long_line = format!("deployctl: 1\nname: h\ntitle: \"{}\nphases: []\n", "x".repeat(3 << 20));
    let mut many_steps = String::from("deployctl: 1\nname: h\nphases:\n  - id: p\n    steps:\n");
    for i in 0..60_000 {
        many_steps.push_str(&format!("      - {{ id: s{i}, shell: \"true\" }}\n"));
    }
    vec![
        ("generated-5mib-runbook".into(), huge),
        ("generated-million-brackets".into(), deep.into_bytes()),
        ("generated-3mib-unterminated-string".into(), long_line.into_bytes()),
        ("generated-60000-steps".into(), many_steps.into_bytes()),
    ]
}

fn generated_journals() -> Vec<(PathBuf, Vec<u8>)> {
    let hello =
        std::fs::read_to_string(fixture("hostile/journals/accept-step-finished-before-start.jsonl")).expect("fixture");
    let first = hello.lines().next().expect("a first line").to_string();
    let mut giant_garbage = format!("{first}\n").into_bytes();
    giant_garbage.extend(std::iter::repeat_n(b'x', 20 << 20));
    giant_garbage.extend_from_slice(b"\n");
    giant_garbage.extend_from_slice(format!("{first}\n").as_bytes());
    let giant_valid = format!(
        "{first}\n{{\"at\":\"2026-11-29T05:36:12Z\",\"run_id\":\"20261129T053612Z-2f3f\",\"event\":{{\"type\":\"run_paused\",\"step\":\"a\",\"reason\":\"{}\"}}}}\n",
        "y".repeat(20 << 20)
    );
    let mut giant_torn = format!("{first}\n").into_bytes();
    giant_torn.extend_from_slice(b"{\"at\":\"");
    giant_torn.extend(std::iter::repeat_n(b'z', 20 << 20));
    vec![
        ("refuse-generated-20mib-garbage-line".into(), giant_garbage),
        ("accept-generated-20mib-valid-line".into(), giant_valid.into_bytes()),
        ("accept-generated-20mib-torn-last-line".into(), giant_torn),
    ]
}

#[test]
fn hostile_runbooks_are_refused_with_exit_2_and_never_panic() {
    let dir = fixture("hostile/runbooks");
    let mut inputs: Vec<(PathBuf, Vec<u8>)> = files(&dir, "yaml")
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).expect("fixture");
            (p, bytes)
        })
        .collect();
    assert!(inputs.len() >= 50, "the corpus holds {} runbooks", inputs.len());
    inputs.extend(generated_runbooks());
    let problems: Vec<String> = inputs.iter().flat_map(|(p, b)| check_runbook(p, b)).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn hostile_journals_are_refused_by_line_or_read_with_a_warning_and_never_panic() {
    let dir = fixture("hostile/journals");
    let mut inputs: Vec<(PathBuf, Vec<u8>)> = files(&dir, "jsonl")
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).expect("fixture");
            (p, bytes)
        })
        .collect();
    assert!(inputs.len() >= 30, "the corpus holds {} journals", inputs.len());
    inputs.extend(generated_journals());
    let problems: Vec<String> = inputs.iter().flat_map(|(p, b)| check_journal(p, b)).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn every_hostile_fixture_is_listed_in_the_readme() {
    let readme = std::fs::read_to_string(fixture("hostile/README.md")).expect("README");
    let mut missing = vec![];
    for path in files(&fixture("hostile/runbooks"), "yaml")
        .into_iter()
        .chain(files(&fixture("hostile/journals"), "jsonl"))
    {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !readme.contains(&format!("`{name}`")) {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "not in tests/fixtures/hostile/README.md: {missing:?}"
    );
}
