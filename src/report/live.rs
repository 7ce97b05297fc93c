//! The parts of live human output that depend on time: a step's start line, printed off a
//! terminal only once the step has run for [`START_AFTER`] (a 30 s health wait is not
//! silence in a CI log, and quick steps stay one line), and at once before a step's first
//! sub-line (a batch, a monitor window), so sub-lines always follow their step's line; and
//! the monitor's windows off a terminal, at most one line per [`WINDOW_EVERY`] plus every
//! breach, the last window shown when the monitor ends.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a step runs before its start line is printed off a terminal.
pub const START_AFTER: Duration = Duration::from_secs(2);

/// The least time between two ordinary monitor window lines off a terminal.
pub const WINDOW_EVERY: Duration = Duration::from_secs(10);

/// Which steps' start lines were printed, shared with the timer that prints one. A set, not
/// the latest step: a background watch's start line stays printed while later steps start
/// and end, so its windows do not print it again under each of them.
#[derive(Default)]
pub struct Announcer {
    announced: Arc<Mutex<HashSet<String>>>,
    /// The step whose start line waits for [`START_AFTER`], and the timer printing it.
    timer: Option<(String, tokio::task::JoinHandle<()>)>,
}

impl Announcer {
    /// A step (or a retry of it) started: off a terminal, prints `line` once the step has
    /// run [`START_AFTER`] (needs the async runtime the engine runs in; without one, nothing
    /// is scheduled). A retry gets its start line again.
    pub fn started(&mut self, step: &str, line: String) {
        self.stop_timer();
        self.lock().remove(step);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let announced = Arc::clone(&self.announced);
        let name = step.to_string();
        let timer = runtime.spawn(async move {
            tokio::time::sleep(START_AFTER).await;
            let mut shown = announced.lock().unwrap_or_else(PoisonError::into_inner);
            if shown.insert(name) {
                super::stdout::line(&super::paint::stdout(&line));
            }
        });
        self.timer = Some((step.to_string(), timer));
    }

    /// Whether `step`'s start line still has to be printed before a sub-line of it; marks
    /// it printed (the caller prints it).
    pub fn announce(&mut self, step: &str) -> bool {
        self.lock().insert(step.to_string())
    }

    /// Whether `step`'s start line was printed (by the timer or a sub-line).
    pub fn is_announced(&self, step: &str) -> bool {
        self.lock().contains(step)
    }

    /// `step` ended: no start line for it any more (a later start prints one again); the
    /// other steps' lines stay printed.
    pub fn finished(&mut self, step: &str) {
        if self.timer.as_ref().is_some_and(|(timed, _)| timed == step) {
            self.stop_timer();
        }
        self.lock().remove(step);
    }

    /// The run paused or turned to its rollback: no step is in flight any more.
    pub fn clear(&mut self) {
        self.stop_timer();
        self.lock().clear();
    }

    fn stop_timer(&mut self) {
        if let Some((_, timer)) = self.timer.take() {
            timer.abort();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.announced.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Announcer {
    fn drop(&mut self) {
        self.stop_timer();
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
