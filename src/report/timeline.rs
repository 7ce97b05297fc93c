//! The run on a time axis, as inline SVG: one row per step (phases as bands, then the
//! rollback), a bar from the step's start to its end coloured by its status, a diamond where
//! a gate was approved, and a red line where the rollback started. Gaps between bars are
//! time spent waiting (for a person, a window, or the next `run`).
//!
//! Built with maud like the page around it; journal text is spliced as
//! [`super::html::Text`], and every SVG element is closed (the page parses as XML).

use std::time::Duration;

use chrono::{DateTime, Utc};
use maud::{Markup, html};

use super::html::Text;
use super::status::{StatusView, StepLine};
use crate::runbook::duration::format as dur;

const W: f64 = 1040.0;
const LABEL: f64 = 250.0;
const RIGHT: f64 = 20.0;
const ROW: f64 = 20.0;
const TOP: f64 = 26.0;

/// `12.3`: coordinates with one decimal.
pub(super) fn f1(v: f64) -> String {
    format!("{v:.1}")
}

/// The timeline of the whole run.
pub fn timeline(v: &StatusView) -> Markup {
    let start = v.started_at;
    let end = v.finished_at.unwrap_or(v.updated_at);
    let span_ms = (end - start).num_milliseconds().max(1) as f64;
    let pw = W - LABEL - RIGHT;
    let x = |at: DateTime<Utc>| LABEL + ((at - start).num_milliseconds().max(0) as f64 / span_ms).min(1.0) * pw;
    let mut groups: Vec<(&str, &[StepLine])> = v
        .phases
        .iter()
        .map(|p| (p.title.as_str(), p.steps.as_slice()))
        .collect();
    if let Some(rb) = &v.rollback {
        groups.push(("Rollback", rb.steps.as_slice()));
    }
    let rows: usize = groups.iter().map(|(_, steps)| steps.len() + 1).sum();
    let h = TOP + rows as f64 * ROW + 10.0;
    let mut tops = Vec::with_capacity(groups.len());
    let mut y = TOP;
    for (_, steps) in &groups {
        tops.push(y);
        y += (steps.len() + 1) as f64 * ROW;
    }
    html! {
        svg.timeline viewBox={ "0 0 " (W) " " (h) } width=(W) height=(h) role="img" {
            title { "timeline of run " (Text(&v.run_id)) }
            @for i in 0..=4 {
                @let tx = LABEL + pw * f64::from(i) / 4.0;
                @let ms = (span_ms * f64::from(i) / 4.0) as u64;
                line.grid x1=(f1(tx)) x2=(f1(tx)) y1=(f1(TOP - 6.0)) y2=(f1(h - 6.0)) {}
                text.tick x=(f1(tx)) y="14" text-anchor="middle" { "+" (dur(Duration::from_millis(ms))) }
            }
            @for (n, ((title, steps), top)) in groups.iter().zip(&tops).enumerate() {
                rect class=(if n % 2 == 0 { "band" } else { "band odd" }) x="0" y=(f1(*top)) width=(W)
                    height=(f1((steps.len() + 1) as f64 * ROW)) {}
                text.phase x="4" y=(f1(top + 14.0)) { (Text(title)) }
                @for (i, step) in steps.iter().enumerate() {
                    (row(step, top + (i + 1) as f64 * ROW, &x))
                }
            }
            @if let Some(rb) = &v.rollback {
                @let rx = f1(x(rb.started_at));
                line.rollback x1=(rx) x2=(rx) y1=(f1(TOP - 6.0)) y2=(f1(h - 6.0)) {
                    title { "rollback started " (rb.started_at.format("%H:%M:%S UTC")) }
                }
            }
        }
    }
}

/// One step: its label, its bar (when it ran), and the gate's approval mark.
fn row(step: &StepLine, y: f64, x: &dyn Fn(DateTime<Utc>) -> f64) -> Markup {
    let took = step
        .duration_ms
        .map(|ms| dur(Duration::from_millis(ms)))
        .unwrap_or_default();
    let bar = step.started_at.map(|started| {
        let end = step
            .finished_at
            .filter(|f| *f >= started)
            .or_else(|| {
                step.duration_ms
                    .map(|ms| started + chrono::Duration::milliseconds(ms as i64))
            })
            .unwrap_or(started);
        (x(started), x(end))
    });
    html! {
        text class={ "slabel " (step.status) } x="14" y=(f1(y + 14.0)) { (Text(&truncate(&step.id, 34))) }
        @if let Some((x0, x1)) = bar {
            rect class={ "bar " (step.status) } data-step=(Text(&step.id)) x=(f1(x0)) y=(f1(y + 4.0))
                width=(f1((x1 - x0).max(2.0))) height="12" rx="2" {
                title { (Text(&step.title)) " — " (step.status.words()) " " (took) }
            }
            @if !took.is_empty() {
                // After the bar, or before it when the bar ends near the right edge.
                @let (tx, anchor) = if x1 + 60.0 < W { (x1.max(x0 + 2.0) + 4.0, "start") } else { (x0 - 4.0, "end") };
                text.took x=(f1(tx)) y=(f1(y + 14.0)) text-anchor=(anchor) { (took) }
            }
        }
        @if let Some(g) = &step.gate {
            path.gate d={ "M" (f1(x(g.at))) " " (f1(y + 4.0)) " l6 6 l-6 6 l-6 -6 z" } {
                title {
                    "approved by " (Text(&g.by))
                    @if let Some(role) = &g.role { " as " (Text(role)) }
                    " at " (g.at.format("%Y-%m-%d %H:%M:%S UTC"))
                }
            }
        }
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}
