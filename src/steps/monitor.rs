//! `monitor`: probes every `interval` for `duration`, journals each window's figures, and
//! asks for the rollback the moment a `rollback_when` rule holds.
//!
//! Theory of operation: window `n` starts at `start + (n-1) * interval` (a fixed schedule,
//! so slow probes do not stretch the watch). All probes of a window run concurrently, each
//! limited to the interval minus a small margin, so a window's figures are ready before the
//! next window is due. The figures and every rule's reading are journaled as one sample;
//! a rule that holds is journaled as `trigger_fired` and ends the step with
//! [`Escalation::Rollback`]. The time from the window's end to that escalation is only the
//! reduction and the journal write, far under the promised `interval + 1s`.
//!
//! Prometheus `queries` run beside the probes in each window (`queries.rs`). A monitor
//! with a `baseline` measures it once, as soon as the step that ends its window has started
//! (at once when it already has), journals it, and reuses a journaled one on resume.

mod queries;
mod rules;
mod window;

use std::time::Duration;

use futures_util::future::join_all;
use tokio::time::Instant;

use super::http::probe;
use super::kind::Kind;
use super::{Failure, Live, StepContext, StepOutcome};
use crate::event::{Escalation, Event, Sample};
use crate::runbook::Runbook;
use crate::runbook::duration::format as dur;
use crate::runbook::model::{Hold, Margin, Monitor, Rule, Threshold};
use rules::{Judgement, RuleState};

/// Part of each interval kept free after the probes' own limit.
const MARGIN: Duration = Duration::from_millis(100);

impl Kind for Monitor {
    fn describe(&self, _runbook: &Runbook) -> String {
        let rules: Vec<String> = self.rollback_when.iter().map(describe_rule).collect();
        let rules = if rules.is_empty() {
            "no rollback rules".into()
        } else {
            format!("roll back when {}", rules.join(" or "))
        };
        let mut what = Vec::new();
        if !self.probes.is_empty() {
            what.push(format!("{} probe(s)", self.probes.len()));
        }
        if !self.queries.is_empty() {
            let names: Vec<&str> = self.queries.iter().map(|q| q.name.as_str()).collect();
            what.push(format!("prometheus {}", names.join(", ")));
        }
        let baseline = match &self.baseline {
            Some(b) => format!(
                "; baseline: {} before `{}`",
                dur(b.window),
                b.before.as_deref().unwrap_or("the first change")
            ),
            None => String::new(),
        };
        let background = if self.background { " in the background" } else { "" };
        format!(
            "watch {} every {} for {}{background}{baseline}; {rules}",
            what.join(" and "),
            dur(self.interval),
            dur(self.duration)
        )
    }

    /// A monitor's Prometheus queries are asked once: each must get an answer (whatever
    /// its value). Probes of services are not sent: the watch itself does that.
    async fn probe(&self, ctx: &StepContext<'_>) -> Option<Result<String, Failure>> {
        if self.queries.is_empty() {
            return None;
        }
        for q in &self.queries {
            let promql = q.promql.render(ctx.run_id);
            if let Err(e) = crate::steps::prometheus::instant(&q.source, &promql, ctx).await {
                return Some(Err(Failure::new(format!("query `{}`: {e}", q.name))));
            }
        }
        Some(Ok(format!("prometheus answered its {} queries", self.queries.len())))
    }

    async fn execute(&self, ctx: &StepContext<'_>) -> StepOutcome {
        match ctx.live {
            Some(live) => run(self, ctx, live).await,
            None => ctx.fail("a monitor needs the run's progress channel to journal its windows"),
        }
    }
}

/// Runs a monitor's watch to its end (a background monitor's task calls it directly).
pub(crate) async fn watch(monitor: &Monitor, ctx: &StepContext<'_>) -> StepOutcome {
    monitor.execute(ctx).await
}

/// A rule as plans show it: `error_rate > 0.05 for 5m`.
fn describe_rule(r: &Rule) -> String {
    let threshold = match r.threshold {
        Threshold::Above(limit) => format!("> {limit}"),
        Threshold::AboveBaseline(m) => format!("> baseline + {}", margin(m)),
        Threshold::BelowBaseline(m) => format!("< baseline - {}", margin(m)),
    };
    match r.hold {
        Hold::For(d) => format!("{} {threshold} for {}", r.metric, dur(d)),
        Hold::Consecutive(n) => format!("{} {threshold} in {n} windows in a row", r.metric),
    }
}

fn margin(m: Margin) -> String {
    match m {
        Margin::Percent(p) => format!("{p}%"),
        Margin::Absolute(a) => format!("{a}"),
    }
}

/// How many windows a monitor watches: its duration in whole intervals, at least one.
pub fn monitor_windows(monitor: &Monitor) -> u32 {
    window_count(monitor.duration, monitor.interval.max(Duration::from_millis(1)))
}

async fn run(monitor: &Monitor, ctx: &StepContext<'_>, live: &Live<'_>) -> StepOutcome {
    let interval = monitor.interval.max(Duration::from_millis(1));
    let windows = window_count(monitor.duration, interval);
    let probe_limit = interval
        .saturating_sub(MARGIN.min(interval / 4))
        .max(Duration::from_millis(1));
    let probe_ctx = StepContext {
        timeout: probe_limit,
        ..*ctx
    };
    let mut rules: Vec<RuleState> = monitor
        .rollback_when
        .iter()
        .map(|r| RuleState::new(r, interval))
        .collect();
    let mut baseline = live.baseline.map(|b| b.values.clone());
    let start = Instant::now();
    let mut totals = Totals::default();
    for number in 1..=windows {
        let window_start = start + interval * (number - 1);
        tokio::time::sleep_until(window_start).await;
        if baseline.is_none() {
            baseline = measure_baseline(monitor, &probe_ctx, live).await;
        }
        let figures = observe(monitor, &probe_ctx, interval).await;
        // The window spans the whole interval: wait for its end before judging it.
        tokio::time::sleep_until(window_start + interval).await;
        totals.add(&figures);
        let (readings, judgement) = rules::judge(&mut rules, number, &figures, monitor.on_no_data, baseline.as_ref());
        let first_error = figures.first_error.clone();
        live.report(Event::MonitorSample {
            step: ctx.step_id.to_string(),
            sample: sample(number, figures, readings),
        });
        match judgement {
            Judgement::Fine => {}
            Judgement::Holds { rule, windows } => return tripped(ctx, live, rule, windows, first_error),
            Judgement::NoData { rule } => {
                let reason = format!(
                    "window {number} had no data for rule `{rule}` (on_no_data: pause){}",
                    first_error.map(|e| format!(": {e}")).unwrap_or_default()
                );
                return escalated(reason, Escalation::Pause);
            }
        }
    }
    StepOutcome::Done {
        detail: Some(totals.detail(windows, monitor)),
        output: None,
    }
}

/// The baseline, measured and journaled once the step that ends its window has started;
/// `None` while it has not (or when the monitor has no baseline).
async fn measure_baseline(
    monitor: &Monitor,
    ctx: &StepContext<'_>,
    live: &Live<'_>,
) -> Option<std::collections::BTreeMap<String, Option<f64>>> {
    let spec = monitor.baseline.as_ref()?;
    let before = spec.before.as_deref()?;
    let end = live.started(before)?;
    let measured = queries::baseline(&monitor.queries, before, end, spec.window, ctx).await;
    let values = measured.values.clone();
    live.report(Event::BaselineMeasured {
        step: ctx.step_id.to_string(),
        baseline: measured,
    });
    Some(values)
}

/// One window's probes and queries, run concurrently.
async fn observe(monitor: &Monitor, ctx: &StepContext<'_>, interval: Duration) -> window::Figures {
    let probes = join_all(monitor.probes.iter().map(|check| async {
        // A probe that overruns its limit (it should not) is cut at the window's end.
        match tokio::time::timeout(interval, probe(check, ctx)).await {
            Ok(probed) => probed,
            Err(_) => super::http::Probed {
                answered_in: None,
                failure: Some(format!("no answer within {}", dur(interval))),
            },
        }
    }));
    let (results, (values, query_error)) = tokio::join!(probes, queries::evaluate(&monitor.queries, ctx));
    let mut figures = window::figures(results);
    figures.queries = values;
    if figures.first_error.is_none() {
        figures.first_error = query_error;
    }
    figures
}

fn sample(number: u32, figures: window::Figures, rules: Vec<crate::event::RuleReading>) -> Sample {
    Sample {
        window: number,
        count: figures.count,
        errors: figures.errors,
        error_rate: figures.error_rate,
        p50_ms: figures.p50_ms,
        p95_ms: figures.p95_ms,
        p99_ms: figures.p99_ms,
        rules,
        first_error: figures.first_error,
        queries: figures.queries,
    }
}

/// A rule held: journaled, and the step ends asking for the rollback.
fn tripped(
    ctx: &StepContext<'_>,
    live: &Live<'_>,
    rule: String,
    windows: Vec<u32>,
    first_error: Option<String>,
) -> StepOutcome {
    live.report(Event::TriggerFired {
        step: ctx.step_id.to_string(),
        rule: rule.clone(),
        windows: windows.clone(),
    });
    let shown: Vec<String> = windows.iter().map(u32::to_string).collect();
    let mut reason = format!("rollback rule `{rule}` held over window(s) {}", shown.join(", "));
    if let Some(e) = first_error {
        reason.push_str(&format!("; last window's first error: {e}"));
    }
    escalated(reason, Escalation::Rollback)
}

/// What a whole watch saw, for the step's detail.
#[derive(Default)]
struct Totals {
    probes: u64,
    errors: u64,
    worst_p99: Option<f64>,
}

impl Totals {
    fn add(&mut self, figures: &window::Figures) {
        self.probes += u64::from(figures.count);
        self.errors += u64::from(figures.errors);
        if let Some(p99) = figures.p99_ms {
            self.worst_p99 = Some(self.worst_p99.map_or(p99, |w: f64| w.max(p99)));
        }
    }

    fn detail(&self, windows: u32, monitor: &Monitor) -> String {
        let seen = if monitor.probes.is_empty() {
            match monitor.queries.len() {
                1 => "1 prometheus query each window".to_string(),
                n => format!("{n} prometheus queries each window"),
            }
        } else {
            let p99 = self
                .worst_p99
                .map_or("no answers".to_string(), |p| format!("worst p99 {p:.1}ms"));
            format!("{} errors in {} probes, {p99}", self.errors, self.probes)
        };
        format!("{windows} windows over {}: {seen}; no rule held", dur(monitor.duration))
    }
}

/// A failed watch that asks the engine for more than its `on_failure`.
fn escalated(reason: String, escalation: Escalation) -> StepOutcome {
    StepOutcome::Failed {
        reason,
        hint: None,
        output: None,
        escalation: Some(escalation),
    }
}

/// Windows in a watch: the duration in whole intervals, at least one.
fn window_count(duration: Duration, interval: Duration) -> u32 {
    let ratio = duration.as_secs_f64() / interval.as_secs_f64();
    let n = (ratio - 1e-9).ceil().max(1.0);
    if n >= f64::from(u32::MAX) { u32::MAX } else { n as u32 }
}
