//! A monitor's windows as inline SVG line charts, one per metric (error rate and p99, plus
//! any other metric a rule watches): one point per journaled window, a dashed line per rule
//! threshold, the windows that tripped the rule shaded, and the moment the rollback fired.
//!
//! The markup is plain SVG with classes and `data-` attributes (`point`, `data-window`,
//! `threshold`, `data-rule`, `rollback`) so tests and people can read it without a browser.
//! Built with maud like the page around it; rule names and step ids are spliced as
//! [`super::html::Text`].

use maud::{Markup, html};

use super::html::Text;
use super::status::MonitorView;
use super::timeline::f1;
use crate::event::Sample;

const W: f64 = 520.0;
const H: f64 = 220.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 14.0;
const TOP: f64 = 24.0;
const BOTTOM: f64 = 34.0;

/// The charts of one monitor step, side by side.
pub fn monitor_charts(step: &str, m: &MonitorView) -> Markup {
    let queries: Vec<&str> = m
        .samples
        .iter()
        .flat_map(|s| s.queries.keys().map(String::as_str))
        .fold(Vec::new(), |mut names, n| {
            if !names.contains(&n) {
                names.push(n);
            }
            names
        });
    // A monitor without probes charts its queries only.
    let mut metrics = if m.probes == 0 && !queries.is_empty() {
        Vec::new()
    } else {
        vec!["error_rate", "p99_ms"]
    };
    for metric in m.rules.iter().map(|r| r.metric.as_str()).chain(queries.iter().copied()) {
        if !metrics.contains(&metric) && (METRICS.contains(&metric) || queries.contains(&metric)) {
            metrics.push(metric);
        }
    }
    html! {
        div.charts { @for metric in metrics { (chart(step, m, metric)) } }
    }
}

/// A metric's value in a window, by the name rules use (a query's first).
fn value(metric: &str, s: &Sample) -> Option<f64> {
    if let Some(v) = s.queries.get(metric) {
        return *v;
    }
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

/// `12.5%`, `840.0ms`, or a plain number for a query metric of another unit.
fn show(metric: &str, v: f64) -> String {
    super::trend::show_value(metric, v, 1)
}

/// The plot area and scales of one chart.
struct Frame {
    /// Windows drawn (at least 1).
    n: f64,
    /// The top of the y axis.
    ymax: f64,
    /// Plot width and height.
    pw: f64,
    ph: f64,
}

impl Frame {
    fn x(&self, i: usize) -> f64 {
        LEFT + (i as f64 + 0.5) * self.pw / self.n
    }

    fn y(&self, v: f64) -> f64 {
        TOP + self.ph - (v / self.ymax).min(1.0) * self.ph
    }

    /// The width of one window's column.
    fn column(&self) -> f64 {
        self.pw / self.n
    }
}

fn chart(step: &str, m: &MonitorView, metric: &str) -> Markup {
    let rules: Vec<_> = m.rules.iter().filter(|r| r.metric == metric).collect();
    let top = m
        .samples
        .iter()
        .filter_map(|s| value(metric, s))
        .chain(rules.iter().map(|r| r.above))
        .chain(rules.iter().filter_map(|r| r.baseline))
        .fold(0.0_f64, f64::max);
    let floor = if metric.contains("error_rate") { 0.01 } else { 1.0 };
    let f = Frame {
        n: m.samples.len().max(1) as f64,
        ymax: (top * 1.2).max(floor),
        pw: W - LEFT - RIGHT,
        ph: H - TOP - BOTTOM,
    };
    let tripped: &[u32] = m.trigger.as_ref().map_or(&[], |t| &t.windows);
    html! {
        svg.chart data-step=(Text(step)) data-metric=(metric) viewBox={ "0 0 " (W) " " (H) } width=(W) height=(H)
            role="img" {
            title { (label(metric)) " of `" (Text(step)) "`, per window" }
            text.ctitle x=(LEFT) y="15" { (label(metric)) }
            // Tripped windows, shaded behind everything.
            @for (i, sample) in m.samples.iter().enumerate() {
                @if tripped.contains(&sample.window) {
                    rect.tripped x=(f1(f.x(i) - f.column() / 2.0)) y=(TOP) width=(f1(f.column())) height=(f.ph) {}
                }
            }
            (axes(m, metric, &f))
            @for r in &rules {
                @let y = f1(f.y(r.above));
                line.threshold data-rule=(Text(&r.rule)) x1=(LEFT) x2=(f1(W - RIGHT)) y1=(y) y2=(y) {
                    title { (Text(&r.rule)) }
                }
                text.tlabel x=(f1(W - RIGHT - 2.0)) y=(f1(f.y(r.above) - 4.0)) text-anchor="end" { (Text(&r.rule)) }
            }
            @for b in baselines(&rules) {
                @let y = f1(f.y(b));
                line.baseline data-baseline=(b) x1=(LEFT) x2=(f1(W - RIGHT)) y1=(y) y2=(y) {
                    title { "baseline " (show(metric, b)) " (before the change)" }
                }
                text.blabel x=(f1(LEFT + 4.0)) y=(f1(f.y(b) - 4.0)) { "baseline " (show(metric, b)) }
            }
            (series(m, metric, &f))
            (rollback_mark(m, &f))
        }
    }
}

/// The baselines of a metric's rules, each once.
fn baselines(rules: &[&super::status::RuleView]) -> Vec<f64> {
    let mut out: Vec<f64> = Vec::new();
    for b in rules.iter().filter_map(|r| r.baseline) {
        if !out.contains(&b) {
            out.push(b);
        }
    }
    out
}

/// The moment the rollback fired: after the last window that tripped the rule.
fn rollback_mark(m: &MonitorView, f: &Frame) -> Markup {
    let Some(t) = &m.trigger else { return html! {} };
    let last = t.windows.last().copied().unwrap_or(0);
    let Some(i) = m.samples.iter().position(|s| s.window == last) else {
        return html! {};
    };
    let rx = f.x(i) + f.column() / 2.0;
    html! {
        line.rollback x1=(f1(rx)) x2=(f1(rx)) y1=(TOP) y2=(f1(TOP + f.ph)) {
            title {
                (Text(&t.rule)) " held over " (t.windows.len()) " window(s): rollback fired at "
                (t.at.format("%H:%M:%S UTC"))
            }
        }
        text.rlabel x=(f1(rx - 3.0)) y=(f1(TOP + 12.0)) text-anchor="end" {
            "rollback fired " (t.at.format("%H:%M:%S"))
        }
    }
}

/// The frame, y ticks at 0 and the top, and window numbers along x.
fn axes(m: &MonitorView, metric: &str, f: &Frame) -> Markup {
    let base = H - BOTTOM;
    let tick = |v: f64| super::trend::show_value(metric, v, 0);
    let every = m.samples.len().div_ceil(10).max(1);
    html! {
        line.axis x1=(LEFT) x2=(LEFT) y1=(TOP) y2=(base) {}
        line.axis x1=(LEFT) x2=(f1(W - RIGHT)) y1=(base) y2=(base) {}
        @for (v, yy) in [(0.0, base), (f.ymax, TOP)] {
            text.tick x=(f1(LEFT - 4.0)) y=(f1(yy + 4.0)) text-anchor="end" { (tick(v)) }
        }
        @for (i, sample) in m.samples.iter().enumerate() {
            @if i % every == 0 || i + 1 == m.samples.len() {
                text.tick x=(f1(f.x(i))) y=(f1(base + 14.0)) text-anchor="middle" { "w" (sample.window) }
            }
        }
        text.tick x=(f1(LEFT + (W - LEFT - RIGHT) / 2.0)) y=(f1(H - 4.0)) text-anchor="middle" { "window" }
    }
}

/// The series: a polyline through windows with data (broken where one has none) and one
/// point per window, red when it breached a rule on this metric, hollow at 0 with no data.
fn series(m: &MonitorView, metric: &str, f: &Frame) -> Markup {
    let mut segment: Vec<String> = Vec::new();
    let mut segments = Vec::new();
    for (i, sample) in m.samples.iter().enumerate() {
        match value(metric, sample) {
            Some(v) => segment.push(format!("{:.1},{:.1}", f.x(i), f.y(v))),
            None => segments.push(std::mem::take(&mut segment)),
        }
    }
    segments.push(segment);
    html! {
        @for seg in segments.iter().filter(|seg| seg.len() > 1) {
            polyline.series points=(seg.join(" ")) {}
        }
        @for (i, sample) in m.samples.iter().enumerate() {
            @let breach = sample
                .rules
                .iter()
                .any(|r| r.breach && r.rule.split_whitespace().next() == Some(metric));
            @let class = if breach { "point breach" } else { "point" };
            @if let Some(v) = value(metric, sample) {
                circle class=(class) data-window=(sample.window) cx=(f1(f.x(i))) cy=(f1(f.y(v))) r="3.5" {
                    title {
                        "w" (sample.window) ": " (show(metric, v)) " (" (sample.count) " probes, "
                        (sample.errors) " errors)"
                    }
                }
            } @else {
                circle class={ (class) " nodata" } data-window=(sample.window) cx=(f1(f.x(i))) cy=(f1(f.y(0.0)))
                    r="3.5" {
                    title { "w" (sample.window) ": no data (" (sample.count) " probes)" }
                }
            }
        }
    }
}
