//! The loader never panics: not on arbitrary bytes, not on arbitrary YAML built from the
//! runbook vocabulary. Bounded to a few seconds.

use std::collections::BTreeMap;

use deployctl::runbook::{LoadOptions, load};
use proptest::prelude::*;

fn load_bytes(bytes: &[u8]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("r.yaml");
    std::fs::write(&path, bytes).expect("write");
    let options = LoadOptions {
        env: BTreeMap::new(),
        vars: BTreeMap::new(),
    };
    let _ = load(&path, &options);
}

const KEYS: &[&str] = &[
    "deployctl",
    "name",
    "phases",
    "steps",
    "id",
    "shell",
    "http",
    "sql",
    "migrate",
    "backup",
    "rls",
    "approval",
    "manual",
    "wait",
    "notify",
    "rolling_restart",
    "monitor",
    "url",
    "database",
    "databases",
    "services",
    "health",
    "restart",
    "query",
    "expect",
    "status",
    "timeout",
    "retries",
    "undo",
    "verify",
    "window",
    "allow",
    "days",
    "start",
    "end",
    "batch",
    "probes",
    "rollback_when",
    "metric",
    "above",
    "for",
    "consecutive",
    "vars",
    "rollback",
    "tenants",
    "tables",
    "role",
    "setting",
    "params",
    "dir",
    "run",
    "until",
    "every",
    "backoff",
    "on_failure",
    "&a",
    "*a",
    "<<",
];

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("1".to_string()),
        Just("-1".to_string()),
        Just("5m".to_string()),
        Just("\"${vars.x}\"".to_string()),
        Just("\"${env.X:-d}\"".to_string()),
        Just("\"$${\"".to_string()),
        Just("null".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("*a".to_string()),
        "[a-z0-9:/ ._%{}$-]{0,12}",
    ]
}

fn yaml(depth: u32) -> BoxedStrategy<String> {
    let leaf = scalar().boxed();
    if depth == 0 {
        return leaf;
    }
    prop_oneof![
        leaf,
        prop::collection::vec((prop::sample::select(KEYS), yaml(depth - 1)), 0..5).prop_map(|kv| format!(
            "{{{}}}",
            kv.iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        prop::collection::vec(yaml(depth - 1), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        load_bytes(&bytes);
    }

    #[test]
    fn arbitrary_runbook_shaped_yaml_never_panics(body in yaml(4)) {
        let doc = format!("deployctl: 1\nname: fuzz\nphases: [{{ id: p, steps: [{{ id: s, {} }}] }}]\nextra: {body}\n", body.trim_matches(|c| c == '{' || c == '}'));
        load_bytes(doc.as_bytes());
        load_bytes(body.as_bytes());
    }
}
