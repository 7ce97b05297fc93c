//! `status --format markdown`: the evidence report for the change ticket, shaped like the
//! team's own checklist (ticked boxes by phase, the approvals, the sign-off lines at the end),
//! with what a reviewer needs to trust it: digests, times, gate samples, redacted output.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::escape::{Breaks, md, md_code, neutralise};
use super::mark::{StepMark, WindowEventKind, approval_word, cause_words};
use super::status::{StatusView, StepLine};
use super::status_text::{details, took};
use crate::runbook::duration::format as dur;

const TIME: &str = "%Y-%m-%d %H:%M:%S UTC";
/// What a sign-off line shows until it is given.
const BLANK: &str = "________________";

/// The evidence report as Markdown.
pub fn markdown(v: &StatusView) -> String {
    let mut out = format!("# {}\n\n", md(&v.title));
    header(&mut out, v);
    if let Some(waiting) = &v.waiting {
        out.push_str(&format!("\n> ⏳ {}\n", md(waiting)));
    }
    for p in &v.phases {
        out.push_str(&format!("\n## {}\n\n", md(&p.title)));
        for s in &p.steps {
            step(&mut out, s, v.started_at);
        }
    }
    if let Some(rb) = &v.rollback {
        out.push_str(&format!(
            "\n## Rollback\n\n**Cause:** {} — {}  \n**Started:** {} by {}",
            cause_words(rb.cause),
            md(&rb.reason),
            rb.started_at.format(TIME),
            md(&rb.by)
        ));
        if let Some(ms) = rb.time_to_rollback_ms {
            out.push_str(&format!(" · **Time to rollback:** {}", dur(Duration::from_millis(ms))));
        }
        out.push_str("\n\n");
        for s in &rb.steps {
            step(&mut out, s, v.started_at);
        }
    }
    inputs(&mut out, v);
    history(&mut out, v);
    contacts(&mut out, v);
    approvals(&mut out, v);
    sign_off(&mut out, v);
    out.push_str(&format!(
        "\n---\n\n_Rendered from the journal of run `{}` alone: `deployctl status --format markdown` renders it again._\n",
        md_code(&v.run_id)
    ));
    out
}

/// The run at a glance: outcome, identity, digests, window, times.
fn header(out: &mut String, v: &StatusView) {
    let finished = super::evidence::finished(v);
    let rows = [
        ("Outcome", format!("**{}**", cell(&v.outcome))),
        (
            "Run",
            format!("`{}` of runbook `{}`", md_code(&v.run_id), md_code(&v.runbook)),
        ),
        ("Runbook sha256", format!("`{}`", md_code(&v.runbook_sha256))),
        ("Inputs sha256", format!("`{}`", md_code(&v.vars_sha256))),
        ("Operator", format!("{} on {}", cell(&v.operator), cell(&v.host))),
        ("Window", v.window.as_deref().map_or("none declared".to_string(), cell)),
        ("Started", v.started_at.format(TIME).to_string()),
        ("Finished", finished),
        ("Duration", dur(Duration::from_millis(v.elapsed_ms))),
    ];
    out.push_str("| | |\n| --- | --- |\n");
    for (name, value) in rows {
        out.push_str(&format!("| **{name}** | {value} |\n"));
    }
    if let Some(holder) = &v.running_as {
        out.push_str(&format!("| **Running now** | {} |\n", cell(holder)));
    }
    for e in &v.window_events {
        let what = match (&e.by, e.kind) {
            (Some(by), WindowEventKind::ClockOverride) => format!("pretended by {} (`--now`)", cell(by)),
            (Some(by), _) => format!("overridden by {} (`--ignore-window`)", cell(by)),
            (None, _) => "waited".to_string(),
        };
        let next = e
            .next_opening
            .map(|n| format!("; opens next {}", n.format(TIME)))
            .unwrap_or_default();
        out.push_str(&format!(
            "| **{}** | {} {what}: {}{next} |\n",
            capitalised(e.kind.label()),
            e.at.format(TIME),
            cell(&e.reason)
        ));
    }
}

/// A checkbox with its clock time and duration, the gate's approver inline, then its
/// reason, services, monitor windows and (failed steps) redacted output.
fn step(out: &mut String, s: &StepLine, run_start: DateTime<Utc>) {
    let mark = s.status.task_box();
    let note = match s.status {
        StepMark::Done | StepMark::Pending => String::new(),
        other => format!(" — **{}**", other.words()),
    };
    let clock = s
        .started_at
        .map(|at| format!(" · {}", clock(at, run_start)))
        .unwrap_or_default();
    let gate = s
        .gate
        .as_ref()
        .map(|g| {
            let role = g.role.as_deref().map(|r| format!(" as {}", md(r))).unwrap_or_default();
            let note = g.note.as_deref().map(|n| format!(": “{}”", md(n))).unwrap_or_default();
            format!(" — ✅ **{}**{role}, {}{note}", md(&g.by), g.at.format(TIME))
        })
        .unwrap_or_default();
    out.push_str(&format!(
        "- {mark} **{}** — {}{clock}{}{note}{gate}\n",
        md(&s.id),
        md(&s.title),
        took(s)
    ));
    if let (Some(r), true) = (&s.reason, s.status != StepMark::Pending && s.gate.is_none()) {
        out.push_str(&format!("  - {}\n", md(r)));
    }
    let extra = details(s, "");
    let failed_output = s.output.as_ref().filter(|_| s.status.went_wrong());
    if !extra.is_empty() {
        fenced(out, extra.lines());
    }
    if let Some(output) = failed_output {
        out.push_str("  - output (redacted excerpt):\n");
        fenced(out, output.lines());
    }
}

/// Lines in an indented ```text block; a ``` inside cannot close it, and a carriage return
/// or another control character inside a line cannot end it early (they are neutralised).
fn fenced<'a>(out: &mut String, lines: impl Iterator<Item = &'a str>) {
    out.push_str("\n  ```text\n");
    for l in lines {
        let l = neutralise(l, Breaks::Join);
        out.push_str(&format!("  {}\n", l.replace("```", "'''")));
    }
    out.push_str("  ```\n");
}

/// Who to call, as the runbook said when the run started.
fn contacts(out: &mut String, v: &StatusView) {
    if v.contacts.is_empty() {
        return;
    }
    out.push_str("\n## Contacts\n\n");
    for c in &v.contacts {
        out.push_str(&format!("- {}\n", cell(c)));
    }
}

/// Every approval as journaled: who, as what, when, where, why, and what they approved.
fn approvals(out: &mut String, v: &StatusView) {
    if v.approvals.is_empty() {
        return;
    }
    out.push_str(
        "\n## Approval record\n\n| step | kind | by | role | when | host | note | signed by | runbook sha256 |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for a in &v.approvals {
        let digest = md_code(a.runbook_sha256.get(..12).unwrap_or(&a.runbook_sha256));
        let matches = if a.runbook_sha256 == v.runbook_sha256 {
            ""
        } else {
            " (another version of the runbook)"
        };
        out.push_str(&format!(
            "| {} | {}{} | {} | {} | {} | {} | {} | {} | `{digest}`{matches} |\n",
            cell(&a.step),
            approval_word(a.kind),
            if a.revoked { " (withdrawn)" } else { "" },
            cell(&a.by),
            cell(a.role.as_deref().unwrap_or("")),
            a.at.format(TIME),
            cell(&a.host),
            cell(a.note.as_deref().unwrap_or("")),
            cell(&a.signer),
        ));
    }
}

/// What went on along the way, when more than the start: failures later retried,
/// interruptions, resumes and their operators, overrides.
/// Every input of the run (the release deployed, ...); secrets say so, never their value.
fn inputs(out: &mut String, v: &StatusView) {
    if v.inputs.is_empty() {
        return;
    }
    out.push_str("\n## Inputs\n\n");
    for input in &v.inputs {
        let value = input
            .value
            .as_deref()
            .map_or("*(secret, not journaled)*".to_string(), |x| format!("`{}`", md_code(x)));
        out.push_str(&format!("- `{}` = {value}\n", md_code(&input.name)));
    }
}

fn history(out: &mut String, v: &StatusView) {
    if !v.eventful() {
        return;
    }
    let names: Vec<String> = v.operators.iter().map(|o| cell(o)).collect();
    out.push_str(&format!(
        "\n## History\n\n**Operators:** {}\n\n| when | step | what |\n| --- | --- | --- |\n",
        names.join(", ")
    ));
    for h in &v.history {
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            h.at.format(TIME),
            cell(h.step.as_deref().unwrap_or("")),
            cell(&h.text)
        ));
    }
}

/// `Role: NAME — DATE` per approval gate, blank until given, as the checklist ends.
fn sign_off(out: &mut String, v: &StatusView) {
    if v.sign_offs.is_empty() {
        return;
    }
    out.push_str("\n## Sign-off\n\n");
    for s in &v.sign_offs {
        let role = s.role.as_deref().unwrap_or(&s.title);
        let by = s.by.as_deref().map_or(BLANK.to_string(), md);
        let at = s.at.map_or(BLANK.to_string(), |at| at.format(TIME).to_string());
        out.push_str(&format!(
            "- {}: {by} — {at} (`{}`: {})\n",
            md(role),
            md_code(&s.step),
            md(&s.title)
        ));
    }
}

/// `06:36:07`, or with the date when the step ran on another day than the run began.
fn clock(at: DateTime<Utc>, run_start: DateTime<Utc>) -> String {
    if at.date_naive() == run_start.date_naive() {
        at.format("%H:%M:%S").to_string()
    } else {
        at.format("%Y-%m-%d %H:%M:%S").to_string()
    }
}

/// Text inside a table cell: one line, no column breaks.
fn cell(text: &str) -> String {
    md(text).replace('|', "\\|")
}

/// "window wait" → "Window wait", for a table's first column.
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
