//! The runbook's Prometheus shapes as written: `prometheus:` sources, the `query` step, and
//! a monitor's `queries` and `baseline`.
//!
//! Kept beside `raw.rs` (which re-exports them) so the Prometheus format reads in one place.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use super::raw::Text;
use super::spanned::Spanned;

/// A Prometheus server the runbook queries (named like a database).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPrometheus {
    /// Base URL of its HTTP API, e.g. `http://127.0.0.1:9090`.
    pub url: Text,
    /// Headers sent with every query (e.g. `Authorization: "Bearer ${env.PROM_TOKEN}"`);
    /// their values are secrets.
    #[serde(default)]
    pub headers: BTreeMap<String, Text>,
}

/// `query`: one instant PromQL query and what its result must be, or alerting rules that
/// must be loaded.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawQuery {
    /// Name from `prometheus:`.
    pub prometheus: Text,
    /// The PromQL expression (an instant query).
    pub promql: Option<Text>,
    /// What the result must be (default: at least one series).
    pub expect: Option<Spanned<RawQueryExpect>>,
    /// Or: alerting rules, by name, that Prometheus must have loaded.
    pub alert_rules: Option<Spanned<Vec<Text>>>,
}

/// What a query result must be; every condition given must hold.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawQueryExpect {
    /// No series at all (`true`), or at least one (`false`).
    pub empty: Option<bool>,
    /// At least this many series.
    pub min_series: Option<Spanned<i64>>,
    /// Every series' value compares so.
    pub all: Option<Spanned<RawCompare>>,
    /// The one value (a scalar, or exactly one series) compares so.
    pub value: Option<Spanned<RawCompare>>,
}

/// A comparison of a value: one or more of `above`, `below`, `equals`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawCompare {
    pub above: Option<Spanned<f64>>,
    pub below: Option<Spanned<f64>>,
    pub equals: Option<Spanned<f64>>,
}

/// A monitor metric computed by Prometheus: evaluated every interval as an instant query.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMetricQuery {
    /// Name from `prometheus:`.
    pub prometheus: Text,
    /// A PromQL expression giving one value (a scalar or exactly one series).
    pub promql: Text,
}

/// The value of each monitor query before the change, for `above_baseline` rules.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBaseline {
    /// How far back to average (e.g. `30m`).
    pub window: Text,
    /// The step whose start ends the window (default: the run's first step that changes
    /// things).
    pub before: Option<Text>,
}
