//! The wall clock the engine judges windows and approval lifetimes by.
//!
//! `DEPLOYCTL_NOW` (RFC 3339, e.g. `2026-03-03T05:59:58Z`) is **for tests only**: it sets
//! what "now" was when the process started, and time then advances with the real monotonic
//! clock, so a test can start a run two seconds before a window closes and see the overrun.
//! An unreadable value is ignored with a warning, never trusted.

use std::sync::OnceLock;
use std::time::Instant;

use chrono::{DateTime, Utc};

/// The environment variable tests set to move the clock.
pub const NOW_VAR: &str = "DEPLOYCTL_NOW";

struct Origin {
    wall: DateTime<Utc>,
    at: Instant,
}

static ORIGIN: OnceLock<Origin> = OnceLock::new();

/// Now, as the engine sees it.
pub fn now() -> DateTime<Utc> {
    let origin = ORIGIN.get_or_init(|| Origin {
        wall: injected().unwrap_or_else(Utc::now),
        at: Instant::now(),
    });
    let elapsed = chrono::Duration::from_std(origin.at.elapsed()).unwrap_or_default();
    origin.wall + elapsed
}

fn injected() -> Option<DateTime<Utc>> {
    let text = std::env::var(NOW_VAR).ok()?;
    match DateTime::parse_from_rfc3339(text.trim()) {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(e) => {
            tracing::warn!("{NOW_VAR}={text:?} is not an RFC 3339 time ({e}); using the real clock");
            None
        }
    }
}
