//! How the human reporter shows a step starting and ending, and a monitor's windows: a
//! spinner on a terminal, start lines off one, one line per finish with its output when
//! it failed, and monitor windows throttled off a terminal.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::HumanReporter;
use crate::event::{Event, Sample, ServiceResult, StepStatus};
use crate::report::escape::{block, one_line};
use crate::report::mark::StepMark;
use crate::report::trend::window_line;
use crate::runbook::duration::format as dur;

impl HumanReporter {
    /// A step (or a retry of it) began.
    pub(super) fn step_started(&mut self, step: &str, attempt: u32) {
        self.in_flight = Some(step.to_string());
        self.enter_phase(step);
        if self.live && !self.quiet {
            self.stop_spinner();
            let pb = ProgressBar::new_spinner();
            pb.set_style(
                ProgressStyle::with_template("  {spinner} {msg}  {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            let retry = if attempt > 1 {
                format!(" (attempt {attempt})")
            } else {
                String::new()
            };
            pb.set_message(format!("{}  {}{retry}", one_line(step), self.title(step)));
            pb.enable_steady_tick(Duration::from_millis(120));
            self.spinner = Some(pb);
        }
        if self.quiet {
        } else if self.is_monitor(step) {
            // A monitor's header: its windows follow.
            self.announcer.finished(step);
            if self.announcer.announce(step) {
                self.line(&self.start_line(step));
                *self.said.borrow_mut() = Some(step.to_string());
            }
        } else if !self.live {
            self.announcer.started(step, self.start_line(step));
        }
    }

    /// A step's try ended: its line, and its output unless it is done (or `--verbose`).
    pub(super) fn step_finished(&mut self, event: &Event) {
        let Event::StepFinished {
            step,
            status,
            attempts,
            duration_ms,
            reason,
            output,
            ..
        } = event
        else {
            return;
        };
        self.stop_spinner();
        self.enter_phase(step);
        if let Some(last) = self.windows.last_unshown(step)
            && !self.quiet
        {
            self.sub_line(step, &last);
        }
        self.announcer.finished(step);
        if self.quiet && *status == StepStatus::Done {
            return;
        }
        let tries = if *attempts > 1 {
            format!(", {attempts} attempts")
        } else {
            String::new()
        };
        let took = dur(Duration::from_millis(*duration_ms));
        let detail = reason
            .as_deref()
            .filter(|_| !self.tripped.contains(step))
            .map(|r| format!("  {}", block(r, "      ")))
            .unwrap_or_default();
        let mark = StepMark::from(*status).glyph();
        self.line(&format!(
            "  {mark} {}  {}  ({took}{tries}){detail}",
            one_line(step),
            self.title(step)
        ));
        let show_output = *status != StepStatus::Done || self.verbose;
        if let (true, Some(output)) = (show_output, output) {
            for l in output.lines() {
                self.line(&format!("      | {}", one_line(l)));
            }
        }
    }

    /// A monitor window: kept on one updating line on a terminal, throttled off one, every
    /// breach shown.
    pub(super) fn monitor_sample(&mut self, step: &str, sample: &Sample) {
        let breach = sample.rules.iter().any(|r| r.breach);
        let series = self.trends.entry(step.to_string()).or_default();
        series.push((sample.error_rate, sample.p99_ms));
        if self.quiet && !breach {
            return;
        }
        let text = format!("      {}{}", one_line(&window_line(sample)), self.trend(step, sample));
        if let Some(pb) = &self.spinner {
            // On a terminal: one line that updates, and each breach kept above it.
            pb.set_message(format!("{}  {}", one_line(step), text.trim_start()));
            if breach {
                self.sub_line(step, &text);
            }
        } else if self.windows.show(step, breach, &text) {
            self.sub_line(step, &text);
        }
        if let (true, Some(e)) = (breach && self.verbose, &sample.first_error) {
            self.line(&format!("        first error: {}", one_line(e)));
        }
    }

    /// A restart's service is being waited on: which one, and its health URL (redacted
    /// when journaled), so a log off a terminal is not silent for `health_timeout`.
    pub(super) fn service_polling(&mut self, step: &str, service: &str, health: &str) {
        if !self.quiet {
            let text = format!("      ↻ {}: restarted, polling {}", one_line(service), one_line(health));
            self.sub_line(step, &text);
        }
    }

    /// A restart's service was judged: its batch and verdict (under `--quiet`, failures
    /// only).
    pub(super) fn service_restarted(&mut self, event: &Event) {
        let Event::ServiceRestarted {
            step,
            service,
            batch,
            result,
            reason,
            ..
        } = event
        else {
            return;
        };
        let mark = StepMark::from(*result).glyph();
        if !self.quiet || *result != ServiceResult::Healthy {
            let why = one_line(reason.as_deref().unwrap_or_default());
            let text = format!("      {mark} batch {batch}: {}  {why}", one_line(service));
            self.sub_line(step, &text);
        }
    }
}
