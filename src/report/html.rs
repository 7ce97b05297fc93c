//! `status --format html`: the evidence report as one self-contained page for people who
//! would rather look than read. Inline CSS, inline SVG, no scripts, no external assets.
//!
//! The page is built with maud, which escapes every spliced value by default; text from the
//! journal is spliced as [`Text`], which escapes quotes too and neutralises control
//! characters ([`esc`]). The markup is well-formed XML (void elements closed, attributes
//! quoted), so a test can parse it with an XML parser: the only void element, `meta`, is
//! written as a constant, and the SVG elements are closed explicitly.

use std::time::Duration;

use maud::{DOCTYPE, Markup, PreEscaped, Render, html};

use super::chart::monitor_charts;
use super::escape::esc;
use super::mark::{StepMark, approval_word, cause_words, service_word};
use super::status::{GateView, MonitorView, RollbackView, ServiceLine, StatusView, StepLine};
use super::timeline::timeline;
use crate::runbook::duration::format as dur;

const TIME: &str = "%Y-%m-%d %H:%M:%S UTC";
const BLANK: &str = "________________";
/// `meta` is void: maud would write `<meta ...>`, which is not XML.
const META: PreEscaped<&str> = PreEscaped("<meta charset=\"utf-8\" />");
/// The page's only styling: no fonts, images or sheets from anywhere else.
const STYLE: &str = include_str!("html.css");

/// Text from the journal in the page: escaped by [`esc`] (markup, quotes, and control
/// characters that XML refuses or a reader would not see).
pub(super) struct Text<'a>(pub &'a str);

impl Render for Text<'_> {
    fn render_to(&self, buffer: &mut String) {
        buffer.push_str(&esc(self.0));
    }
}

fn t(text: &str) -> Text<'_> {
    Text(text)
}

/// The evidence report as one HTML file.
pub fn html(v: &StatusView) -> String {
    html! {
        (DOCTYPE) "\n"
        html lang="en" {
            head {
                (META)
                title { (t(&v.title)) " — " (t(&v.run_id)) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { (t(&v.title)) }
                p class={ "outcome " (v.state) } { (t(&v.outcome)) }
                (header(v))
                h2 { "Timeline" }
                (timeline(v))
                @for p in &v.phases {
                    h2 { (t(&p.title)) }
                    ul.steps { @for s in &p.steps { (step(s)) } }
                }
                @if let Some(rb) = &v.rollback { (rollback(rb)) }
                (history(v))
                @if !v.contacts.is_empty() {
                    h2 { "Contacts" }
                    ul.contacts { @for c in &v.contacts { li { (t(c)) } } }
                }
                (approvals(v))
                (sign_off(v))
                footer {
                    "Rendered from the journal of run " code { (t(&v.run_id)) }
                    " alone by " code { "deployctl status --format html" } "."
                }
            }
        }
    }
    .into_string()
}

/// The run at a glance: identity, digests, window and its events, times, what it waits for.
fn header(v: &StatusView) -> Markup {
    html! {
        dl.facts {
            dt { "Run" } dd { code { (t(&v.run_id)) } " of runbook " code { (t(&v.runbook)) } }
            dt { "Runbook sha256" } dd { code { (t(&v.runbook_sha256)) } }
            dt { "Inputs sha256" } dd { code { (t(&v.vars_sha256)) } }
            @for input in &v.inputs {
                dt { code { (t(&input.name)) } }
                dd { @if let Some(value) = &input.value { code { (t(value)) } } @else { "(secret, not journaled)" } }
            }
            dt { "Operator" } dd { (t(&v.operator)) " on " (t(&v.host)) }
            dt { "Window" }
            dd { @if let Some(w) = &v.window { (t(w)) } @else { "none declared" } }
            dt { "Started" } dd { (v.started_at.format(TIME)) }
            dt { "Finished" } dd { (t(&super::evidence::finished(v))) }
            dt { "Duration" } dd { (dur(Duration::from_millis(v.elapsed_ms))) }
            @for e in &v.window_events {
                dt { (e.kind.label()) }
                dd {
                    (e.at.format(TIME))
                    @if let Some(by) = &e.by { " by " (t(by)) }
                    ": " (t(&e.reason))
                    @if let Some(next) = e.next_opening { "; opens next " (next.format(TIME)) }
                }
            }
            @if let Some(waiting) = &v.waiting { dt { "Waiting" } dd { (t(waiting)) } }
        }
    }
}

/// A checkbox: glyph, id, title, timing, gate, reason; services, charts and failed output.
fn step(s: &StepLine) -> Markup {
    let took = s
        .duration_ms
        .map(|ms| dur(Duration::from_millis(ms)))
        .unwrap_or_default();
    let reason = s
        .reason
        .as_deref()
        .filter(|_| s.gate.is_none() && s.status != StepMark::Pending);
    let output = s.output.as_deref().filter(|_| s.status.went_wrong());
    html! {
        li class={ "step " (s.status) } id={ "step-" (t(&s.id)) } {
            span.glyph { (s.status.glyph()) } " " b { (t(&s.id)) } " " (t(&s.title)) " "
            span.took { (took) }
            @if s.attempts > 1 { " " span.took { (s.attempts) " attempts" } }
            @if !matches!(s.status, StepMark::Done | StepMark::Pending) {
                " " span.badge { (s.status.words()) }
            }
            @if let Some(g) = &s.gate { (gate(g)) }
            @if let Some(r) = reason { div.reason { (t(r)) } }
            @if !s.services.is_empty() { (services(&s.services)) }
            @if let Some(m) = &s.monitor { (monitor(&s.id, m)) }
            @if let Some(output) = output {
                div.outlabel { "output (redacted excerpt)" }
                pre.output { (t(output)) }
            }
        }
    }
}

/// Who passed a gate, as what, when, and their note.
fn gate(g: &GateView) -> Markup {
    html! {
        div.gate {
            "✓ approved by " b { (t(&g.by)) }
            @if let Some(role) = &g.role { " as " (t(role)) }
            ", " (g.at.format(TIME))
            @if let Some(note) = &g.note { ": “" (t(note)) "”" }
        }
    }
}

/// Each service of a rolling restart: its batch, result, time and detail.
fn services(services: &[ServiceLine]) -> Markup {
    html! {
        table.services {
            tr { th { "batch" } th { "service" } th { "result" } th { "took" } th { "detail" } }
            @for svc in services {
                tr class=(service_word(svc.result)) {
                    td { (svc.batch) }
                    td { (t(&svc.service)) }
                    td { (service_word(svc.result).replace('_', " ")) }
                    td { (dur(Duration::from_millis(svc.duration_ms))) }
                    td { (t(svc.reason.as_deref().unwrap_or(""))) }
                }
            }
        }
    }
}

/// A monitor's figures in one line, the rule that held, and its charts.
fn monitor(step: &str, m: &MonitorView) -> Markup {
    let worst_error = m.worst_error_rate.map_or("-".into(), |e| format!("{:.1}%", e * 100.0));
    let worst_p99 = m.worst_p99_ms.map_or("-".into(), |p| format!("{p:.1}ms"));
    html! {
        div.monitor {
            (m.windows) " windows, " (m.probes) " probes, " (m.errors) " errors; worst error rate "
            (worst_error) ", worst p99 " (worst_p99)
            @if let Some(trigger) = &m.trigger {
                "; " b { "rule held:" } " " (t(&trigger.rule)) " over "
                (trigger.windows.iter().map(|w| format!("w{w}")).collect::<Vec<_>>().join(" "))
            }
        }
        (monitor_charts(step, m))
    }
}

/// The rollback: why, when, by whom, how soon, and its steps.
fn rollback(rb: &RollbackView) -> Markup {
    html! {
        h2 { "Rollback" }
        p { b { "Cause:" } " " (cause_words(rb.cause)) " — " (t(&rb.reason)) }
        p {
            b { "Started:" } " " (rb.started_at.format(TIME)) " by " (t(&rb.by))
            @if let Some(ms) = rb.time_to_rollback_ms {
                " · " b { "Time to rollback:" } " " (dur(Duration::from_millis(ms)))
            }
        }
        ul.steps { @for s in &rb.steps { (step(s)) } }
    }
}

/// What went on along the way, when more than the start.
fn history(v: &StatusView) -> Markup {
    html! {
        @if v.eventful() {
            h2 { "History" }
            p { "Operators: " (t(&v.operators.join(", "))) }
            table.approvals {
                tr { th { "when" } th { "step" } th { "what" } }
                @for h in &v.history {
                    tr {
                        td { (h.at.format(TIME)) }
                        td { (t(h.step.as_deref().unwrap_or(""))) }
                        td { (t(&h.text)) }
                    }
                }
            }
        }
    }
}

/// Every approval as journaled, with the runbook digest it was given for.
fn approvals(v: &StatusView) -> Markup {
    html! {
        @if !v.approvals.is_empty() {
            h2 { "Approval record" }
            table.approvals {
                tr {
                    th { "step" } th { "kind" } th { "by" } th { "role" } th { "when" } th { "host" }
                    th { "note" } th { "signed by" } th { "runbook sha256" }
                }
                @for a in &v.approvals {
                    tr {
                        td { (t(&a.step)) }
                        td { (approval_word(a.kind)) @if a.revoked { " (withdrawn)" } }
                        td { (t(&a.by)) }
                        td { (t(a.role.as_deref().unwrap_or(""))) }
                        td { (a.at.format(TIME)) }
                        td { (t(&a.host)) }
                        td { (t(a.note.as_deref().unwrap_or(""))) }
                        td { (t(&a.signer)) }
                        td {
                            code title=(t(&a.runbook_sha256)) {
                                (t(a.runbook_sha256.get(..12).unwrap_or(&a.runbook_sha256)))
                            }
                            @if a.runbook_sha256 != v.runbook_sha256 { " (another version)" }
                        }
                    }
                }
            }
        }
    }
}

/// `Role: NAME — DATE` per approval gate, blank until given.
fn sign_off(v: &StatusView) -> Markup {
    html! {
        @if !v.sign_offs.is_empty() {
            h2 { "Sign-off" }
            ul.signoff {
                @for s in &v.sign_offs {
                    li {
                        b { (t(s.role.as_deref().unwrap_or(&s.title))) } ": "
                        @if let Some(by) = &s.by { (t(by)) } @else { (BLANK) }
                        " — "
                        @if let Some(at) = s.at { (at.format(TIME)) } @else { (BLANK) }
                        " " span.took { "(" code { (t(&s.step)) } ": " (t(&s.title)) ")" }
                    }
                }
            }
        }
    }
}
