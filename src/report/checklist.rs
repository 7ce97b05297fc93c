//! The [`StatusView`] built from the fold and the lock: each planned step's line, its gate,
//! services and monitor windows, the run's mark, history and evidence.

use super::evidence::{gate_view, outcome, rollback_view, sign_offs, window_events};
use super::mark::{RunMark, StepMark};
use super::status::*;
use crate::event::{PlannedStep, Sample};
use crate::journal::{LockState, RunState, StepState, StepView};

/// Builds the checklist from the fold and the lock.
pub fn view(run: &RunState, lock: &LockState) -> StatusView {
    let live = matches!(lock, LockState::Held(_));
    let waiting_step = run.paused.as_ref().map(|(s, _)| s.as_str());
    let phases = phase_views(run, waiting_step, live);
    // A finished run (done or rolled back) is in no phase any more.
    let current_phase = phases
        .iter()
        .find(|p| p.steps.iter().any(|s| !s.status.is_settled()))
        .filter(|_| run.finished.is_none())
        .map(|p| p.id.clone());
    let state = run_state(run, &phases, live);
    let rollback = rollback_view(run, waiting_step, live);
    let finished_at = run.finished.map(|(_, _, at)| at);
    let end = finished_at.unwrap_or(run.updated_at);
    let mut v = StatusView {
        run_id: run.run_id.clone(),
        runbook: run.runbook.clone(),
        title: run.title.clone(),
        runbook_sha256: run.runbook_sha256.clone(),
        vars_sha256: run.vars_sha256.clone(),
        operator: run.operator.clone(),
        host: run.host.clone(),
        started_at: run.started_at,
        updated_at: run.updated_at,
        finished_at,
        exit_code: run.finished.map(|(_, code, _)| code),
        elapsed_ms: u64::try_from((end - run.started_at).num_milliseconds()).unwrap_or(0),
        state,
        outcome: String::new(),
        current_phase,
        waiting: waiting(run),
        running_as: match lock {
            LockState::Held(h) => Some(h.to_string()),
            _ => None,
        },
        window: run.window.clone(),
        window_events: window_events(run),
        sign_offs: sign_offs(&phases),
        phases,
        approvals: run.approvals.iter().map(approval_view).collect(),
        rollback,
        operators: run.operators.clone(),
        inputs: input_views(run),
        contacts: run.contacts.clone(),
        history: history_views(run),
    };
    v.outcome = outcome(&v);
    v
}

/// The plan's phases with each step's line (and the phases of an earlier plan that ran).
fn phase_views(run: &RunState, waiting_step: Option<&str>, live: bool) -> Vec<PhaseView> {
    let approved_step = waiting_step.filter(|_| run.approved_while_paused.is_some());
    run.plan
        .iter()
        .map(|p| PhaseView {
            id: p.id.clone(),
            title: p.title.clone(),
            steps: p
                .steps
                .iter()
                .map(|s| approved(step_line(run, s, waiting_step, live), approved_step))
                .collect(),
        })
        .chain(super::evidence::earlier_plan(run, waiting_step, live))
        .collect()
}

/// What the paused run waits for, or that its gate is approved and the next run passes it.
fn waiting(run: &RunState) -> Option<String> {
    run.paused
        .as_ref()
        .map(|(step, reason)| match &run.approved_while_paused {
            Some(by) => format!("step `{step}` is approved by {by}: the next `deployctl run` passes it"),
            None => reason.clone(),
        })
}

/// The inputs by reference (a secret's value is never journaled).
fn input_views(run: &RunState) -> Vec<InputView> {
    run.inputs
        .iter()
        .flatten()
        .map(|(name, input)| InputView {
            name: name.clone(),
            value: input.value.clone(),
        })
        .collect()
}

fn history_views(run: &RunState) -> Vec<HistoryView> {
    run.history
        .iter()
        .map(|h| HistoryView {
            at: h.at,
            kind: h.kind,
            by: h.by.clone(),
            step: h.step.clone(),
            text: h.text.clone(),
        })
        .collect()
}

/// The line of the gate approved since the run paused there: approved, not awaiting.
fn approved(mut line: StepLine, approved_step: Option<&str>) -> StepLine {
    if approved_step == Some(line.id.as_str()) {
        line.status = StepMark::Approved;
    }
    line
}

fn run_state(run: &RunState, phases: &[PhaseView], live: bool) -> RunMark {
    let any = |mark: StepMark| phases.iter().flat_map(|p| &p.steps).any(|s| s.status == mark);
    if let Some((status, _, _)) = run.finished {
        RunMark::from(status)
    } else if run.rolling_back() && !live {
        RunMark::RollingBack
    } else if live {
        RunMark::Running
    } else if run.paused.is_some() {
        RunMark::Paused
    } else if run.interrupted || any(StepMark::Interrupted) {
        RunMark::Interrupted
    } else if any(StepMark::Failed) {
        RunMark::Failed
    } else {
        RunMark::Stopped
    }
}

fn approval_view(a: &crate::journal::ApprovalRecord) -> ApprovalView {
    ApprovalView {
        step: a.step.clone(),
        kind: a.kind,
        by: a.by.clone(),
        role: a.role.clone(),
        note: a.note.clone(),
        host: a.host.clone(),
        at: a.at,
        runbook_sha256: a.runbook_sha256.clone(),
        signer: a.signature.as_ref().map_or_else(
            || "unsigned".to_owned(),
            |s| format!("{} (key {})", s.principal, s.fingerprint),
        ),
        revoked: a.revoked,
    }
}

pub(super) fn step_line(run: &RunState, s: &PlannedStep, waiting_step: Option<&str>, live: bool) -> StepLine {
    let state = run.step(&s.id);
    let status = match state.map(|st| st.view) {
        _ if waiting_step == Some(s.id.as_str()) => StepMark::AwaitingApproval,
        None => StepMark::Pending,
        Some(StepView::Started) if live => StepMark::Running,
        Some(StepView::Started) => StepMark::Interrupted,
        Some(StepView::Finished(status)) => StepMark::from(status),
    };
    StepLine {
        id: s.id.clone(),
        title: s.title.clone(),
        kind: s.kind.clone(),
        status,
        attempts: state.map_or(0, |st| st.attempts),
        started_at: state.map(|st| st.started_at),
        finished_at: state.and_then(|st| st.finished_at),
        duration_ms: state.and_then(|st| st.duration_ms),
        reason: state.and_then(|st| {
            st.verify_failure
                .as_ref()
                .map(|f| format!("verify failed on resume: {f}"))
                .or_else(|| st.reason.clone())
        }),
        output: state.and_then(|st| st.output.clone()),
        gate: gate_view(run, s, status == StepMark::Done),
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
            result: r.result,
            reason: r.reason.clone(),
            duration_ms: r.duration_ms,
            at: r.at,
        })
        .collect()
}

fn monitor_view(state: &StepState) -> Option<MonitorView> {
    if state.samples.is_empty() && state.trigger.is_none() && state.baseline.is_none() {
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
    // Every rule read in some window (a baseline rule is read only once its baseline is
    // known), with its latest threshold.
    let mut rules: Vec<RuleView> = Vec::new();
    for r in samples.iter().flat_map(|s| &s.rules) {
        let view = RuleView {
            rule: r.rule.clone(),
            metric: r.rule.split_whitespace().next().unwrap_or_default().to_string(),
            above: r.above,
            baseline: r.baseline,
        };
        match rules.iter_mut().find(|v| v.rule == r.rule) {
            Some(known) => *known = view,
            None => rules.push(view),
        }
    }
    Some(MonitorView {
        windows: samples.len(),
        probes: samples.iter().map(|s| u64::from(s.count)).sum(),
        errors: samples.iter().map(|s| u64::from(s.errors)).sum(),
        worst_error_rate: worst(|s| s.error_rate),
        worst_p99_ms: worst(|s| s.p99_ms),
        rules,
        trigger: state.trigger.as_ref().map(|(rule, windows, at)| TriggerView {
            rule: rule.clone(),
            windows: windows.clone(),
            at: *at,
        }),
        samples,
        baseline: state.baseline.clone(),
    })
}
