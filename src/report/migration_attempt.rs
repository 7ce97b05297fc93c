//! The live line of a migration attempt whose lock was not granted (and of the attempt that
//! then applied it), so an operator watching sees why a `migrate` step takes longer than
//! usual and that nothing stays queued behind it meanwhile.

use crate::event::{Event, MigrationAttemptResult};
use crate::report::escape::one_line;

/// The line for a [`Event::MigrationAttempt`]; `None` for any other event.
pub(super) fn line(event: &Event) -> Option<String> {
    let Event::MigrationAttempt {
        migration,
        attempt,
        attempts,
        result,
        duration_ms,
        retry_in_ms,
        ..
    } = event
    else {
        return None;
    };
    let name = one_line(migration);
    let took = seconds(*duration_ms);
    Some(match (result, retry_in_ms) {
        (MigrationAttemptResult::Applied, _) => {
            format!("      ✓ {name}: applied at attempt {attempt} of {attempts} ({took})")
        }
        (MigrationAttemptResult::LockNotGranted, Some(wait)) => format!(
            "      ↻ {name}: lock not granted within {took} (attempt {attempt} of {attempts}), rolled back; again in {}",
            seconds(*wait)
        ),
        (MigrationAttemptResult::LockNotGranted, None) => format!(
            "      ✗ {name}: lock not granted within {took} (attempt {attempt} of {attempts}), rolled back; no retries left"
        ),
    })
}

fn seconds(ms: u64) -> String {
    format!("{:.1}s", ms as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_attempt_says_when_it_is_tried_again() {
        let event = Event::MigrationAttempt {
            step: "migrate".into(),
            migration: "20240101_rls".into(),
            attempt: 1,
            attempts: 4,
            result: MigrationAttemptResult::LockNotGranted,
            duration_ms: 1004,
            reason: Some("canceling statement due to lock timeout".into()),
            retry_in_ms: Some(500),
        };
        // The journal's shape (docs/journal.md), and back.
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "migration_attempt", "step": "migrate", "migration": "20240101_rls",
                "attempt": 1, "attempts": 4, "result": "lock_not_granted", "duration_ms": 1004,
                "reason": "canceling statement due to lock timeout", "retry_in_ms": 500})
        );
        assert_eq!(serde_json::from_value::<Event>(json).unwrap(), event);
        assert_eq!(
            line(&event).unwrap(),
            "      ↻ 20240101_rls: lock not granted within 1.0s (attempt 1 of 4), rolled back; again in 0.5s"
        );
    }
}
