//! Validation of the Prometheus parts: `prometheus:` sources, `query` steps and a monitor's
//! `queries`.
//!
//! Header values are secrets (an `Authorization: Bearer ...` token, an API key): each is
//! registered with the redactor as it resolves, so it never reaches output or the journal.

use std::collections::BTreeMap;

use super::context::{Validator, at};
use crate::runbook::diagnostic::Pos;
use crate::runbook::interpolate::Scope;
use crate::runbook::model::{Compare, MetricQuery, PromSource, Query, QueryExpect, QueryTest};
use crate::runbook::raw::{RawCompare, RawMetricQuery, RawQuery, RawQueryExpect, RawRunbook, Text};
use crate::runbook::spanned::Spanned;

impl Validator<'_> {
    /// The runbook's `prometheus:` sources, remembered for the steps that name them.
    pub(super) fn prometheus_sources(&mut self, raw: &RawRunbook) -> BTreeMap<String, PromSource> {
        for (name, source) in &raw.prometheus {
            self.name(name, source.pos, "prometheus name");
            self.prometheus_names.push(name.clone());
            let url = self.url(&source.value.url, source.pos, Scope::Targets, "prometheus URL");
            let mut headers = BTreeMap::new();
            for (header, value) in &source.value.headers {
                if let Some(t) = self.template(value, source.pos, Scope::Targets) {
                    self.register_header_secret(&t.render("run-id"));
                    headers.insert(header.clone(), t);
                }
            }
            if let Some(url) = url {
                let source = PromSource {
                    name: name.clone(),
                    url,
                    headers,
                };
                self.prometheus.insert(name.clone(), source);
            }
        }
        self.prometheus.clone()
    }

    /// A header value is a secret; for `Scheme credentials` the credentials are too, so an
    /// empty token does not mask every `Bearer ` in the output.
    fn register_header_secret(&mut self, value: &str) {
        let value = value.trim();
        match value.split_once(' ') {
            Some((_, credentials)) if !credentials.trim().is_empty() => {
                self.redactor.register(credentials.trim());
                self.redactor.register(value);
            }
            Some(_) => {}
            None => self.redactor.register(value),
        }
    }

    /// A prometheus name that `prometheus:` declares, with its source.
    fn prometheus_source(&mut self, text: &Text, parent: Pos) -> Option<PromSource> {
        if let Some(source) = self.prometheus.get(&text.value) {
            return Some(source.clone());
        }
        let pos = at(text, parent);
        let hint = if self.prometheus_names.contains(&text.value) {
            // declared, but its URL is wrong: already reported there
            return None;
        } else if self.prometheus_names.is_empty() {
            "this runbook declares no prometheus sources; add them under `prometheus:`".to_string()
        } else {
            format!("declared prometheus sources: {}", self.prometheus_names.join(", "))
        };
        self.error_hint(pos, format!("unknown prometheus source `{}`", text.value), hint);
        None
    }

    /// A `query` step.
    pub(super) fn query(&mut self, raw: &RawQuery, pos: Pos) -> Option<Query> {
        let source = self.prometheus_source(&raw.prometheus, pos);
        let test = match (&raw.promql, &raw.alert_rules) {
            (Some(promql), None) => {
                let promql = self.promql(promql, pos);
                let expect = match &raw.expect {
                    Some(e) => self.query_expect(e),
                    None => Some(QueryExpect::default()),
                };
                QueryTest::Promql {
                    promql: promql?,
                    expect: expect?,
                }
            }
            (None, Some(rules)) => {
                if let Some(e) = &raw.expect {
                    self.error(e.pos, "`expect` goes with `promql`, not with `alert_rules`");
                }
                if rules.value.is_empty() {
                    self.error(rules.pos, "`alert_rules` lists no rules");
                }
                let names: Vec<String> = rules
                    .value
                    .iter()
                    .filter_map(|r| self.plain(r, rules.pos, "alert rule name"))
                    .collect();
                QueryTest::AlertRules(names)
            }
            _ => {
                self.error_hint(
                    pos,
                    "`query` needs exactly one of `promql` or `alert_rules`",
                    "`query: { prometheus: prod, promql: 'up', expect: { min_series: 1 } }` or `query: { prometheus: prod, alert_rules: [HighErrorRate] }`",
                );
                return None;
            }
        };
        Some(Query { source: source?, test })
    }

    /// A PromQL expression: references allowed (it is text sent to Prometheus), not empty.
    fn promql(&mut self, text: &Text, parent: Pos) -> Option<crate::runbook::model::Template> {
        if text.value.trim().is_empty() {
            self.error(at(text, parent), "promql is empty");
            return None;
        }
        self.template(text, parent, Scope::Steps)
    }

    fn query_expect(&mut self, raw: &Spanned<RawQueryExpect>) -> Option<QueryExpect> {
        let e = &raw.value;
        let min_series = match &e.min_series {
            Some(n) => Some(self.int(n, 0, 1_000_000, "min_series")?),
            None => None,
        };
        let all = match &e.all {
            Some(c) => Some(self.compare(c, "all")?),
            None => None,
        };
        let value = match &e.value {
            Some(c) => Some(self.compare(c, "value")?),
            None => None,
        };
        if e.empty == Some(true) && (min_series.is_some_and(|n| n > 0) || value.is_some()) {
            self.error(raw.pos, "`empty: true` contradicts `min_series` and `value`");
        }
        Some(QueryExpect {
            empty: e.empty,
            min_series,
            all,
            value,
        })
    }

    fn compare(&mut self, raw: &Spanned<RawCompare>, what: &str) -> Option<Compare> {
        let c = &raw.value;
        let mut bound = |b: &Option<Spanned<f64>>, name: &str| match b {
            Some(v) if !self.unquoted(v, name) => Err(()),
            Some(v) if !v.value.is_finite() => {
                self.error(v.pos, format!("`{name}` must be a finite number"));
                Err(())
            }
            Some(v) => Ok(Some(v.value)),
            None => Ok(None),
        };
        let (above, below, equals) = (
            bound(&c.above, "above"),
            bound(&c.below, "below"),
            bound(&c.equals, "equals"),
        );
        let compare = Compare {
            above: above.ok()?,
            below: below.ok()?,
            equals: equals.ok()?,
        };
        if compare == Compare::default() {
            self.error_hint(
                raw.pos,
                format!("`{what}` gives no bound"),
                "write one or more of `above: X`, `below: X`, `equals: X`",
            );
            return None;
        }
        Some(compare)
    }

    /// A monitor's named query.
    pub(super) fn metric_query(&mut self, name: &str, raw: &Spanned<RawMetricQuery>) -> Option<MetricQuery> {
        let valid_name = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_name {
            self.error_hint(
                raw.pos,
                format!("invalid query name `{}`", name.escape_debug()),
                "a query names a metric for `rollback_when`: use letters, digits and `_`",
            );
        }
        let source = self.prometheus_source(&raw.value.prometheus, raw.pos);
        let promql = self.promql(&raw.value.promql, raw.pos);
        valid_name.then_some(())?;
        Some(MetricQuery {
            name: name.to_owned(),
            source: source?,
            promql: promql?,
        })
    }
}
