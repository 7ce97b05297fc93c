//! The runbook after validation: typed, complete, and already known to be valid.
//!
//! Nothing downstream re-checks what is here: durations are `Duration`s, references are
//! resolved ([`Template`] holds only `${run.id}` symbolically), names that steps use exist,
//! defaults are applied. Each step keeps its source line for messages at run time.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;

pub use super::channel::{Approvals, Channel, Email, Target};
pub use super::interpolate::Template;
pub use super::model_prometheus::{
    Baseline, Compare, Margin, MetricQuery, PromSource, Query, QueryExpect, QueryTest, Threshold,
};
pub use super::raw::{
    BackupVerify, HttpMethod, Metric, MigrationStyle, NotifyEvent, NotifyFormat, OnFailure, OnNoData, Overrun, Weekday,
};

mod kinds;

pub use kinds::*;

/// A valid runbook.
#[derive(Debug, Clone)]
pub struct Runbook {
    /// Names the journal.
    pub name: String,
    /// Human title (the name when absent).
    pub title: String,
    /// Free text.
    pub description: Option<String>,
    /// Directory relative paths resolve against (absolute).
    pub workdir: PathBuf,
    /// Lets an operator approve its own gates.
    pub allow_self_approval: bool,
    /// Resolved vars (after `--var`).
    pub vars: BTreeMap<String, String>,
    /// Databases by name.
    pub databases: BTreeMap<String, Database>,
    /// Services by name.
    pub services: BTreeMap<String, Service>,
    /// Prometheus servers by name.
    pub prometheus: BTreeMap<String, PromSource>,
    /// The deployment window, if any.
    pub window: Option<Window>,
    /// Escalation contacts.
    pub contacts: Contacts,
    /// Run-level channels (webhooks, e-mail), each with the events it hears.
    pub notify: Vec<Channel>,
    /// How approvals are proven (signers, whether a signature is required).
    pub approvals: Approvals,
    /// Phases in order.
    pub phases: Vec<Phase>,
    /// The runbook's rollback steps.
    pub rollback: Vec<Step>,
}

impl Runbook {
    /// Every step of the forward procedure, with its phase.
    pub fn steps(&self) -> impl Iterator<Item = (&Phase, &Step)> {
        self.phases.iter().flat_map(|p| p.steps.iter().map(move |s| (p, s)))
    }

    /// The step whose start ends a monitor's baseline window: its `before`, else the
    /// run's first step that changes things.
    pub fn baseline_end<'a>(&'a self, baseline: &'a Baseline) -> Option<&'a str> {
        match &baseline.before {
            Some(before) => Some(before),
            None => self
                .steps()
                .find(|(_, s)| s.kind.changes_things())
                .map(|(_, s)| s.id.as_str()),
        }
    }
}

/// A PostgreSQL target.
#[derive(Debug, Clone)]
pub struct Database {
    /// The connection URL (contains a secret password: mask before showing).
    pub url: Template,
}

/// A service target.
#[derive(Debug, Clone)]
pub struct Service {
    /// Health URL.
    pub health: Template,
    /// Restart command.
    pub restart: Template,
}

/// When changes may run.
#[derive(Debug, Clone)]
pub struct Window {
    /// Zone the slots are written in.
    pub timezone: Tz,
    /// Recurring openings.
    pub allow: Vec<WindowSlot>,
    /// Freeze periods.
    pub deny: Vec<Freeze>,
    /// What happens when it closes mid-run.
    pub overrun: Overrun,
}

/// One recurring opening.
#[derive(Debug, Clone)]
pub struct WindowSlot {
    /// Days it opens on.
    pub days: Vec<Weekday>,
    /// Opening time.
    pub start: NaiveTime,
    /// Closing time (next day when not after `start`).
    pub end: NaiveTime,
}

/// Dates on which the window stays closed.
#[derive(Debug, Clone)]
pub struct Freeze {
    /// First date.
    pub from: NaiveDate,
    /// Last date, inclusive.
    pub to: NaiveDate,
    /// Why.
    pub reason: Option<String>,
}

/// Escalation contacts per kind of problem.
#[derive(Debug, Clone, Default)]
#[allow(missing_docs)]
pub struct Contacts {
    pub technical: Option<Contact>,
    pub database: Option<Contact>,
    pub security: Option<Contact>,
    pub business: Option<Contact>,
}

/// Who to call.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct Contact {
    pub primary: String,
    pub backup: Option<String>,
}

/// A phase.
#[derive(Debug, Clone)]
pub struct Phase {
    /// Unique id.
    pub id: String,
    /// Title (the id when absent).
    pub title: String,
    /// Whether its steps wait for the deployment window (`window: false` says no).
    pub in_window: bool,
    /// Steps in order.
    pub steps: Vec<Step>,
}

/// A step with its settings resolved.
#[derive(Debug, Clone)]
pub struct Step {
    /// Unique id (`<id>.undo` for an undo).
    pub id: String,
    /// Title, if given.
    pub title: Option<String>,
    /// Where it was written (its `id`, else the step itself), so messages and annotations
    /// about the step (a failed dry-run probe) point at it.
    pub pos: super::Pos,
    /// Time limit of one attempt.
    pub timeout: Duration,
    /// Further attempts after the first.
    pub retries: u32,
    /// Delay before the first retry.
    pub retry_delay: Duration,
    /// Growth of the delay between retries.
    pub backoff: Backoff,
    /// What a failure does.
    pub on_failure: OnFailure,
    /// May it run again after an interruption?
    pub idempotent: bool,
    /// Re-checked on resume.
    pub verify: Option<Check>,
    /// Run on rollback if this step completed.
    pub undo: Option<Box<Step>>,
    /// What it does.
    pub kind: StepKind,
}

/// Exponential backoff; `factor` 1 means a constant delay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// Multiplier per attempt.
    pub factor: f64,
    /// Cap on the delay.
    pub max: Option<Duration>,
}

/// What a step does.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub enum StepKind {
    Shell(Shell),
    Http(HttpCheck),
    Sql(SqlCheck),
    Migrate(Migrate),
    Backup(Backup),
    Restore(Restore),
    Rls(Rls),
    Approval(Approval),
    Manual(Manual),
    Wait(Wait),
    Notify(Notify),
    RollingRestart(RollingRestart),
    Monitor(Monitor),
    Query(Query),
}

impl StepKind {
    /// The kind key as written in the runbook.
    pub fn name(&self) -> &'static str {
        match self {
            StepKind::Shell(_) => "shell",
            StepKind::Http(_) => "http",
            StepKind::Sql(_) => "sql",
            StepKind::Migrate(_) => "migrate",
            StepKind::Backup(_) => "backup",
            StepKind::Restore(_) => "restore",
            StepKind::Rls(_) => "rls",
            StepKind::Approval(_) => "approval",
            StepKind::Manual(_) => "manual",
            StepKind::Wait(_) => "wait",
            StepKind::Notify(_) => "notify",
            StepKind::RollingRestart(_) => "rolling_restart",
            StepKind::Monitor(_) => "monitor",
            StepKind::Query(_) => "query",
        }
    }

    /// The earlier step of this run whose journaled output this step reads (a `restore`
    /// reads its backup's record), if any.
    pub fn reads_output_of(&self) -> Option<&str> {
        match self {
            StepKind::Restore(restore) => Some(&restore.from),
            _ => None,
        }
    }

    /// Whether the step changes the targets (as opposed to checking or gating them).
    pub fn changes_things(&self) -> bool {
        match self {
            StepKind::Shell(_) | StepKind::RollingRestart(_) | StepKind::Restore(_) => true,
            StepKind::Migrate(m) => !m.check,
            StepKind::Http(_)
            | StepKind::Sql(_)
            | StepKind::Backup(_)
            | StepKind::Rls(_)
            | StepKind::Approval(_)
            | StepKind::Manual(_)
            | StepKind::Wait(_)
            | StepKind::Notify(_)
            | StepKind::Monitor(_)
            | StepKind::Query(_) => false,
        }
    }

    /// Whether running it again after an interruption is safe, unless the runbook says.
    pub fn idempotent_by_default(&self) -> bool {
        !matches!(
            self,
            StepKind::Shell(_) | StepKind::Notify(_) | StepKind::RollingRestart(_)
        )
    }
}
