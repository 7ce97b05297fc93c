//! The journal as the driver writes it: every entry appended, folded into the run's state,
//! and shown to the observer, each at the moment its durability class allows.
//!
//! Theory of operation (DESIGN "Durability, refined"): an entry that records a change or a
//! decision is fsynced before anyone hears of it ([`Durability::Now`]). The end of a step
//! that changed something must be on disk before it is shown or the next step begins; when
//! the next entry follows at once it shares that entry's fsync ([`Durability::BeforeNext`]:
//! held back from the observer until the sync). Entries of idempotent read-only checks
//! ([`Durability::Soon`]) are shown at once and made durable by the next sync, which comes
//! before the next changing step starts, before any pause or exit ([`Recorder::settle`]),
//! and within [`SOON`] (the driver waits on [`Recorder::sync_due`] while a step runs). A
//! crash can therefore lose only the record of checks that resume then runs again.

use std::time::{Duration, Instant};

use super::observer::Observer;
use super::outcome::RunError;
use crate::clock::Clock;
use crate::event::{Entry, Event};
use crate::journal::{Durable, LockedJournal, RunState, fold};

/// The longest a check's entry stays in the page cache before its fsync.
pub(super) const SOON: Duration = Duration::from_millis(200);

/// When an entry must be on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Durability {
    /// A change or a decision: on disk before anyone hears of it.
    Now,
    /// The end of a step that changed something: on disk before it is shown or the next
    /// step begins, sharing the next entry's fsync.
    BeforeNext,
    /// An entry of an idempotent read-only check: shown now, on disk soon.
    Soon,
}

/// The journal of one run as this invocation writes it, and the run's state so far.
pub(super) struct Recorder<'a, O: Observer> {
    journal: &'a mut LockedJournal,
    observer: &'a mut O,
    clock: Clock,
    run_id: String,
    run: Option<RunState>,
    /// Entries written but not yet fsynced: since when.
    unsynced_since: Option<Instant>,
    /// Entries written, not yet fsynced, and not yet shown.
    held: Vec<Entry>,
}

impl<'a, O: Observer> Recorder<'a, O> {
    /// A recorder for the run `run_id`, whose state so far is `run`.
    pub(super) fn new(
        journal: &'a mut LockedJournal,
        observer: &'a mut O,
        clock: Clock,
        run_id: String,
        run: Option<RunState>,
    ) -> Self {
        Recorder {
            journal,
            observer,
            clock,
            run_id,
            run,
            unsynced_since: None,
            held: Vec::new(),
        }
    }

    /// Appends an event, folds it, and shows it when its durability allows.
    pub(super) fn record(&mut self, event: Event, durability: Durability) -> Result<(), RunError> {
        let entry = Entry {
            at: self.clock.now(),
            run_id: self.run_id.clone(),
            event,
        };
        // What follows a changing step's end (in practice the next step's start) shares its
        // fsync, and is shown after it.
        let durability = match durability {
            Durability::Soon if !self.held.is_empty() => Durability::Now,
            d => d,
        };
        let sync = match durability {
            Durability::Now => Durable::Now,
            Durability::BeforeNext | Durability::Soon => Durable::WithNext,
        };
        self.journal.append_blocking(&entry, sync)?;
        fold(&mut self.run, entry.clone());
        match durability {
            Durability::Now => {
                self.unsynced_since = None;
                self.show_held();
                self.observer.journaled(&entry);
            }
            Durability::BeforeNext => {
                self.unsynced_since.get_or_insert_with(Instant::now);
                self.held.push(entry);
            }
            Durability::Soon => {
                self.unsynced_since.get_or_insert_with(Instant::now);
                self.observer.journaled(&entry);
            }
        }
        Ok(())
    }

    /// Makes every entry durable and shown: before a pause, an exit, a question at the
    /// terminal, or a webhook, and when [`Self::sync_due`] passes.
    pub(super) fn settle(&mut self) -> Result<(), RunError> {
        if self.unsynced_since.take().is_some() {
            self.journal.sync_blocking()?;
        }
        self.show_held();
        Ok(())
    }

    /// When the unsynced entries must be fsynced at the latest.
    pub(super) fn sync_due(&self) -> Option<tokio::time::Instant> {
        self.unsynced_since.map(|since| (since + SOON).into())
    }

    fn show_held(&mut self) {
        for entry in std::mem::take(&mut self.held) {
            self.observer.journaled(&entry);
        }
    }

    /// The run as journaled so far (this invocation included).
    pub(super) fn run(&self) -> Option<&RunState> {
        self.run.as_ref()
    }

    /// The run id.
    pub(super) fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Where warnings and questions go.
    pub(super) fn observer(&mut self) -> &mut O {
        self.observer
    }
}
