//! `deployctl status`: the latest run as a checklist, from the journal alone.
//!
//! A [`StatusView`] is built once from the fold and rendered three ways; `--format json`
//! is that view serialized, so scripts and people read the same facts.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::glyph::glyph;
use super::trend::{sparkline, window_line};
use crate::event::{ApprovalKind, PlannedStep, RollbackCause, RunStatus, Sample, ServiceResult};
use crate::journal::{LockState, RunState, StepState, StepView};
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
    /// done | running | paused | failed | interrupted | stopped | rolling_back | rolled_back
    pub state: String,
    /// The phase of the first step not done.
    pub current_phase: Option<String>,
    /// What the run waits for, when paused.
    pub waiting: Option<String>,
    /// Who holds the journal lock, when a run is live.
    pub running_as: Option<String>,
    pub phases: Vec<PhaseView>,
    pub approvals: Vec<ApprovalView>,
    /// The rollback, when one started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback: Option<RollbackView>,
}

/// The rollback and why it ran.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct RollbackView {
    /// step_failed | trigger | command
    pub cause: String,
    pub reason: String,
    pub by: String,
    pub started_at: DateTime<Utc>,
    /// From the moment the cause was journaled (the tripping window's sample, or the failed
    /// step's end) to the first rollback step starting.
    pub time_to_rollback_ms: Option<u64>,
    pub steps: Vec<StepLine>,
}

/// One service of a rolling restart.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct ServiceLine {
    pub service: String,
    pub batch: u32,
    /// healthy | restart_failed | unhealthy
    pub result: String,
    pub reason: Option<String>,
    pub duration_ms: u64,
}

/// A monitor's windows: the series at a glance, and the samples themselves.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct MonitorView {
    pub windows: usize,
    pub probes: u64,
    pub errors: u64,
    pub worst_error_rate: Option<f64>,
    pub worst_p99_ms: Option<f64>,
    /// The rule that held, and the windows that tripped it.
    pub trigger: Option<TriggerView>,
    pub samples: Vec<Sample>,
}

/// A rule that held.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct TriggerView {
    pub rule: String,
    pub windows: Vec<u32>,
    pub at: DateTime<Utc>,
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
    /// Rolling restart: each service's result.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceLine>,
    /// Monitor: its windows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitor: Option<MonitorView>,
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
            steps: p.steps.iter().map(|s| step_line(run, s, waiting_step, live)).collect(),
        })
        .collect();
    let current_phase = phases
        .iter()
        .find(|p| p.steps.iter().any(|s| s.status != "done" && s.status != "skipped"))
        .map(|p| p.id.clone());
    let any = |status: &str| phases.iter().flat_map(|p| &p.steps).any(|s| s.status == status);
    let state = if let Some((status, _, _)) = run.finished {
        match status {
            RunStatus::RolledBack => "rolled_back",
            RunStatus::RollbackFailed => "rollback_failed",
            RunStatus::Failed => "failed",
            RunStatus::Done => "done",
        }
    } else if run.rolling_back() && !live {
        "rolling_back"
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
        rollback: rollback_view(run, waiting_step, live),
    }
}

fn step_line(run: &RunState, s: &PlannedStep, waiting_step: Option<&str>, live: bool) -> StepLine {
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
        services: state.map(services).unwrap_or_default(),
        monitor: state.and_then(monitor_view),
    }
}

fn services(state: &StepState) -> Vec<ServiceLine> {
    state
        .services
        .iter()
        .map(|r| ServiceLine {
            service: r.service.clone(),
            batch: r.batch,
            result: match r.result {
                ServiceResult::Healthy => "healthy",
                ServiceResult::RestartFailed => "restart_failed",
                ServiceResult::Unhealthy => "unhealthy",
            }
            .to_string(),
            reason: r.reason.clone(),
            duration_ms: r.duration_ms,
        })
        .collect()
}

fn monitor_view(state: &StepState) -> Option<MonitorView> {
    if state.samples.is_empty() && state.trigger.is_none() {
        return None;
    }
    // A monitor re-run after a crash starts again at window 1: show the latest watch.
    let start = state.samples.iter().rposition(|(_, s)| s.window == 1).unwrap_or(0);
    let samples: Vec<Sample> = state.samples[start..].iter().map(|(_, s)| s.clone()).collect();
    let worst = |f: fn(&Sample) -> Option<f64>| {
        samples
            .iter()
            .filter_map(f)
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
    };
    Some(MonitorView {
        windows: samples.len(),
        probes: samples.iter().map(|s| u64::from(s.count)).sum(),
        errors: samples.iter().map(|s| u64::from(s.errors)).sum(),
        worst_error_rate: worst(|s| s.error_rate),
        worst_p99_ms: worst(|s| s.p99_ms),
        trigger: state.trigger.as_ref().map(|(rule, windows, at)| TriggerView {
            rule: rule.clone(),
            windows: windows.clone(),
            at: *at,
        }),
        samples,
    })
}

fn rollback_view(run: &RunState, waiting_step: Option<&str>, live: bool) -> Option<RollbackView> {
    let rollback = run.rollback.as_ref()?;
    let steps: Vec<StepLine> = rollback
        .steps
        .iter()
        .map(|s| step_line(run, s, waiting_step, live))
        .collect();
    let first_start = rollback
        .steps
        .first()
        .and_then(|s| run.step(&s.id))
        .map(|st| st.started_at);
    let cause_at = match rollback.cause {
        RollbackCause::Trigger => run
            .steps
            .values()
            .filter_map(|st| {
                let (_, windows, _) = st.trigger.as_ref()?;
                let last = windows.last()?;
                st.samples
                    .iter()
                    .rev()
                    .find(|(_, s)| s.window == *last)
                    .map(|(at, _)| *at)
            })
            .max(),
        RollbackCause::StepFailed => run
            .steps
            .values()
            .filter(|st| st.view == StepView::Finished(crate::event::StepStatus::Failed))
            .filter_map(|st| st.finished_at)
            .filter(|at| *at <= rollback.started_at)
            .max(),
        RollbackCause::Command | RollbackCause::Window => Some(rollback.started_at),
    };
    let time_to_rollback_ms = match (cause_at, first_start) {
        (Some(cause), Some(first)) => u64::try_from((first - cause).num_milliseconds()).ok(),
        _ => None,
    };
    Some(RollbackView {
        cause: match rollback.cause {
            RollbackCause::StepFailed => "step_failed",
            RollbackCause::Trigger => "trigger",
            RollbackCause::Command => "command",
            RollbackCause::Window => "window",
        }
        .to_string(),
        reason: rollback.reason.clone(),
        by: rollback.by.clone(),
        started_at: rollback.started_at,
        time_to_rollback_ms,
        steps,
    })
}

/// Sparklines of the error rate and p99 against the first rule on each metric, and the
/// windows worth reading: those that breached a rule (at most [`NOTABLE`]) and the last.
fn monitor_lines(m: &MonitorView, indent: &str) -> Vec<String> {
    let threshold = |metric: &str, fallback: f64| {
        m.samples
            .first()
            .and_then(|s| s.rules.iter().find(|r| r.rule.starts_with(metric)).map(|r| r.above))
            .unwrap_or(fallback)
    };
    let errors: Vec<Option<f64>> = m.samples.iter().map(|s| s.error_rate).collect();
    let p99: Vec<Option<f64>> = m.samples.iter().map(|s| s.p99_ms).collect();
    let p99_limit = threshold("p99_ms", m.worst_p99_ms.unwrap_or(1.0).max(1.0));
    let mut lines = vec![
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
    ];
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
        lines.push(format!("{indent}{}{mark}", window_line(s)));
        if let (false, Some(e)) = (mark.is_empty(), &s.first_error) {
            lines.push(format!("{indent}  first error: {e}"));
        }
    }
    if let Some(t) = &m.trigger {
        let w: Vec<String> = t.windows.iter().map(|w| format!("w{w}")).collect();
        lines.push(format!("{indent}rule held: {} over {}", t.rule, w.join(" ")));
    }
    lines
}

/// The most breaching windows a report lists one by one.
const NOTABLE: usize = 10;

/// Services of a rolling restart and a monitor's windows, indented under their step.
fn details(s: &StepLine, indent: &str) -> String {
    let mut out = String::new();
    for svc in &s.services {
        let mark = if svc.result == "healthy" { "[x]" } else { "[!]" };
        let why = svc.reason.as_deref().unwrap_or_default();
        out.push_str(&format!("{indent}{mark} batch {}: {}  {why}\n", svc.batch, svc.service));
    }
    if let Some(m) = &s.monitor {
        for line in monitor_lines(m, indent) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
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
            out.push_str(&details(s, "      "));
        }
    }
    if let Some(rb) = &v.rollback {
        out.push_str(&format!(
            "\nrollback ({}) by {} at {} — {}\n",
            rb.cause.replace('_', " "),
            rb.by,
            rb.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
            rb.reason
        ));
        if let Some(ms) = rb.time_to_rollback_ms {
            out.push_str(&format!(
                "  first rollback step started {} after the cause\n",
                dur(Duration::from_millis(ms))
            ));
        }
        for s in &rb.steps {
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
            md_step_extras(&mut out, s);
        }
    }
    if let Some(rb) = &v.rollback {
        out.push_str(&format!(
            "\n## Rollback\n\n**Cause:** {} — {}  \n**Started:** {} by {}",
            rb.cause.replace('_', " "),
            md(&rb.reason),
            rb.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
            md(&rb.by)
        ));
        if let Some(ms) = rb.time_to_rollback_ms {
            out.push_str(&format!(" · **Time to rollback:** {}", dur(Duration::from_millis(ms))));
        }
        out.push_str("\n\n");
        for s in &rb.steps {
            let mark = if s.status == "done" { "[x]" } else { "[ ]" };
            let note = match s.status.as_str() {
                "done" | "pending" => String::new(),
                other => format!(" — **{}**", other.replace('_', " ")),
            };
            out.push_str(&format!("- {mark} **{}** — {}{}{note}\n", s.id, md(&s.title), took(s)));
            md_step_extras(&mut out, s);
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

/// Reason, failed output, services and monitor windows under a Markdown checkbox.
fn md_step_extras(out: &mut String, s: &StepLine) {
    if let (Some(r), true) = (&s.reason, s.status != "pending") {
        out.push_str(&format!("  - {}\n", md(r)));
    }
    let extra = details(s, "");
    let failed_output = s
        .output
        .as_ref()
        .filter(|_| s.status == "failed" || s.status == "interrupted");
    if extra.is_empty() && failed_output.is_none() {
        return;
    }
    out.push_str("\n  ```text\n");
    for l in extra.lines().chain(failed_output.into_iter().flat_map(|o| o.lines())) {
        out.push_str(&format!("  {}\n", l.replace("```", "'''")));
    }
    out.push_str("  ```\n");
}

/// Keeps user text from turning into Markdown markup.
fn md(text: &str) -> String {
    text.replace('\n', " ")
}

fn cell(text: &str) -> String {
    md(text).replace('|', "\\|")
}
