//! The fault mode of the `--break` demo: a release that starts healthy, then fails.
//!
//! A rolling restart only sees a service's first answers; the monitor after it sees the
//! rest. A release that turns bad after a delay (or a number of requests) is the failure a
//! rolling restart cannot catch and a monitor must.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// When this instance starts answering 500.
#[derive(Debug)]
pub struct Fault {
    after: Option<Duration>,
    after_requests: Option<u64>,
    started: Instant,
    answered: AtomicU64,
}

impl Fault {
    /// A fault that trips after `after` since now, or after `after_requests` answers,
    /// whichever comes first; neither means a healthy release.
    pub fn new(after: Option<Duration>, after_requests: Option<u64>) -> Self {
        Fault {
            after,
            after_requests,
            started: Instant::now(),
            answered: AtomicU64::new(0),
        }
    }

    /// Counts one request and says whether it must fail.
    pub fn tick(&self) -> bool {
        let before = self.answered.fetch_add(1, Ordering::Relaxed);
        let by_count = self.after_requests.is_some_and(|n| before >= n);
        let by_time = self.after.is_some_and(|d| self.started.elapsed() >= d);
        by_count || by_time
    }

    /// For the startup line: empty for a healthy release.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(d) = self.after {
            parts.push(format!("{} ms", d.as_millis()));
        }
        if let Some(n) = self.after_requests {
            parts.push(format!("{n} requests"));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!(" (broken release: fails after {})", parts.join(" or "))
        }
    }
}
