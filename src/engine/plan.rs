//! The plan: what a run does, step by step, and how sure we are about it.
//!
//! Built once from the loaded runbook, and used three ways: `run --dry-run` prints it, the
//! driver walks it, and `run_started` journals its outline ([`Plan::journaled`]), so what
//! the operator reviewed is what executes and what `status` later shows.
//!
//! Each step carries a verdict (DESIGN promise 1): `verified` when a read-only probe ran,
//! `simulated` when it is modelled without touching anything, `opaque` for a shell command
//! whose effect deployctl cannot predict. Pure: runbook in, plan out.

use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::window::describe as describe_window;
use crate::event::{Input, Inputs, PlannedPhase, PlannedStep};
use crate::redact::is_secret_name;
use crate::runbook::Loaded;
use crate::runbook::interpolate::EnvUse;
use crate::runbook::model::{OnFailure, Step};

pub use crate::steps::Verdict;

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
pub struct Plan<'a> {
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
    pub phases: Vec<PlanPhase<'a>>,
    /// The runbook's rollback steps (after the undo ledger).
    pub rollback: Vec<PlanStep<'a>>,
    /// The runbook it was made from.
    #[serde(skip)]
    pub loaded: &'a Loaded,
}

/// One phase of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlanPhase<'a> {
    /// Phase id.
    pub id: String,
    /// Phase title.
    pub title: String,
    /// Its steps.
    pub steps: Vec<PlanStep<'a>>,
}

/// One step of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlanStep<'a> {
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
    pub undo: Option<Box<PlanStep<'a>>>,
    /// The kind's own undo (`<id>.undo`, e.g. a `migrate`'s down files), when the step has
    /// no `undo:`. Not shown in the dry-run: whether it applies is known only once the step
    /// ran (a plain `migrate` is undone by its down files only if every migration it
    /// applied has one).
    #[serde(skip)]
    pub own_undo: Option<Box<PlanStep<'a>>>,
    /// What a read-only probe found (dry-run without `--offline`).
    pub probe: Option<String>,
    /// What a failed probe found: the step would likely fail.
    pub probe_failed: Option<String>,
    /// What executing it means: the runbook step, or a kind's own undo of one.
    #[serde(skip)]
    pub work: Work<'a>,
    /// Whether it must run inside the deployment window: every step up to the last one
    /// that changes things (a trailing monitor is observation and may run past it).
    #[serde(skip)]
    pub in_window_span: bool,
    /// Its phase says `window: false`: it runs whether or not the window is open.
    #[serde(skip)]
    pub outside_window: bool,
}

/// What the driver executes for a plan step.
#[derive(Debug, Clone, Copy)]
pub enum Work<'a> {
    /// The runbook step itself (forward, `undo:` or `rollback:`).
    Step(&'a Step),
    /// The step kind's own undo of this completed forward step (e.g. a `migrate`'s down
    /// files), run with the details its ledger entry recorded.
    Revert(&'a Step),
}

impl<'a> Work<'a> {
    /// The runbook step behind it (for a revert, the forward step being undone).
    pub fn step(self) -> &'a Step {
        match self {
            Work::Step(s) | Work::Revert(s) => s,
        }
    }
}

impl<'a> Plan<'a> {
    /// Plans a loaded runbook without touching anything: every step is `simulated`, or
    /// `opaque` for shell. `engine::probe` then upgrades what it could check to `verified`.
    pub fn new(loaded: &'a Loaded, mode: ProbeMode) -> Self {
        let runbook = &loaded.runbook;
        let last_change = runbook
            .steps()
            .enumerate()
            .filter(|(_, (_, s))| s.kind.changes_things())
            .map(|(i, _)| i)
            .last();
        let mut index = 0;
        let phases = runbook
            .phases
            .iter()
            .map(|p| PlanPhase {
                id: p.id.clone(),
                title: p.title.clone(),
                steps: p
                    .steps
                    .iter()
                    .map(|s| {
                        let mut planned = plan_step(s, loaded);
                        planned.outside_window = !p.in_window;
                        planned.in_window_span = p.in_window && last_change.is_some_and(|last| index <= last);
                        index += 1;
                        planned
                    })
                    .collect(),
            })
            .collect();
        Plan {
            runbook: runbook.name.clone(),
            title: runbook.title.clone(),
            sha256: loaded.sha256.clone(),
            mode,
            window: runbook.window.as_ref().map(describe_window),
            phases,
            rollback: runbook.rollback.iter().map(|s| plan_step(s, loaded)).collect(),
            loaded,
        }
    }

    /// Forward steps in order.
    pub fn steps(&self) -> impl Iterator<Item = &PlanStep<'a>> {
        self.phases.iter().flat_map(|p| &p.steps)
    }

    /// All steps: phases, then rollback.
    pub fn all_steps(&self) -> impl Iterator<Item = &PlanStep<'a>> {
        self.steps().chain(&self.rollback)
    }

    /// A forward step by id.
    pub fn step(&self, id: &str) -> Option<&PlanStep<'a>> {
        self.steps().find(|s| s.id == id)
    }

    /// A step the rollback may run, by id: the `undo` of a forward step (written in the
    /// runbook or the kind's own, `<id>.undo`), or a `rollback` step.
    pub fn rollback_step(&self, id: &str) -> Option<&PlanStep<'a>> {
        self.steps()
            .filter_map(|s| s.undo.as_deref().or(s.own_undo.as_deref()))
            .chain(&self.rollback)
            .find(|s| s.id == id)
    }

    /// Any step deployctl may be asked about (`approve`): forward or rollback.
    pub fn any_step(&self, id: &str) -> Option<&PlanStep<'a>> {
        self.step(id).or_else(|| self.rollback_step(id))
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

    /// The run's inputs as the journal keeps them: every var and every environment
    /// variable a reference resolved, secret values left out.
    pub fn inputs(&self) -> Inputs {
        let loaded = self.loaded;
        let secret = |value: &str| loaded.redactor.mask(value) != value;
        let vars = loaded.runbook.vars.iter().map(|(name, value)| {
            let input = Input {
                value: (!secret(value)).then(|| value.clone()),
                defaulted: false,
            };
            (format!("vars.{name}"), input)
        });
        let env = loaded.env_used.iter().map(|(name, used)| {
            let hidden = is_secret_name(name) || secret(used.value());
            let input = Input {
                value: (!hidden).then(|| used.value().to_string()),
                defaulted: matches!(used, EnvUse::Defaulted(_)),
            };
            (format!("env.{name}"), input)
        });
        vars.chain(env).collect()
    }

    /// sha256 of every resolved value a step uses beyond the runbook's own text: vars,
    /// referenced environment variables (how they resolved), database URLs and services;
    /// secrets included, hashed. With the runbook's digest it binds a run to its resolved
    /// plan.
    pub fn inputs_digest(&self) -> String {
        let loaded = self.loaded;
        let mut h = Sha256::new();
        h.update(format!("{}\n", self.legacy_inputs_digest()));
        for (name, used) in &loaded.env_used {
            match used {
                EnvUse::Set(v) => h.update(format!("env {name}={v}\n")),
                EnvUse::Defaulted(v) => h.update(format!("env {name} unset, default {v}\n")),
            }
        }
        hex::encode(h.finalize())
    }

    /// The digest journals written before `inputs` existed bound their runs to: vars,
    /// database URLs and services only. Such a run resumes when this one still matches.
    pub fn legacy_inputs_digest(&self) -> String {
        let runbook = &self.loaded.runbook;
        let mut h = Sha256::new();
        for (k, v) in &runbook.vars {
            h.update(format!("var {k}={v}\n"));
        }
        for (k, db) in &runbook.databases {
            h.update(format!("db {k}={}\n", db.url.display()));
        }
        for (k, s) in &runbook.services {
            h.update(format!("svc {k}={} {}\n", s.health.display(), s.restart.display()));
        }
        hex::encode(h.finalize())
    }

    /// The outline `run_started` journals, so `status` needs nothing but the journal.
    pub fn journaled(&self) -> Vec<PlannedPhase> {
        self.phases
            .iter()
            .map(|p| PlannedPhase {
                id: p.id.clone(),
                title: p.title.clone(),
                steps: p.steps.iter().map(PlanStep::journaled).collect(),
            })
            .collect()
    }
}

impl<'a> PlanStep<'a> {
    /// The step as the journal lists it: its title, or what it acts on.
    pub fn journaled(&self) -> PlannedStep {
        PlannedStep {
            id: self.id.clone(),
            title: self.title.clone().unwrap_or_else(|| self.target.clone()),
            kind: self.kind.to_string(),
        }
    }

    /// The runbook step behind it (for a kind's own undo, the forward step).
    pub fn step(&self) -> &'a Step {
        self.work.step()
    }

    /// Whether running it again after an interruption is safe. A kind's own undo is: it
    /// skips what it already reverted.
    pub fn idempotent(&self) -> bool {
        match self.work {
            Work::Step(step) => step.idempotent,
            Work::Revert(_) => true,
        }
    }

    /// An idempotent read-only check, whose journal entries may share an fsync.
    pub fn is_check(&self) -> bool {
        matches!(self.work, Work::Step(step) if step.idempotent && !step.kind.changes_things())
    }
}

fn plan_step<'a>(step: &'a Step, loaded: &'a Loaded) -> PlanStep<'a> {
    let verdict = crate::steps::verdict(&step.kind);
    let undo = step.undo.as_ref().map(|u| Box::new(plan_step(u, loaded)));
    let own_undo = if undo.is_none() { own_undo(step) } else { None };
    PlanStep {
        id: step.id.clone(),
        title: step.title.clone(),
        kind: step.kind.name(),
        target: loaded
            .redactor
            .mask(&crate::steps::describe(&step.kind, &loaded.runbook))
            .into_owned(),
        timeout: step.timeout,
        retries: step.retries,
        on_failure: step.on_failure,
        changes: step.kind.changes_things(),
        verdict,
        undo,
        own_undo,
        probe: None,
        probe_failed: None,
        work: Work::Step(step),
        in_window_span: false,
        outside_window: false,
    }
}

/// The kind's own undo of a step, when its kind has one (`<id>.undo`).
fn own_undo(step: &Step) -> Option<Box<PlanStep<'_>>> {
    crate::steps::has_own_undo(&step.kind).then(|| {
        Box::new(PlanStep {
            id: format!("{}.undo", step.id),
            title: None,
            kind: step.kind.name(),
            target: format!("undo of `{}`", step.id),
            timeout: step.timeout,
            retries: 0,
            on_failure: OnFailure::Stop,
            changes: true,
            verdict: Verdict::Simulated,
            undo: None,
            own_undo: None,
            probe: None,
            probe_failed: None,
            work: Work::Revert(step),
            in_window_span: false,
            outside_window: false,
        })
    })
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
