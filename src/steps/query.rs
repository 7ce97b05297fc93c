//! `query`: one instant PromQL query and what its result must be, or alerting rules that
//! Prometheus must have loaded. Read-only, so the dry-run's probe is the step itself.
//!
//! With no expectation written, a query passes when at least one series comes back: a
//! check of "monitoring ready" that silently matched nothing would prove nothing.

use super::kind::Kind;
use super::prometheus::{self, Series};
use super::{Failure, StepContext, StepOutcome};
use crate::runbook::Runbook;
use crate::runbook::model::{Compare, Query, QueryExpect, QueryTest};

/// Series shown in a failure message at most.
const SHOWN_SERIES: usize = 5;

impl Kind for Query {
    fn describe(&self, _runbook: &Runbook) -> String {
        match &self.test {
            QueryTest::Promql { promql, expect } => {
                format!(
                    "prometheus `{}`: {}{}",
                    self.source.name,
                    promql.display(),
                    describe_expect(expect)
                )
            }
            QueryTest::AlertRules(names) => {
                format!(
                    "prometheus `{}` has alerting rules {} loaded",
                    self.source.name,
                    names.join(", ")
                )
            }
        }
    }

    async fn probe(&self, ctx: &StepContext<'_>) -> Option<Result<String, Failure>> {
        Some(match self.execute(ctx).await {
            StepOutcome::Done { detail, .. } => Ok(detail.unwrap_or_default()),
            StepOutcome::Failed { reason, hint, .. } => Err(Failure { reason, hint }),
        })
    }

    async fn execute(&self, ctx: &StepContext<'_>) -> StepOutcome {
        let found = match &self.test {
            QueryTest::Promql { promql, expect } => {
                let promql = promql.render(ctx.run_id);
                match prometheus::instant(&self.source, &promql, ctx).await {
                    Ok(series) => judge(&series, expect).map_err(|e| Failure::new(format!("`{promql}`: {e}"))),
                    Err(e) => Err(unreachable_hint(e)),
                }
            }
            QueryTest::AlertRules(names) => match prometheus::alert_rules(&self.source, ctx).await {
                Ok(loaded) => rules_loaded(names, &loaded).map_err(Failure::new),
                Err(e) => Err(unreachable_hint(e)),
            },
        };
        match found {
            Ok(detail) => StepOutcome::Done {
                detail: Some(ctx.redactor.mask(&detail).into_owned()),
                output: None,
            },
            Err(failure) => ctx.fail(failure),
        }
    }
}

fn unreachable_hint(reason: String) -> Failure {
    Failure::new(reason)
        .with_hint("check that Prometheus answers at the source's URL and that the query is valid PromQL")
}

/// ` → at least 4 series, all = 1` for plans.
fn describe_expect(e: &QueryExpect) -> String {
    let mut parts = Vec::new();
    match e.empty {
        Some(true) => parts.push("no series".to_string()),
        Some(false) => parts.push("some series".to_string()),
        None => {}
    }
    if let Some(n) = e.min_series {
        parts.push(format!("at least {n} series"));
    }
    if let Some(c) = &e.all {
        parts.push(format!("all {}", describe_compare(c)));
    }
    if let Some(c) = &e.value {
        parts.push(format!("value {}", describe_compare(c)));
    }
    if parts.is_empty() {
        parts.push("at least 1 series".to_string());
    }
    format!(" → {}", parts.join(", "))
}

fn describe_compare(c: &Compare) -> String {
    let mut parts = Vec::new();
    if let Some(v) = c.above {
        parts.push(format!("> {v}"));
    }
    if let Some(v) = c.below {
        parts.push(format!("< {v}"));
    }
    if let Some(v) = c.equals {
        parts.push(format!("= {v}"));
    }
    parts.join(" and ")
}

/// Whether `value` meets every bound (`NaN` meets none).
fn meets(c: &Compare, value: f64) -> bool {
    c.above.is_none_or(|b| value > b) && c.below.is_none_or(|b| value < b) && c.equals.is_none_or(|b| value == b)
}

/// The detail of a result that meets the expectations, or what does not.
fn judge(series: &[Series], e: &QueryExpect) -> Result<String, String> {
    let n = series.len();
    let wants_some = e.empty.is_none() && e.min_series.is_none() && e.value.is_none() && e.all.is_none();
    match e.empty {
        Some(true) if n > 0 => return Err(format!("expected no series, got {n}: {}", listed(series))),
        Some(false) if n == 0 => return Err("expected some series, got none".to_string()),
        _ if wants_some && n == 0 => return Err("returned no series".to_string()),
        _ => {}
    }
    if let Some(min) = e.min_series
        && n < min as usize
    {
        return Err(format!(
            "expected at least {min} series, got {n}{}",
            after_colon(series)
        ));
    }
    if let Some(c) = &e.all {
        let bad: Vec<String> = series
            .iter()
            .filter(|s| !meets(c, s.value))
            .take(SHOWN_SERIES)
            .map(|s| format!("{} = {}", s.shown(), s.value))
            .collect();
        if !bad.is_empty() {
            return Err(format!(
                "expected every series {}; not: {}",
                describe_compare(c),
                bad.join(", ")
            ));
        }
    }
    if let Some(c) = &e.value {
        let [one] = series else {
            return Err(format!("expected one value, got {n} series{}", after_colon(series)));
        };
        if !meets(c, one.value) {
            return Err(format!("expected a value {}, got {}", describe_compare(c), one.value));
        }
        return Ok(format!("value {} ({})", one.value, describe_compare(c)));
    }
    Ok(match n {
        0 => "no series".to_string(),
        _ => format!("{n} series: {}", listed(series)),
    })
}

/// The first series with their values, and how many more.
fn listed(series: &[Series]) -> String {
    let shown: Vec<String> = series
        .iter()
        .take(SHOWN_SERIES)
        .map(|s| format!("{} = {}", s.shown(), s.value))
        .collect();
    let more = series.len().saturating_sub(SHOWN_SERIES);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!("{}{more}", shown.join(", "))
}

/// `: <the series>`, or nothing when there are none.
fn after_colon(series: &[Series]) -> String {
    if series.is_empty() {
        String::new()
    } else {
        format!(": {}", listed(series))
    }
}

/// Passes when every named rule is loaded.
fn rules_loaded(names: &[String], loaded: &[String]) -> Result<String, String> {
    let missing: Vec<&str> = names
        .iter()
        .filter(|n| !loaded.contains(n))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        return Ok(format!("alerting rules loaded: {}", names.join(", ")));
    }
    let have = if loaded.is_empty() {
        "none are loaded".to_string()
    } else {
        format!("loaded: {}", loaded.join(", "))
    };
    Err(format!("alerting rules not loaded: {} ({have})", missing.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(values: &[f64]) -> Vec<Series> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Series {
                labels: [("job".to_string(), format!("s{i}"))].into(),
                value: *v,
            })
            .collect()
    }

    #[test]
    fn expectations_hold_or_say_what_did_not() {
        let all_one = QueryExpect {
            min_series: Some(2),
            all: Some(Compare {
                equals: Some(1.0),
                ..Compare::default()
            }),
            ..QueryExpect::default()
        };
        assert!(judge(&series(&[1.0, 1.0]), &all_one).is_ok());
        let err = judge(&series(&[1.0, 0.0]), &all_one).unwrap_err();
        assert!(err.contains("{job=\"s1\"} = 0"), "{err}");
        assert!(
            judge(&series(&[1.0]), &all_one)
                .unwrap_err()
                .contains("at least 2 series, got 1")
        );
        let empty = QueryExpect {
            empty: Some(true),
            ..QueryExpect::default()
        };
        assert!(judge(&[], &empty).is_ok());
        assert!(judge(&series(&[1.0]), &empty).is_err());
        assert!(
            judge(&[], &QueryExpect::default()).is_err(),
            "no expectation: some series"
        );
        let value = QueryExpect {
            value: Some(Compare {
                below: Some(0.005),
                ..Compare::default()
            }),
            ..QueryExpect::default()
        };
        assert!(judge(&series(&[0.001]), &value).is_ok());
        assert!(judge(&series(&[f64::NAN]), &value).is_err(), "NaN meets no bound");
        assert!(
            judge(&series(&[0.001, 0.001]), &value)
                .unwrap_err()
                .contains("one value, got 2")
        );
    }

    #[test]
    fn missing_rules_are_named() {
        let loaded = vec!["HighErrorRate".to_string()];
        assert!(rules_loaded(&["HighErrorRate".into()], &loaded).is_ok());
        let err = rules_loaded(&["HighErrorRate".into(), "HighLatency".into()], &loaded).unwrap_err();
        assert_eq!(err, "alerting rules not loaded: HighLatency (loaded: HighErrorRate)");
    }
}
