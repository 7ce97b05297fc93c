//! The parts of live human output that depend on time: a step's start line, printed off a
//! terminal only once the step has run for [`START_AFTER`] (a 30 s health wait is not
//! silence in a CI log, and quick steps stay one line), and at once before a step's first
//! sub-line (a batch, a monitor window), so sub-lines always follow their step's line; and
//! the monitor's windows off a terminal, at most one line per [`WINDOW_EVERY`] plus every
//! breach, the last window shown when the monitor ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a step runs before its start line is printed off a terminal.
pub const START_AFTER: Duration = Duration::from_secs(2);

/// The least time between two ordinary monitor window lines off a terminal.
pub const WINDOW_EVERY: Duration = Duration::from_secs(10);

/// Which step's start line was printed, shared with the timer that prints it.
#[derive(Default)]
pub struct Announcer {
    announced: Arc<Mutex<Option<String>>>,
    timer: Option<tokio::task::JoinHandle<()>>,
}

impl Announcer {
    /// A step started: off a terminal, prints `line` once the step has run [`START_AFTER`]
    /// (needs the async runtime the engine runs in; without one, nothing is scheduled).
    pub fn started(&mut self, step: &str, line: String) {
        self.finished();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let announced = Arc::clone(&self.announced);
        let step = step.to_string();
        self.timer = Some(runtime.spawn(async move {
            tokio::time::sleep(START_AFTER).await;
            let mut shown = announced.lock().unwrap_or_else(PoisonError::into_inner);
            if shown.is_none() {
                super::stdout::line(&super::paint::stdout(&line));
                *shown = Some(step);
            }
        }));
    }

    /// Whether `step`'s start line still has to be printed before a sub-line of it; marks
    /// it printed (the caller prints it).
    pub fn announce(&mut self, step: &str) -> bool {
        let mut shown = self.announced.lock().unwrap_or_else(PoisonError::into_inner);
        if shown.as_deref() == Some(step) {
            return false;
        }
        *shown = Some(step.to_string());
        true
    }

    /// The step in flight ended (or paused): no start line for it any more.
    pub fn finished(&mut self) {
        if let Some(timer) = self.timer.take() {
            timer.abort();
        }
        *self.announced.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

impl Drop for Announcer {
    fn drop(&mut self) {
        self.finished();
    }
}

/// Which monitor windows get a line off a terminal.
#[derive(Default)]
pub struct WindowThrottle {
    last: HashMap<String, Instant>,
    unshown: HashMap<String, String>,
}

impl WindowThrottle {
    /// Whether window `line` of `step` is shown now: the first, a breach, or the first
    /// after [`WINDOW_EVERY`]. One not shown is kept for [`WindowThrottle::last_unshown`].
    pub fn show(&mut self, step: &str, breach: bool, line: &str) -> bool {
        let now = Instant::now();
        let due = self
            .last
            .get(step)
            .is_none_or(|at| now.duration_since(*at) >= WINDOW_EVERY);
        if due || breach {
            self.last.insert(step.to_string(), now);
            self.unshown.remove(step);
            true
        } else {
            self.unshown.insert(step.to_string(), line.to_string());
            false
        }
    }

    /// The monitor ended: its last window's line, if it was not shown.
    pub fn last_unshown(&mut self, step: &str) -> Option<String> {
        self.last.remove(step);
        self.unshown.remove(step)
    }
}
