//! Each step kind's settings after validation, one type per kind key.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::{BackupVerify, Baseline, HttpMethod, MetricQuery, MigrationStyle, OnNoData, Template, Threshold};

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
    pub lock_retries: u32,
    /// squawk rules not reported for this step (`lint.ignore`), as written.
    pub lint_ignore: Vec<String>,
}

/// `backup`
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct Backup {
    pub database: String,
    pub dir: PathBuf,
    pub verify: BackupVerify,
}

/// `restore`: a dump a `backup` step of this run wrote, restored over the database.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct Restore {
    pub database: String,
    /// The id of the backup step.
    pub from: String,
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
    /// Only the `through:` checks run (the database's policies are not asserted).
    pub only_through: bool,
}

/// A table the rls check covers.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct RlsTable {
    pub name: String,
    pub tenant_column: String,
    /// A tenant without rows here is a note, not a failure (isolation not proven).
    pub allow_empty: bool,
    /// Also checked through the service's HTTP API.
    pub through: Option<RlsThrough>,
}

/// `through:` of an rls table: what the service returns to each tenant.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct RlsThrough {
    pub url: Template,
    pub tenant_header: String,
    pub owner_field: String,
    /// JSON pointer to the array in the response; the whole body when empty.
    pub items: String,
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
    pub target: super::Target,
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
