//! `deployctl schema`: every runbook in the repo validates against the generated schema,
//! checked by an off-the-shelf JSON Schema validator.

use crate::harness::{Deployctl, files, fixture, repo};

fn schema() -> serde_json::Value {
    let out = Deployctl::new().args(["schema"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).expect("schema is JSON")
}

fn yaml_as_json(path: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("readable runbook");
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_runbook_in_the_repo_matches_the_schema() {
    let validator = jsonschema::validator_for(&schema()).expect("schema compiles");
    let mut paths = files(&repo().join("runbooks"), "yaml");
    paths.extend(files(&fixture("runbooks/valid"), "yaml"));
    assert!(paths.len() >= 20);
    for path in paths {
        let doc = yaml_as_json(&path);
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{} does not match the schema:\n{}",
            path.display(),
            errors.join("\n")
        );
    }
}

#[test]
fn the_schema_rejects_what_the_loader_rejects_by_shape() {
    let validator = jsonschema::validator_for(&schema()).expect("schema compiles");
    for name in [
        "unknown-field-top",
        "unknown-field-step",
        "on-failure-bad",
        "http-bad-method",
        "wrong-type-retries",
        "missing-version",
        "bad-window-day",
    ] {
        let doc = yaml_as_json(&fixture(&format!("runbooks/invalid/{name}.yaml")));
        assert!(!validator.is_valid(&doc), "schema accepted invalid fixture {name}");
    }
}
