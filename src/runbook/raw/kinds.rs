//! One serde shape per step kind, as written (`shell:`, `http:`, `migrate:` ...), with
//! the short forms some kinds accept (`shell: "cmd"`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use super::super::forms::{BatchSpec, ShortForm};
use super::super::spanned::Spanned;
use super::{RawBaseline, RawCheck, RawMetricQuery, Text};

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
    /// How long each lock is waited for: the migration advisory lock, and PostgreSQL's
    /// `lock_timeout` in every migration's transaction (default 5s).
    pub lock_timeout: Option<Text>,
    /// How many times a migration whose lock was not granted is rolled back and tried
    /// again, with backoff (default 3).
    pub lock_retries: Option<Spanned<i64>>,
    /// The squawk lint of the migrations: rules to ignore for this step.
    pub lint: Option<Spanned<RawLint>>,
}

/// `migrate.lint`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLint {
    /// squawk rule names (`require-concurrent-index-creation`) not reported for this step.
    #[serde(default)]
    pub ignore: Vec<Text>,
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
    /// How the dump is proven: `list` (`pg_restore --list`, the default) or `restore` (into
    /// a scratch database, row counts compared).
    #[schemars(with = "Option<BackupVerify>")]
    pub verify: Option<Text>,
}

/// `restore`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRestore {
    /// The database to restore (from `databases`).
    pub database: Text,
    /// The id of the `backup` step of this run whose dump is restored.
    pub from: Text,
}

/// How a backup proves its dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackupVerify {
    /// `pg_restore --list` reads the archive.
    List,
    /// Restored into a scratch database; per-table row counts equal those of the dump's snapshot.
    Restore,
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
    /// Check only what the service returns (`through:` of every table), not the database's
    /// policies: after a rollback that reverted RLS, the release before it must still serve
    /// every tenant exactly its rows.
    pub only_through: Option<bool>,
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
    /// Also check what the service returns for each tenant.
    pub through: Option<Spanned<RawRlsThrough>>,
}

/// Tenant isolation checked through the service's HTTP API.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRlsThrough {
    /// The URL that lists the table's items (a JSON array, or the array at `items`).
    pub url: Text,
    /// The request header that names the tenant (e.g. `X-User-Id`).
    pub tenant_header: Text,
    /// The field of each item that holds its tenant.
    pub owner_field: Text,
    /// JSON pointer to the array inside the response (`/items`); the whole body by default.
    pub items: Option<Text>,
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
    pub webhook: Option<Text>,
    /// Body of the POST: `generic` or `slack`.
    #[schemars(with = "Option<super::NotifyFormat>")]
    pub format: Option<Text>,
    /// Send an e-mail (with the message as its body).
    pub email: Option<Spanned<super::RawEmail>>,
    /// Text included in the payload.
    pub message: Option<Text>,
    /// Fail the step when the webhook does not answer 2xx.
    pub required: Option<bool>,
}

impl ShortForm for RawNotify {
    const SHORT_MEANING: &'static str = "a webhook URL";
    fn from_short(text: String) -> Self {
        RawNotify {
            webhook: Some(synthetic(text)),
            format: None,
            email: None,
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
