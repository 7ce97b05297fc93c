//! `deployctl status`: the latest run as a checklist, from the journal alone.
//!
//! A [`StatusView`] is built once from the fold and rendered three ways; `--format json`
//! is that view serialized, so scripts and people read the same facts.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::glyph::glyph;
use crate::event::ApprovalKind;
use crate::journal::{LockState, RunState, StepView};
use crate::runbook::duration::format as dur;

/// The checklist of one run.
#[derive(Debug, Clone, Serialize)]
pub struct StatusView {
    pub run_id: String,
    pub runbook: String,
    pub title: String,
    pub runbook_sha256: String,
    pub operator: String,
    pub host: String,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// done | running | paused | failed | interrupted | stopped
    pub state: String,
    /// The phase of the first step not done.
    pub current_phase: Option<String>,
    /// What the run waits for, when paused.
    pub waiting: Option<String>,
    /// Who holds the journal lock, when a run is live.
    pub running_as: Option<String>,
    pub phases: Vec<PhaseView>,
    pub approvals: Vec<ApprovalView>,
}

/// A phase of the checklist.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct PhaseView {
    pub id: String,
    pub title: String,
    pub steps: Vec<StepLine>,
}

/// One checkbox.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct StepLine {
    pub id: String,
    pub title: String,
    pub kind: String,
    /// done | pending | running | failed | interrupted | skipped | awaiting_approval
    pub status: String,
    pub attempts: u32,
    pub duration_ms: Option<u64>,
    pub reason: Option<String>,
    pub output: Option<String>,
}

/// An approval as shown.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct ApprovalView {
    pub step: String,
    pub kind: String,
    pub by: String,
    pub role: Option<String>,
    pub note: Option<String>,
    pub host: String,
    pub at: DateTime<Utc>,
    pub runbook_sha256: String,
}

/// Builds the checklist from the fold and the lock.
pub fn view(run: &RunState, lock: &LockState) -> StatusView {
    let live = matches!(lock, LockState::Held(_));
    let waiting_step = run.paused.as_ref().map(|(s, _)| s.as_str());
    let phases: Vec<PhaseView> = run
        .plan
        .iter()
        .map(|p| PhaseView {
            id: p.id.clone(),
            title: p.title.clone(),
            steps: p
                .steps
                .iter()
                .map(|s| {
                    let state = run.step(&s.id);
                    let status = match state.map(|st| st.view) {
                        _ if waiting_step == Some(s.id.as_str()) => "awaiting_approval",
                        None => "pending",
                        Some(StepView::Started) if live => "running",
                        Some(StepView::Started) => "interrupted",
                        Some(StepView::Finished(status)) => status.as_str(),
                    };
                    StepLine {
                        id: s.id.clone(),
                        title: s.title.clone(),
                        kind: s.kind.clone(),
                        status: status.to_string(),
                        attempts: state.map_or(0, |st| st.attempts),
                        duration_ms: state.and_then(|st| st.duration_ms),
                        reason: state.and_then(|st| {
                            st.verify_failure
                                .as_ref()
                                .map(|f| format!("verify failed on resume: {f}"))
                                .or_else(|| st.reason.clone())
                        }),
                        output: state.and_then(|st| st.output.clone()),
                    }
                })
                .collect(),
        })
        .collect();
    let current_phase = phases
        .iter()
        .find(|p| p.steps.iter().any(|s| s.status != "done" && s.status != "skipped"))
        .map(|p| p.id.clone());
    let any = |status: &str| phases.iter().flat_map(|p| &p.steps).any(|s| s.status == status);
    let state = if run.is_finished() {
        "done"
    } else if live {
        "running"
    } else if run.paused.is_some() {
        "paused"
    } else if run.interrupted || any("interrupted") {
        "interrupted"
    } else if any("failed") {
        "failed"
    } else {
        "stopped"
    };
    StatusView {
        run_id: run.run_id.clone(),
        runbook: run.runbook.clone(),
        title: run.title.clone(),
        runbook_sha256: run.runbook_sha256.clone(),
        operator: run.operator.clone(),
        host: run.host.clone(),
        started_at: run.started_at,
        updated_at: run.updated_at,
        state: state.to_string(),
        current_phase,
        waiting: run.paused.as_ref().map(|(_, reason)| reason.clone()),
        running_as: match lock {
            LockState::Held(h) => Some(h.to_string()),
            _ => None,
        },
        phases,
        approvals: run
            .approvals
            .iter()
            .map(|a| ApprovalView {
                step: a.step.clone(),
                kind: match a.kind {
                    ApprovalKind::Gate => "gate".into(),
                    ApprovalKind::Retry => "retry".into(),
                },
                by: a.by.clone(),
                role: a.role.clone(),
                note: a.note.clone(),
                host: a.host.clone(),
                at: a.at,
                runbook_sha256: a.runbook_sha256.clone(),
            })
            .collect(),
    }
}

fn took(line: &StepLine) -> String {
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

/// The checklist for a terminal.
pub fn human(v: &StatusView) -> String {
    let mut out = format!(
        "{} — {}\nrun {} · {} · operator {} on {} · started {}\n",
        v.runbook,
        v.title,
        v.run_id,
        v.state,
        v.operator,
        v.host,
        v.started_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    if let Some(holder) = &v.running_as {
        out.push_str(&format!("running now: {holder}\n"));
    }
    if let Some(phase) = &v.current_phase {
        out.push_str(&format!("current phase: {phase}\n"));
    }
    for p in &v.phases {
        out.push_str(&format!("\n{} — {}\n", p.id, p.title));
        for s in &p.steps {
            let reason = match (&s.reason, s.status.as_str()) {
                (Some(r), "failed" | "interrupted") => format!("\n      {r}"),
                (Some(r), "done") => format!("  {r}"),
                _ => String::new(),
            };
            out.push_str(&format!(
                "  {} {}  {}{}{reason}\n",
                glyph(&s.status),
                s.id,
                s.title,
                took(s)
            ));
        }
    }
    if let Some(waiting) = &v.waiting {
        out.push_str(&format!("\nwaiting: {waiting}\n"));
    }
    if !v.approvals.is_empty() {
        out.push_str("\napprovals\n");
        for a in &v.approvals {
            let role = a.role.as_deref().map(|r| format!(" as {r}")).unwrap_or_default();
            let note = a.note.as_deref().map(|n| format!(" — {n}")).unwrap_or_default();
            out.push_str(&format!(
                "  {} {}: {}{role} on {} at {}{note}\n",
                a.kind,
                a.step,
                a.by,
                a.host,
                a.at.format("%Y-%m-%d %H:%M:%S UTC")
            ));
        }
    }
    out
}

/// The checklist as Markdown, shaped like the team's own checklist.
pub fn markdown(v: &StatusView) -> String {
    let mut out = format!("# {}\n\n", v.title);
    out.push_str(&format!(
        "**Run:** `{}` · **Runbook:** `{}` (sha256 `{}`) · **Status:** {}  \n**Operator:** {} on {} · **Started:** {} · **Last update:** {}\n",
        v.run_id,
        v.runbook,
        v.runbook_sha256.get(..12).unwrap_or(&v.runbook_sha256),
        v.state,
        md(&v.operator),
        md(&v.host),
        v.started_at.format("%Y-%m-%d %H:%M UTC"),
        v.updated_at.format("%Y-%m-%d %H:%M UTC"),
    ));
    if let Some(waiting) = &v.waiting {
        out.push_str(&format!("\n> ⏳ {}\n", md(waiting)));
    }
    for p in &v.phases {
        out.push_str(&format!("\n## {}\n\n", md(&p.title)));
        for s in &p.steps {
            let mark = match s.status.as_str() {
                "done" => "[x]",
                _ => "[ ]",
            };
            let note = match s.status.as_str() {
                "done" | "pending" => String::new(),
                other => format!(" — **{}**", other.replace('_', " ")),
            };
            out.push_str(&format!("- {mark} **{}** — {}{}{note}\n", s.id, md(&s.title), took(s)));
            if let (Some(r), true) = (&s.reason, s.status != "pending") {
                out.push_str(&format!("  - {}\n", md(r)));
            }
            if let (Some(o), true) = (&s.output, s.status == "failed" || s.status == "interrupted") {
                out.push_str("\n  ```text\n");
                for l in o.lines() {
                    out.push_str(&format!("  {}\n", l.replace("```", "'''")));
                }
                out.push_str("  ```\n");
            }
        }
    }
    if !v.approvals.is_empty() {
        out.push_str("\n## Approval record\n\n| step | kind | by | role | when | note | runbook sha256 |\n| --- | --- | --- | --- | --- | --- | --- |\n");
        for a in &v.approvals {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | `{}` |\n",
                a.step,
                a.kind,
                cell(&a.by),
                cell(a.role.as_deref().unwrap_or("")),
                a.at.format("%Y-%m-%d %H:%M UTC"),
                cell(a.note.as_deref().unwrap_or("")),
                a.runbook_sha256.get(..12).unwrap_or(&a.runbook_sha256)
            ));
        }
    }
    out
}

/// Keeps user text from turning into Markdown markup.
fn md(text: &str) -> String {
    text.replace('\n', " ")
}

fn cell(text: &str) -> String {
    md(text).replace('|', "\\|")
}
