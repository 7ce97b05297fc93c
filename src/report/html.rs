//! `status --format html`: the evidence report as one self-contained page for people who
//! would rather look than read. Inline CSS, inline SVG, no scripts, no external assets; every
//! text from the journal is escaped by [`esc`]. The markup is well-formed XML (void elements
//! closed, attributes quoted), so a test can parse it with an XML parser.

use std::fmt::Write;
use std::time::Duration;

use super::chart::monitor_charts;
use super::escape::esc;
use super::mark::{StepMark, approval_word, cause_words, service_word};
use super::status::{StatusView, StepLine};
use super::timeline::timeline;
use crate::runbook::duration::format as dur;

const TIME: &str = "%Y-%m-%d %H:%M:%S UTC";
const BLANK: &str = "________________";

/// The evidence report as one HTML file.
pub fn html(v: &StatusView) -> String {
    let mut out = String::from("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\" />");
    let _ = write!(out, "<title>{} — {}</title>", esc(&v.title), esc(&v.run_id));
    out.push_str(STYLE);
    let _ = write!(out, "</head><body><h1>{}</h1>", esc(&v.title));
    let _ = write!(out, "<p class=\"outcome {}\">{}</p>", v.state, esc(&v.outcome));
    header(&mut out, v);
    out.push_str("<h2>Timeline</h2>");
    out.push_str(&timeline(v));
    for p in &v.phases {
        let _ = write!(out, "<h2>{}</h2><ul class=\"steps\">", esc(&p.title));
        for s in &p.steps {
            step(&mut out, s);
        }
        out.push_str("</ul>");
    }
    if let Some(rb) = &v.rollback {
        let _ = write!(
            out,
            "<h2>Rollback</h2><p><b>Cause:</b> {} — {}<br /><b>Started:</b> {} by {}",
            cause_words(rb.cause),
            esc(&rb.reason),
            rb.started_at.format(TIME),
            esc(&rb.by)
        );
        if let Some(ms) = rb.time_to_rollback_ms {
            let _ = write!(out, " · <b>Time to rollback:</b> {}", dur(Duration::from_millis(ms)));
        }
        out.push_str("</p><ul class=\"steps\">");
        for s in &rb.steps {
            step(&mut out, s);
        }
        out.push_str("</ul>");
    }
    approvals(&mut out, v);
    sign_off(&mut out, v);
    let _ = write!(
        out,
        "<footer>Rendered from the journal of run <code>{}</code> alone by <code>deployctl status --format html</code>.</footer></body></html>",
        esc(&v.run_id)
    );
    out
}

fn header(out: &mut String, v: &StatusView) {
    let finished = super::evidence::finished(v);
    let rows = [
        (
            "Run",
            format!(
                "<code>{}</code> of runbook <code>{}</code>",
                esc(&v.run_id),
                esc(&v.runbook)
            ),
        ),
        ("Runbook sha256", format!("<code>{}</code>", esc(&v.runbook_sha256))),
        ("Inputs sha256", format!("<code>{}</code>", esc(&v.vars_sha256))),
        ("Operator", format!("{} on {}", esc(&v.operator), esc(&v.host))),
        ("Window", v.window.as_deref().map_or("none declared".into(), esc)),
        ("Started", v.started_at.format(TIME).to_string()),
        ("Finished", finished),
        ("Duration", dur(Duration::from_millis(v.elapsed_ms))),
    ];
    out.push_str("<dl class=\"facts\">");
    for (name, value) in rows {
        let _ = write!(out, "<dt>{name}</dt><dd>{value}</dd>");
    }
    for e in &v.window_events {
        let who = e.by.as_deref().map(|b| format!(" by {}", esc(b))).unwrap_or_default();
        let next = e
            .next_opening
            .map(|n| format!("; opens next {}", n.format(TIME)))
            .unwrap_or_default();
        let _ = write!(
            out,
            "<dt>Window {}</dt><dd>{}{who}: {}{next}</dd>",
            e.kind.as_str(),
            e.at.format(TIME),
            esc(&e.reason)
        );
    }
    if let Some(waiting) = &v.waiting {
        let _ = write!(out, "<dt>Waiting</dt><dd>{}</dd>", esc(waiting));
    }
    out.push_str("</dl>");
}

/// A checkbox: glyph, id, title, timing, gate, reason; services, charts and failed output.
fn step(out: &mut String, s: &StepLine) {
    let took = s
        .duration_ms
        .map(|ms| dur(Duration::from_millis(ms)))
        .unwrap_or_default();
    let _ = write!(
        out,
        "<li class=\"step {status}\" id=\"step-{id}\"><span class=\"glyph\">{}</span> <b>{id}</b> {} <span class=\"took\">{took}</span>",
        s.status.glyph(),
        esc(&s.title),
        status = s.status,
        id = esc(&s.id),
    );
    if s.attempts > 1 {
        let _ = write!(out, " <span class=\"took\">{} attempts</span>", s.attempts);
    }
    if !matches!(s.status, StepMark::Done | StepMark::Pending) {
        let _ = write!(out, " <span class=\"badge\">{}</span>", s.status.words());
    }
    if let Some(g) = &s.gate {
        let role = g.role.as_deref().map(|r| format!(" as {}", esc(r))).unwrap_or_default();
        let note = g.note.as_deref().map(|n| format!(": “{}”", esc(n))).unwrap_or_default();
        let _ = write!(
            out,
            "<div class=\"gate\">✓ approved by <b>{}</b>{role}, {}{note}</div>",
            esc(&g.by),
            g.at.format(TIME)
        );
    } else if let (Some(r), false) = (&s.reason, s.status == StepMark::Pending) {
        let _ = write!(out, "<div class=\"reason\">{}</div>", esc(r));
    }
    if !s.services.is_empty() {
        out.push_str("<table class=\"services\"><tr><th>batch</th><th>service</th><th>result</th><th>took</th><th>detail</th></tr>");
        for svc in &s.services {
            let _ = write!(
                out,
                "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                service_word(svc.result),
                svc.batch,
                esc(&svc.service),
                service_word(svc.result).replace('_', " "),
                dur(Duration::from_millis(svc.duration_ms)),
                esc(svc.reason.as_deref().unwrap_or(""))
            );
        }
        out.push_str("</table>");
    }
    if let Some(m) = &s.monitor {
        let _ = write!(
            out,
            "<div class=\"monitor\">{} windows, {} probes, {} errors; worst error rate {}, worst p99 {}",
            m.windows,
            m.probes,
            m.errors,
            m.worst_error_rate.map_or("-".into(), |e| format!("{:.1}%", e * 100.0)),
            m.worst_p99_ms.map_or("-".into(), |p| format!("{p:.1}ms")),
        );
        if let Some(t) = &m.trigger {
            let w: Vec<String> = t.windows.iter().map(|w| format!("w{w}")).collect();
            let _ = write!(out, "; <b>rule held:</b> {} over {}", esc(&t.rule), w.join(" "));
        }
        out.push_str("</div>");
        out.push_str(&monitor_charts(&s.id, m));
    }
    if let Some(output) = s.output.as_ref().filter(|_| s.status.went_wrong()) {
        let _ = write!(
            out,
            "<div class=\"outlabel\">output (redacted excerpt)</div><pre class=\"output\">{}</pre>",
            esc(output)
        );
    }
    out.push_str("</li>");
}

fn approvals(out: &mut String, v: &StatusView) {
    if v.approvals.is_empty() {
        return;
    }
    out.push_str("<h2>Approval record</h2><table class=\"approvals\"><tr><th>step</th><th>kind</th><th>by</th><th>role</th><th>when</th><th>host</th><th>note</th><th>runbook sha256</th></tr>");
    for a in &v.approvals {
        let digest = a.runbook_sha256.get(..12).unwrap_or(&a.runbook_sha256);
        let other = if a.runbook_sha256 == v.runbook_sha256 {
            ""
        } else {
            " (another version)"
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code title=\"{}\">{}</code>{other}</td></tr>",
            esc(&a.step),
            approval_word(a.kind),
            esc(&a.by),
            esc(a.role.as_deref().unwrap_or("")),
            a.at.format(TIME),
            esc(&a.host),
            esc(a.note.as_deref().unwrap_or("")),
            esc(&a.runbook_sha256),
            esc(digest),
        );
    }
    out.push_str("</table>");
}

fn sign_off(out: &mut String, v: &StatusView) {
    if v.sign_offs.is_empty() {
        return;
    }
    out.push_str("<h2>Sign-off</h2><ul class=\"signoff\">");
    for s in &v.sign_offs {
        let role = s.role.as_deref().unwrap_or(&s.title);
        let by = s.by.as_deref().map_or(BLANK.into(), esc);
        let at = s.at.map_or(BLANK.into(), |at| at.format(TIME).to_string());
        let _ = write!(
            out,
            "<li><b>{}</b>: {by} — {at} <span class=\"took\">(<code>{}</code>: {})</span></li>",
            esc(role),
            esc(&s.step),
            esc(&s.title)
        );
    }
    out.push_str("</ul>");
}

/// The page's only styling: no fonts, images or sheets from anywhere else.
const STYLE: &str = "<style>
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; color: #1d2433; margin: 24px auto; max-width: 1080px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 8px; }
h2 { font-size: 17px; border-bottom: 1px solid #d8dde6; padding-bottom: 4px; margin-top: 28px; }
code { font: 12px ui-monospace, 'SFMono-Regular', Menlo, monospace; }
.outcome { font-size: 16px; font-weight: 600; padding: 8px 12px; border-radius: 6px; background: #eef1f6; }
.outcome.done { background: #e3f5e8; color: #14532d; }
.outcome.rolled_back, .outcome.rolling_back { background: #f1e8fb; color: #4c1d95; }
.outcome.failed, .outcome.rollback_failed, .outcome.interrupted { background: #fde8e8; color: #7f1d1d; }
.outcome.paused { background: #fff4d6; color: #713f12; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; }
dl.facts dt { font-weight: 600; color: #4b5563; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
ul.steps { list-style: none; padding-left: 0; }
li.step { padding: 4px 0; border-bottom: 1px solid #f0f2f5; }
.glyph { font-family: ui-monospace, monospace; }
li.done .glyph { color: #15803d; } li.failed .glyph { color: #b91c1c; } li.awaiting_approval .glyph { color: #b45309; }
li.pending { color: #6b7280; }
.took { color: #6b7280; font-size: 12px; }
.badge { background: #fde8e8; color: #7f1d1d; border-radius: 4px; padding: 0 6px; font-size: 12px; }
li.awaiting_approval .badge { background: #fff4d6; color: #713f12; }
.gate, .reason, .monitor, .outlabel { margin-left: 28px; font-size: 13px; color: #374151; }
.gate { color: #14532d; }
pre.output { margin: 4px 0 4px 28px; background: #1f2937; color: #f3f4f6; padding: 8px; border-radius: 4px; white-space: pre-wrap; overflow-wrap: anywhere; font-size: 12px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #d8dde6; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f5f9; }
table.services { margin: 4px 0 4px 28px; }
tr.unhealthy td, tr.restart_failed td { background: #fde8e8; }
.charts { display: flex; flex-wrap: wrap; gap: 8px; margin: 6px 0 6px 28px; }
svg { background: #fff; border: 1px solid #e5e7eb; border-radius: 4px; }
svg text { font: 11px system-ui, sans-serif; fill: #4b5563; }
svg .ctitle { font-weight: 600; fill: #1d2433; }
svg .axis { stroke: #9ca3af; }
svg .grid { stroke: #e5e7eb; }
svg .series { fill: none; stroke: #2563eb; stroke-width: 2; }
svg .point { fill: #2563eb; }
svg .point.breach { fill: #dc2626; }
svg .point.nodata { fill: #fff; stroke: #dc2626; stroke-width: 1.5; }
svg .threshold { stroke: #d97706; stroke-width: 1.5; stroke-dasharray: 6 4; }
svg .tlabel { fill: #b45309; }
svg .tripped { fill: #fef2f2; }
svg .rollback { stroke: #7c3aed; stroke-width: 2; }
svg .rlabel { fill: #6d28d9; font-weight: 600; }
svg .band { fill: #f8fafc; } svg .band.odd { fill: #eef2f7; }
svg .phase { font-weight: 600; fill: #1d2433; }
svg .slabel.pending { fill: #9ca3af; }
svg .bar { fill: #9ca3af; } svg .bar.done { fill: #22c55e; } svg .bar.failed { fill: #ef4444; }
svg .bar.interrupted { fill: #f97316; } svg .bar.running { fill: #3b82f6; } svg .bar.awaiting_approval { fill: #f59e0b; }
svg .gate { fill: #0ea5e9; stroke: #075985; }
ul.signoff { list-style: none; padding-left: 0; font-size: 15px; }
ul.signoff li { padding: 6px 0; }
footer { margin-top: 32px; color: #6b7280; font-size: 12px; }
</style>";
