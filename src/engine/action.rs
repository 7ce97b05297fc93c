//! What the decision function answers and what it decides from: [`Action`], and the
//! [`Moment`] a run is at beside its plan and its journal.

use std::path::Path;

use chrono::{DateTime, Utc};

use super::feasibility::History;
use super::outcome::RunOutcome;
use super::plan::{Plan, PlanStep};
use crate::event::RollbackCause;
use crate::journal::RunState;

/// The one thing the driver does next.
#[derive(Debug, Clone)]
pub enum Action<'p, 'a> {
    /// Re-run the `verify` check of a step completed in an earlier invocation.
    Verify(&'p PlanStep<'a>),
    /// Tell the webhooks the run (re)started (once per invocation going forward).
    Announce,
    /// The operator runs outside the window on purpose: journal it (once per operator).
    OverrideWindow {
        /// What the window said at that moment.
        reason: String,
    },
    /// The window allows this invocation to start: nothing to journal.
    EnterWindow,
    /// The window keeps the run from starting or going on: journal the wait, exit 3.
    WaitForWindow {
        /// Why.
        reason: String,
        /// When it opens next.
        next: Option<DateTime<Utc>>,
        /// What to do.
        hint: String,
    },
    /// The window closed while changes still run, and `overrun` says go on (`finish`) or
    /// roll back: journal it, then do that.
    Overrun {
        /// What happened.
        reason: String,
        /// `overrun: rollback`.
        roll_back: bool,
    },
    /// A gate holds an approval: journal it as passed.
    PassGate {
        /// The gate.
        step: &'p PlanStep<'a>,
        /// Who approved it, as what.
        reason: String,
    },
    /// A gate waits for a person: a `manual` one may be confirmed at the terminal, else
    /// the run pauses.
    AwaitGate {
        /// The gate.
        step: &'p PlanStep<'a>,
        /// What it waits for.
        reason: String,
        /// The command that unblocks it.
        hint: String,
    },
    /// Wait for a person: journal the pause, exit 3.
    Pause {
        /// The step waiting.
        step: &'p PlanStep<'a>,
        /// Why.
        reason: String,
        /// What to do.
        hint: String,
    },
    /// Run the step (forward, or as part of the rollback).
    Attempt(&'p PlanStep<'a>),
    /// Begin the rollback procedure.
    StartRollback {
        /// Why it runs.
        cause: RollbackCause,
        /// In words.
        reason: String,
    },
    /// End this invocation with this outcome (a step failed, or the rollback did).
    Stop(RunOutcome),
    /// Every step is done: journal the run's end (exit 0).
    Finish,
    /// Every rollback step is done: journal the run's end (exit 4).
    FinishRollback {
        /// Why the rollback ran.
        cause: RollbackCause,
        /// In words.
        reason: String,
    },
}

/// Where a run stands beside its journal: the time, who runs it with which overrides, and
/// what this invocation already did that the journal does not record.
#[derive(Debug, Clone, Copy)]
pub struct Moment<'m> {
    /// Now.
    pub now: DateTime<Utc>,
    /// The operator of this invocation.
    pub operator: &'m str,
    /// `--ignore-window`.
    pub ignore_window: bool,
    /// The runbook file as given, for hints.
    pub file: &'m Path,
    /// Past step durations in this journal (for the window's feasibility).
    pub history: &'m History,
    /// What this invocation did already.
    pub invocation: Invocation,
    /// Background monitors this invocation is watching now: the run goes on past them.
    pub watching: &'m [String],
}

/// What this invocation did that is not (or not always) journaled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Invocation {
    /// The webhooks heard that the run (re)started.
    pub announced: bool,
    /// The window was checked at the start (open and feasible, or overridden).
    pub window_checked: bool,
    /// The window closed mid-run and `overrun` was applied (once per invocation).
    pub overrun_applied: bool,
    /// How many of the plan's first forward steps are known done ([`settled`]): the
    /// decision starts looking there, so a run of n steps costs O(n) lookups, not O(n²).
    pub settled: usize,
}

/// How many of the plan's first forward steps are done, counting on from `known` (which
/// must itself be a count of done steps: within an invocation a done step stays done, and a
/// rollback is decided without it).
pub fn settled(plan: &Plan<'_>, run: &RunState, known: usize) -> usize {
    known + plan.steps().skip(known).take_while(|s| run.is_done(&s.id)).count()
}
