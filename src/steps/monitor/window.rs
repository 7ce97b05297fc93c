//! One monitor window's probe results, reduced to the figures rules are judged on.
//!
//! Latencies go into an HDR histogram (microsecond resolution, three significant digits):
//! constant memory per window however many probes, and percentiles without sorting.

use std::time::Duration;

use hdrhistogram::Histogram;

use crate::steps::http::Probed;

/// Highest latency the histogram tracks exactly (one hour); slower answers are clamped.
const MAX_TRACKED_US: u64 = 3_600_000_000;

/// Figures of one window (before rules are applied).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Figures {
    pub count: u32,
    pub errors: u32,
    pub error_rate: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub first_error: Option<String>,
    /// Each Prometheus query's value (absent: no data).
    pub queries: std::collections::BTreeMap<String, Option<f64>>,
}

/// Reduces one window's probe results.
pub(super) fn figures(results: Vec<Probed>) -> Figures {
    let count = u32::try_from(results.len()).unwrap_or(u32::MAX);
    let mut histogram = Histogram::<u64>::new_with_bounds(1, MAX_TRACKED_US, 3).ok();
    let (mut errors, mut first_error) = (0u32, None);
    for probed in results {
        if let Some(failure) = probed.failure {
            errors += 1;
            first_error.get_or_insert(failure);
        }
        if let (Some(h), Some(latency)) = (histogram.as_mut(), probed.answered_in) {
            h.saturating_record(micros(latency).clamp(1, MAX_TRACKED_US));
        }
    }
    let percentile = |q: f64| {
        histogram
            .as_ref()
            .filter(|h| !h.is_empty())
            .map(|h| h.value_at_quantile(q) as f64 / 1000.0)
    };
    Figures {
        count,
        errors,
        error_rate: (count > 0).then(|| f64::from(errors) / f64::from(count)),
        p50_ms: percentile(0.50),
        p95_ms: percentile(0.95),
        p99_ms: percentile(0.99),
        first_error,
        queries: Default::default(),
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(ms: u64) -> Probed {
        Probed {
            answered_in: Some(Duration::from_millis(ms)),
            failure: None,
        }
    }

    #[test]
    fn percentiles_come_from_answers_only() {
        let mut results: Vec<Probed> = (1..=100).map(answered).collect();
        results.push(Probed {
            answered_in: None,
            failure: Some("GET http://x: connection refused".into()),
        });
        let f = figures(results);
        assert_eq!((f.count, f.errors), (101, 1));
        assert!((f.error_rate.unwrap_or_default() - 1.0 / 101.0).abs() < 1e-9);
        let p50 = f.p50_ms.unwrap_or_default();
        let p99 = f.p99_ms.unwrap_or_default();
        assert!((49.9..=50.1).contains(&p50), "{p50}");
        assert!((98.9..=99.1).contains(&p99), "{p99}");
        assert_eq!(f.first_error.as_deref(), Some("GET http://x: connection refused"));
    }

    #[test]
    fn a_window_without_answers_has_no_latency() {
        let f = figures(vec![Probed {
            answered_in: None,
            failure: Some("refused".into()),
        }]);
        assert_eq!((f.count, f.errors, f.error_rate), (1, 1, Some(1.0)));
        assert_eq!((f.p50_ms, f.p99_ms), (None, None));
        let empty = figures(Vec::new());
        assert_eq!((empty.count, empty.error_rate), (0, None));
    }
}
