//! The parts of the evidence report that are about people and time rather than steps: who
//! passed each gate, the sign-off lines, the deployment window's events, the rollback and
//! how long it took to start, and the outcome of the run in words. All of it is read from the fold, so a report made a year later from the
//! same journal says the same thing.

use std::collections::HashSet;

use super::mark::{GateKind, RunMark, StepMark, WindowEventKind};
use super::status::{GateView, PhaseView, RollbackView, SignOffView, StatusView, StepLine, WindowEventView, step_line};
use crate::event::{ApprovalKind, PlannedStep, RollbackCause, StepStatus};
use crate::journal::{RunState, StepView, WindowRecord};

/// Who passed a gate step: the latest gate approval given for the run's runbook digest
/// (the one the engine accepts), or, for a step already done, the latest one at all.
pub(super) fn gate_view(run: &RunState, step: &PlannedStep, done: bool) -> Option<GateView> {
    GateKind::of(&step.kind)?;
    let given = run.approvals_for(&step.id, ApprovalKind::Gate, None);
    let approval = given
        .iter()
        .rfind(|a| a.runbook_sha256 == run.runbook_sha256)
        .or_else(|| given.last().filter(|_| done))?;
    Some(GateView {
        by: approval.by.clone(),
        role: approval.role.clone(),
        at: approval.at,
        note: approval.note.clone(),
    })
}

/// One sign-off line per `approval` step of the plan, in plan order. The role comes from the
/// approval when one was given, else from the plan's default title (`approval by role R`).
pub(super) fn sign_offs(phases: &[PhaseView]) -> Vec<SignOffView> {
    phases
        .iter()
        .flat_map(|p| &p.steps)
        .filter(|s| GateKind::of(&s.kind) == Some(GateKind::Approval))
        .map(|s| {
            let gate = s.gate.as_ref().filter(|_| s.status == StepMark::Done);
            SignOffView {
                step: s.id.clone(),
                title: s.title.clone(),
                role: gate.and_then(|g| g.role.clone()).or_else(|| role_in_title(&s.title)),
                by: gate.map(|g| g.by.clone()),
                at: gate.map(|g| g.at),
            }
        })
        .collect()
}

/// `approval by role @pm (one of ...)` → `@pm`: the plan's own wording of an untitled gate.
fn role_in_title(title: &str) -> Option<String> {
    let rest = title.strip_prefix("approval by role ")?;
    rest.split_whitespace().next().map(str::to_string)
}

/// The window's waits and overrides, in journal order.
pub(super) fn window_events(run: &RunState) -> Vec<WindowEventView> {
    let clocks = run.clock_overrides.iter().map(|c| WindowEventView {
        kind: WindowEventKind::ClockOverride,
        at: c.pretended,
        reason: format!(
            "the invocation pretended it was {} with --now; the real time was {}",
            c.pretended.format("%Y-%m-%d %H:%M:%S UTC"),
            c.real.format("%Y-%m-%d %H:%M:%S UTC")
        ),
        by: Some(c.by.clone()),
        next_opening: None,
    });
    run.window_events
        .iter()
        .map(|e| match e {
            WindowRecord::Wait {
                reason,
                next_opening,
                at,
            } => WindowEventView {
                kind: WindowEventKind::Wait,
                at: *at,
                reason: reason.clone(),
                by: None,
                next_opening: *next_opening,
            },
            WindowRecord::Override { by, reason, at } => WindowEventView {
                kind: WindowEventKind::Override,
                at: *at,
                reason: reason.clone(),
                by: Some(by.clone()),
                next_opening: None,
            },
        })
        .chain(clocks)
        .collect()
}

/// When the run ended and with what exit code, or that it has not (the reports' header).
pub(super) fn finished(v: &StatusView) -> String {
    const TIME: &str = "%Y-%m-%d %H:%M:%S UTC";
    match (v.finished_at, v.exit_code) {
        (Some(at), Some(code)) => format!("{} (exit {code})", at.format(TIME)),
        (Some(at), None) => at.format(TIME).to_string(),
        _ => format!("not finished (last event {})", v.updated_at.format(TIME)),
    }
}

/// The final state in words, for the top of a change ticket: done, rolled back and why,
/// paused waiting for what, failed at which step and why.
pub(super) fn outcome(v: &StatusView) -> String {
    let steps = || v.phases.iter().flat_map(|p| &p.steps);
    let rollback_steps = || v.rollback.iter().flat_map(|r| &r.steps);
    let at = |mark: StepMark| {
        steps()
            .chain(rollback_steps())
            .find(|s| s.status == mark)
            .map(|s| match &s.reason {
                Some(r) => format!("`{}`: {}", s.id, one_line(r)),
                None => format!("`{}`", s.id),
            })
    };
    let why = v.rollback.as_ref().map(|r| one_line(&r.reason)).unwrap_or_default();
    match v.state {
        RunMark::Done => {
            let failed = steps().filter(|s| s.status == StepMark::Failed).count();
            let done = steps().filter(|s| s.status == StepMark::Done).count();
            match failed {
                0 => format!("done: {done} steps done"),
                n => format!("done: {done} steps done, {n} failed and continued (on_failure: continue)"),
            }
        }
        RunMark::RolledBack => format!("rolled back: {why}"),
        RunMark::RollbackFailed => match at(StepMark::Failed) {
            Some(step) => format!("rollback failed at {step} (rolling back because {why})"),
            None => format!("rollback failed (rolling back because {why})"),
        },
        RunMark::RollingBack => format!("rolling back, cut off before the end: {why}"),
        RunMark::Paused => format!("paused: {}", v.waiting.as_deref().map(one_line).unwrap_or_default()),
        RunMark::Running => match steps().find(|s| s.status == StepMark::Running) {
            Some(s) => format!("running: step `{}`", s.id),
            None => "running".into(),
        },
        RunMark::Interrupted => match at(StepMark::Interrupted) {
            Some(step) => format!("interrupted at {step}"),
            None => "interrupted".into(),
        },
        RunMark::Failed => match at(StepMark::Failed) {
            Some(step) => format!("failed at {step}"),
            None => "failed".into(),
        },
        RunMark::Stopped => match steps().find(|s| s.status == StepMark::Pending) {
            Some(s) => format!("stopped before `{}`", s.id),
            None => "stopped".into(),
        },
    }
}

/// Journal text on one line: reasons may carry newlines.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The rollback and why it ran: when its cause was journaled (the tripping window's sample,
/// the failed step's end, or the command) and how long until its first step started.
pub(super) fn rollback_view(run: &RunState, waiting_step: Option<&str>, live: bool) -> Option<RollbackView> {
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
            .filter(|st| st.view == StepView::Finished(StepStatus::Failed))
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
        cause: rollback.cause,
        reason: rollback.reason.clone(),
        by: rollback.by.clone(),
        started_at: rollback.started_at,
        cause_at,
        time_to_rollback_ms,
        steps,
    })
}

/// Steps that ran under an earlier plan of this run and are not in its plan now (the
/// runbook changed and the run resumed with `--allow-changed`): what they did stays in the
/// report, as a phase of their own after the plan's.
pub(super) fn earlier_plan(run: &RunState, waiting_step: Option<&str>, live: bool) -> Option<PhaseView> {
    let now: HashSet<&str> = run.plan.iter().flat_map(|p| &p.steps).map(|s| s.id.as_str()).collect();
    let mut seen = HashSet::new();
    let steps: Vec<StepLine> = run
        .earlier_plans
        .iter()
        .flatten()
        .flat_map(|p| &p.steps)
        .filter(|s| !now.contains(s.id.as_str()) && run.step(&s.id).is_some() && seen.insert(s.id.as_str()))
        .map(|s| step_line(run, s, waiting_step, live))
        .collect();
    (!steps.is_empty()).then(|| PhaseView {
        id: "earlier-plan".into(),
        title: "Steps of an earlier plan (the runbook changed; resumed with --allow-changed)".into(),
        steps,
    })
}

#[cfg(test)]
mod tests {
    use crate::event::Entry;
    use crate::journal::{LockState, latest_run};
    use crate::report::markdown::markdown;
    use crate::report::status::view;

    /// A journal paused at a gate after a window wait and an override: the report says who
    /// overrode the window and when, what the run waits for, and leaves the sign-off blank.
    const JOURNAL: &str = r#"{"at":"2026-03-03T01:50:00Z","run_id":"r1","event":{"type":"run_started","format":1,"runbook":"rls","title":"RLS","runbook_sha256":"aa","vars_sha256":"bb","operator":"gage","host":"ops1","pid":1,"plan":[{"id":"p","title":"Approvals","steps":[{"id":"cto","title":"approval by role cto","kind":"approval"}]}],"window":"tue,wed,thu 02:00-06:00 (UTC), overrun finish"}}
{"at":"2026-03-03T01:50:01Z","run_id":"r1","event":{"type":"window_wait","reason":"outside the window","next_opening":"2026-03-03T02:00:00Z"}}
{"at":"2026-03-03T01:55:00Z","run_id":"r1","event":{"type":"window_override","by":"gage","reason":"outside the window"}}
{"at":"2026-03-03T01:55:01Z","run_id":"r1","event":{"type":"run_paused","step":"cto","reason":"step `cto` awaits approval by role cto"}}"#;

    #[test]
    fn a_paused_run_reports_its_window_events_and_blank_sign_off() {
        let entries: Vec<Entry> = JOURNAL
            .lines()
            .map(|l| serde_json::from_str(l).expect("fixture line"))
            .collect();
        let run = latest_run(entries).expect("a run");
        let v = view(&run, &LockState::Free);
        assert_eq!(v.outcome, "paused: step `cto` awaits approval by role cto");
        assert_eq!(v.sign_offs[0].role.as_deref(), Some("cto"));
        assert!(v.sign_offs[0].by.is_none());
        let md = markdown(&v);
        for line in [
            "| **Window** | tue,wed,thu 02:00-06:00 (UTC), overrun finish |",
            "| **Window wait** | 2026-03-03 01:50:01 UTC waited: outside the window; opens next 2026-03-03 02:00:00 UTC |",
            "| **Window override** | 2026-03-03 01:55:00 UTC overridden by gage (`--ignore-window`): outside the window |",
            "| **Finished** | not finished (last event 2026-03-03 01:55:01 UTC) |",
            "- cto: ________________ — ________________ (`cto`: approval by role cto)",
        ] {
            assert!(md.contains(line), "`{line}` missing from:\n{md}");
        }
    }
}
