//! The plan: what a run would do, step by step, and how sure we are about it.
//!
//! Pure: runbook in, plan out. `run --dry-run` prints it; the executor walks the same order.
//! Each step carries a verdict (DESIGN promise 1): `verified` when a read-only probe ran,
//! `simulated` when it is modelled without touching anything, `opaque` for a shell command
//! whose effect deployctl cannot predict.

use std::time::Duration;

use serde::Serialize;

use super::target::{describe, describe_window};
use crate::redact::Redactor;
use crate::runbook::Loaded;
use crate::runbook::model::{OnFailure, Step, StepKind};

/// How sure the plan is about a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// A read-only probe ran against the target.
    Verified,
    /// Modelled; nothing was touched.
    Simulated,
    /// A shell command: its effect cannot be predicted.
    Opaque,
}

/// Whether the dry-run may probe targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeMode {
    /// No probe runs (`--offline`, for CI without targets).
    Offline,
    /// Read-only probes may run.
    Online,
}

/// The plan of a whole runbook.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Runbook name.
    pub runbook: String,
    /// Runbook title.
    pub title: String,
    /// sha256 of the runbook file.
    pub sha256: String,
    /// Probe mode the verdicts were made in.
    pub mode: ProbeMode,
    /// The deployment window, described.
    pub window: Option<String>,
    /// Phases in order.
    pub phases: Vec<PlanPhase>,
    /// The runbook's rollback steps (after the undo ledger).
    pub rollback: Vec<PlanStep>,
}

/// One phase of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlanPhase {
    /// Phase id.
    pub id: String,
    /// Phase title.
    pub title: String,
    /// Its steps.
    pub steps: Vec<PlanStep>,
}

/// One step of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlanStep {
    /// Step id.
    pub id: String,
    /// Step title, if any.
    pub title: Option<String>,
    /// Kind key.
    pub kind: &'static str,
    /// What it acts on, resolved, secrets masked.
    pub target: String,
    /// Time limit per attempt.
    #[serde(serialize_with = "as_millis", rename = "timeout_ms")]
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub retries: u32,
    /// What a failure does.
    pub on_failure: OnFailure,
    /// Whether it changes the targets.
    pub changes: bool,
    /// How sure the plan is.
    pub verdict: Verdict,
    /// What rollback would run for it.
    pub undo: Option<Box<PlanStep>>,
    /// What a read-only probe found (dry-run without `--offline`).
    pub probe: Option<String>,
    /// What a failed probe found: the step would likely fail.
    pub probe_failed: Option<String>,
}

impl Plan {
    /// All steps: phases, then rollback.
    pub fn all_steps(&self) -> impl Iterator<Item = &PlanStep> {
        self.phases.iter().flat_map(|p| &p.steps).chain(&self.rollback)
    }

    /// Steps whose probe failed.
    pub fn failed_probes(&self) -> usize {
        self.all_steps().filter(|s| s.probe_failed.is_some()).count()
    }

    /// How many steps got each verdict: (verified, simulated, opaque).
    pub fn counts(&self) -> (usize, usize, usize) {
        self.all_steps().fold((0, 0, 0), |(v, s, o), step| match step.verdict {
            Verdict::Verified => (v + 1, s, o),
            Verdict::Simulated => (v, s + 1, o),
            Verdict::Opaque => (v, s, o + 1),
        })
    }
}

/// Plans a loaded runbook without touching anything: every step is `simulated`, or `opaque`
/// for shell. `engine::probe` then upgrades what it could check to `verified`.
pub fn plan(loaded: &Loaded, mode: ProbeMode) -> Plan {
    let runbook = &loaded.runbook;
    let step = |s: &Step| plan_step(s, loaded, &loaded.redactor);
    Plan {
        runbook: runbook.name.clone(),
        title: runbook.title.clone(),
        sha256: loaded.sha256.clone(),
        mode,
        window: runbook.window.as_ref().map(describe_window),
        phases: runbook
            .phases
            .iter()
            .map(|p| PlanPhase {
                id: p.id.clone(),
                title: p.title.clone(),
                steps: p.steps.iter().map(step).collect(),
            })
            .collect(),
        rollback: runbook.rollback.iter().map(step).collect(),
    }
}

fn plan_step(step: &Step, loaded: &Loaded, redactor: &Redactor) -> PlanStep {
    let verdict = match step.kind {
        StepKind::Shell(_) => Verdict::Opaque,
        _ => Verdict::Simulated,
    };
    PlanStep {
        id: step.id.clone(),
        title: step.title.clone(),
        kind: step.kind.name(),
        target: redactor.mask(&describe(&step.kind, &loaded.runbook)).into_owned(),
        timeout: step.timeout,
        retries: step.retries,
        on_failure: step.on_failure,
        changes: step.kind.changes_things(),
        verdict,
        undo: step.undo.as_ref().map(|u| Box::new(plan_step(u, loaded, redactor))),
        probe: None,
        probe_failed: None,
    }
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
