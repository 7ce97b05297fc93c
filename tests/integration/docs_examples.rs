//! Every runbook example in `README.md` and `docs/` validates (issue 18: the docs agree
//! with the binary). An example is a fenced `yaml` block that starts a runbook
//! (`deployctl: 1`); fragments of one (a single step, a key) are not runbooks and are left
//! to the format's own tests. `docs/design.md`, the contract's sketches, is not checked.

use crate::harness::{Deployctl, files, repo};

/// The fenced `yaml` blocks of a Markdown text that are whole runbooks, with their line.
fn runbook_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (n, line) in markdown.lines().enumerate() {
        match &mut current {
            None if line.trim_start().starts_with("```yaml") => current = Some((n + 2, String::new())),
            Some(_) if line.trim_start().starts_with("```") => {
                if let Some((at, text)) = current.take()
                    && text.trim_start().starts_with("deployctl: 1")
                {
                    blocks.push((at, text));
                }
            }
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    blocks
}

#[test]
fn every_runbook_example_in_the_readme_and_docs_validates() {
    // `docs/design.md` is the product contract as written: its sketches elide services and
    // variables, so they are not runbooks to validate.
    let mut documents = files(&repo().join("docs"), "md");
    documents.retain(|d| !d.ends_with("docs/design.md"));
    documents.push(repo().join("README.md"));
    let mut checked = 0;
    let mut problems = Vec::new();
    for doc in documents {
        let text = std::fs::read_to_string(&doc).expect("readable doc");
        for (line, block) in runbook_blocks(&text) {
            // `workdir: ..` and relative paths resolve inside a scratch directory.
            let dir = tempfile::tempdir().expect("tempdir");
            let sub = dir.path().join("runbooks");
            std::fs::create_dir_all(&sub).expect("mkdir");
            std::fs::write(sub.join("example.yaml"), &block).expect("write");
            let out = Deployctl::new()
                .current_dir(&sub)
                .args(["validate", "example.yaml"])
                .run();
            checked += 1;
            if out.code != 0 {
                problems.push(format!("{}:{line}: {}", doc.display(), out.stderr));
            }
        }
    }
    assert!(checked >= 2, "found the examples ({checked})");
    assert!(
        problems.is_empty(),
        "examples that do not validate:\n{}",
        problems.join("\n")
    );
}
