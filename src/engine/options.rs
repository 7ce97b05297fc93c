//! What a run invocation was told on the command line, as plain values: the engine never
//! sees clap.

use crate::clock::Clock;

/// Plain options of a run, from the command line.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Who runs it.
    pub operator: String,
    /// Where.
    pub host: String,
    /// Resume even though the runbook or its inputs changed.
    pub allow_changed: bool,
    /// The runbook file as given (for hints).
    pub runbook_file: std::path::PathBuf,
    /// Run outside the deployment window (`--ignore-window`; journaled with the operator).
    pub ignore_window: bool,
    /// Now, as this invocation sees it (`--now` pretends; journaled).
    pub clock: Clock,
}
