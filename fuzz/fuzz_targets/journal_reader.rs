//! Arbitrary bytes through the journal reader and the fold into run state: a damaged journal
//! may be refused by line number, never panic.

#![no_main]

use std::path::Path;

use deployctl::journal::{latest_run, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(read) = parse(Path::new("fuzz.jsonl"), bytes) {
        if let Some(run) = latest_run(read.entries) {
            let _ = run.is_finished();
            let _ = run.rolling_back();
            let _ = run.ledger();
        }
    }
});
