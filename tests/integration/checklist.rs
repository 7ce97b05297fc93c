//! The seed runbook still has a step for every checkbox of the seed checklist's
//! deployment-day, validation and rollback sections, through the mapping kept in
//! `checklists/tech-debt-001.1.yaml`: the repository's own record of those checkboxes. The
//! cross-check against the seed document itself runs where that document is present.
//!
//! Each box's `evidence:` (`check`, `gate`, or `check and gate`) is derived again here from
//! the loaded runbook: a box ticked by a step that cannot fail and that nobody approves is a
//! box ticked by nothing, so the number of such boxes ("neither", `not_a_step` included) is
//! held at zero. What counts as a check that can fail, per step kind, is [`evidence`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use deployctl::runbook::model::{OnNoData, StepKind, Wait};
use deployctl::runbook::{LoadOptions, load, load_bytes};
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

/// One checkbox, what carries it, and what kind of evidence that is.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    text: String,
    #[serde(default)]
    steps: Vec<String>,
    not_a_step: Option<String>,
    evidence: Option<Recorded>,
}

/// What one step proves about its box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Evidence {
    /// The step executes a check that can fail: its journaled status is `failed` when what
    /// it checks does not hold.
    Check,
    /// A human gate: the run pauses until a named person approves the step.
    Gate,
}

/// An entry's `evidence:` as written in the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
enum Recorded {
    #[serde(rename = "check")]
    Check,
    #[serde(rename = "gate")]
    Gate,
    #[serde(rename = "check and gate")]
    CheckAndGate,
}

impl Recorded {
    /// As written in the map.
    fn name(self) -> &'static str {
        match self {
            Recorded::Check => "check",
            Recorded::Gate => "gate",
            Recorded::CheckAndGate => "check and gate",
        }
    }

    /// What a box's named steps add up to; `None` when none of them is a check or a gate.
    fn of(evidence: &BTreeSet<Evidence>) -> Option<Recorded> {
        match (evidence.contains(&Evidence::Check), evidence.contains(&Evidence::Gate)) {
            (true, true) => Some(Recorded::CheckAndGate),
            (true, false) => Some(Recorded::Check),
            (false, true) => Some(Recorded::Gate),
            (false, false) => None,
        }
    }
}

/// Whether a step of this kind is a check that can fail, a human gate, or neither (`None`).
///
/// The match has no wildcard: a new step kind does not compile here until someone decides.
/// A check that can fail is a step whose status is journaled `failed` when what it checks
/// does not hold (with `on_failure: continue` too: the failure is journaled and the box is
/// not ticked; only the run goes on):
/// - `http`: the status (any 2xx by default), body and latency expectations;
/// - `rls`: the policies and each tenant's rows, and `through:` the service's answers;
/// - `restore`: the dump's sha256, `pg_restore --exit-on-error`, row counts;
/// - `backup`: `pg_dump`, then its `verify` (`list` reads the archive back; `restore`
///   compares row counts in a scratch database);
/// - `migrate`: applying fails on a failed migration or exhausted lock retries;
///   `check: true` fails when one is pending or changed;
/// - `rolling_restart`: each service must answer its health check `consecutive_ok` times
///   within `health_timeout`;
/// - `query`: a Prometheus expectation (with none given, at least one series) or alert
///   rules that must be loaded;
/// - `monitor`: when a rollback rule holds, or with `on_no_data: fail` when data is missing;
/// - `shell`: the exit status against `expect_exit` (what the command checks is its own);
/// - `wait` with `until`: times out when the check never holds;
/// - `sql` only with an `expect` (rows, value, empty): without one it fails only on an
///   error and checks nothing;
/// - `notify` only with `required: true`: otherwise an undelivered message is a warning and
///   the step is done.
///
/// A human gate is `approval` or `manual`. Neither: `wait: for` (a sleep), a notify that is
/// not required, a sql without `expect`.
fn evidence(kind: &StepKind) -> Option<Evidence> {
    match kind {
        StepKind::Http(_)
        | StepKind::Rls(_)
        | StepKind::Restore(_)
        | StepKind::Backup(_)
        | StepKind::Migrate(_)
        | StepKind::RollingRestart(_)
        | StepKind::Query(_)
        | StepKind::Shell(_) => Some(Evidence::Check),
        StepKind::Monitor(m) => {
            (!m.rollback_when.is_empty() || m.on_no_data == OnNoData::Fail).then_some(Evidence::Check)
        }
        StepKind::Wait(Wait::Until { .. }) => Some(Evidence::Check),
        StepKind::Wait(Wait::For(_)) => None,
        StepKind::Sql(sql) => {
            let e = &sql.expect;
            (e.rows.is_some() || e.value.is_some() || e.empty.is_some()).then_some(Evidence::Check)
        }
        StepKind::Notify(n) => n.required.then_some(Evidence::Check),
        StepKind::Approval(_) | StepKind::Manual(_) => Some(Evidence::Gate),
    }
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

/// The mapping, its directory, and the seed runbook's steps by id (forward and rollback),
/// each with what it is evidence of.
fn mapping() -> (Mapping, PathBuf, BTreeMap<String, Option<Evidence>>) {
    let mapping_path = repo().join("checklists/tech-debt-001.1.yaml");
    let mapping: Mapping =
        serde_saphyr::from_str(&read(&mapping_path, "checklist mapping")).expect("the mapping parses");
    let dir = mapping_path.parent().expect("checklists/").to_path_buf();
    let loaded = load(&dir.join(&mapping.runbook), &LoadOptions::default()).expect("the seed runbook loads");
    let steps = loaded
        .runbook
        .steps()
        .map(|(_, s)| s)
        .chain(&loaded.runbook.rollback)
        .map(|s| (s.id.clone(), evidence(&s.kind)))
        .collect();
    (mapping, dir, steps)
}

/// The repository's own record: every checkbox of the map names steps the runbook has, or
/// says why none carries it; a box with steps records its evidence, a `not_a_step` box none.
/// Runs everywhere (the map is in the repository).
#[test]
fn every_mapped_checkbox_names_runbook_steps_or_why_none() {
    let (mapping, _, steps) = mapping();
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
        match (entry.steps.is_empty(), entry.evidence) {
            (false, None) => problems.push(format!(
                "`{}` records no `evidence:` (check, gate, or check and gate)",
                entry.text
            )),
            (true, Some(_)) => problems.push(format!("`{}` records evidence but names no step", entry.text)),
            _ => {}
        }
        for id in &entry.steps {
            if !steps.contains_key(id) {
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

/// Each box's recorded `evidence:` is what the kinds of its steps in the loaded runbook
/// make it, and no named step is neither a check that can fail nor a gate (a step that
/// proves nothing would only look as if it carried the box).
#[test]
fn each_box_s_recorded_evidence_is_what_its_steps_are_in_the_runbook() {
    let (mapping, _, steps) = mapping();
    let mut problems = Vec::new();
    for entry in mapping.checkboxes.iter().filter(|e| !e.steps.is_empty()) {
        let mut found = BTreeSet::new();
        for id in &entry.steps {
            match steps.get(id) {
                Some(Some(evidence)) => {
                    found.insert(*evidence);
                }
                Some(None) => problems.push(format!(
                    "`{}` names step `{id}`, which is neither a check that can fail nor a human gate",
                    entry.text
                )),
                // Reported by every_mapped_checkbox_names_runbook_steps_or_why_none.
                None => {}
            }
        }
        let derived = Recorded::of(&found);
        if let Some(derived) = derived.filter(|d| Some(*d) != entry.evidence) {
            problems.push(format!(
                "`{}` records `evidence: {}`, but its steps make it `{}`",
                entry.text,
                entry.evidence.map_or("(none)", Recorded::name),
                derived.name()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "checklists/tech-debt-001.1.yaml disagrees with the runbook:\n  {}",
        problems.join("\n  ")
    );
}

/// The count of boxes that are neither a check that can fail nor a human gate stays at
/// zero: a `not_a_step` box, or one whose steps are all neither, is ticked by nothing.
#[test]
fn no_box_is_neither_a_check_that_can_fail_nor_a_human_gate() {
    let (mapping, _, steps) = mapping();
    let neither: Vec<&str> = mapping
        .checkboxes
        .iter()
        .filter(|e| e.steps.iter().all(|id| steps.get(id).copied().flatten().is_none()))
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(
        neither.len(),
        0,
        "boxes that are neither a check that can fail nor a human gate: {neither:#?}"
    );
}

/// The rule on a runbook of its own, kind by kind, including what is neither.
#[test]
fn a_sleep_an_unrequired_notify_and_a_sql_without_expect_are_neither() {
    let yaml = r#"
deployctl: 1
name: evidence-rule
databases:
  app: { url: "postgres://postgres@127.0.0.1:5432/postgres" }
phases:
  - id: p
    steps:
      - { id: sleep, wait: { for: 1s } }
      - { id: poll, wait: { until: { http: "http://127.0.0.1:9/health" }, every: 1s } }
      - { id: told, notify: { webhook: "http://127.0.0.1:9/hook" } }
      - { id: told-required, notify: { webhook: "http://127.0.0.1:9/hook", required: true } }
      - { id: statement, sql: { database: app, query: "select 1" } }
      - { id: query, sql: { database: app, query: "select 1", expect: { rows: 1 } } }
      - { id: script, shell: "test -f release.tar" }
      - { id: confirm, manual: "someone looked" }
      - { id: approve, approval: { role: cto } }
"#;
    let loaded = load_bytes(
        Path::new("evidence-rule.yaml"),
        yaml.as_bytes(),
        &LoadOptions::default(),
    )
    .expect("the runbook loads");
    let found: Vec<(&str, Option<Evidence>)> = loaded
        .runbook
        .steps()
        .map(|(_, s)| (s.id.as_str(), evidence(&s.kind)))
        .collect();
    use Evidence::{Check, Gate};
    assert_eq!(
        found,
        vec![
            ("sleep", None),
            ("poll", Some(Check)),
            ("told", None),
            ("told-required", Some(Check)),
            ("statement", None),
            ("query", Some(Check)),
            ("script", Some(Check)),
            ("confirm", Some(Gate)),
            ("approve", Some(Gate)),
        ]
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
