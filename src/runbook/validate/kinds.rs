//! Validation of the kinds with fields of their own: `migrate`, `rls`, `wait`,
//! `rolling_restart` (`shell` and `monitor` have files of their own).

use std::time::Duration;

use super::context::{Validator, at};
use crate::runbook::diagnostic::Pos;
use crate::runbook::forms::BatchSpec;
use crate::runbook::model::*;
use crate::runbook::raw::*;
use crate::runbook::spanned::Spanned;

impl Validator<'_> {
    pub(super) fn migrate(&mut self, raw: &RawMigrate, pos: Pos) -> Option<Migrate> {
        let database = self.database(&raw.database, pos);
        let dir = self.path(&raw.dir, pos, "migrations dir");
        let lock_timeout = self.optional_duration(raw.lock_timeout.as_ref(), pos, Duration::from_secs(5));
        let lock_retries = match &raw.lock_retries {
            Some(n) => self.int(n, 0, 20, "lock_retries"),
            None => Some(3),
        };
        let style = self.choice_or(raw.style.as_ref(), pos, MigrationStyle::Prisma)?;
        // Checked now when the folder can be read; a folder made by an earlier step is
        // checked by the step itself.
        if let Some(dir) = &dir {
            self.warn_missing_dir(dir, &raw.dir, pos, "migrations dir");
        }
        if let Some(dir) = &dir
            && let Err(crate::runbook::migration_dir::DirError::Layout(layout)) =
                crate::runbook::migration_dir::migrations(dir, style)
        {
            let (message, hint) = layout.describe(&raw.dir.value, style);
            self.error_hint(at(&raw.dir, pos), message, hint);
        }
        let lint_ignore = self.lint_ignore(raw.lint.as_ref(), pos);
        if let Some(dir) = &dir
            && !raw.check.unwrap_or(false)
        {
            self.lint_migrations(dir, style, &lint_ignore);
        }
        Some(Migrate {
            database: database?,
            dir: dir?,
            style,
            check: raw.check.unwrap_or(false),
            lock_timeout: lock_timeout?,
            lock_retries: lock_retries?,
            lint_ignore,
        })
    }

    pub(super) fn rls(&mut self, raw: &RawRls, pos: Pos) -> Option<Rls> {
        let database = self.database(&raw.database, pos);
        let role = self.plain(&raw.role, pos, "rls role");
        let setting = self.plain(&raw.setting, pos, "rls setting");
        let tenants: Vec<String> = raw
            .tenants
            .value
            .iter()
            .filter_map(|t| self.plain(t, pos, "tenant"))
            .collect();
        if raw.tenants.value.len() < 2 {
            self.error_hint(
                raw.tenants.pos,
                format!("`rls` needs at least two tenants, got {}", raw.tenants.value.len()),
                "isolation is shown by one tenant not seeing another's rows",
            );
        }
        for (i, t) in tenants.iter().enumerate() {
            if tenants[..i].contains(t) {
                self.error(raw.tenants.pos, format!("tenant `{t}` is listed twice"));
            }
        }
        if raw.tables.value.is_empty() {
            self.error(raw.tables.pos, "`rls` lists no tables");
        }
        let mut tables = Vec::new();
        for t in &raw.tables.value {
            let name = self.plain(&t.value.name, t.pos, "table name");
            let column = self.plain(&t.value.tenant_column, t.pos, "tenant column");
            let through = t.value.through.as_ref().map(|th| self.rls_through(&th.value, th.pos));
            if let (Some(name), Some(tenant_column)) = (name, column) {
                tables.push(RlsTable {
                    name,
                    tenant_column,
                    allow_empty: t.value.allow_empty.unwrap_or(false),
                    through: through.flatten(),
                });
            }
        }
        let only_through = raw.only_through.unwrap_or(false);
        if only_through && tables.iter().any(|t| t.through.is_none()) {
            self.error_hint(
                raw.tables.pos,
                "`only_through: true` but a table has no `through:`",
                "give every table a `through: { url, tenant_header, owner_field }`",
            );
        }
        Some(Rls {
            database: database?,
            role: role?,
            setting: setting?,
            tenants,
            tables,
            only_through,
        })
    }

    pub(super) fn wait(&mut self, raw: &RawWait, pos: Pos) -> Option<Wait> {
        match (&raw.for_, &raw.until) {
            (Some(d), None) => {
                if raw.every.is_some() {
                    self.error(pos, "`every` goes with `until`, not with `for`");
                }
                self.duration(d, pos).map(Wait::For)
            }
            (None, Some(until)) => {
                let check = self.check(until, "until");
                let every = self.optional_duration(raw.every.as_ref(), pos, Duration::from_secs(1));
                Some(Wait::Until {
                    check: check?,
                    every: every?,
                })
            }
            _ => {
                self.error_hint(
                    pos,
                    "`wait` needs exactly one of `for` or `until`",
                    "`wait: { for: 30s }` sleeps; `wait: { until: { http: URL } }` polls",
                );
                None
            }
        }
    }

    pub(super) fn rolling_restart(&mut self, raw: &RawRollingRestart, pos: Pos) -> Option<RollingRestart> {
        if raw.services.value.is_empty() {
            self.error(raw.services.pos, "`rolling_restart` lists no services");
        }
        let mut services: Vec<String> = Vec::new();
        for s in &raw.services.value {
            if let Some(name) = self.service(s, pos) {
                if services.contains(&name) {
                    self.error(at(s, pos), format!("service `{name}` is listed twice"));
                }
                services.push(name);
            }
        }
        let batch = match &raw.batch {
            None => Some(Batch::Count(1)),
            Some(b) => self.batch(b),
        };
        let max_failed = match &raw.max_failed {
            Some(m) => self.int(m, 0, 10_000, "max_failed"),
            None => Some(0),
        };
        let health_timeout = self.optional_duration(raw.health_timeout.as_ref(), pos, Duration::from_secs(60));
        let consecutive_ok = match &raw.consecutive_ok {
            Some(c) => self.int(c, 1, 1000, "consecutive_ok"),
            None => Some(1),
        };
        Some(RollingRestart {
            services,
            batch: batch?,
            max_failed: max_failed?,
            health_timeout: health_timeout?,
            consecutive_ok: consecutive_ok?,
        })
    }

    fn batch(&mut self, raw: &Spanned<BatchSpec>) -> Option<Batch> {
        const HINT: &str = "write a number (2), a percentage (\"25%\") or a ramp ([1, 2, 4])";
        match &raw.value {
            BatchSpec::Count(n) if (1..=10_000).contains(n) => Some(Batch::Count(*n as u32)),
            BatchSpec::Count(n) => {
                self.error_hint(raw.pos, format!("batch size must be at least 1, not {n}"), HINT);
                None
            }
            BatchSpec::Percent(text) => match text.strip_suffix('%').and_then(|p| p.trim().parse::<u32>().ok()) {
                Some(p) if (1..=100).contains(&p) => Some(Batch::Percent(p)),
                _ => {
                    self.error_hint(
                        raw.pos,
                        format!("invalid batch `{text}`: a percentage is 1% to 100%"),
                        HINT,
                    );
                    None
                }
            },
            BatchSpec::Ramp(sizes) if !sizes.is_empty() && sizes.iter().all(|s| (1..=10_000).contains(s)) => {
                Some(Batch::Ramp(sizes.iter().map(|s| *s as u32).collect()))
            }
            BatchSpec::Ramp(_) => {
                self.error_hint(raw.pos, "a batch ramp needs one or more sizes of at least 1", HINT);
                None
            }
        }
    }
}
