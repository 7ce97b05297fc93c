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

    /// The median of a step's past durations (of an even number, the mean of the two in
    /// the middle).
    fn median(&self, step: &str) -> Option<Duration> {
        let mut times = self.durations.get(step)?.clone();
        times.sort_unstable();
        let mid = times.len() / 2;
        let ms = match times.len() {
            0 => return None,
            n if n % 2 == 1 => times[mid],
            _ => times[mid - 1] / 2 + times[mid] / 2 + (times[mid - 1] % 2 + times[mid] % 2) / 2,
        };
        Some(Duration::from_millis(ms))
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
        .map(|s| match &s.kind {
            // A background watch's past durations are how long it watched, not time it
            // took from the steps after it.
            StepKind::Monitor(m) if m.background => Duration::ZERO,
            _ => history.median(&s.id).unwrap_or_else(|| by_runbook(s)),
        })
        .sum();
    (total, todo.len())
}

fn by_runbook(step: &Step) -> Duration {
    match &step.kind {
        StepKind::Approval(_) | StepKind::Manual(_) => Duration::ZERO,
        // A background watch runs beside the steps after it: it takes none of their time.
        StepKind::Monitor(m) if m.background => Duration::ZERO,
        // A watch runs whole windows: 2.5 s at 1 s intervals is three windows, 3 s.
        StepKind::Monitor(m) => m.interval.max(Duration::from_millis(1)) * crate::steps::monitor_windows(m),
        StepKind::Wait(Wait::For(d)) => *d,
        _ => step.timeout,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(step: &str, durations: &[u64]) -> History {
        History {
            durations: [(step.to_string(), durations.to_vec())].into_iter().collect(),
        }
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        let ms = Duration::from_millis;
        assert_eq!(history("s", &[10, 40, 20, 30]).median("s"), Some(ms(25)));
        assert_eq!(history("s", &[10, 30, 20]).median("s"), Some(ms(20)));
        assert_eq!(history("s", &[]).median("s"), None);
        assert_eq!(history("s", &[u64::MAX, u64::MAX]).median("s"), Some(ms(u64::MAX)));
    }
}
