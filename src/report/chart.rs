//! A monitor's windows as inline SVG line charts, one per metric (error rate and p99, plus
//! any other metric a rule watches): one point per journaled window, a dashed line per rule
//! threshold, the windows that tripped the rule shaded, and the moment the rollback fired.
//!
//! The markup is plain SVG with classes and `data-` attributes (`point`, `data-window`,
//! `threshold`, `data-rule`, `rollback`) so tests and people can read it without a browser.

use std::fmt::Write;

use super::escape::esc;
use super::status::MonitorView;
use crate::event::Sample;

const W: f64 = 520.0;
const H: f64 = 220.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 14.0;
const TOP: f64 = 24.0;
const BOTTOM: f64 = 34.0;

/// The charts of one monitor step, side by side.
pub fn monitor_charts(step: &str, m: &MonitorView) -> String {
    let mut metrics = vec!["error_rate", "p99_ms"];
    for r in &m.rules {
        if !metrics.contains(&r.metric.as_str()) && METRICS.contains(&r.metric.as_str()) {
            metrics.push(r.metric.as_str());
        }
    }
    let mut out = String::from("<div class=\"charts\">");
    for metric in metrics {
        out.push_str(&chart(step, m, metric));
    }
    out.push_str("</div>");
    out
}

/// A metric's value in a window, by the name rules use.
fn value(metric: &str, s: &Sample) -> Option<f64> {
    match metric {
        "error_rate" => s.error_rate,
        "p50_ms" => s.p50_ms,
        "p95_ms" => s.p95_ms,
        "p99_ms" => s.p99_ms,
        _ => None,
    }
}

/// The metrics a sample carries (and so can be drawn).
const METRICS: [&str; 4] = ["error_rate", "p50_ms", "p95_ms", "p99_ms"];

fn label(metric: &str) -> &str {
    match metric {
        "error_rate" => "error rate (%)",
        "p50_ms" => "p50 latency (ms)",
        "p95_ms" => "p95 latency (ms)",
        "p99_ms" => "p99 latency (ms)",
        other => other,
    }
}

/// `12.5%` or `840.0ms`.
fn show(metric: &str, v: f64) -> String {
    if metric == "error_rate" {
        format!("{:.1}%", v * 100.0)
    } else {
        format!("{v:.1}ms")
    }
}

fn chart(step: &str, m: &MonitorView, metric: &str) -> String {
    let n = m.samples.len().max(1) as f64;
    let rules: Vec<_> = m.rules.iter().filter(|r| r.metric == metric).collect();
    let top = m
        .samples
        .iter()
        .filter_map(|s| value(metric, s))
        .chain(rules.iter().map(|r| r.above))
        .fold(0.0_f64, f64::max);
    let floor = if metric == "error_rate" { 0.01 } else { 1.0 };
    let ymax = (top * 1.2).max(floor);
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let x = |i: usize| LEFT + (i as f64 + 0.5) * pw / n;
    let y = |v: f64| TOP + ph - (v / ymax).min(1.0) * ph;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"chart\" data-step=\"{}\" data-metric=\"{metric}\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\"><title>{} of `{}`, per window</title>",
        esc(step),
        label(metric),
        esc(step)
    );
    let _ = write!(
        s,
        "<text class=\"ctitle\" x=\"{LEFT}\" y=\"15\">{}</text>",
        label(metric)
    );
    // Tripped windows, shaded behind everything.
    let tripped: &[u32] = m.trigger.as_ref().map_or(&[], |t| &t.windows);
    for (i, sample) in m.samples.iter().enumerate() {
        if tripped.contains(&sample.window) {
            let _ = write!(
                s,
                "<rect class=\"tripped\" x=\"{:.1}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{ph}\" />",
                x(i) - pw / n / 2.0,
                pw / n
            );
        }
    }
    axes(&mut s, m, metric, ymax, &x);
    for r in &rules {
        let _ = write!(
            s,
            "<line class=\"threshold\" data-rule=\"{rule}\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"><title>{rule}</title></line><text class=\"tlabel\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{rule}</text>",
            W - RIGHT,
            W - RIGHT - 2.0,
            y(r.above) - 4.0,
            rule = esc(&r.rule),
            y = y(r.above),
        );
    }
    line(&mut s, m, metric, &x, &y);
    if let Some(t) = &m.trigger {
        let last = t.windows.last().copied().unwrap_or(0);
        if let Some(i) = m.samples.iter().position(|s| s.window == last) {
            let rx = x(i) + pw / n / 2.0;
            let _ = write!(
                s,
                "<line class=\"rollback\" x1=\"{rx:.1}\" x2=\"{rx:.1}\" y1=\"{TOP}\" y2=\"{:.1}\"><title>{} held over {} window(s): rollback fired at {}</title></line><text class=\"rlabel\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">rollback fired {}</text>",
                TOP + ph,
                esc(&t.rule),
                t.windows.len(),
                t.at.format("%H:%M:%S UTC"),
                rx - 3.0,
                TOP + 12.0,
                t.at.format("%H:%M:%S"),
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// The frame, y ticks at 0 and the top, and window numbers along x.
fn axes(s: &mut String, m: &MonitorView, metric: &str, ymax: f64, x: &dyn Fn(usize) -> f64) {
    let base = H - BOTTOM;
    let _ = write!(
        s,
        "<line class=\"axis\" x1=\"{LEFT}\" x2=\"{LEFT}\" y1=\"{TOP}\" y2=\"{base}\" /><line class=\"axis\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{base}\" y2=\"{base}\" />",
        W - RIGHT
    );
    for (v, yy) in [(0.0, base), (ymax, TOP)] {
        let text = if metric == "error_rate" {
            format!("{:.0}%", v * 100.0)
        } else {
            format!("{v:.0}ms")
        };
        let _ = write!(
            s,
            "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{text}</text>",
            LEFT - 4.0,
            yy + 4.0,
        );
    }
    let every = m.samples.len().div_ceil(10).max(1);
    for (i, sample) in m.samples.iter().enumerate() {
        if i % every == 0 || i + 1 == m.samples.len() {
            let _ = write!(
                s,
                "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">w{}</text>",
                x(i),
                base + 14.0,
                sample.window
            );
        }
    }
    let _ = write!(
        s,
        "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">window</text>",
        LEFT + (W - LEFT - RIGHT) / 2.0,
        H - 4.0
    );
}

/// The series: a polyline through windows with data (broken where one has none) and one
/// point per window, red when it breached a rule on this metric, hollow at 0 with no data.
fn line(s: &mut String, m: &MonitorView, metric: &str, x: &dyn Fn(usize) -> f64, y: &dyn Fn(f64) -> f64) {
    let mut segment: Vec<String> = Vec::new();
    let mut segments = Vec::new();
    for (i, sample) in m.samples.iter().enumerate() {
        match value(metric, sample) {
            Some(v) => segment.push(format!("{:.1},{:.1}", x(i), y(v))),
            None => segments.push(std::mem::take(&mut segment)),
        }
    }
    segments.push(segment);
    for seg in segments.iter().filter(|seg| seg.len() > 1) {
        let _ = write!(s, "<polyline class=\"series\" points=\"{}\" />", seg.join(" "));
    }
    for (i, sample) in m.samples.iter().enumerate() {
        let breach = sample
            .rules
            .iter()
            .any(|r| r.breach && r.rule.split_whitespace().next() == Some(metric));
        let class = if breach { "point breach" } else { "point" };
        match value(metric, sample) {
            Some(v) => {
                let _ = write!(
                    s,
                    "<circle class=\"{class}\" data-window=\"{w}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\"><title>w{w}: {} ({} probes, {} errors)</title></circle>",
                    x(i),
                    y(v),
                    show(metric, v),
                    sample.count,
                    sample.errors,
                    w = sample.window,
                );
            }
            None => {
                let _ = write!(
                    s,
                    "<circle class=\"{class} nodata\" data-window=\"{w}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\"><title>w{w}: no data ({} probes)</title></circle>",
                    x(i),
                    y(0.0),
                    sample.count,
                    w = sample.window,
                );
            }
        }
    }
}
