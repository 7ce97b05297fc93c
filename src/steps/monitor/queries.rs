//! A monitor's Prometheus queries: their values in one window, and their baseline.
//!
//! Every query of a window runs concurrently under the probes' limit. A query's value is
//! its one number: a scalar, or exactly one series. An empty result, several series, a
//! `NaN` or infinite value, an error or a timeout is no data (`on_no_data` decides), and
//! the first such reason goes into the window's `first_error`.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::join_all;

use crate::event::Baseline;
use crate::runbook::model::MetricQuery;
use crate::steps::StepContext;
use crate::steps::prometheus;

/// The queries' values in one window, and the first reason one had none.
pub(super) async fn evaluate(
    queries: &[MetricQuery],
    ctx: &StepContext<'_>,
) -> (BTreeMap<String, Option<f64>>, Option<String>) {
    let answers = join_all(queries.iter().map(|q| async move {
        let promql = q.promql.render(ctx.run_id);
        let found = match tokio::time::timeout(ctx.timeout, prometheus::instant(&q.source, &promql, ctx)).await {
            Ok(Ok(series)) => one_value(&series),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(format!(
                "prometheus `{}`: no answer within {}",
                q.source.name,
                crate::runbook::duration::format(ctx.timeout)
            )),
        };
        (q.name.clone(), found.map_err(|e| format!("query `{}`: {e}", q.name)))
    }))
    .await;
    let mut values = BTreeMap::new();
    let mut first_error = None;
    for (name, found) in answers {
        match found {
            Ok(v) => {
                values.insert(name, Some(v));
            }
            Err(e) => {
                first_error.get_or_insert_with(|| ctx.redactor.mask(&e).into_owned());
                values.insert(name, None);
            }
        }
    }
    (values, first_error)
}

/// The one finite number of an answer.
fn one_value(series: &[prometheus::Series]) -> Result<f64, String> {
    match series {
        [] => Err("no series (no data)".to_string()),
        [one] if one.value.is_finite() => Ok(one.value),
        [one] => Err(format!("value {} (no data)", one.value)),
        many => Err(format!(
            "{} series; a monitor query needs one value (aggregate it, e.g. with sum())",
            many.len()
        )),
    }
}

/// Every query averaged over `window` ending at `end` (when step `before` started).
pub(super) async fn baseline(
    queries: &[MetricQuery],
    before: &str,
    end: DateTime<Utc>,
    window: Duration,
    ctx: &StepContext<'_>,
) -> Baseline {
    let answers = join_all(queries.iter().map(|q| async move {
        let promql = q.promql.render(ctx.run_id);
        let found = prometheus::average(&q.source, &promql, end, window, ctx).await;
        (q.name.clone(), found)
    }))
    .await;
    let mut values = BTreeMap::new();
    let mut errors = BTreeMap::new();
    for (name, found) in answers {
        match found {
            Ok(v) => {
                if v.is_none() {
                    errors.insert(name.clone(), "no samples in the window".to_string());
                }
                values.insert(name, v);
            }
            Err(e) => {
                errors.insert(name.clone(), ctx.redactor.mask(&e).into_owned());
                values.insert(name, None);
            }
        }
    }
    let span = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::zero());
    Baseline {
        before: before.to_owned(),
        from: end - span,
        to: end,
        values,
        errors,
    }
}
