//! A resumed run goes on only in its own journal and with the inputs it began with, and
//! says what is wrong when not.

use crate::harness::{Workspace, lines};

fn release_runbook(reference: &str) -> String {
    format!(
        r#"deployctl: 1
name: rel
phases:
  - id: p
    steps:
      - {{ id: first, shell: {{ run: 'echo "$R" >> deployed', env: {{ R: "{reference}" }} }} }}
      - {{ id: gate, manual: "first host looks fine" }}
      - {{ id: second, shell: {{ run: 'echo "$R" >> deployed', env: {{ R: "{reference}" }} }} }}
"#
    )
}

/// Runs to the gate with `RELEASE=v1` and approves it.
fn paused_at_the_gate(ws: &Workspace) {
    let out = ws.deployctl().env("RELEASE", "v1").args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 3, "{}", out.stderr);
    let out = ws
        .deployctl()
        .env("RELEASE", "v1")
        .args(["approve", "r.yaml", "gate", "--by", "Dara"])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn a_step_level_env_value_that_changed_is_refused_by_name() {
    let ws = Workspace::new(&release_runbook("${env.RELEASE}"));
    paused_at_the_gate(&ws);
    let refused = ws.deployctl().env("RELEASE", "v2").args(["run", "r.yaml"]).run();
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("env.RELEASE: `v1` → `v2`"),
        "names the input, old and new:\n{}",
        refused.stderr
    );
    assert_eq!(lines(&ws, "deployed"), ["v1"], "nothing more was deployed");
    let allowed = ws
        .deployctl()
        .env("RELEASE", "v2")
        .args(["run", "r.yaml", "--allow-changed"])
        .run();
    assert_eq!(allowed.code, 0, "{}", allowed.stderr);
    let resumed = ws.events("rel", "run_resumed");
    let last = resumed.last().expect("a resume");
    assert_eq!(
        last["inputs"]["env.RELEASE"]["value"], "v2",
        "the new inputs are journaled"
    );
    // Bound to the new inputs now: the same values resume without a question.
    assert_eq!(lines(&ws, "deployed"), ["v1", "v2"]);
}

#[test]
fn a_variable_missing_in_a_new_shell_is_named_and_the_hint_does_not_push_allow_changed() {
    let ws = Workspace::new(&release_runbook("${env.RELEASE:-v0}"));
    paused_at_the_gate(&ws);
    let refused = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("env.RELEASE: `v1` → unset (default `v0`)"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("export it as it was"), "{}", refused.stderr);
    assert!(
        !refused.stderr.contains("--allow-changed` resumes"),
        "the way on is restoring the variable:\n{}",
        refused.stderr
    );
    let out = ws.deployctl().env("RELEASE", "v1").args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(lines(&ws, "deployed"), ["v1", "v1"]);
}

#[test]
fn a_changed_secret_is_named_but_never_shown() {
    let ws = Workspace::new(&release_runbook("${env.API_TOKEN}"));
    let run = |token: &str, args: &[&str]| ws.deployctl().env("API_TOKEN", token).args(args).run();
    assert_eq!(run("tok-first-123456", &["run", "r.yaml"]).code, 3);
    let approved = run("tok-first-123456", &["approve", "r.yaml", "gate", "--by", "Dara"]);
    assert_eq!(approved.code, 0, "{}", approved.stderr);
    let refused = run("tok-second-654321", &["run", "r.yaml"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("env.API_TOKEN changed (a secret"),
        "{}",
        refused.stderr
    );
    let journal = std::fs::read_to_string(ws.journal_path("rel")).expect("journal");
    for text in [&refused.stderr, &refused.stdout, &journal] {
        assert!(!text.contains("tok-first") && !text.contains("tok-second"), "{text}");
    }
}

#[test]
fn a_journal_from_before_inputs_were_journaled_still_resumes() {
    let runbook = "deployctl: 1\nname: old\nphases:\n  - id: p\n    steps:\n      - { id: a, shell: \"echo a >> ran\" }\n      - { id: gate, manual: \"ok?\" }\n      - { id: b, shell: \"echo b >> ran\" }\n";
    let ws = Workspace::new(runbook);
    assert_eq!(ws.deployctl().args(["run", "r.yaml"]).run().code, 3);
    // Rewrite the first entry as the earlier binary wrote it: no `inputs`, and the digest of
    // vars, databases and services only (none here: the sha256 of nothing).
    let path = ws.journal_path("old");
    let text = std::fs::read_to_string(&path).expect("journal");
    let mut entries: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    let started = entries[0]["event"].as_object_mut().expect("run_started");
    started.remove("inputs");
    started.insert(
        "vars_sha256".into(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into(),
    );
    let rewritten: String = entries.iter().map(|e| format!("{e}\n")).collect();
    std::fs::write(&path, rewritten).expect("rewrite");
    let approved = ws.deployctl().args(["approve", "r.yaml", "gate", "--by", "Dara"]).run();
    assert_eq!(approved.code, 0, "{}", approved.stderr);
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(lines(&ws, "ran"), ["a", "b"]);
}

#[test]
fn a_journal_of_another_runbook_is_neither_resumed_nor_approved_into_nor_imported() {
    let first = "deployctl: 1\nname: first\nphases:\n  - id: p\n    steps:\n      - { id: gate, manual: \"ok?\" }\n      - { id: a, shell: \"echo a >> ran\" }\n";
    let ws = Workspace::new(first);
    assert_eq!(ws.deployctl().args(["run", "r.yaml"]).run().code, 3);
    let journal = ws.journal_path("first");
    let journal = journal.to_str().expect("utf-8 path");
    // Another runbook with the same step ids, pointed at the first one's journal.
    std::fs::write(ws.file("other.yaml"), first.replace("name: first", "name: other")).expect("write");
    let with_journal = |args: &[&str]| ws.deployctl().env("DEPLOYCTL_JOURNAL", journal).args(args).run();
    for args in [
        &["run", "other.yaml"][..],
        &["approve", "other.yaml", "gate", "--by", "Dara"],
        &["rollback", "other.yaml"],
    ] {
        let out = with_journal(args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("holds a run of runbook `first`, not of `other`"),
            "{args:?}: {}",
            out.stderr
        );
    }
    let import = ws
        .deployctl()
        .env("DEPLOYCTL_JOURNAL", ws.file("copy.jsonl").to_str().expect("utf-8"))
        .args(["journal", "import", "other.yaml", "--from", journal])
        .run();
    assert_eq!(import.code, 2, "{}", import.stderr);
    assert!(
        import.stderr.contains("holds runs of runbook `first`, not of `other`"),
        "{}",
        import.stderr
    );
    assert!(lines(&ws, "ran").is_empty(), "nothing ran");
}

#[test]
fn after_allow_changed_the_report_keeps_what_ran_and_drops_what_was_removed() {
    let before = "deployctl: 1\nname: plan\nphases:\n  - id: p\n    steps:\n      - { id: old-step, shell: \"echo old >> ran\" }\n      - { id: gate, manual: \"ok?\" }\n      - { id: removed, shell: \"echo removed >> ran\" }\n";
    let ws = Workspace::new(before);
    assert_eq!(ws.deployctl().args(["run", "r.yaml"]).run().code, 3);
    let after = "deployctl: 1\nname: plan\nphases:\n  - id: p\n    steps:\n      - { id: gate, manual: \"ok?\" }\n      - { id: added, shell: \"echo added >> ran\" }\n";
    ws.rewrite(after);
    assert_eq!(
        ws.deployctl()
            .args(["approve", "r.yaml", "gate", "--by", "Dara"])
            .run()
            .code,
        0
    );
    let out = ws.deployctl().args(["run", "r.yaml", "--allow-changed"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(lines(&ws, "ran"), ["old", "added"]);
    for format in ["human", "markdown", "json"] {
        let status = ws.deployctl().args(["status", "r.yaml", "--format", format]).run();
        assert_eq!(status.code, 0, "{}", status.stderr);
        assert!(
            status.stdout.contains("old-step"),
            "{format}: the step that ran stays:\n{}",
            status.stdout
        );
        assert!(status.stdout.contains("added"), "{format}:\n{}", status.stdout);
        assert!(
            !status.stdout.contains("removed"),
            "{format}: not pending any more:\n{}",
            status.stdout
        );
    }
    let json = ws.deployctl().args(["status", "r.yaml", "--format", "json"]).run();
    let view: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(view["state"], "done", "{view}");
}
