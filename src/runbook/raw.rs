//! The runbook as written: serde shapes with spans, before any meaning is checked.
//!
//! Every struct denies unknown fields (a typo such as `retires:` is an error, not a silent
//! default). Strings that carry references, durations or names are `Spanned` so the validator
//! can point at them. These same types generate `deployctl schema`, so the schema editors see
//! is exactly what the loader accepts.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use super::forms::{BatchSpec, Short, ShortForm};
pub use super::raw_prometheus::{RawBaseline, RawCompare, RawMetricQuery, RawPrometheus, RawQuery, RawQueryExpect};
use super::spanned::Spanned;

/// A string with its position.
pub type Text = Spanned<String>;

/// A deployctl runbook, format version 1.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "deployctl runbook (format 1)")]
pub struct RawRunbook {
    /// Format version; must be 1.
    pub deployctl: Spanned<i64>,
    /// Names the journal: lowercase letters, digits, `.`, `_`, `-`.
    pub name: Text,
    /// Human title, shown in plans and reports.
    pub title: Option<Text>,
    /// Free text for reviewers.
    pub description: Option<Text>,
    /// Directory that relative step paths are resolved against, relative to the runbook file.
    pub workdir: Option<Text>,
    /// Lets the operator of a run approve its own gates and one person fill two roles.
    pub allow_self_approval: Option<bool>,
    /// Values referenced as `${vars.NAME}`; `--var NAME=VALUE` overrides them.
    #[serde(default)]
    pub vars: BTreeMap<String, Text>,
    /// Databases referenced by name from sql, migrate, backup and rls steps.
    #[serde(default)]
    pub databases: BTreeMap<String, Spanned<RawDatabase>>,
    /// Services referenced by rolling_restart and `${services.NAME.health}`.
    #[serde(default)]
    pub services: BTreeMap<String, Spanned<RawService>>,
    /// Prometheus servers referenced by name from query steps and monitor queries.
    #[serde(default)]
    pub prometheus: BTreeMap<String, Spanned<RawPrometheus>>,
    /// When the run may make changes.
    pub window: Option<Spanned<RawWindow>>,
    /// Who to call, printed on failure and in reports.
    pub contacts: Option<RawContacts>,
    /// Webhooks told when a run starts, pauses, fails, rolls back or finishes.
    #[serde(default)]
    pub notify: Vec<Spanned<RawWebhook>>,
    /// Step settings that apply unless a step says otherwise.
    pub defaults: Option<RawDefaults>,
    /// The phases, run in order.
    pub phases: Spanned<Vec<Spanned<RawPhase>>>,
    /// The runbook's own rollback procedure, run after the undo ledger.
    pub rollback: Option<RawRollback>,
}

/// A database target.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDatabase {
    /// A `postgres://` URL; its password is a secret.
    pub url: Text,
}

/// A service target.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    /// Health endpoint URL, polled after a restart.
    pub health: Text,
    /// Shell command that restarts the service.
    pub restart: Text,
}

/// The deployment window.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWindow {
    /// IANA time zone the times are in (default UTC).
    pub timezone: Option<Text>,
    /// When changes may run.
    pub allow: Vec<Spanned<RawWindowSlot>>,
    /// Freeze dates on which nothing runs.
    #[serde(default)]
    pub deny: Vec<Spanned<RawFreeze>>,
    /// What happens when the window closes while changes still run.
    #[schemars(with = "Option<Overrun>")]
    pub overrun: Option<Text>,
}

/// One recurring opening of the window.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWindowSlot {
    /// Days the opening starts on.
    #[schemars(with = "Vec<Weekday>")]
    pub days: Vec<Text>,
    /// Opening time, `HH:MM`.
    pub start: Text,
    /// Closing time, `HH:MM`; earlier than start means the next day.
    pub end: Text,
}

/// A freeze: dates on which the window is closed.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFreeze {
    /// First frozen date, `YYYY-MM-DD`.
    pub from: Text,
    /// Last frozen date (inclusive); defaults to `from`.
    pub to: Option<Text>,
    /// Why, shown when a run is refused.
    pub reason: Option<Text>,
}

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

/// What to do when the window closes mid-run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Overrun {
    /// Keep going to the end.
    Finish,
    /// Stop before the next step that changes things (exit 3).
    Pause,
    /// Run the rollback.
    Rollback,
}

/// Escalation contacts per kind of problem.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawContacts {
    pub technical: Option<RawContact>,
    pub database: Option<RawContact>,
    pub security: Option<RawContact>,
    pub business: Option<RawContact>,
}

/// Who to call first and second.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawContact {
    pub primary: Text,
    pub backup: Option<Text>,
}

/// A webhook.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWebhook {
    /// URL that receives a JSON POST.
    pub webhook: Text,
}

/// Defaults for every step.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawDefaults {
    pub timeout: Option<Text>,
    pub retries: Option<Spanned<i64>>,
    pub retry_delay: Option<Text>,
    pub backoff: Option<Spanned<RawBackoff>>,
    #[schemars(with = "Option<OnFailure>")]
    pub on_failure: Option<Text>,
}

/// Exponential backoff between retries.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBackoff {
    /// Multiplier applied to the delay after each attempt (>= 1, default 2).
    pub factor: Option<Spanned<f64>>,
    /// Upper bound of the delay.
    pub max: Option<Text>,
}

/// What a failed step does to the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    /// Exit 1 and wait for the operator.
    Stop,
    /// Run the rollback now.
    Rollback,
    /// Record and go on.
    Continue,
}

/// A phase of the runbook.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawPhase {
    pub id: Text,
    pub title: Option<Text>,
    pub steps: Spanned<Vec<Spanned<RawStep>>>,
}

/// The runbook's rollback procedure.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawRollback {
    pub steps: Vec<Spanned<RawStep>>,
}

/// A step: common fields plus exactly one kind key. Also the shape of `undo` (without `id`).
/// Kinds are boxed: eleven of the twelve are absent, and inline they made every step ~2 KiB.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawStep {
    pub id: Option<Text>,
    pub title: Option<Text>,
    pub timeout: Option<Text>,
    pub retries: Option<Spanned<i64>>,
    pub retry_delay: Option<Text>,
    pub backoff: Option<Spanned<RawBackoff>>,
    #[schemars(with = "Option<OnFailure>")]
    pub on_failure: Option<Text>,
    pub idempotent: Option<bool>,
    pub verify: Option<Box<Spanned<RawCheck>>>,
    pub undo: Option<Box<Spanned<RawStep>>>,

    pub shell: Option<Box<Spanned<Short<RawShell>>>>,
    pub http: Option<Box<Spanned<Short<RawHttp>>>>,
    pub sql: Option<Box<Spanned<RawSql>>>,
    pub migrate: Option<Box<Spanned<RawMigrate>>>,
    pub backup: Option<Box<Spanned<RawBackup>>>,
    pub rls: Option<Box<Spanned<RawRls>>>,
    pub approval: Option<Box<Spanned<RawApproval>>>,
    pub manual: Option<Box<Spanned<Short<RawManual>>>>,
    pub wait: Option<Box<Spanned<RawWait>>>,
    pub notify: Option<Box<Spanned<Short<RawNotify>>>>,
    pub rolling_restart: Option<Box<Spanned<RawRollingRestart>>>,
    pub monitor: Option<Box<Spanned<RawMonitor>>>,
    pub query: Option<Box<Spanned<RawQuery>>>,
}

/// A read-only check: exactly one of `http` or `sql`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawCheck {
    pub http: Option<Spanned<Short<RawHttp>>>,
    pub sql: Option<Spanned<RawSql>>,
}

/// `shell`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawShell {
    /// The command, run by `sh -c`.
    pub run: Text,
    /// Working directory, relative to the runbook's workdir.
    pub cwd: Option<Text>,
    /// Extra environment variables.
    #[serde(default)]
    pub env: BTreeMap<String, Text>,
    /// Exit status that counts as success (default 0).
    pub expect_exit: Option<Spanned<i64>>,
}

impl ShortForm for RawShell {
    const SHORT_MEANING: &'static str = "a command";
    fn from_short(text: String) -> Self {
        RawShell {
            run: synthetic(text),
            cwd: None,
            env: BTreeMap::new(),
            expect_exit: None,
        }
    }
}

/// `http`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawHttp {
    pub url: Text,
    #[schemars(with = "Option<HttpMethod>")]
    pub method: Option<Text>,
    #[serde(default)]
    pub headers: BTreeMap<String, Text>,
    pub body: Option<Text>,
    pub expect: Option<RawHttpExpect>,
}

impl ShortForm for RawHttp {
    const SHORT_MEANING: &'static str = "a URL";
    fn from_short(text: String) -> Self {
        RawHttp {
            url: synthetic(text),
            method: None,
            headers: BTreeMap::new(),
            body: None,
            expect: None,
        }
    }
}

/// HTTP methods a step may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
#[allow(missing_docs)]
pub enum HttpMethod {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
}

/// What an HTTP answer must look like.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHttpExpect {
    /// Status code (default: any 2xx).
    pub status: Option<Spanned<i64>>,
    /// Text the body must contain.
    pub body_contains: Option<Text>,
    /// JSON pointer (`/status`) to the value it must equal.
    #[serde(default)]
    pub json: BTreeMap<String, serde_json::Value>,
    /// Latency bound in milliseconds.
    pub max_ms: Option<Spanned<i64>>,
}

/// `sql`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSql {
    /// Name from `databases`.
    pub database: Text,
    /// The query; values go in `params` as `$1`, `$2`, never into the text.
    pub query: Text,
    /// Bound parameters (references allowed here).
    #[serde(default)]
    pub params: Vec<Spanned<serde_json::Value>>,
    /// What the result must be.
    pub expect: Option<RawSqlExpect>,
}

/// What a query result must be.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSqlExpect {
    /// Exact row count.
    pub rows: Option<Spanned<i64>>,
    /// The first column of the first row.
    pub value: Option<Spanned<serde_json::Value>>,
    /// No rows at all.
    pub empty: Option<bool>,
}

/// `migrate`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawMigrate {
    pub database: Text,
    pub dir: Text,
    #[schemars(with = "Option<MigrationStyle>")]
    pub style: Option<Text>,
    /// Only verify "up to date"; change nothing.
    pub check: Option<bool>,
    /// How long to wait for the migration advisory lock (default 10s).
    pub lock_timeout: Option<Text>,
}

/// Which bookkeeping a migrate step keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MigrationStyle {
    /// `_prisma_migrations`, as Prisma keeps it.
    Prisma,
    /// deployctl's own `deployctl_migrations`.
    Plain,
}

/// `backup`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawBackup {
    pub database: Text,
    pub dir: Text,
}

/// `rls`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawRls {
    pub database: Text,
    pub role: Text,
    pub setting: Text,
    pub tenants: Spanned<Vec<Text>>,
    pub tables: Spanned<Vec<Spanned<RawRlsTable>>>,
}

/// A table the rls check covers.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawRlsTable {
    pub name: Text,
    pub tenant_column: Text,
    /// Accept a listed tenant having no rows in this table, whose isolation then cannot be
    /// shown (reported as "not proven"); without it that fails the step.
    pub allow_empty: Option<bool>,
}

/// `approval`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawApproval {
    /// The role that must approve, e.g. `@pm`.
    pub role: Text,
    /// Names allowed to approve.
    #[serde(default)]
    pub from: Vec<Text>,
    /// How long an approval stays valid.
    pub ttl: Option<Text>,
}

/// `manual`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawManual {
    /// What the operator confirms.
    pub text: Text,
}

impl ShortForm for RawManual {
    const SHORT_MEANING: &'static str = "the checkbox text";
    fn from_short(text: String) -> Self {
        RawManual { text: synthetic(text) }
    }
}

/// `wait`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWait {
    /// Sleep this long.
    #[serde(rename = "for")]
    pub for_: Option<Text>,
    /// Or poll this check until it passes.
    pub until: Option<Spanned<RawCheck>>,
    /// Poll interval (default 1s).
    pub every: Option<Text>,
}

/// `notify`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNotify {
    /// URL that receives a JSON POST.
    pub webhook: Text,
    /// Text included in the payload.
    pub message: Option<Text>,
    /// Fail the step when the webhook does not answer 2xx.
    pub required: Option<bool>,
}

impl ShortForm for RawNotify {
    const SHORT_MEANING: &'static str = "a webhook URL";
    fn from_short(text: String) -> Self {
        RawNotify {
            webhook: synthetic(text),
            message: None,
            required: None,
        }
    }
}

/// `rolling_restart`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawRollingRestart {
    pub services: Spanned<Vec<Text>>,
    pub batch: Option<Spanned<BatchSpec>>,
    pub max_failed: Option<Spanned<i64>>,
    pub health_timeout: Option<Text>,
    pub consecutive_ok: Option<Spanned<i64>>,
}

/// `monitor`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawMonitor {
    pub duration: Text,
    pub interval: Option<Text>,
    #[serde(default)]
    pub probes: Vec<Spanned<RawCheck>>,
    /// Metrics computed by Prometheus, by name, usable in `rollback_when`.
    #[serde(default)]
    pub queries: BTreeMap<String, Spanned<RawMetricQuery>>,
    /// Each query's value before the change, for `above_baseline`/`below_baseline` rules.
    pub baseline: Option<Spanned<RawBaseline>>,
    /// Watch while the following steps run (the run goes on at once).
    pub background: Option<bool>,
    #[schemars(with = "Option<OnNoData>")]
    pub on_no_data: Option<Text>,
    #[serde(default)]
    pub rollback_when: Vec<Spanned<RawRule>>,
}

/// What a window without samples counts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnNoData {
    /// Counts as failing (fail closed).
    Fail,
    /// Pauses the run for the operator.
    Pause,
    /// Skipped.
    Ignore,
}

/// A rollback rule of a monitor.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawRule {
    /// A probe metric (`error_rate`, `p50_ms`, `p95_ms`, `p99_ms`) or a name from `queries`.
    pub metric: Text,
    /// Breaches when the value is over this.
    pub above: Option<Spanned<f64>>,
    /// Breaches when the value is over the baseline by this: `"10%"` (relative) or a
    /// number (absolute margin).
    pub above_baseline: Option<Spanned<serde_json::Value>>,
    /// Breaches when the value is under the baseline by this (`"10%"` or a number).
    pub below_baseline: Option<Spanned<serde_json::Value>>,
    #[serde(rename = "for")]
    pub for_: Option<Text>,
    pub consecutive: Option<Spanned<i64>>,
}

/// A metric a monitor computes per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Metric {
    ErrorRate,
    P50Ms,
    P95Ms,
    P99Ms,
}

/// A string made from a short form: positioned at its parent by the validator.
fn synthetic(value: String) -> Text {
    Spanned {
        value,
        pos: Default::default(),
        offset: None,
    }
}
