//! The run's history, folded beside its state: what went on along the way that the
//! checklist alone does not show (a failure later retried, a crash, a resume by someone
//! else, an override). The evidence report lists it, so a run that failed, was resumed by
//! another operator and then finished does not read as a clean run.

use super::state::{HistoryKind, HistoryRecord, RunState, StepView};
use crate::event::{Entry, Event, StepStatus};

/// Notes `entry` in the history, looking at the state before the entry is applied.
pub(super) fn note(s: &mut RunState, entry: &Entry) {
    let Some((kind, by, step, text)) = record(s, &entry.event) else {
        return;
    };
    s.history.push(HistoryRecord {
        at: entry.at,
        kind,
        by,
        step,
        text,
    });
}

type Noted = (HistoryKind, Option<String>, Option<String>, String);

fn record(s: &RunState, event: &Event) -> Option<Noted> {
    Some(match event {
        Event::RunResumed {
            operator,
            host,
            vars_sha256,
            plan,
            ..
        } => {
            let changed = match (vars_sha256.is_some(), plan.is_some()) {
                (true, true) => "; the runbook and its inputs changed (--allow-changed)",
                (false, true) => "; the runbook changed (--allow-changed)",
                (true, false) => "; its inputs changed (--allow-changed)",
                (false, false) => "",
            };
            let text = format!("resumed by {operator} on {host}{changed}");
            (HistoryKind::Resumed, Some(operator.clone()), None, text)
        }
        Event::StepStarted { step, attempt } => {
            let state = s.step(step)?;
            // A start while the last one never finished: a crash or kill -9 cut it off.
            let cut = state.view == StepView::Started && *attempt <= state.attempts_this_try;
            if !cut {
                return None;
            }
            let text = format!(
                "attempt {} was cut off (no finish journaled: a crash or kill); started again",
                state.attempts
            );
            (HistoryKind::Interrupted, None, Some(step.clone()), text)
        }
        Event::AttemptFailed { step, attempt, reason } => {
            let text = format!("attempt {attempt} failed: {reason}; retried");
            (HistoryKind::Failed, None, Some(step.clone()), text)
        }
        Event::StepFinished {
            step,
            status: StepStatus::Failed,
            attempts,
            reason,
            ..
        } => {
            let why = reason.as_deref().unwrap_or("no reason given");
            let text = format!("failed after {attempts} attempt(s): {why}");
            (HistoryKind::Failed, None, Some(step.clone()), text)
        }
        Event::StepFinished {
            step,
            status: StepStatus::Interrupted,
            reason,
            ..
        } => {
            let text = format!("interrupted: {}", reason.as_deref().unwrap_or("by a signal"));
            (HistoryKind::Interrupted, None, Some(step.clone()), text)
        }
        Event::RunInterrupted { signal, .. } => {
            (HistoryKind::Interrupted, None, None, format!("run stopped by {signal}"))
        }
        Event::Verified {
            step,
            ok: false,
            reason,
        } => {
            let text = format!("verify no longer held: {}", reason.as_deref().unwrap_or(""));
            (HistoryKind::VerifyFailed, None, Some(step.clone()), text)
        }
        Event::WindowOverride { by, reason } => {
            let text = format!("window ignored with --ignore-window: {reason}");
            (HistoryKind::Override, Some(by.clone()), None, text)
        }
        Event::ClockOverride { by, real_at } => {
            let text = format!(
                "time pretended with --now (the real time was {})",
                real_at.format("%Y-%m-%d %H:%M:%S UTC")
            );
            (HistoryKind::Override, Some(by.clone()), None, text)
        }
        Event::OrphanKilled { step, pgid, by } => {
            let text =
                format!("process group {pgid}, left running by a killed run, killed with `unlock --kill-orphans`");
            (HistoryKind::Override, Some(by.clone()), Some(step.clone()), text)
        }
        Event::RollbackStarted { reason, by, .. } => (
            HistoryKind::Rollback,
            Some(by.clone()),
            None,
            format!("rollback started: {reason}"),
        ),
        _ => return None,
    })
}
