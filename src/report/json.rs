//! `--output json`: every journaled entry as one JSON line on stdout, warnings on stderr.
//! A failing stdout is noticed by [`super::stdout`], and the command says so at its end.

use crate::engine::Observer;
use crate::event::Entry;

/// Renders run events for machines.
#[derive(Debug, Default)]
pub struct JsonReporter;

impl Observer for JsonReporter {
    fn journaled(&mut self, entry: &Entry) {
        if let Ok(line) = serde_json::to_string(entry) {
            super::stdout::line(&line);
        }
    }

    fn warn(&mut self, text: &str) {
        eprintln!("warning: {text}");
    }
}
