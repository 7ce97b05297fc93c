//! The seed runbook still has a step for every checkbox of the seed checklist's
//! deployment-day, validation and rollback sections, through the mapping kept in
//! `checklists/tech-debt-001.1.yaml`: the repository's own record of those checkboxes. The
//! cross-check against the seed document itself runs where that document is present.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use deployctl::runbook::{LoadOptions, load};
use serde::Deserialize;

use crate::harness::repo;

/// `checklists/tech-debt-001.1.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Mapping {
    seed: PathBuf,
    runbook: PathBuf,
    sections: Vec<String>,
    checkboxes: Vec<Entry>,
}

/// One checkbox and what carries it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    text: String,
    #[serde(default)]
    steps: Vec<String>,
    not_a_step: Option<String>,
}

/// A heading without its emoji: `## 🚀 Deployment Day (Hour-by-Hour)` → level 2, the title.
fn heading(line: &str) -> Option<(usize, &str)> {
    let level = line.chars().take_while(|c| *c == '#').count();
    let rest = line.get(level..)?;
    (level > 0 && rest.starts_with(' ')).then(|| {
        (
            level,
            rest.trim_start_matches(|c: char| !c.is_alphanumeric() && c != '(')
                .trim(),
        )
    })
}

/// Every `[ ]` checkbox under one of `sections` (a section runs to the next heading of its
/// level or above), with the section it is in. Fails when a section is absent or empty.
fn checkboxes(markdown: &str, sections: &[String]) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for line in markdown.lines() {
        if let Some((level, title)) = heading(line) {
            if current.as_ref().is_some_and(|(l, _)| level <= *l) {
                current = None;
            }
            if sections.iter().any(|s| s == title) {
                current = Some((level, title.to_string()));
            }
            continue;
        }
        if let (Some((_, section)), Some((_, text))) = (&current, line.split_once("[ ]")) {
            let text = text.trim().trim_end_matches('✅').trim();
            found.push((section.clone(), text.to_string()));
        }
    }
    for section in sections {
        assert!(
            found.iter().any(|(s, _)| s == section),
            "the seed checklist has no checkbox under a heading `{section}`: was it renamed? update `sections` in the mapping"
        );
    }
    found
}

fn read(path: &Path, what: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read the {what} `{}`: {e}", path.display()))
}

/// The mapping, its directory, and the ids of the seed runbook's steps (forward and rollback).
fn mapping() -> (Mapping, PathBuf, BTreeSet<String>) {
    let mapping_path = repo().join("checklists/tech-debt-001.1.yaml");
    let mapping: Mapping =
        serde_saphyr::from_str(&read(&mapping_path, "checklist mapping")).expect("the mapping parses");
    let dir = mapping_path.parent().expect("checklists/").to_path_buf();
    let loaded = load(&dir.join(&mapping.runbook), &LoadOptions::default()).expect("the seed runbook loads");
    let step_ids = loaded
        .runbook
        .steps()
        .map(|(_, s)| s.id.clone())
        .chain(loaded.runbook.rollback.iter().map(|s| s.id.clone()))
        .collect();
    (mapping, dir, step_ids)
}

/// The repository's own record: every checkbox of the map names steps the runbook has, or
/// says why none carries it. Runs everywhere (the map is in the repository).
#[test]
fn every_mapped_checkbox_names_runbook_steps_or_why_none() {
    let (mapping, _, step_ids) = mapping();
    let mut problems = Vec::new();
    for entry in &mapping.checkboxes {
        match (entry.steps.is_empty(), &entry.not_a_step) {
            (true, None) => problems.push(format!("`{}` names no step and no `not_a_step` reason", entry.text)),
            (false, Some(_)) => problems.push(format!("`{}` has both steps and `not_a_step`", entry.text)),
            (true, Some(reason)) if reason.trim().is_empty() => {
                problems.push(format!("`{}`: `not_a_step` needs a reason", entry.text))
            }
            _ => {}
        }
        for id in &entry.steps {
            if !step_ids.contains(id) {
                problems.push(format!(
                    "`{}` is mapped to step `{id}`, which the runbook does not have",
                    entry.text
                ));
            }
        }
    }
    assert!(!mapping.checkboxes.is_empty(), "the map lists the seed's checkboxes");
    assert!(
        problems.is_empty(),
        "checklists/tech-debt-001.1.yaml is out of date:\n  {}",
        problems.join("\n  ")
    );
}

/// Where the seed document is present (beside the repository, `seed:` in the map), the map
/// still lists exactly its checkboxes. A clone without it has only the map: the test says
/// so and checks nothing more.
#[test]
fn the_map_lists_every_checkbox_of_the_seed_document_where_it_is_present() {
    let (mapping, dir, _) = mapping();
    let seed_path = dir.join(&mapping.seed);
    let Ok(seed) = std::fs::read_to_string(&seed_path) else {
        eprintln!(
            "note: the seed document `{}` is not here; the map in checklists/ is the record (cross-check not run)",
            seed_path.display()
        );
        return;
    };
    let mut problems = Vec::new();
    let found = checkboxes(&seed, &mapping.sections);
    for (section, text) in &found {
        if !mapping.checkboxes.iter().any(|e| &e.text == text) {
            problems.push(format!("checkbox `{text}` ({section}) is not in the mapping"));
        }
    }
    for entry in &mapping.checkboxes {
        if !found.iter().any(|(_, text)| text == &entry.text) {
            problems.push(format!(
                "`{}` is mapped but is no checkbox of those sections",
                entry.text
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "checklists/tech-debt-001.1.yaml is out of date:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn headings_lose_their_emoji_and_sections_end_at_the_next_heading_of_their_level() {
    let markdown = "## 🚀 Day\n### Phase\n  [ ] a ✅\n## ✅ Other\n[ ] b\n";
    assert_eq!(
        checkboxes(markdown, &["Day".to_string()]),
        vec![("Day".to_string(), "a".to_string())]
    );
}
