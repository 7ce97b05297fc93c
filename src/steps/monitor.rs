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

mod rules;
mod window;

use std::time::Duration;

use futures_util::future::join_all;
use tokio::time::Instant;

use super::http::probe;
use super::kind::Kind;
use super::{Live, StepContext, StepOutcome};
use crate::event::{Escalation, Event, Sample};
use crate::runbook::Runbook;
use crate::runbook::duration::format as dur;
use crate::runbook::model::{Hold, Monitor, Rule};
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
        format!(
            "watch {} probe(s) every {} for {}; {rules}",
            self.probes.len(),
            dur(self.interval),
            dur(self.duration)
        )
    }

    async fn execute(&self, ctx: &StepContext<'_>) -> StepOutcome {
        match ctx.live {
            Some(live) => run(self, ctx, live).await,
            None => ctx.fail("a monitor needs the run's progress channel to journal its windows"),
        }
    }
}

/// A rule as plans show it: `error_rate > 0.05 for 5m`.
fn describe_rule(r: &Rule) -> String {
    let metric = serde_json::to_value(r.metric)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    match r.hold {
        Hold::For(d) => format!("{metric} > {} for {}", r.above, dur(d)),
        Hold::Consecutive(n) => format!("{metric} > {} in {n} windows in a row", r.above),
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
    let start = Instant::now();
    let (mut probes, mut errors) = (0u64, 0u64);
    let mut worst_p99: Option<f64> = None;
    for number in 1..=windows {
        let window_start = start + interval * (number - 1);
        tokio::time::sleep_until(window_start).await;
        let results = join_all(monitor.probes.iter().map(|check| async {
            // A probe that overruns its limit (it should not) is cut at the window's end.
            match tokio::time::timeout(interval, probe(check, &probe_ctx)).await {
                Ok(probed) => probed,
                Err(_) => super::http::Probed {
                    answered_in: None,
                    failure: Some(format!("no answer within {}", dur(interval))),
                },
            }
        }))
        .await;
        // The window spans the whole interval: wait for its end before judging it.
        tokio::time::sleep_until(window_start + interval).await;
        let figures = window::figures(results);
        probes += u64::from(figures.count);
        errors += u64::from(figures.errors);
        if let Some(p99) = figures.p99_ms {
            worst_p99 = Some(worst_p99.map_or(p99, |w: f64| w.max(p99)));
        }
        let (readings, judgement) = rules::judge(&mut rules, number, &figures, monitor.on_no_data);
        let first_error = figures.first_error.clone();
        live.report(Event::MonitorSample {
            step: ctx.step_id.to_string(),
            sample: Sample {
                window: number,
                count: figures.count,
                errors: figures.errors,
                error_rate: figures.error_rate,
                p50_ms: figures.p50_ms,
                p95_ms: figures.p95_ms,
                p99_ms: figures.p99_ms,
                rules: readings,
                first_error: first_error.clone(),
            },
        });
        match judgement {
            Judgement::Fine => {}
            Judgement::Holds { rule, windows } => {
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
                return escalated(reason, Escalation::Rollback);
            }
            Judgement::NoData { rule } => {
                let reason = format!(
                    "window {number} had no data for rule `{rule}` (on_no_data: pause){}",
                    first_error.map(|e| format!(": {e}")).unwrap_or_default()
                );
                return escalated(reason, Escalation::Pause);
            }
        }
    }
    let p99 = worst_p99.map_or("no answers".to_string(), |p| format!("worst p99 {p:.1}ms"));
    let detail = format!(
        "{windows} windows over {}: {errors} errors in {probes} probes, {p99}; no rule held",
        dur(monitor.duration)
    );
    StepOutcome::Done {
        detail: Some(detail),
        output: None,
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
