//! The fold: a run's entries, in order, into its [`RunState`]. Each event changes the state
//! in one small function; the journal is input, so an entry that makes no sense (a finish
//! without a start, an unknown step) changes nothing rather than failing.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::state::{
    ApprovalRecord, ClockRecord, HistoryKind, HistoryRecord, ProcessRecord, RollbackState, RunState, ServiceRecord,
    StepState, StepView, WindowRecord,
};
use crate::event::{ApprovalKind, Entry, Event, StepStatus};

/// Folds the entries of the latest run (the last `run_started` and what follows with its id).
/// Takes the entries by value: a fold of 100,000 events should move their text, not copy it.
pub fn latest_run(mut entries: Vec<Entry>) -> Option<RunState> {
    let start = entries
        .iter()
        .rposition(|e| matches!(e.event, Event::RunStarted { .. }))?;
    let mut state: Option<RunState> = None;
    for entry in entries.drain(start..) {
        match &mut state {
            None => state = begin(entry),
            Some(s) if entry.run_id == s.run_id => apply(s, entry),
            Some(_) => {}
        }
    }
    state
}

/// Folds one more entry into a run's state (how a running executor keeps its own view).
/// A `run_started` begins a new state; other entries of another run are ignored.
pub fn fold(state: &mut Option<RunState>, entry: Entry) {
    match state {
        Some(s) if entry.run_id == s.run_id && !matches!(entry.event, Event::RunStarted { .. }) => apply(s, entry),
        _ => {
            if let Some(started) = begin(entry) {
                *state = Some(started);
            }
        }
    }
}

fn begin(entry: Entry) -> Option<RunState> {
    let entry_at = entry.at;
    let Event::RunStarted {
        runbook,
        title,
        runbook_sha256,
        vars_sha256,
        operator,
        host,
        plan,
        window,
        inputs,
        contacts,
        runbook_file,
        ..
    } = entry.event
    else {
        return None;
    };
    // Sized for the plan up front: a journal of 50,000 steps otherwise rehashes 16 times.
    let step_count = plan.iter().map(|phase| phase.steps.len()).sum();
    Some(RunState {
        run_id: entry.run_id,
        runbook,
        title,
        runbook_sha256,
        vars_sha256,
        inputs,
        runbook_file,
        earlier_plans: Vec::new(),
        operators: vec![operator.clone()],
        operator,
        last_host: host.clone(),
        processes: Vec::new(),
        host,
        started_at: entry.at,
        updated_at: entry.at,
        plan,
        steps: HashMap::with_capacity(step_count),
        approvals: Vec::new(),
        paused: None,
        approved_while_paused: None,
        contacts,
        finished: None,
        interrupted: false,
        completed: Vec::new(),
        rollback: None,
        window,
        window_events: Vec::new(),
        invocation: 0,
        clock_overrides: Vec::new(),
        history: Vec::new(),
    })
    .map(|mut run| {
        let text = format!("run started by {} on {}", run.operator, run.host);
        let by = Some(run.operator.clone());
        run.history.push(HistoryRecord {
            at: entry_at,
            kind: HistoryKind::Started,
            by,
            step: None,
            text,
        });
        run
    })
}

fn apply(s: &mut RunState, entry: Entry) {
    s.updated_at = entry.at;
    super::history::note(s, &entry);
    let at = entry.at;
    match entry.event {
        Event::RunStarted { .. }
        | Event::Unlocked { .. }
        | Event::MigrationAttempt { .. }
        | Event::ServicePolling { .. } => {}
        // A failed attempt's group was killed when it ended.
        Event::AttemptFailed { step, .. } => s.processes.retain(|p| p.step != step),
        resumed @ Event::RunResumed { .. } => run_resumed(s, resumed),
        Event::ProcessStarted {
            step,
            pgid,
            leader_start,
        } => s.processes.push(ProcessRecord {
            step,
            pgid,
            leader_start,
            host: s.last_host.clone(),
            at,
        }),
        Event::ProcessEnded { step, pgid } | Event::OrphanKilled { step, pgid, .. } => {
            s.processes.retain(|p| !(p.step == step && p.pgid == pgid));
        }
        Event::StepStarted { step, attempt } => step_started(s, step, attempt, at),
        finished @ Event::StepFinished { .. } => step_finished(s, finished, at),
        restarted @ Event::ServiceRestarted { .. } => service_restarted(s, restarted, at),
        Event::MonitorSample { step, sample } => {
            if let Some(state) = s.steps.get_mut(&step) {
                state.samples.push((at, sample));
            }
        }
        Event::BaselineMeasured { step, baseline } => {
            if let Some(state) = s.steps.get_mut(&step) {
                state.baseline = Some(baseline);
            }
        }
        Event::TriggerFired { step, rule, windows } => {
            if let Some(state) = s.steps.get_mut(&step) {
                state.trigger = Some((rule, windows, at));
            }
        }
        started @ Event::RollbackStarted { .. } => rollback_started(s, started, at),
        Event::Verified { step, ok, reason } => {
            let invocation = s.invocation;
            if let Some(state) = s.steps.get_mut(&step) {
                state.verified = Some(ok);
                state.verified_in = Some(invocation);
                state.verify_failure = if ok { None } else { reason };
            }
        }
        approval @ Event::Approval { .. } => approved(s, &approval, at),
        Event::RunPaused { step, reason } => {
            s.paused = Some((step, reason));
            s.approved_while_paused = None;
        }
        Event::ApprovalRevoked { step, .. } => revoked(s, &step),
        Event::WindowWait { reason, next_opening } => s.window_events.push(WindowRecord::Wait {
            reason,
            next_opening,
            at,
        }),
        Event::WindowOverride { by, reason } => s.window_events.push(WindowRecord::Override { by, reason, at }),
        Event::RunInterrupted { .. } => s.interrupted = true,
        Event::ClockOverride { by, real_at } => s.clock_overrides.push(ClockRecord {
            by,
            pretended: at,
            real: real_at,
        }),
        Event::RunFinished { status, exit_code } => {
            s.finished = Some((status, exit_code, at));
            s.paused = None;
        }
    }
}

/// Another invocation picked the run up: under `--allow-changed` with new inputs or a new
/// plan (the old plan kept for the report).
fn run_resumed(s: &mut RunState, event: Event) {
    let Event::RunResumed {
        runbook_sha256,
        operator,
        vars_sha256,
        inputs,
        plan,
        host,
        ..
    } = event
    else {
        return;
    };
    s.invocation += 1;
    s.last_host = host;
    if let Some(digest) = vars_sha256 {
        s.vars_sha256 = digest;
        s.inputs = inputs;
    }
    if let Some(plan) = plan {
        s.earlier_plans.push(std::mem::replace(&mut s.plan, plan));
    }
    if !s.operators.contains(&operator) {
        s.operators.push(operator);
    }
    s.runbook_sha256 = runbook_sha256;
    s.paused = None;
    s.interrupted = false;
}

/// A step's try ended.
fn step_finished(s: &mut RunState, event: Event, at: DateTime<Utc>) {
    let Event::StepFinished {
        step,
        status,
        attempts,
        duration_ms,
        reason,
        output,
        undo,
        escalation,
    } = event
    else {
        return;
    };
    // The step's groups were killed (or spared, journaled as ended) when it ended.
    s.processes.retain(|p| p.step != step);
    let invocation = s.invocation;
    let Some(state) = s.steps.get_mut(&step) else {
        return;
    };
    // A step is done once: a second `done` (it cannot happen, but a journal is input) must
    // not list it twice, and a lookup in `completed` would make the fold quadratic.
    let was_done = state.view == StepView::Finished(StepStatus::Done);
    state.view = StepView::Finished(status);
    // A try's finish counts its attempts; the starts of the same try are already counted
    // (a finish without its starts, as a journal is input, still counts what it says).
    state.attempts = state.attempts.max(attempts);
    state.finished_at = Some(at);
    state.duration_ms = Some(duration_ms);
    state.reason = reason;
    state.output = output;
    state.undo = undo;
    state.escalation = escalation;
    state.finished_in = Some(invocation);
    if status == StepStatus::Done && !was_done {
        s.completed.push(step);
    }
}

/// One service of a rolling restart judged: its latest result replaces an earlier one.
fn service_restarted(s: &mut RunState, event: Event, at: DateTime<Utc>) {
    let Event::ServiceRestarted {
        step,
        service,
        batch,
        result,
        reason,
        duration_ms,
    } = event
    else {
        return;
    };
    if let Some(state) = s.steps.get_mut(&step) {
        state.services.retain(|r| r.service != service);
        state.services.push(ServiceRecord {
            service,
            batch,
            result,
            reason,
            duration_ms,
            at,
        });
    }
}

/// The rollback began (or was begun again by a resume, keeping its first start). A rollback
/// of a run that had ended (`deployctl rollback` after success) reopens it.
fn rollback_started(s: &mut RunState, event: Event, at: DateTime<Utc>) {
    let Event::RollbackStarted {
        cause,
        reason,
        by,
        steps,
    } = event
    else {
        return;
    };
    (s.finished, s.paused, s.interrupted) = (None, None, false);
    let started_at = s.rollback.as_ref().map_or(at, |r| r.started_at);
    s.rollback = Some(RollbackState {
        cause,
        reason,
        by,
        steps,
        started_at,
    });
}

/// An approval or confirmation, kept in order.
fn approved(s: &mut RunState, event: &Event, at: DateTime<Utc>) {
    let Some(record) = ApprovalRecord::of(event, at) else {
        return;
    };
    if record.kind == ApprovalKind::Gate && s.paused.as_ref().is_some_and(|(p, _)| *p == record.step) {
        let role = record.role.as_deref().map(|r| format!(" as {r}")).unwrap_or_default();
        s.approved_while_paused = Some(format!("{}{role}", record.by));
    }
    s.approvals.push(record);
}

/// `approve --revoke`: the gate approvals of `step` so far no longer count.
fn revoked(s: &mut RunState, step: &str) {
    if s.paused.as_ref().is_some_and(|(p, _)| p == step) {
        s.approved_while_paused = None;
    }
    for a in s
        .approvals
        .iter_mut()
        .filter(|a| a.step == step && a.kind == ApprovalKind::Gate)
    {
        a.revoked = true;
    }
}

/// A step (re)started: a new try after a finish or a crash, or a later attempt of its try.
fn step_started(s: &mut RunState, step: String, attempt: u32, at: DateTime<Utc>) {
    s.paused = None;
    // A step starts again only once its earlier groups are known to be gone.
    s.processes.retain(|p| p.step != step);
    let state = s.steps.entry(step).or_insert_with(|| StepState {
        view: StepView::Started,
        attempts: 0,
        started_at: at,
        try_started_at: at,
        attempts_this_try: 0,
        finished_at: None,
        duration_ms: None,
        reason: None,
        output: None,
        verified: None,
        verify_failure: None,
        undo: None,
        escalation: None,
        finished_in: None,
        verified_in: None,
        services: Vec::new(),
        samples: Vec::new(),
        trigger: None,
        baseline: None,
    });
    if state.view != StepView::Started || attempt <= state.attempts_this_try {
        // A new try: after a finish (a retry), or a start over after a crash cut off the
        // last try (its attempt counts from 1 again). A later attempt of the same try
        // belongs to it. A retry approval counts only for the try that follows it: the
        // next crash needs a new one.
        state.try_started_at = at;
        state.attempts_this_try = 0;
    }
    state.view = StepView::Started;
    state.attempts += 1;
    state.attempts_this_try = attempt;
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::event::ApprovalKind;
    use crate::journal::parse;

    fn line(at: &str, event: &str) -> String {
        format!("{{\"at\":\"2026-11-29T07:00:{at}Z\",\"run_id\":\"r\",\"event\":{event}}}\n")
    }

    #[test]
    fn a_retry_approval_covers_one_try_only() {
        let started = r#"{"type":"step_started","step":"s","attempt":1}"#;
        let approval = r#"{"type":"approval","step":"s","kind":"retry","by":"Dara","role":null,"note":null,"host":"vm","runbook_sha256":"x"}"#;
        let run = r#"{"type":"run_started","format":1,"runbook":"h","title":"h","runbook_sha256":"x","vars_sha256":"x","operator":"gage","host":"vm","pid":1,"plan":[]}"#;
        // Started, cut off, approved, started again and cut off again.
        let text = [("00", run), ("01", started), ("02", approval), ("03", started)]
            .map(|(at, e)| line(at, e))
            .concat();
        let read = parse(Path::new("j"), text.as_bytes()).expect("parses");
        let state = latest_run(read.entries).expect("a run");
        let step = state.step("s").expect("step");
        assert_eq!(step.try_started_at.format("%S").to_string(), "03");
        assert_eq!(step.started_at.format("%S").to_string(), "01", "the first start stays");
        assert_eq!(step.attempts, 2, "the cut-off try counts");
        assert!(
            state
                .approvals_for("s", ApprovalKind::Retry, Some(step.try_started_at))
                .is_empty(),
            "the approval was used by the try it allowed"
        );
    }
}
