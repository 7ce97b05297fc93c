//! Text shared by the human and Markdown renderings of `status`: a step's timing, the
//! services of a rolling restart, and a monitor's windows (sparklines and the windows worth
//! reading), so both say the same thing in the same words.

use std::time::Duration;

use super::escape::one_line;
use super::mark::StepMark;
use super::status::{MonitorView, StepLine};
use super::trend::{sparkline, window_line};
use crate::event::Sample;
use crate::runbook::duration::format as dur;

/// Sparklines of the error rate and p99 against the first rule on each metric, and the
/// windows worth reading: those that breached a rule (at most [`NOTABLE`]) and the last.
pub(super) fn monitor_lines(m: &MonitorView, indent: &str) -> Vec<String> {
    let mut lines = if m.probes == 0 && m.samples.iter().any(|s| !s.queries.is_empty()) {
        query_lines(m, indent)
    } else {
        probe_lines(m, indent)
    };
    lines.extend(window_lines(m, indent));
    lines
}

/// Sparklines of each Prometheus query against its first rule's threshold, and the
/// baseline they were compared with.
fn query_lines(m: &MonitorView, indent: &str) -> Vec<String> {
    let mut lines = vec![format!("{indent}{} windows of prometheus queries", m.windows)];
    if let Some(b) = &m.baseline {
        lines.push(format!("{indent}{}", one_line(&super::trend::baseline_line(None, b))));
    }
    let names: std::collections::BTreeSet<&String> = m.samples.iter().flat_map(|s| s.queries.keys()).collect();
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    for name in names {
        let values: Vec<Option<f64>> = m
            .samples
            .iter()
            .map(|s| s.queries.get(name).copied().flatten())
            .collect();
        let worst = values.iter().flatten().copied().fold(0.0_f64, f64::max);
        let limit = m.rules.iter().find(|r| &r.metric == name).map(|r| r.above);
        let scale = limit.unwrap_or(worst).max(f64::MIN_POSITIVE);
        let over = limit.map_or_else(String::new, |l| {
            format!("  (█ = over {})", super::trend::show_value(name, l, 0))
        });
        lines.push(format!("{indent}{name:width$} {}{over}", sparkline(&values, scale)));
    }
    lines
}

/// The error rate and p99 of the probes.
fn probe_lines(m: &MonitorView, indent: &str) -> Vec<String> {
    let threshold = |metric: &str, fallback: f64| {
        m.samples
            .first()
            .and_then(|s| s.rules.iter().find(|r| r.rule.starts_with(metric)).map(|r| r.above))
            .unwrap_or(fallback)
    };
    let errors: Vec<Option<f64>> = m.samples.iter().map(|s| s.error_rate).collect();
    let p99: Vec<Option<f64>> = m.samples.iter().map(|s| s.p99_ms).collect();
    let p99_limit = threshold("p99_ms", m.worst_p99_ms.unwrap_or(1.0).max(1.0));
    vec![
        format!(
            "{indent}{} windows, {} probes, {} errors; worst error rate {}, worst p99 {}",
            m.windows,
            m.probes,
            m.errors,
            m.worst_error_rate.map_or("-".into(), |e| format!("{:.1}%", e * 100.0)),
            m.worst_p99_ms.map_or("-".into(), |p| format!("{p:.1}ms")),
        ),
        format!(
            "{indent}error rate {}  (█ = over {}%)",
            sparkline(&errors, threshold("error_rate", 1.0)),
            threshold("error_rate", 1.0) * 100.0
        ),
        format!(
            "{indent}p99        {}  (█ = over {p99_limit}ms)",
            sparkline(&p99, p99_limit)
        ),
    ]
}

/// The windows worth reading, and the rule that held.
fn window_lines(m: &MonitorView, indent: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let tripped: &[u32] = m.trigger.as_ref().map_or(&[], |t| &t.windows);
    let mut notable: Vec<&Sample> = m
        .samples
        .iter()
        .filter(|s| s.rules.iter().any(|r| r.breach) || tripped.contains(&s.window))
        .collect();
    if notable.len() > NOTABLE {
        notable.drain(..notable.len() - NOTABLE);
    }
    if let Some(last) = m
        .samples
        .last()
        .filter(|l| notable.last().is_none_or(|n| n.window != l.window))
    {
        notable.push(last);
    }
    for s in notable {
        let mark = if tripped.contains(&s.window) {
            " ← tripped"
        } else {
            ""
        };
        lines.push(format!("{indent}{}{mark}", one_line(&window_line(s))));
        if let (false, Some(e)) = (mark.is_empty(), &s.first_error) {
            lines.push(format!("{indent}  first error: {}", one_line(e)));
        }
    }
    if let Some(t) = &m.trigger {
        let w: Vec<String> = t.windows.iter().map(|w| format!("w{w}")).collect();
        lines.push(format!("{indent}rule held: {} over {}", one_line(&t.rule), w.join(" ")));
    }
    lines
}

/// The most breaching windows a report lists one by one.
const NOTABLE: usize = 10;

/// Services of a rolling restart and a monitor's windows, indented under their step.
pub(super) fn details(s: &StepLine, indent: &str) -> String {
    let mut out = String::new();
    for svc in &s.services {
        let mark = StepMark::from(svc.result).glyph();
        let why = one_line(svc.reason.as_deref().unwrap_or_default());
        out.push_str(&format!(
            "{indent}{mark} batch {}: {}  {why}\n",
            svc.batch,
            one_line(&svc.service)
        ));
    }
    if let Some(m) = &s.monitor {
        for line in monitor_lines(m, indent) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// ` (1.2s, 3 attempts)` after a step title; empty when the step never ran.
pub(super) fn took(line: &StepLine) -> String {
    let mut parts = Vec::new();
    if let Some(ms) = line.duration_ms {
        parts.push(dur(Duration::from_millis(ms)));
    }
    if line.attempts > 1 {
        parts.push(format!("{} attempts", line.attempts));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}
