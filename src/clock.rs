//! The one clock deployctl judges windows, approval lifetimes and journal times by.
//!
//! It is a value handed to whoever needs "now" (the driver, `approve`, the dry-run), never
//! a global. A rehearsal or a test may pretend another instant with the global flag
//! `--now TIME`; time then advances from it with the real monotonic clock, so a test can
//! start a run two seconds before a window closes and see the overrun. Pretending is never
//! silent: the command prints it, and a run journals it (`clock_override`, with the real
//! time beside the pretended one) like `--ignore-window`. The old test-only environment
//! variable `DEPLOYCTL_NOW` moved time without a trace, even in production, so it is now
//! refused (exit 2) with a pointer to the flag.

use std::time::Instant;

use chrono::{DateTime, Utc};

/// The environment variable that used to move the clock, refused now.
pub const RETIRED_NOW_VAR: &str = "DEPLOYCTL_NOW";

/// Now, as deployctl sees it.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    wall: DateTime<Utc>,
    at: Instant,
    pretended: bool,
}

impl Clock {
    /// The real clock.
    pub fn system() -> Self {
        Clock {
            wall: Utc::now(),
            at: Instant::now(),
            pretended: false,
        }
    }

    /// A clock that starts at `at` and advances in real time (`--now`).
    pub fn pretending(at: DateTime<Utc>) -> Self {
        Clock {
            wall: at,
            at: Instant::now(),
            pretended: true,
        }
    }

    /// Now.
    pub fn now(&self) -> DateTime<Utc> {
        let elapsed = chrono::Duration::from_std(self.at.elapsed()).unwrap_or_default();
        self.wall + elapsed
    }

    /// Whether this clock pretends another time (then it must be shown and journaled).
    pub fn is_pretended(&self) -> bool {
        self.pretended
    }
}
