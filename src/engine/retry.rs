//! Delays between attempts: `retry_delay`, times `backoff.factor` per attempt, capped.

use std::time::Duration;

use crate::runbook::model::Backoff;

/// The delay before attempt `next` (2 = the first retry).
pub fn delay_before(next: u32, base: Duration, backoff: Backoff) -> Duration {
    let exponent = i32::try_from(next.saturating_sub(2)).unwrap_or(i32::MAX);
    let secs = base.as_secs_f64() * backoff.factor.powi(exponent);
    let delay = if secs.is_finite() && secs < 1e9 {
        Duration::from_secs_f64(secs)
    } else {
        Duration::from_secs(1_000_000_000)
    };
    backoff.max.map_or(delay, |max| delay.min(max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_exponential_and_capped() {
        let s = Duration::from_secs;
        let constant = Backoff { factor: 1.0, max: None };
        assert_eq!(delay_before(2, s(2), constant), s(2));
        assert_eq!(delay_before(5, s(2), constant), s(2));
        let doubling = Backoff {
            factor: 2.0,
            max: Some(s(10)),
        };
        assert_eq!(delay_before(2, s(1), doubling), s(1));
        assert_eq!(delay_before(3, s(1), doubling), s(2));
        assert_eq!(delay_before(4, s(1), doubling), s(4));
        assert_eq!(delay_before(8, s(1), doubling), s(10));
        let huge = Backoff {
            factor: 100.0,
            max: None,
        };
        assert!(delay_before(200, s(1), huge) >= s(1_000_000));
    }
}
