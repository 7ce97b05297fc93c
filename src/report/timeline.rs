//! The run on a time axis, as inline SVG: one row per step (phases as bands, then the
//! rollback), a bar from the step's start to its end coloured by its status, a diamond where
//! a gate was approved, and a red line where the rollback started. Gaps between bars are
//! time spent waiting (for a person, a window, or the next `run`).

use std::fmt::Write;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::escape::esc;
use super::status::{StatusView, StepLine};
use crate::runbook::duration::format as dur;

const W: f64 = 1040.0;
const LABEL: f64 = 250.0;
const RIGHT: f64 = 20.0;
const ROW: f64 = 20.0;
const TOP: f64 = 26.0;

/// The timeline of the whole run.
pub fn timeline(v: &StatusView) -> String {
    let start = v.started_at;
    let end = v.finished_at.unwrap_or(v.updated_at);
    let span_ms = (end - start).num_milliseconds().max(1) as f64;
    let pw = W - LABEL - RIGHT;
    let x = |at: DateTime<Utc>| LABEL + ((at - start).num_milliseconds().max(0) as f64 / span_ms).min(1.0) * pw;
    let mut groups: Vec<(String, &[StepLine])> =
        v.phases.iter().map(|p| (p.title.clone(), p.steps.as_slice())).collect();
    if let Some(rb) = &v.rollback {
        groups.push(("Rollback".into(), rb.steps.as_slice()));
    }
    let rows: usize = groups.iter().map(|(_, steps)| steps.len() + 1).sum();
    let h = TOP + rows as f64 * ROW + 10.0;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"timeline\" viewBox=\"0 0 {W} {h}\" width=\"{W}\" height=\"{h}\" role=\"img\"><title>timeline of run {}</title>",
        esc(&v.run_id)
    );
    for i in 0..=4 {
        let tx = LABEL + pw * f64::from(i) / 4.0;
        let ms = (span_ms * f64::from(i) / 4.0) as u64;
        let _ = write!(
            s,
            "<line class=\"grid\" x1=\"{tx:.1}\" x2=\"{tx:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" /><text class=\"tick\" x=\"{tx:.1}\" y=\"14\" text-anchor=\"middle\">+{}</text>",
            TOP - 6.0,
            h - 6.0,
            dur(Duration::from_millis(ms))
        );
    }
    let mut y = TOP;
    for (n, (title, steps)) in groups.iter().enumerate() {
        let band = if n % 2 == 0 { "band" } else { "band odd" };
        let _ = write!(
            s,
            "<rect class=\"{band}\" x=\"0\" y=\"{y:.1}\" width=\"{W}\" height=\"{:.1}\" /><text class=\"phase\" x=\"4\" y=\"{:.1}\">{}</text>",
            (steps.len() + 1) as f64 * ROW,
            y + 14.0,
            esc(title)
        );
        y += ROW;
        for step in *steps {
            row(&mut s, step, y, &x);
            y += ROW;
        }
    }
    if let Some(rb) = &v.rollback {
        let rx = x(rb.started_at);
        let _ = write!(
            s,
            "<line class=\"rollback\" x1=\"{rx:.1}\" x2=\"{rx:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"><title>rollback started {}</title></line>",
            TOP - 6.0,
            h - 6.0,
            rb.started_at.format("%H:%M:%S UTC")
        );
    }
    s.push_str("</svg>");
    s
}

/// One step: its label, its bar (when it ran), and the gate's approval mark.
fn row(s: &mut String, step: &StepLine, y: f64, x: &dyn Fn(DateTime<Utc>) -> f64) {
    let _ = write!(
        s,
        "<text class=\"slabel {}\" x=\"14\" y=\"{:.1}\">{}</text>",
        step.status,
        y + 14.0,
        esc(&truncate(&step.id, 34))
    );
    if let Some(started) = step.started_at {
        let end = step
            .finished_at
            .filter(|f| *f >= started)
            .or_else(|| {
                step.duration_ms
                    .map(|ms| started + chrono::Duration::milliseconds(ms as i64))
            })
            .unwrap_or(started);
        let (x0, x1) = (x(started), x(end));
        let took = step
            .duration_ms
            .map(|ms| dur(Duration::from_millis(ms)))
            .unwrap_or_default();
        let _ = write!(
            s,
            "<rect class=\"bar {}\" data-step=\"{}\" x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"12\" rx=\"2\"><title>{} — {} {}</title></rect>",
            step.status,
            esc(&step.id),
            y + 4.0,
            (x1 - x0).max(2.0),
            esc(&step.title),
            step.status.words(),
            took
        );
        if !took.is_empty() {
            // After the bar, or before it when the bar ends near the right edge.
            let (tx, anchor) = if x1 + 60.0 < W {
                (x1.max(x0 + 2.0) + 4.0, "start")
            } else {
                (x0 - 4.0, "end")
            };
            let _ = write!(
                s,
                "<text class=\"took\" x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{took}</text>",
                y + 14.0
            );
        }
    }
    if let Some(g) = &step.gate {
        let gx = x(g.at);
        let role = g.role.as_deref().map(|r| format!(" as {r}")).unwrap_or_default();
        let _ = write!(
            s,
            "<path class=\"gate\" d=\"M{gx:.1} {:.1} l6 6 l-6 6 l-6 -6 z\"><title>approved by {}{} at {}</title></path>",
            y + 4.0,
            esc(&g.by),
            esc(&role),
            g.at.format("%Y-%m-%d %H:%M:%S UTC")
        );
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
