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

pub use super::interpolate::Template;
pub use super::model_prometheus::{
    Baseline, Compare, Margin, MetricQuery, PromSource, Query, QueryExpect, QueryTest, Threshold,
};
pub use super::raw::{HttpMethod, Metric, MigrationStyle, OnFailure, OnNoData, Overrun, Weekday};

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
    /// Run-level webhooks.
    pub notify: Vec<Template>,
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
    /// Line in the runbook, for messages.
    pub line: u32,
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

    /// Whether the step changes the targets (as opposed to checking or gating them).
    pub fn changes_things(&self) -> bool {
        match self {
            StepKind::Shell(_) | StepKind::RollingRestart(_) => true,
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

/// `shell`
#[derive(Debug, Clone)]
pub struct Shell {
    /// Command text for `sh -c`.
    pub run: Template,
    /// Working directory (absolute).
    pub cwd: PathBuf,
    /// Extra environment.
    pub env: BTreeMap<String, Template>,
    /// Status that counts as success.
    pub expect_exit: i32,
}

/// An HTTP request and what its answer must be.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct HttpCheck {
    pub url: Template,
    pub method: HttpMethod,
    pub headers: BTreeMap<String, Template>,
    pub body: Option<Template>,
    /// `None`: any 2xx.
    pub expect_status: Option<u16>,
    pub body_contains: Option<Template>,
    pub json: BTreeMap<String, serde_json::Value>,
    pub max_ms: Option<u64>,
}

/// A query and what its result must be.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct SqlCheck {
    pub database: String,
    pub query: String,
    pub params: Vec<SqlParam>,
    pub expect: SqlExpect,
}

/// A bound query parameter.
#[derive(Debug, Clone)]
pub enum SqlParam {
    /// Text (references resolved).
    Text(Template),
    /// A number, bool or null as written.
    Value(serde_json::Value),
}

/// What a query result must be; all given conditions must hold.
#[derive(Debug, Clone, Default)]
#[allow(missing_docs)]
pub struct SqlExpect {
    pub rows: Option<u64>,
    pub value: Option<serde_json::Value>,
    pub empty: Option<bool>,
}

/// A read-only check (`verify`, `wait.until`, monitor probes).
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub enum Check {
    Http(HttpCheck),
    Sql(SqlCheck),
}

/// `migrate`
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct Migrate {
    pub database: String,
    pub dir: PathBuf,
    pub style: MigrationStyle,
    pub check: bool,
    pub lock_timeout: Duration,
}

/// `backup`
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct Backup {
    pub database: String,
    pub dir: PathBuf,
}

/// `rls`
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct Rls {
    pub database: String,
    pub role: String,
    pub setting: String,
    pub tenants: Vec<String>,
    pub tables: Vec<RlsTable>,
}

/// A table the rls check covers.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct RlsTable {
    pub name: String,
    pub tenant_column: String,
    /// A tenant without rows here is a note, not a failure (isolation not proven).
    pub allow_empty: bool,
}

/// `approval`
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct Approval {
    pub role: String,
    pub from: Vec<String>,
    pub ttl: Option<Duration>,
}

/// `manual`
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct Manual {
    pub text: String,
}

/// `wait`
#[derive(Debug, Clone)]
pub enum Wait {
    /// Sleep.
    For(Duration),
    /// Poll a check.
    Until {
        /// The check.
        check: Check,
        /// Poll interval.
        every: Duration,
    },
}

/// `notify`
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct Notify {
    pub webhook: Template,
    pub message: Option<Template>,
    pub required: bool,
}

/// `rolling_restart`
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct RollingRestart {
    pub services: Vec<String>,
    pub batch: Batch,
    pub max_failed: u32,
    pub health_timeout: Duration,
    pub consecutive_ok: u32,
}

/// Batch sizes of a rolling restart.
#[derive(Debug, Clone, PartialEq)]
pub enum Batch {
    /// Fixed size.
    Count(u32),
    /// Percentage of the services, rounded up, at least 1.
    Percent(u32),
    /// Ramp; the last size repeats.
    Ramp(Vec<u32>),
}

impl Batch {
    /// Splits `n` services into batch sizes.
    pub fn sizes(&self, n: usize) -> Vec<usize> {
        let mut sizes = Vec::new();
        let mut left = n;
        let mut i = 0;
        while left > 0 {
            let size = match self {
                Batch::Count(c) => *c as usize,
                Batch::Percent(p) => (n * *p as usize).div_ceil(100).max(1),
                Batch::Ramp(r) => r.get(i).or(r.last()).copied().unwrap_or(1) as usize,
            }
            .clamp(1, left);
            sizes.push(size);
            left -= size;
            i += 1;
        }
        sizes
    }
}

/// `monitor`
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct Monitor {
    pub duration: Duration,
    pub interval: Duration,
    pub probes: Vec<Check>,
    /// Metrics computed by Prometheus, in name order.
    pub queries: Vec<MetricQuery>,
    /// How the queries' values before the change are taken, for baseline rules.
    pub baseline: Option<Baseline>,
    /// Watches while the following steps run.
    pub background: bool,
    pub on_no_data: OnNoData,
    pub rollback_when: Vec<Rule>,
}

/// A monitor rollback rule.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct Rule {
    /// A probe metric's name (`error_rate`, ...) or a query's.
    pub metric: String,
    pub threshold: Threshold,
    pub hold: Hold,
}

/// How long a rule must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Every window in this span.
    For(Duration),
    /// This many windows in a row.
    Consecutive(u32),
}

#[cfg(test)]
mod tests {
    use super::Batch;

    #[test]
    fn batch_sizes() {
        assert_eq!(Batch::Count(1).sizes(4), vec![1, 1, 1, 1]);
        assert_eq!(Batch::Count(3).sizes(4), vec![3, 1]);
        assert_eq!(Batch::Percent(25).sizes(4), vec![1, 1, 1, 1]);
        assert_eq!(Batch::Percent(50).sizes(5), vec![3, 2]);
        assert_eq!(Batch::Ramp(vec![1, 2]).sizes(6), vec![1, 2, 2, 1]);
        assert!(Batch::Count(2).sizes(0).is_empty());
    }
}
