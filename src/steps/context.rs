//! What a step gets from the run: identity, the redactor, the shared clients, its time
//! limit, and for the kinds that report as they go, the progress channel.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;

use super::db::Databases;
use super::outcome::{Failure, StepOutcome};
use crate::clock::Clock;
use chrono::{DateTime, Utc};

use crate::event::{Baseline, Event};
use crate::redact::Redactor;
use crate::runbook::model::Service;

/// What a step needs from the run.
pub struct StepContext<'a> {
    /// The run id (fills `${run.id}`).
    pub run_id: &'a str,
    /// Runbook name, for payloads.
    pub runbook: &'a str,
    /// The step's id, for payloads and messages.
    pub step_id: &'a str,
    /// Masks secrets in anything the step reports.
    pub redactor: &'a Redactor,
    /// One HTTP client per run (connection reuse).
    pub http: &'a reqwest::Client,
    /// One pool per runbook database, shared by the run's steps.
    pub databases: &'a Databases,
    /// The step's time limit per attempt (the engine enforces it; steps use it to size
    /// their own inner timeouts).
    pub timeout: Duration,
    /// Now, as the run sees it (`--now` pretends), for names stamped with a time.
    pub clock: Clock,
    /// For the kinds that report while they run (`rolling_restart`, `monitor`): where their
    /// progress goes. `None` in a dry-run probe and in a kind's own unit tests.
    pub live: Option<&'a Live<'a>>,
}

impl StepContext<'_> {
    /// A failed attempt without output, its reason masked: a reason may quote a URL or a
    /// database error that holds a secret.
    pub(crate) fn fail(&self, failure: impl Into<Failure>) -> StepOutcome {
        StepOutcome::failed(failure.into().masked(self.redactor))
    }
}

/// What a reporting step needs beyond [`StepContext`].
pub struct Live<'a> {
    /// The runbook's services (restart commands, health URLs).
    pub services: &'a BTreeMap<String, Service>,
    /// Where restart commands run.
    pub workdir: &'a Path,
    /// Where progress goes; the engine journals each event before showing it.
    pub progress: &'a UnboundedSender<Progress>,
    /// Services of this rolling restart already journaled healthy in this run: a resumed
    /// restart does not restart them again.
    pub services_done: &'a BTreeSet<String>,
    /// The journaled `output` of the completed step this one reads, by id
    /// ([`StepKind::reads_output_of`](crate::runbook::model::StepKind::reads_output_of): a
    /// `restore` reads its backup's record here); empty for the other kinds.
    pub outputs: &'a BTreeMap<String, String>,
    /// A monitor's baseline already journaled in this run (reused, never measured twice).
    pub baseline: Option<&'a Baseline>,
    /// When the run's steps started, as journaled so far (a monitor's baseline window ends
    /// when its `before` step starts). Shared, so a background monitor sees later starts.
    pub starts: &'a StepStarts,
}

/// When each step of the run first started: shared between the engine, which records
/// starts, and a monitor waiting for the step that ends its baseline window.
pub type StepStarts = std::sync::Mutex<BTreeMap<String, DateTime<Utc>>>;

/// What a step tells the engine while it runs, in the order it happens.
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "nearly every message is an event; boxing each to shrink the rare wait is the worse trade"
)]
pub enum Progress {
    /// An event for the journal.
    Event(Event),
    /// Answered once everything reported before it is journaled and on disk.
    Synced(oneshot::Sender<()>),
}

impl Live<'_> {
    /// Sends progress; a closed channel means the engine stopped listening (the step is
    /// being dropped), so there is no one left to tell.
    pub(super) fn report(&self, event: Event) {
        let _ = self.progress.send(Progress::Event(event));
    }

    /// Waits until what this step reported so far is on disk. A step that goes on to change
    /// something else (a rolling restart's next batch) waits for it, so that a resume after
    /// a crash finds what was done and does not do it again. Returns at once if the engine
    /// stopped listening.
    pub(super) async fn synced(&self) {
        let (done, synced) = oneshot::channel();
        if self.progress.send(Progress::Synced(done)).is_ok() {
            let _ = synced.await;
        }
    }

    /// When step `id` first started in this run, if it has.
    pub(super) fn started(&self, id: &str) -> Option<DateTime<Utc>> {
        self.starts.lock().ok().and_then(|s| s.get(id).copied())
    }
}
