//! Will the changes still to run fit in what is left of the window?
//!
//! Theory of operation: only the steps up to and including the last step that changes
//! things count (the plan marks them `in_window_span`); everything after it (a trailing
//! monitor, final checks, sign-offs) is observation and may run past the window. Each
//! counted step not yet done is estimated by the median of its past durations in this
//! journal (every run of the runbook), else by what its runbook entry implies: a monitor's
//! `duration`, a `wait`'s `for`, nothing for a gate (it pauses rather than runs), and the
//! step's `timeout` for everything else.

use std::collections::HashMap;
use std::time::Duration;

use super::plan::Plan;
use crate::event::{Entry, Event, StepStatus};
use crate::journal::RunState;
use crate::runbook::model::{Step, StepKind, Wait};

/// Past durations of completed steps, by step id.
#[derive(Debug, Default, Clone)]
pub struct History {
    durations: HashMap<String, Vec<u64>>,
}

impl History {
    /// Collects the durations of every `done` step in every run of a journal.
    pub fn from_entries(entries: &[Entry]) -> Self {
        let mut durations: HashMap<String, Vec<u64>> = HashMap::new();
        for entry in entries {
            if let Event::StepFinished {
                step,
                status: StepStatus::Done,
                duration_ms,
                ..
            } = &entry.event
            {
                durations.entry(step.clone()).or_default().push(*duration_ms);
            }
        }
        History { durations }
    }

    fn median(&self, step: &str) -> Option<Duration> {
        let mut times = self.durations.get(step)?.clone();
        times.sort_unstable();
        times.get(times.len() / 2).map(|ms| Duration::from_millis(*ms))
    }
}

/// Estimated time of the changes still to run, and how many steps it counts.
pub fn remaining(plan: &Plan<'_>, run: Option<&RunState>, history: &History) -> (Duration, usize) {
    let todo: Vec<&Step> = plan
        .steps()
        .filter(|s| s.in_window_span && !run.is_some_and(|r| r.is_done(&s.id)))
        .map(|s| s.step())
        .collect();
    let total = todo
        .iter()
        .map(|s| history.median(&s.id).unwrap_or_else(|| by_runbook(s)))
        .sum();
    (total, todo.len())
}

fn by_runbook(step: &Step) -> Duration {
    match &step.kind {
        StepKind::Approval(_) | StepKind::Manual(_) => Duration::ZERO,
        StepKind::Monitor(m) => m.duration,
        StepKind::Wait(Wait::For(d)) => *d,
        _ => step.timeout,
    }
}
