//! `status --format human`: the checklist for a terminal, with the same facts as the
//! Markdown and HTML reports in fewer words.

use std::time::Duration;

use super::escape::{block, one_line};
use super::mark::{StepMark, approval_word, cause_words};
use super::status::{StatusView, StepLine};
use super::status_text::{details, took};
use crate::runbook::duration::format as dur;

const TIME: &str = "%Y-%m-%d %H:%M:%S UTC";

/// The checklist for a terminal. Every text from the journal is neutralised (no escape
/// sequence reaches the terminal) and kept on its line, or indented under it when it has
/// several, so nothing in it reads as a line of the checklist.
pub fn human(v: &StatusView) -> String {
    let mut out = heading(v);
    for section in [phases(v), rollback(v), history(v), approvals(v), sign_offs(v)] {
        out.push_str(&section);
    }
    out
}

/// The run's heading: who, when, the outcome, the window and its events.
fn heading(v: &StatusView) -> String {
    let mut out = format!(
        "{} — {}\nrun {} · {} · operator {} on {} · started {}\n",
        one_line(&v.runbook),
        one_line(&v.title),
        one_line(&v.run_id),
        v.state,
        one_line(&v.operator),
        one_line(&v.host),
        v.started_at.format(TIME)
    );
    out.push_str(&format!("outcome: {}\n", one_line(&v.outcome)));
    if let Some(end) = v.finished_at {
        out.push_str(&format!(
            "finished {} after {}\n",
            end.format(TIME),
            dur(Duration::from_millis(v.elapsed_ms))
        ));
    }
    if let Some(window) = &v.window {
        out.push_str(&format!("window: {}\n", one_line(window)));
    }
    for e in &v.window_events {
        let who =
            e.by.as_deref()
                .map(|b| format!(" by {}", one_line(b)))
                .unwrap_or_default();
        out.push_str(&format!(
            "  {}{who} at {}: {}\n",
            e.kind.label(),
            e.at.format(TIME),
            one_line(&e.reason)
        ));
    }
    if let Some(holder) = &v.running_as {
        out.push_str(&format!("running now: {}\n", one_line(holder)));
    }
    if let Some(phase) = &v.current_phase {
        out.push_str(&format!("current phase: {}\n", one_line(phase)));
    }
    out
}

/// Each phase with its checkboxes and their details.
fn phases(v: &StatusView) -> String {
    let mut out = String::new();
    for p in &v.phases {
        out.push_str(&format!("\n{} — {}\n", one_line(&p.id), one_line(&p.title)));
        for s in &p.steps {
            out.push_str(&row(s));
            out.push_str(&details(s, "      "));
        }
    }
    out
}

/// The rollback, its cause, and its steps; then what the run waits for.
fn rollback(v: &StatusView) -> String {
    let mut out = String::new();
    if let Some(rb) = &v.rollback {
        out.push_str(&format!(
            "\nrollback ({}) by {} at {} — {}\n",
            cause_words(rb.cause),
            one_line(&rb.by),
            rb.started_at.format(TIME),
            one_line(&rb.reason)
        ));
        if let Some(ms) = rb.time_to_rollback_ms {
            out.push_str(&format!(
                "  first rollback step started {} after the cause\n",
                dur(Duration::from_millis(ms))
            ));
        }
        for s in &rb.steps {
            out.push_str(&row(s));
        }
    }
    if let Some(waiting) = &v.waiting {
        out.push_str(&format!("\nwaiting: {}\n", block(waiting, "  ")));
    }
    out
}

/// What went on along the way, when there was more than a clean run.
fn history(v: &StatusView) -> String {
    let mut out = String::new();
    if v.eventful() {
        let names: Vec<String> = v.operators.iter().map(|o| one_line(o).into_owned()).collect();
        out.push_str(&format!("\nhistory (operators: {})\n", names.join(", ")));
        for h in &v.history {
            let step = h
                .step
                .as_deref()
                .map(|s| format!("`{}` ", one_line(s)))
                .unwrap_or_default();
            out.push_str(&format!("  {} {step}{}\n", h.at.format(TIME), one_line(&h.text)));
        }
    }
    out
}

/// Every approval, signed or not, withdrawn or not.
fn approvals(v: &StatusView) -> String {
    let mut out = String::new();
    if !v.approvals.is_empty() {
        out.push_str("\napprovals\n");
        for a in &v.approvals {
            let role = a
                .role
                .as_deref()
                .map(|r| format!(" as {}", one_line(r)))
                .unwrap_or_default();
            let note = a
                .note
                .as_deref()
                .map(|n| format!(" — {}", one_line(n)))
                .unwrap_or_default();
            // Unsigned approvals print as before; a signature and a withdrawal are said.
            let signed = if a.signer == "unsigned" {
                String::new()
            } else {
                format!(", signed by {}", one_line(&a.signer))
            };
            let withdrawn = if a.revoked { " (withdrawn)" } else { "" };
            out.push_str(&format!(
                "  {} {}: {}{role} on {} at {}{signed}{withdrawn}{note}\n",
                approval_word(a.kind),
                one_line(&a.step),
                one_line(&a.by),
                one_line(&a.host),
                a.at.format(TIME)
            ));
        }
    }
    out
}

/// The sign-off lines, blank until given.
fn sign_offs(v: &StatusView) -> String {
    let mut out = String::new();
    if !v.sign_offs.is_empty() {
        out.push_str("\nsign-off\n");
        for s in &v.sign_offs {
            let role = one_line(s.role.as_deref().unwrap_or(&s.title));
            let by = one_line(s.by.as_deref().unwrap_or("________"));
            let at = s.at.map_or("________".to_string(), |at| at.format(TIME).to_string());
            out.push_str(&format!("  {role}: {by} — {at}\n"));
        }
    }
    out
}

/// One step: glyph, id, title, timing, and its reason (on the next line when it failed).
fn row(s: &StepLine) -> String {
    let reason = match (&s.reason, s.status) {
        (Some(r), StepMark::Failed | StepMark::Interrupted) => format!("\n      {}", block(r, "      ")),
        (Some(r), StepMark::Done) => format!("  {}", one_line(r)),
        (
            _,
            StepMark::Pending | StepMark::Running | StepMark::Skipped | StepMark::AwaitingApproval | StepMark::Approved,
        )
        | (None, _) => String::new(),
    };
    let note = s
        .gate
        .as_ref()
        .and_then(|g| g.note.as_deref())
        .map(|n| format!(" — {}", one_line(n)))
        .unwrap_or_default();
    format!(
        "  {} {}  {}{}{reason}{note}\n",
        s.status.glyph(),
        one_line(&s.id),
        one_line(&s.title),
        took(s)
    )
}
