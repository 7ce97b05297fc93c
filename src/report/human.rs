//! Live human output of a run: a spinner with elapsed time on a terminal, plain lines
//! otherwise (CI logs). One line per finished step, with the status glyph of `status`.

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::glyph::glyph;
use crate::engine::Observer;
use crate::event::{Entry, Event, PlannedPhase, StepStatus};
use crate::runbook::duration::format as dur;

/// Where a step sits in the plan, for headers and titles.
struct StepInfo {
    phase: usize,
    title: String,
}

/// Renders run events for people.
pub struct HumanReporter {
    phases: Vec<(String, String)>,
    steps: HashMap<String, StepInfo>,
    current_phase: Option<usize>,
    spinner: Option<ProgressBar>,
    live: bool,
    verbose: bool,
    quiet: bool,
}

impl HumanReporter {
    /// `live`: draw a spinner (stderr is a terminal and colors/animation are allowed).
    pub fn new(plan: &[PlannedPhase], live: bool, verbose: bool, quiet: bool) -> Self {
        let mut steps = HashMap::new();
        for (i, phase) in plan.iter().enumerate() {
            for step in &phase.steps {
                steps.insert(
                    step.id.clone(),
                    StepInfo {
                        phase: i,
                        title: step.title.clone(),
                    },
                );
            }
        }
        HumanReporter {
            phases: plan.iter().map(|p| (p.id.clone(), p.title.clone())).collect(),
            steps,
            current_phase: None,
            spinner: None,
            live,
            verbose,
            quiet,
        }
    }

    fn line(&self, text: &str) {
        match &self.spinner {
            Some(pb) => pb.println(text),
            None => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{text}");
            }
        }
    }

    fn enter_phase(&mut self, step: &str) {
        let Some(info) = self.steps.get(step) else { return };
        if self.current_phase == Some(info.phase) || self.quiet {
            return;
        }
        self.current_phase = Some(info.phase);
        if let Some((id, title)) = self.phases.get(info.phase) {
            let header = format!("\nphase {}/{}  {id} — {title}", info.phase + 1, self.phases.len());
            self.line(&header);
        }
    }

    fn title(&self, step: &str) -> String {
        self.steps.get(step).map(|s| s.title.clone()).unwrap_or_default()
    }

    fn stop_spinner(&mut self) {
        if let Some(pb) = self.spinner.take() {
            pb.finish_and_clear();
        }
    }
}

impl Observer for HumanReporter {
    fn journaled(&mut self, entry: &Entry) {
        match &entry.event {
            Event::RunStarted {
                runbook,
                title,
                operator,
                host,
                ..
            } => {
                if !self.quiet {
                    self.line(&format!(
                        "run {} of {runbook} — {title}\n  operator {operator} on {host}",
                        entry.run_id
                    ));
                }
            }
            Event::RunResumed { operator, host, .. } => {
                if !self.quiet {
                    self.line(&format!(
                        "resuming run {} (operator {operator} on {host})",
                        entry.run_id
                    ));
                }
            }
            Event::StepStarted { step, attempt } => {
                self.enter_phase(step);
                if self.live && !self.quiet {
                    self.stop_spinner();
                    let pb = ProgressBar::new_spinner();
                    pb.set_style(
                        ProgressStyle::with_template("  {spinner} {msg}  {elapsed}")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    let retry = if *attempt > 1 {
                        format!(" (attempt {attempt})")
                    } else {
                        String::new()
                    };
                    pb.set_message(format!("{step}  {}{retry}", self.title(step)));
                    pb.enable_steady_tick(Duration::from_millis(120));
                    self.spinner = Some(pb);
                }
            }
            Event::StepFinished {
                step,
                status,
                attempts,
                duration_ms,
                reason,
                output,
            } => {
                self.stop_spinner();
                self.enter_phase(step);
                if self.quiet && *status == StepStatus::Done {
                    return;
                }
                let tries = if *attempts > 1 {
                    format!(", {attempts} attempts")
                } else {
                    String::new()
                };
                let took = dur(Duration::from_millis(*duration_ms));
                let detail = reason.as_deref().map(|r| format!("  {r}")).unwrap_or_default();
                let mark = glyph(status.as_str());
                self.line(&format!(
                    "  {mark} {step}  {}  ({took}{tries}){detail}",
                    self.title(step)
                ));
                let show_output = *status != StepStatus::Done || self.verbose;
                if let (true, Some(output)) = (show_output, output) {
                    for l in output.lines() {
                        self.line(&format!("      | {l}"));
                    }
                }
            }
            Event::Verified { step, ok, reason } => {
                if !ok {
                    self.line(&format!(
                        "  [!] {step}  verify failed: {}",
                        reason.as_deref().unwrap_or("")
                    ));
                } else if self.verbose {
                    self.line(&format!("  [x] {step}  verify still holds"));
                }
            }
            Event::RunPaused { step, reason } => {
                self.stop_spinner();
                self.enter_phase(step);
                self.line(&format!("  {} {step}  {reason}", glyph("awaiting_approval")));
            }
            Event::RunInterrupted { step, signal } => {
                self.stop_spinner();
                let during = step.as_deref().map(|s| format!(" during `{s}`")).unwrap_or_default();
                self.line(&format!("interrupted by {signal}{during}"));
            }
            Event::RunFinished { .. } => {
                self.stop_spinner();
                if !self.quiet {
                    self.line(&format!("\nrun {} done", entry.run_id));
                }
            }
            Event::Approval { .. } | Event::Unlocked { .. } => {}
        }
    }

    fn warn(&mut self, text: &str) {
        match &self.spinner {
            Some(pb) => pb.suspend(|| eprintln!("warning: {text}")),
            None => eprintln!("warning: {text}"),
        }
    }
}

impl Drop for HumanReporter {
    fn drop(&mut self) {
        self.stop_spinner();
    }
}
