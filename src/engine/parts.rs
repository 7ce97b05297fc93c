//! What a run's steps borrow from it: the runbook, one HTTP client, one pool per database,
//! the signal, the clock, and when steps started. The attempt loop and the background
//! watches both build their step contexts from it.

use std::sync::Arc;
use std::time::Duration;

use super::cancel::Cancel;
use crate::runbook::Loaded;
use crate::steps::{Databases, StepContext, StepStarts};

/// What steps borrow from the run: one HTTP client, one pool per database, the signal.
pub(super) struct StepParts<'a> {
    /// The runbook.
    pub loaded: &'a Loaded,
    /// One client per run (connection reuse).
    pub http: reqwest::Client,
    /// One pool per runbook database.
    pub databases: Arc<Databases>,
    /// SIGINT/SIGTERM.
    pub cancel: Cancel,
    /// Now, as the run sees it.
    pub clock: crate::clock::Clock,
    /// When the run's steps first started (a monitor's baseline ends at one of them).
    pub starts: Arc<StepStarts>,
}

impl StepParts<'_> {
    /// The context of one attempt of step `id`, limited to `timeout`.
    pub(super) fn context<'c>(&'c self, run_id: &'c str, id: &'c str, timeout: Duration) -> StepContext<'c> {
        StepContext {
            run_id,
            runbook: &self.loaded.runbook.name,
            step_id: id,
            redactor: &self.loaded.redactor,
            http: &self.http,
            databases: &self.databases,
            timeout,
            clock: self.clock,
            live: None,
        }
    }
}
