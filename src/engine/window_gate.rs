//! The window's rules for a run: before its first step in an invocation (open? enough
//! time left?) and before each step that must run inside it (closed meanwhile? then
//! `overrun`). Pure: the decision function asks, the driver journals.
//!
//! `--ignore-window` skips both and is journaled once per run and operator. A refusal is
//! journaled as `window_wait` and ends the invocation with exit 3; the run stays
//! unfinished and the next `deployctl run` inside the window resumes it.

use chrono::{DateTime, Utc};

use super::action::{Action, Moment};
use super::feasibility::remaining;
use super::plan::{Plan, PlanStep};
use super::window::{WindowState, describe as describe_window, next_opening, state};
use crate::journal::{RunState, WindowRecord};
use crate::runbook::duration::format as dur;
use crate::runbook::model::{Overrun, Window};

/// Before the first step of this invocation.
pub(super) fn at_start<'p, 'a>(window: &Window, plan: &'p Plan<'a>, run: &RunState, at: &Moment<'_>) -> Action<'p, 'a> {
    let now = at.now;
    let described = describe_window(window);
    if at.ignore_window {
        let already = run
            .window_events
            .iter()
            .any(|e| matches!(e, WindowRecord::Override { by, .. } if by == at.operator));
        if already {
            return Action::EnterWindow;
        }
        let said = match state(window, now) {
            WindowState::Open { closes } => format!("open until {}", stamp(closes)),
            WindowState::Closed { why, .. } => format!("closed ({why})"),
        };
        return Action::OverrideWindow {
            reason: format!("window {described} was {said} at {}", stamp(now)),
        };
    }
    match state(window, now) {
        WindowState::Closed { why, next } => {
            let opens = next.map_or("no opening within 400 days".to_string(), |n| {
                format!("it opens next at {}", stamp(n))
            });
            Action::WaitForWindow {
                reason: format!("outside the deployment window {described}: {why}; {opens}"),
                next,
                hint: "run again once the window is open, or `--ignore-window` to override (journaled with your name)"
                    .into(),
            }
        }
        WindowState::Open { closes } => {
            let (estimate, steps) = remaining(plan, Some(run), at.history);
            let exact = (closes - now).to_std().unwrap_or_default();
            if estimate <= exact {
                return Action::EnterWindow;
            }
            let left = std::time::Duration::from_secs(exact.as_secs_f64().round() as u64);
            Action::WaitForWindow {
                reason: format!(
                    "not enough window left: the {steps} changing step(s) still to run are estimated at {} (past runs' medians, else timeouts), the window closes at {} ({} from now)",
                    dur(estimate),
                    stamp(closes),
                    dur(left)
                ),
                next: next_opening(window, closes),
                hint: "start early in a window, lower the steps' timeouts to what they really need, or `--ignore-window` to override (journaled)".into(),
            }
        }
    }
}

/// Before a step that must run inside the window: `Some` when the window has closed since
/// and `overrun` applies (once per invocation).
pub(super) fn before<'p, 'a>(window: &Window, step: &PlanStep<'a>, at: &Moment<'_>) -> Option<Action<'p, 'a>> {
    if at.ignore_window || at.invocation.overrun_applied || !step.in_window_span {
        return None;
    }
    let WindowState::Closed { next, .. } = state(window, at.now) else {
        return None;
    };
    let closed = format!(
        "the deployment window closed before `{}` (at {})",
        step.id,
        stamp(at.now)
    );
    Some(match window.overrun {
        Overrun::Finish => Action::Overrun {
            reason: format!("{closed}; overrun: finish, so the remaining changes run"),
            roll_back: false,
        },
        Overrun::Pause => Action::WaitForWindow {
            reason: format!("{closed}; overrun: pause"),
            next,
            hint: "run again in the next window to go on, or `deployctl rollback` to undo what was done".into(),
        },
        Overrun::Rollback => Action::Overrun {
            reason: format!("{closed}; overrun: rollback"),
            roll_back: true,
        },
    })
}

/// A time as the window's messages show it.
pub(super) fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}
