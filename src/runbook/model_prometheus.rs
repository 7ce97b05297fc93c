//! The Prometheus parts of a valid runbook: sources, the `query` step, and a monitor's
//! queries, baseline and rule thresholds.
//!
//! A step carries its source resolved (URL and headers), so the kinds need nothing from
//! the runbook at run time, as a database step needs only its pool.

use std::collections::BTreeMap;
use std::time::Duration;

use super::interpolate::Template;

/// A Prometheus server.
#[derive(Debug, Clone)]
pub struct PromSource {
    /// Its name in `prometheus:`.
    pub name: String,
    /// Base URL of the HTTP API (without a trailing `/`).
    pub url: Template,
    /// Headers sent with every request; their values are registered as secrets.
    pub headers: BTreeMap<String, Template>,
}

/// `query`
#[derive(Debug, Clone)]
pub struct Query {
    /// The server asked.
    pub source: PromSource,
    /// What is asked and what must hold.
    pub test: QueryTest,
}

/// What a `query` step asks Prometheus.
#[derive(Debug, Clone)]
pub enum QueryTest {
    /// An instant query and its expectations.
    Promql {
        /// The expression.
        promql: Template,
        /// What the result must be.
        expect: QueryExpect,
    },
    /// Alerting rules, by name, that must be loaded.
    AlertRules(Vec<String>),
}

/// What an instant query's result must be; every condition given must hold. With none
/// given, at least one series must come back.
#[derive(Debug, Clone, Default, PartialEq)]
#[allow(missing_docs)]
pub struct QueryExpect {
    pub empty: Option<bool>,
    pub min_series: Option<u32>,
    pub all: Option<Compare>,
    pub value: Option<Compare>,
}

/// Bounds on a value; every bound given must hold.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[allow(missing_docs)]
pub struct Compare {
    pub above: Option<f64>,
    pub below: Option<f64>,
    pub equals: Option<f64>,
}

/// A monitor metric computed by Prometheus.
#[derive(Debug, Clone)]
pub struct MetricQuery {
    /// The metric's name in `rollback_when`.
    pub name: String,
    /// The server asked.
    pub source: PromSource,
    /// An expression giving one value.
    pub promql: Template,
}

/// How a monitor's baseline is taken.
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    /// How far back from its end the average reaches.
    pub window: Duration,
    /// The step whose start ends the window; `None`: the run's first step that changes
    /// things (resolved by [`super::Runbook::baseline_end`]).
    pub before: Option<String>,
}

/// What a rule compares its metric's value with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// A fixed limit: breaches when the value is over it.
    Above(f64),
    /// Breaches when the value is over the baseline plus this margin.
    AboveBaseline(Margin),
    /// Breaches when the value is under the baseline minus this margin.
    BelowBaseline(Margin),
}

/// A margin around a baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Margin {
    /// A share of the baseline: `10%` is 10.
    Percent(f64),
    /// An amount in the metric's own unit.
    Absolute(f64),
}

impl Threshold {
    /// The limit a value is compared with, given the baseline; `None` when the rule needs a
    /// baseline that is not known (yet).
    pub fn limit(self, baseline: Option<f64>) -> Option<f64> {
        let shifted = |b: f64, m: Margin, sign: f64| match m {
            Margin::Percent(p) => b + sign * b.abs() * p / 100.0,
            Margin::Absolute(a) => b + sign * a,
        };
        match self {
            Threshold::Above(limit) => Some(limit),
            Threshold::AboveBaseline(m) => baseline.map(|b| shifted(b, m, 1.0)),
            Threshold::BelowBaseline(m) => baseline.map(|b| shifted(b, m, -1.0)),
        }
    }

    /// Whether `value` breaches the limit (strictly past it).
    pub fn breached(self, value: f64, limit: f64) -> bool {
        match self {
            Threshold::Above(_) | Threshold::AboveBaseline(_) => value > limit,
            Threshold::BelowBaseline(_) => value < limit,
        }
    }

    /// Whether the rule compares with a baseline.
    pub fn needs_baseline(self) -> bool {
        !matches!(self, Threshold::Above(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margins_shift_the_baseline() {
        let up = Threshold::AboveBaseline(Margin::Percent(10.0));
        assert_eq!(up.limit(Some(200.0)), Some(220.0));
        assert_eq!(up.limit(None), None);
        assert!(up.breached(220.5, 220.0) && !up.breached(220.0, 220.0));
        let down = Threshold::BelowBaseline(Margin::Absolute(0.5));
        assert_eq!(down.limit(Some(2.0)), Some(1.5));
        assert!(down.breached(1.4, 1.5) && !down.breached(1.6, 1.5));
        assert_eq!(Threshold::Above(3.0).limit(None), Some(3.0));
    }
}
