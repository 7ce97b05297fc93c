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

#[test]
fn status_html_of_every_state_parses_and_is_self_contained() {
    for journal in JOURNALS {
        let html = status(journal, "html");
        let options = roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        };
        let doc = roxmltree::Document::parse_with_options(&html, options)
            .unwrap_or_else(|e| panic!("{journal}: the HTML report does not parse: {e}\n{html}"));
        assert_eq!(doc.descendants().filter(|n| n.has_tag_name("script")).count(), 0);
        for banned in ["src=", "href=", "url(", "@import", "<link"] {
            assert!(!html.contains(banned), "{journal}: `{banned}` in the HTML report");
        }
        let steps = doc
            .descendants()
            .filter(|n| n.has_tag_name("li") && n.attribute("class").is_some_and(|c| c.starts_with("step ")))
            .count();
        let json: serde_json::Value = serde_json::from_str(&status(journal, "json")).expect("status json");
        let expected: usize = json["phases"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| p["steps"].as_array().map_or(0, Vec::len))
            .sum::<usize>()
            + json["rollback"]["steps"].as_array().map_or(0, Vec::len);
        assert_eq!(steps, expected, "{journal}: one item per step");
    }
}
