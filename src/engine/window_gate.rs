//! The window as the executor applies it: before a run starts (open? enough time left?)
//! and before each step that changes things (closed meanwhile? then `overrun`).
//!
//! `--ignore-window` skips both and is journaled with the operator's name. A refusal is
//! journaled as `window_wait` and ends the invocation with exit 3; the run stays unfinished
//! and the next `deployctl run` inside the window resumes it.

use chrono::{DateTime, Utc};

use super::clock;
use super::executor::Executor;
use super::feasibility::remaining;
use super::observer::Observer;
use super::outcome::{RunError, RunOutcome};
use super::window::{WindowState, state};
use crate::event::{Event, RollbackCause};
use crate::journal::WindowRecord;
use crate::runbook::duration::format as dur;
use crate::runbook::model::{Overrun, Step};

impl<O: Observer> Executor<'_, O> {
    /// Before the first step of this invocation: `Some` stops it.
    pub(super) fn window_at_start(&mut self) -> Result<Option<RunOutcome>, RunError> {
        let Some(window) = &self.loaded.runbook.window else {
            return Ok(None);
        };
        let now = clock::now();
        let described = super::target::describe_window(window);
        if self.options.ignore_window {
            // Once per run and operator: a demo or a rehearsal resumes many times.
            let already = self.current.as_ref().is_some_and(|run| {
                run.window_events
                    .iter()
                    .any(|e| matches!(e, WindowRecord::Override { by, .. } if *by == self.options.operator))
            });
            if already {
                return Ok(None);
            }
            let said = match state(window, now) {
                WindowState::Open { closes } => format!("open until {}", stamp(closes)),
                WindowState::Closed { why, .. } => format!("closed ({why})"),
            };
            self.record(Event::WindowOverride {
                by: self.options.operator.clone(),
                reason: format!("window {described} was {said} at {}", stamp(now)),
            })?;
            return Ok(None);
        }
        match state(window, now) {
            WindowState::Closed { why, next } => {
                let opens = next.map_or("no opening within 400 days".to_string(), |n| {
                    format!("it opens next at {}", stamp(n))
                });
                let reason = format!("outside the deployment window {described}: {why}; {opens}");
                self.wait(
                    reason,
                    next,
                    "run again once the window is open, or `--ignore-window` to override (journaled with your name)",
                )
                .map(Some)
            }
            WindowState::Open { closes } => {
                let (estimate, steps) = remaining(&self.loaded.runbook, self.current.as_ref(), &self.history);
                let exact = (closes - now).to_std().unwrap_or_default();
                let left = std::time::Duration::from_secs(exact.as_secs_f64().round() as u64);
                if estimate <= exact {
                    return Ok(None);
                }
                let reason = format!(
                    "not enough window left: the {steps} changing step(s) still to run are estimated at {} (past runs' medians, else timeouts), the window closes at {} ({} from now)",
                    dur(estimate),
                    stamp(closes),
                    dur(left)
                );
                self.wait(
                    reason,
                    super::window::next_opening(window, closes),
                    "start early in a window, lower the steps' timeouts to what they really need, or `--ignore-window` to override (journaled)",
                )
                .map(Some)
            }
        }
    }

    /// Before a step that changes things: when the window has closed since, apply
    /// `overrun` (once per invocation for `finish`).
    pub(super) async fn window_before(&mut self, step: &Step) -> Result<Option<RunOutcome>, RunError> {
        let Some(window) = &self.loaded.runbook.window else {
            return Ok(None);
        };
        if self.options.ignore_window
            || self.overrun_applied
            || self.current.as_ref().is_some_and(|r| r.is_done(&step.id))
        {
            return Ok(None);
        }
        let now = clock::now();
        let WindowState::Closed { next, .. } = state(window, now) else {
            return Ok(None);
        };
        self.overrun_applied = true;
        let closed = format!("the deployment window closed before `{}` (at {})", step.id, stamp(now));
        match window.overrun {
            Overrun::Finish => {
                self.record(Event::WindowWait {
                    reason: format!("{closed}; overrun: finish, so the remaining changes run"),
                    next_opening: None,
                })?;
                Ok(None)
            }
            Overrun::Pause => self
                .wait(
                    format!("{closed}; overrun: pause"),
                    next,
                    "run again in the next window to go on, or `deployctl rollback` to undo what was done",
                )
                .map(Some),
            Overrun::Rollback => {
                let reason = format!("{closed}; overrun: rollback");
                self.record(Event::WindowWait {
                    reason: reason.clone(),
                    next_opening: None,
                })?;
                self.rollback(RollbackCause::Window, reason).await.map(Some)
            }
        }
    }

    fn wait(&mut self, reason: String, next: Option<DateTime<Utc>>, hint: &str) -> Result<RunOutcome, RunError> {
        self.record(Event::WindowWait {
            reason: reason.clone(),
            next_opening: next,
        })?;
        Ok(RunOutcome::WindowClosed {
            reason,
            hint: hint.to_string(),
        })
    }
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}
