//! Live human output of a run: a spinner with elapsed time on a terminal, plain lines
//! otherwise (CI logs). One line per finished step, with the status glyph of `status`.
//!
//! Names, titles, reasons and output excerpts come from runbooks, targets and people: each
//! is neutralised ([`super::escape`]) so no escape sequence reaches the terminal, and kept on
//! its line (an excerpt's lines each behind `|`), so none can pass for a line of ours.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::io::Write;

use indicatif::ProgressBar;

use super::escape::{Breaks, block, neutralise, one_line};
use super::live::{Announcer, WindowThrottle};
use super::mark::{RunMark, StepMark};
use super::trend::live_trend;
use crate::engine::Observer;
use crate::event::{Entry, Event, PlannedPhase};

#[path = "human_rollback.rs"]
mod rollback;
#[path = "human_steps.rs"]
mod steps;

/// Where a step sits in the plan, for headers and titles.
struct StepInfo {
    phase: usize,
    title: String,
    kind: String,
}

/// One monitor window in the live trend: error rate and p99.
type Point = (Option<f64>, Option<f64>);

/// Renders run events for people.
pub struct HumanReporter {
    phases: Vec<(String, String)>,
    steps: HashMap<String, StepInfo>,
    current_phase: Option<usize>,
    spinner: Option<ProgressBar>,
    live: bool,
    verbose: bool,
    quiet: bool,
    /// Per monitor step: each window's error rate and worst p99 so far, for the sparkline.
    trends: HashMap<String, Vec<Point>>,
    /// Start lines of steps (off a terminal after 2 s; before any sub-line).
    announcer: Announcer,
    /// Which monitor windows get a line off a terminal.
    windows: WindowThrottle,
    /// Monitors whose rule held: their trigger line said why, their step line does not.
    tripped: HashSet<String>,
    /// The step started last. A sub-line of another step (a background watch's window
    /// while later steps run) names its step, so it is not read as the later step's.
    in_flight: Option<String>,
    /// The step whose line was printed last, if the last line was one of a step's (every
    /// other line clears it): a sub-line right under its own step needs no name.
    said: RefCell<Option<String>>,
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
                        title: one_line(&step.title).into_owned(),
                        kind: step.kind.clone(),
                    },
                );
            }
        }
        HumanReporter {
            phases: plan
                .iter()
                .map(|p| (one_line(&p.id).into_owned(), one_line(&p.title).into_owned()))
                .collect(),
            steps,
            current_phase: None,
            spinner: None,
            live,
            verbose,
            quiet,
            trends: HashMap::new(),
            announcer: Announcer::default(),
            windows: WindowThrottle::default(),
            tripped: HashSet::new(),
            in_flight: None,
            said: RefCell::new(None),
        }
    }

    /// `  ▸ STEP  TITLE`: a step that is running.
    fn start_line(&self, step: &str) -> String {
        format!("  ▸ {}  {}", one_line(step), self.title(step))
    }

    /// A line under `step` (a batch, a window), after the step's start line.
    fn sub_line(&mut self, step: &str, text: &str) {
        if self.announcer.announce(step) {
            self.line(&self.start_line(step));
            self.line(text);
        } else if self.under(step) {
            self.line(text);
        } else {
            self.line(&format!("      {}  {}", one_line(step), text.trim_start()));
        }
        *self.said.borrow_mut() = Some(step.to_string());
    }

    /// Whether the last line printed is `step`'s, so its sub-line reads as its own: no
    /// other line came between, and the step in flight (if another) has not had its start
    /// line printed by the 2 s timer meanwhile.
    fn under(&self, step: &str) -> bool {
        let other_in_flight = self
            .in_flight
            .as_deref()
            .is_some_and(|current| current != step && self.announcer.is_announced(current));
        self.said.borrow().as_deref() == Some(step) && !other_in_flight
    }

    fn is_monitor(&self, step: &str) -> bool {
        self.steps.get(step).is_some_and(|s| s.kind == "monitor")
    }

    /// Prints a line (several, when it has newlines); a last guard neutralises whatever
    /// control characters a caller let through.
    fn line(&self, text: &str) {
        self.said.borrow_mut().take();
        let text = neutralise(text, Breaks::Keep);
        match &self.spinner {
            Some(pb) => pb.println(super::paint::stderr(&text)),
            None => super::stdout::line(&super::paint::stdout(&text)),
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

    fn trend(&self, step: &str, sample: &crate::event::Sample) -> String {
        if sample.count == 0 && !sample.queries.is_empty() {
            return String::new(); // a query-only watch: its line shows the values
        }
        self.trends
            .get(step)
            .map(|series| live_trend(series, sample))
            .unwrap_or_default()
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
                        "run {} of {} — {}\n  operator {} on {}",
                        one_line(&entry.run_id),
                        one_line(runbook),
                        one_line(title),
                        one_line(operator),
                        one_line(host)
                    ));
                }
            }
            Event::RunResumed { operator, host, .. } => {
                if !self.quiet {
                    self.line(&format!(
                        "resuming run {} (operator {} on {})",
                        one_line(&entry.run_id),
                        one_line(operator),
                        one_line(host)
                    ));
                }
            }
            Event::StepStarted { step, attempt } => self.step_started(step, *attempt),
            finished @ Event::StepFinished { .. } => self.step_finished(finished),
            Event::Verified { step, ok, reason } => {
                if !ok {
                    self.line(&format!(
                        "  {} {}  verify failed: {}",
                        StepMark::Failed.glyph(),
                        one_line(step),
                        block(reason.as_deref().unwrap_or(""), "      ")
                    ));
                } else if self.verbose {
                    self.line(&format!("  {} {step}  verify still holds", StepMark::Done.glyph()));
                }
            }
            Event::RunPaused { step, .. } => {
                // The reason is said once, by the command's last words on stderr.
                self.stop_spinner();
                self.announcer.clear();
                self.enter_phase(step);
                let glyph = StepMark::AwaitingApproval.glyph();
                self.line(&format!("  {glyph} {}  {}", one_line(step), self.title(step)));
            }
            Event::RunInterrupted { step, signal } => {
                self.stop_spinner();
                let during = step
                    .as_deref()
                    .map(|s| format!(" during `{}`", one_line(s)))
                    .unwrap_or_default();
                self.line(&format!("interrupted by {}{during}", one_line(signal)));
            }
            Event::RunFinished { status, .. } => {
                self.stop_spinner();
                if !self.quiet {
                    let how = RunMark::from(*status).as_str().replace('_', " ");
                    self.line(&format!("\nrun {} {how}", one_line(&entry.run_id)));
                }
            }
            Event::ServicePolling {
                step, service, health, ..
            } => self.service_polling(step, service, health),
            restarted @ Event::ServiceRestarted { .. } => self.service_restarted(restarted),
            Event::MonitorSample { step, sample } => self.monitor_sample(step, sample),
            Event::BaselineMeasured { step, baseline } => {
                if !self.quiet {
                    self.line(&format!(
                        "      {}",
                        one_line(&crate::report::baseline_line(Some(step), baseline))
                    ));
                }
            }
            Event::TriggerFired { step, rule, windows } => {
                self.stop_spinner();
                self.tripped.insert(step.clone());
                let shown: Vec<String> = windows.iter().map(|w| format!("w{w}")).collect();
                self.line(&format!(
                    "  {} {}  rule `{}` held over {}",
                    StepMark::Failed.glyph(),
                    one_line(step),
                    one_line(rule),
                    shown.join(" ")
                ));
            }
            Event::RollbackStarted {
                cause, reason, steps, ..
            } => self.rollback_started(*cause, reason, steps),
            Event::WindowWait { reason, .. } => {
                self.stop_spinner();
                self.line(&format!(
                    "  {} window: {}",
                    StepMark::AwaitingApproval.glyph(),
                    one_line(reason)
                ));
            }
            Event::WindowOverride { by, reason } => {
                self.line(&format!(
                    "  {} window ignored by {} (--ignore-window): {}",
                    StepMark::Failed.glyph(),
                    one_line(by),
                    one_line(reason)
                ));
            }
            Event::MigrationAttempt { .. } => {
                if let Some(text) = super::migration_attempt::line(&entry.event) {
                    self.line(&text);
                }
            }
            Event::Approval { .. }
            | Event::ApprovalRevoked { .. }
            | Event::Unlocked { .. }
            | Event::ProcessStarted { .. }
            | Event::ProcessEnded { .. }
            | Event::OrphanKilled { .. }
            | Event::ClockOverride { .. }
            | Event::AttemptFailed { .. } => {}
        }
    }

    fn ask(&mut self, question: &str) -> Option<tokio::task::JoinHandle<Option<String>>> {
        use std::io::IsTerminal;
        if !(self.live && std::io::stdin().is_terminal()) {
            return None;
        }
        self.stop_spinner();
        eprint!("{} [y/N] ", neutralise(question, Breaks::Keep));
        let _ = std::io::stderr().flush();
        Some(tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            match std::io::stdin().read_line(&mut line) {
                Ok(0) | Err(_) => None,
                Ok(_) => Some(line),
            }
        }))
    }

    fn warn(&mut self, text: &str) {
        let text = super::paint::stderr(&format!("warning: {}", neutralise(text, Breaks::Keep))).into_owned();
        match &self.spinner {
            Some(pb) => pb.suspend(|| eprintln!("{text}")),
            None => eprintln!("{text}"),
        }
    }
}

impl Drop for HumanReporter {
    fn drop(&mut self) {
        self.stop_spinner();
    }
}
