//! `--output json`: every journaled entry as one JSON line on stdout, warnings on stderr.

use std::io::Write;

use crate::engine::Observer;
use crate::event::Entry;

/// Renders run events for machines.
#[derive(Debug, Default)]
pub struct JsonReporter;

impl Observer for JsonReporter {
    fn journaled(&mut self, entry: &Entry) {
        if let Ok(line) = serde_json::to_string(entry) {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
        }
    }

    fn warn(&mut self, text: &str) {
        eprintln!("warning: {text}");
    }
}
