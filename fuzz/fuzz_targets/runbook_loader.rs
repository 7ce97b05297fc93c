//! Arbitrary bytes through the whole runbook loader (bounds, UTF-8, YAML with its alias and
//! depth budgets, validation, interpolation): it may refuse, never panic or hang.

#![no_main]

use std::collections::BTreeMap;
use std::path::Path;

use deployctl::runbook::{LoadOptions, load_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let options = LoadOptions {
        env: BTreeMap::from([("HOME".to_string(), "/nonexistent".to_string())]),
        vars: BTreeMap::new(),
    };
    // A directory that does not exist: relative paths resolve there and touch nothing.
    let _ = load_bytes(Path::new("/nonexistent/deployctl-fuzz/r.yaml"), bytes, &options);
});
