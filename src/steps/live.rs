//! Steps that report while they run: `rolling_restart` (each service's result) and
//! `monitor` (each window's sample). Their progress is journaled as it happens, so a crash
//! keeps the services already restarted and the samples already taken.
//!
//! The step still never touches the journal: it sends [`Event`]s down a channel, and the
//! engine journals them (fsynced) while the step goes on.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use tokio::sync::mpsc::UnboundedSender;

use super::{StepContext, StepOutcome, execute};
use crate::event::Event;
use crate::runbook::model::{Service, StepKind};

/// What a reporting step needs beyond [`StepContext`].
pub struct Live<'a> {
    /// The runbook's services (restart commands, health URLs).
    pub services: &'a BTreeMap<String, Service>,
    /// Where restart commands run.
    pub workdir: &'a Path,
    /// Where progress goes; the engine journals each event before showing it.
    pub progress: &'a UnboundedSender<Event>,
    /// Services of this rolling restart already journaled healthy in this run: a resumed
    /// restart does not restart them again.
    pub services_done: &'a BTreeSet<String>,
}

pub use crate::event::Escalation;

/// Runs one attempt of any step kind; the reporting kinds get [`Live`].
pub async fn execute_live(
    kind: &StepKind,
    ctx: &StepContext<'_>,
    live: &Live<'_>,
) -> (StepOutcome, Option<Escalation>) {
    match kind {
        StepKind::RollingRestart(r) => (super::rolling_restart::run(r, ctx, live).await, None),
        StepKind::Monitor(m) => super::monitor::run(m, ctx, live).await,
        other => (execute(other, ctx).await, None),
    }
}

/// Sends progress; a closed channel means the engine stopped listening (the step is being
/// dropped), so there is no one left to tell.
pub(super) fn report(live: &Live<'_>, event: Event) {
    let _ = live.progress.send(event);
}
