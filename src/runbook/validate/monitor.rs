//! Validation of `monitor` steps: duration, interval, probes, queries and the rollback rules.
//!
//! A monitor is a gate that fails closed (DESIGN promise 5), so one that cannot fail is
//! refused: a monitor with no `rollback_when` rule passes whatever its probes see (100 %
//! errors included), and a rule that needs more time or more windows than the monitor
//! watches can never hold. A rule names a probe metric (which needs probes) or one of the
//! monitor's `queries`; a baseline rule needs a `baseline:` and a query metric.

use std::time::Duration;

use super::context::{Validator, at};
use crate::runbook::diagnostic::Pos;
use crate::runbook::duration;
use crate::runbook::model::{Baseline, Check, Hold, Margin, MetricQuery, Monitor, OnNoData, Rule, Threshold};
use crate::runbook::raw::{RawBaseline, RawMonitor, RawRule};
use crate::runbook::spanned::Spanned;

impl Validator<'_> {
    /// A monitor needs probes or queries, and rules: one without rules passes whatever it sees.
    fn something_to_watch(&mut self, raw: &RawMonitor, pos: Pos) {
        if raw.probes.is_empty() && raw.queries.is_empty() {
            self.error_hint(
                pos,
                "monitor has no probes and no queries",
                "add `probes: [ { http: URL } ]` or `queries: { error_rate: { prometheus: NAME, promql: '...' } }`",
            );
        }
        if raw.rollback_when.is_empty() {
            self.error_hint(
                pos,
                "monitor has no `rollback_when` rules: it would pass whatever its probes see, even when every probe fails",
                "add a rule: `rollback_when: [ { metric: error_rate, above: 0.05, for: 5m } ]`",
            );
        }
    }

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
        self.something_to_watch(raw, pos);
        let probes: Vec<Check> = raw.probes.iter().filter_map(|p| self.check(p, "probe")).collect();
        let queries = self.monitor_queries(raw);
        let baseline = match &raw.baseline {
            Some(b) => self.baseline(b),
            None => None,
        };
        let watch = duration.zip(interval);
        let metrics = Metrics {
            probes: !raw.probes.is_empty(),
            queries: raw.queries.keys().cloned().collect(),
            baseline: raw.baseline.is_some(),
        };
        let rules: Vec<Rule> = raw
            .rollback_when
            .iter()
            .filter_map(|r| self.rule(r, watch, &metrics))
            .collect();
        let on_no_data = self.choice_or(raw.on_no_data.as_ref(), pos, OnNoData::Fail);
        if raw.baseline.is_some() && baseline.is_none() {
            return None;
        }
        Some(Monitor {
            duration: duration?,
            interval: interval?,
            probes,
            queries: queries?,
            baseline,
            background: raw.background.unwrap_or(false),
            on_no_data: on_no_data?,
            rollback_when: rules,
        })
    }

    /// The monitor's named queries; a query may take a probe metric's name only when the
    /// monitor has no probes.
    fn monitor_queries(&mut self, raw: &RawMonitor) -> Option<Vec<MetricQuery>> {
        let mut out = Vec::new();
        let mut ok = true;
        for (name, query) in &raw.queries {
            if !raw.probes.is_empty() && PROBE_METRICS.contains(&name.as_str()) {
                self.error_hint(
                    query.pos,
                    format!("query `{name}` has the name of a probe metric of this monitor"),
                    "rename the query (e.g. `users_error_rate`), or drop the monitor's `probes`",
                );
                ok = false;
            }
            match self.metric_query(name, query) {
                Some(q) => out.push(q),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn baseline(&mut self, raw: &Spanned<RawBaseline>) -> Option<Baseline> {
        let window = self.duration(&raw.value.window, raw.pos);
        let before = match &raw.value.before {
            Some(b) => Some(self.plain(b, raw.pos, "baseline `before` step")?),
            None => None,
        };
        Some(Baseline {
            window: window?,
            before,
        })
    }

    /// One rule; `watch` is the monitor's (duration, interval) when both are valid.
    fn rule(
        &mut self,
        rule: &Spanned<RawRule>,
        watch: Option<(Duration, Duration)>,
        metrics: &Metrics,
    ) -> Option<Rule> {
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
        let metric = self.rule_metric(&r.metric, rule.pos, metrics);
        let threshold = self.threshold(rule, metrics)?;
        Some(Rule {
            metric: metric?,
            threshold,
            hold: hold?,
        })
    }

    /// The metric a rule names: one of the monitor's queries, or a probe metric of a
    /// monitor that has probes.
    fn rule_metric(&mut self, text: &Spanned<String>, parent: Pos, metrics: &Metrics) -> Option<String> {
        let name = text.value.as_str();
        if metrics.queries.iter().any(|q| q == name) {
            return Some(name.to_owned());
        }
        if !metrics.probes && metrics.queries.is_empty() {
            return None; // "no probes and no queries" says it already
        }
        let mut known: Vec<&str> = metrics.queries.iter().map(String::as_str).collect();
        if metrics.probes {
            known.extend(PROBE_METRICS);
        }
        if metrics.probes && PROBE_METRICS.contains(&name) {
            return Some(name.to_owned());
        }
        let message = if PROBE_METRICS.contains(&name) {
            format!("metric `{name}` comes from probes, and this monitor has none")
        } else {
            format!("unknown metric `{}`", name.escape_debug())
        };
        let hint = if known.is_empty() {
            "name a probe metric (error_rate, p50_ms, p95_ms, p99_ms) with `probes`, or a query of `queries`"
                .to_string()
        } else {
            format!("this monitor's metrics: {}", known.join(", "))
        };
        self.error_hint(at(text, parent), message, hint);
        None
    }

    /// Exactly one of `above`, `above_baseline`, `below_baseline`.
    fn threshold(&mut self, rule: &Spanned<RawRule>, metrics: &Metrics) -> Option<Threshold> {
        let r = &rule.value;
        match (&r.above, &r.above_baseline, &r.below_baseline) {
            (Some(above), None, None) => {
                if !self.unquoted(above, "threshold") {
                    return None;
                }
                let is_probe_rate = r.metric.value == "error_rate" && metrics.probes;
                if !above.value.is_finite() || (is_probe_rate && !(0.0..1.0).contains(&above.value)) {
                    self.error_hint(
                        above.pos,
                        format!("threshold `{}` is out of range for this metric", above.value),
                        "error_rate is a fraction (0.05 = 5%); latencies are milliseconds >= 0",
                    );
                    return None;
                }
                Some(Threshold::Above(above.value))
            }
            (None, Some(m), None) | (None, None, Some(m)) => {
                let margin = self.margin(m)?;
                if !metrics.baseline {
                    self.error_hint(
                        rule.pos,
                        "a baseline rule needs the monitor's `baseline:`",
                        "add `baseline: { window: 30m }` to the monitor",
                    );
                    return None;
                }
                if !metrics.queries.contains(&r.metric.value) {
                    self.error_hint(
                        at(&r.metric, rule.pos),
                        format!(
                            "metric `{}` has no baseline: baselines are taken from Prometheus",
                            r.metric.value
                        ),
                        "compare a query of `queries` with its baseline",
                    );
                    return None;
                }
                Some(match r.above_baseline {
                    Some(_) => Threshold::AboveBaseline(margin),
                    None => Threshold::BelowBaseline(margin),
                })
            }
            _ => {
                self.error_hint(
                    rule.pos,
                    "a rule needs exactly one of `above`, `above_baseline` or `below_baseline`",
                    "`above: 0.05` is a fixed limit; `above_baseline: \"10%\"` compares with the value before the change",
                );
                None
            }
        }
    }

    /// `"10%"` (relative to the baseline) or a number (an absolute margin), never negative.
    fn margin(&mut self, raw: &Spanned<serde_json::Value>) -> Option<Margin> {
        let margin = match &raw.value {
            serde_json::Value::Number(n) => n.as_f64().map(Margin::Absolute),
            serde_json::Value::String(s) => {
                // A margin may come from a variable: `above_baseline: "${vars.latency_margin}"`.
                let text = Spanned {
                    value: s.clone(),
                    pos: raw.pos,
                    offset: raw.offset,
                };
                let resolved = self.plain(&text, raw.pos, "baseline margin")?;
                let resolved = resolved.trim();
                match resolved.strip_suffix('%') {
                    Some(p) => p.trim().parse::<f64>().ok().map(Margin::Percent),
                    None => resolved.parse::<f64>().ok().map(Margin::Absolute),
                }
            }
            _ => None,
        };
        match margin {
            Some(Margin::Absolute(v) | Margin::Percent(v)) if v.is_finite() && v >= 0.0 => margin,
            _ => {
                self.error_hint(
                    raw.pos,
                    format!("invalid baseline margin `{}`", raw.value),
                    "write a percentage (\"10%\") or a number in the metric's unit (0.005)",
                );
                None
            }
        }
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

/// The metrics a monitor's probes compute.
const PROBE_METRICS: [&str; 4] = ["error_rate", "p50_ms", "p95_ms", "p99_ms"];

/// What a monitor's rules may name.
struct Metrics {
    probes: bool,
    queries: Vec<String>,
    baseline: bool,
}

/// How many windows a monitor runs: the duration over the interval, rounded up (as the
/// monitor itself counts them).
fn window_count(watched: Duration, interval: Duration) -> u64 {
    let interval = interval.as_nanos().max(1);
    watched.as_nanos().div_ceil(interval).try_into().unwrap_or(u64::MAX)
}
