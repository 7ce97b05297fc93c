//! Prometheus's HTTP API as the steps use it: instant queries, range queries (for
//! baselines) and the loaded alerting rules.
//!
//! Theory of operation: every request goes through the run's client with the source's
//! headers and a total timeout, and its answer is read into [`Series`] values. Whatever
//! goes wrong (refused, timed out, a non-JSON body, `"status": "error"`) is one error line
//! naming the source and what Prometheus said; callers mask it before showing it. A value
//! Prometheus writes as `NaN` (a rate over no traffic, 0/0) is kept as `NaN`: callers
//! decide that it is no data.

mod answer;

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::StepContext;
use crate::runbook::model::PromSource;
pub(crate) use answer::Series;

/// The most of an error body quoted in a message.
const QUOTED: usize = 200;

/// One instant query at the current time: its series (a scalar is one unlabelled series).
pub(crate) async fn instant(source: &PromSource, promql: &str, ctx: &StepContext<'_>) -> Result<Vec<Series>, String> {
    let data = get(source, "api/v1/query", &[("query", promql)], ctx).await?;
    answer::instant(&data).map_err(|e| format!("prometheus `{}`: {e}", source.name))
}

/// The average of a one-value query over `[end - window, end]`, through the range API,
/// sampled at `step`; `None` when no sample in the window had a number.
pub(crate) async fn average(
    source: &PromSource,
    promql: &str,
    end: DateTime<Utc>,
    window: Duration,
    ctx: &StepContext<'_>,
) -> Result<Option<f64>, String> {
    let span = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::hours(1));
    let start = end - span;
    // At most 240 points: Prometheus refuses more than 11,000 and the average needs few.
    let step = (window.as_secs_f64() / 240.0).max(1.0);
    let (start, end, step) = (
        format!("{:.3}", start.timestamp_millis() as f64 / 1000.0),
        format!("{:.3}", end.timestamp_millis() as f64 / 1000.0),
        format!("{step:.3}"),
    );
    let params = [("query", promql), ("start", &start), ("end", &end), ("step", &step)];
    let data = get(source, "api/v1/query_range", &params, ctx).await?;
    answer::average(&data).map_err(|e| format!("prometheus `{}`: {e}", source.name))
}

/// The names of the alerting rules Prometheus has loaded.
pub(crate) async fn alert_rules(source: &PromSource, ctx: &StepContext<'_>) -> Result<Vec<String>, String> {
    let data = get(source, "api/v1/rules", &[("type", "alert")], ctx).await?;
    answer::alert_rules(&data).map_err(|e| format!("prometheus `{}`: {e}", source.name))
}

/// One GET of the API: the `data` of a successful answer.
async fn get(
    source: &PromSource,
    path: &str,
    params: &[(&str, &str)],
    ctx: &StepContext<'_>,
) -> Result<serde_json::Value, String> {
    let base = source.url.render(ctx.run_id);
    let url = format!("{}/{path}", base.trim_end_matches('/'));
    let mut request = ctx.http.get(&url).query(params).timeout(ctx.timeout);
    for (name, value) in &source.headers {
        request = request.header(name, value.render(ctx.run_id));
    }
    let at = |what: String| format!("prometheus `{}` ({url}): {what}", source.name);
    let response = request.send().await.map_err(|e| at(describe(&e, ctx.timeout)))?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| at(describe(&e, ctx.timeout)))?;
    answer::data(status.as_u16(), &body).map_err(at)
}

/// A reqwest error in words, with its cause (reqwest's own text is often "error sending
/// request" alone).
fn describe(e: &reqwest::Error, limit: Duration) -> String {
    if e.is_timeout() {
        return format!("no answer within {}", crate::runbook::duration::format(limit));
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

/// A body quoted in a message: one line, bounded.
fn quote(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(QUOTED) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}
