//! `deployctl status` of hand-written journals in every state (`tests/fixtures/journals`),
//! snapshotted byte for byte: scripts parse `--format json`, so its field names, its words
//! for states and its layout must not move when the code behind them does.

use crate::harness::{Deployctl, fixture};

/// The journals under tests/fixtures/journals, one per state a run can be left in.
const JOURNALS: [&str; 4] = ["rolled-back", "paused", "rolling-back", "interrupted"];

fn status(journal: &str, format: &str) -> String {
    let path = fixture(&format!("journals/{journal}.jsonl"));
    let out = Deployctl::new()
        .args(["status".as_ref(), "--journal".as_ref(), path.as_os_str()])
        .args(["--format", format])
        .run();
    assert_eq!(out.code, 0, "{journal}: {}", out.stderr);
    out.stdout
}

#[test]
fn status_json_of_every_state_is_unchanged() {
    for journal in JOURNALS {
        insta::assert_snapshot!(format!("json-{journal}"), status(journal, "json"));
    }
}

#[test]
fn status_markdown_and_human_of_every_state_are_unchanged() {
    for journal in JOURNALS {
        insta::assert_snapshot!(format!("markdown-{journal}"), status(journal, "markdown"));
        insta::assert_snapshot!(format!("human-{journal}"), status(journal, "human"));
    }
}
