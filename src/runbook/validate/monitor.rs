//! Validation of `monitor` steps: duration, interval, probes and the rollback rules.
//!
//! A monitor is a gate that fails closed (DESIGN promise 5), so one that cannot fail is
//! refused: a monitor with no `rollback_when` rule passes whatever its probes see (100 %
//! errors included), and a rule that needs more time or more windows than the monitor
//! watches can never hold.

use std::time::Duration;

use super::context::{Validator, at};
use crate::runbook::diagnostic::Pos;
use crate::runbook::duration;
use crate::runbook::model::{Check, Hold, Metric, Monitor, OnNoData, Rule};
use crate::runbook::raw::{RawMonitor, RawRule};
use crate::runbook::spanned::Spanned;

impl Validator<'_> {
    pub(super) fn monitor(&mut self, raw: &RawMonitor, pos: Pos) -> Option<Monitor> {
        let duration = self.duration(&raw.duration, pos);
        let interval = self.optional_duration(raw.interval.as_ref(), pos, Duration::from_secs(10));
        if let (Some(d), Some(i)) = (duration, interval)
            && i > d
        {
            self.error(
                raw.interval.as_ref().map_or(pos, |t| at(t, pos)),
                format!(
                    "monitor interval ({}) is longer than its duration ({})",
                    duration::format(i),
                    duration::format(d)
                ),
            );
        }
        if raw.probes.value.is_empty() {
            self.error_hint(
                raw.probes.pos,
                "monitor has no probes",
                "add `probes: [ { http: URL } ]`",
            );
        }
        if raw.rollback_when.is_empty() {
            self.error_hint(
                pos,
                "monitor has no `rollback_when` rules: it would pass whatever its probes see, even when every probe fails",
                "add a rule: `rollback_when: [ { metric: error_rate, above: 0.05, for: 5m } ]`",
            );
        }
        let probes: Vec<Check> = raw.probes.value.iter().filter_map(|p| self.check(p, "probe")).collect();
        let watch = duration.zip(interval);
        let rules: Vec<Rule> = raw.rollback_when.iter().filter_map(|r| self.rule(r, watch)).collect();
        let on_no_data = self.choice_or(raw.on_no_data.as_ref(), pos, OnNoData::Fail);
        Some(Monitor {
            duration: duration?,
            interval: interval?,
            probes,
            on_no_data: on_no_data?,
            rollback_when: rules,
        })
    }

    /// One rule; `watch` is the monitor's (duration, interval) when both are valid.
    fn rule(&mut self, rule: &Spanned<RawRule>, watch: Option<(Duration, Duration)>) -> Option<Rule> {
        let r = &rule.value;
        let hold = match (&r.for_, &r.consecutive) {
            (Some(f), None) => self.rule_span(f, rule.pos, watch).map(Hold::For),
            (None, Some(c)) => self
                .int(c, 1, 100_000, "consecutive")
                .and_then(|n| self.rule_windows(c, n, watch))
                .map(Hold::Consecutive),
            _ => {
                self.error_hint(
                    rule.pos,
                    "a rule needs exactly one of `for` or `consecutive`",
                    "`for: 5m` holds over every window in 5 minutes; `consecutive: 3` over 3 windows in a row",
                );
                None
            }
        };
        let metric = self.choice::<Metric>(&r.metric, rule.pos)?;
        if !self.unquoted(&r.above, "threshold") {
            return None;
        }
        if r.above.value.is_nan() || r.above.value < 0.0 || (metric == Metric::ErrorRate && r.above.value >= 1.0) {
            self.error_hint(
                r.above.pos,
                format!("threshold `{}` is out of range for this metric", r.above.value),
                "error_rate is a fraction (0.05 = 5%); latencies are milliseconds >= 0",
            );
            return None;
        }
        Some(Rule {
            metric,
            above: r.above.value,
            hold: hold?,
        })
    }

    /// `for: D`: at least one interval, at most the monitor's duration.
    fn rule_span(
        &mut self,
        text: &Spanned<String>,
        parent: Pos,
        watch: Option<(Duration, Duration)>,
    ) -> Option<Duration> {
        let span = self.duration(text, parent)?;
        let Some((watched, interval)) = watch else {
            return Some(span);
        };
        if span < interval {
            self.error(
                at(text, parent),
                format!(
                    "rule span `{}` is shorter than one interval ({})",
                    text.value,
                    duration::format(interval)
                ),
            );
        } else if span > watched {
            self.error_hint(
                at(text, parent),
                format!(
                    "rule span `{}` is longer than the monitor's duration ({}): the rule could never hold",
                    duration::format(span),
                    duration::format(watched)
                ),
                "shorten `for`, or watch longer with `duration`",
            );
            return None;
        }
        Some(span)
    }

    /// `consecutive: N`: the monitor must have at least N windows.
    fn rule_windows(&mut self, at: &Spanned<i64>, needed: u32, watch: Option<(Duration, Duration)>) -> Option<u32> {
        let Some((watched, interval)) = watch else {
            return Some(needed);
        };
        let windows = window_count(watched, interval);
        if u64::from(needed) > windows {
            self.error_hint(
                at.pos,
                format!(
                    "`consecutive: {needed}` needs {needed} windows, but the monitor has {windows} ({} every {}): the rule could never hold",
                    duration::format(watched),
                    duration::format(interval)
                ),
                "lower `consecutive`, or watch longer with `duration`",
            );
            return None;
        }
        Some(needed)
    }
}

/// How many windows a monitor runs: the duration over the interval, rounded up (as the
/// monitor itself counts them).
fn window_count(watched: Duration, interval: Duration) -> u64 {
    let interval = interval.as_nanos().max(1);
    watched.as_nanos().div_ceil(interval).try_into().unwrap_or(u64::MAX)
}
