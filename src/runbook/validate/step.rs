//! Validation of steps: the common fields, the one kind key, and each kind's fields.
//!
//! A step's settings are its own, else the runbook's `defaults`, else the built-in defaults
//! (timeout 5m, no retries, retry_delay 2s, constant delay, on_failure stop).

use std::collections::BTreeMap;
use std::time::Duration;

use super::context::{Validator, at};
use crate::runbook::diagnostic::Pos;
use crate::runbook::forms::BatchSpec;
use crate::runbook::interpolate::Scope;
use crate::runbook::model::*;
use crate::runbook::raw::*;
use crate::runbook::spanned::Spanned;

/// Settings every step inherits unless it says otherwise.
#[derive(Debug, Clone)]
pub(super) struct Defaults {
    timeout: Duration,
    retries: u32,
    retry_delay: Duration,
    backoff: Backoff,
    on_failure: OnFailure,
}

const KINDS: &str = "shell, http, sql, migrate, backup, rls, approval, manual, wait, notify, rolling_restart, monitor";

impl Validator<'_> {
    pub(super) fn defaults(&mut self, raw: Option<&RawDefaults>) -> Defaults {
        let mut d = Defaults {
            timeout: Duration::from_secs(300),
            retries: 0,
            retry_delay: Duration::from_secs(2),
            backoff: Backoff { factor: 1.0, max: None },
            on_failure: OnFailure::Stop,
        };
        let Some(raw) = raw else { return d };
        if let Some(t) = raw.timeout.as_ref().and_then(|t| self.duration(t, Pos::FILE)) {
            d.timeout = t;
        }
        if let Some(r) = raw.retries.as_ref().and_then(|r| self.int(r, 0, 100, "retries")) {
            d.retries = r;
        }
        if let Some(t) = raw.retry_delay.as_ref().and_then(|t| self.duration(t, Pos::FILE)) {
            d.retry_delay = t;
        }
        if let Some(b) = raw.backoff.as_ref().and_then(|b| self.backoff(b)) {
            d.backoff = b;
        }
        if let Some(f) = raw.on_failure.as_ref().and_then(|f| self.choice(f, Pos::FILE)) {
            d.on_failure = f;
        }
        d
    }

    fn backoff(&mut self, raw: &Spanned<RawBackoff>) -> Option<Backoff> {
        let factor = match &raw.value.factor {
            Some(f) if !self.unquoted(f, "backoff factor") => return None,
            Some(f) if !(1.0..=100.0).contains(&f.value) => {
                self.error_hint(
                    f.pos,
                    format!("backoff factor must be between 1 and 100, not {}", f.value),
                    "1 keeps the delay constant; 2 doubles it after each attempt",
                );
                return None;
            }
            Some(f) => f.value,
            None => 2.0,
        };
        let max = match &raw.value.max {
            Some(m) => Some(self.duration(m, raw.pos)?),
            None => None,
        };
        Some(Backoff { factor, max })
    }

    /// A step of a phase or of the rollback procedure (must have an id).
    pub(super) fn step(&mut self, raw: &Spanned<RawStep>, defaults: &Defaults) -> Option<Step> {
        let pos = raw.pos;
        let id = match &raw.value.id {
            Some(id) => {
                if id.value.ends_with(".undo") {
                    self.error_hint(
                        id.pos,
                        format!("step id `{}` ends in `.undo`", id.value),
                        "`<id>.undo` names the journal entries of a step's undo: choose another id",
                    );
                } else if self.name(&id.value, id.pos, "step id") {
                    self.claim_id(&id.value, id.pos);
                }
                id.value.clone()
            }
            None => {
                self.error_hint(
                    pos,
                    "step has no `id`",
                    "give every step a unique id: `- id: backup-community`",
                );
                "<no id>".to_string()
            }
        };
        self.step_body(raw, &id, defaults)
    }

    fn claim_id(&mut self, id: &str, pos: Pos) {
        if let Some(first) = self.step_ids.get(id) {
            let first = *first;
            self.error_hint(
                pos,
                format!("duplicate step id `{id}` (first at line {}:{})", first.line, first.col),
                "step ids are unique across all phases and `rollback`: they name journal entries",
            );
        } else {
            self.step_ids.insert(id.to_owned(), pos);
        }
    }

    fn step_body(&mut self, raw: &Spanned<RawStep>, id: &str, defaults: &Defaults) -> Option<Step> {
        let s = &raw.value;
        let pos = raw.pos;
        let timeout = self.optional_duration(s.timeout.as_ref(), pos, defaults.timeout);
        let retries = match &s.retries {
            Some(r) => self.int(r, 0, 100, "retries"),
            None => Some(defaults.retries),
        };
        let retry_delay = self.optional_duration(s.retry_delay.as_ref(), pos, defaults.retry_delay);
        let backoff = match &s.backoff {
            Some(b) => self.backoff(b),
            None => Some(defaults.backoff),
        };
        let verify = s.verify.as_ref().map(|v| self.check(v, "verify"));
        let undo = s.undo.as_ref().map(|u| self.undo(u, id, defaults));
        let on_failure = self.choice_or(s.on_failure.as_ref(), pos, defaults.on_failure);
        let title = s.title.as_ref().map(|t| self.title(t, pos));
        let kind = self.kind(s, pos, id);
        let kind = kind?;
        let idempotent = s.idempotent.unwrap_or_else(|| kind.idempotent_by_default());
        Some(Step {
            id: id.to_owned(),
            title,
            line: pos.line,
            timeout: timeout?,
            retries: retries?,
            retry_delay: retry_delay?,
            backoff: backoff?,
            on_failure: on_failure?,
            idempotent,
            verify: match verify {
                Some(v) => Some(v?),
                None => None,
            },
            undo: match undo {
                Some(u) => Some(Box::new(u?)),
                None => None,
            },
            kind,
        })
    }

    fn undo(&mut self, raw: &Spanned<RawStep>, of: &str, defaults: &Defaults) -> Option<Step> {
        if let Some(id) = &raw.value.id {
            self.error_hint(
                id.pos,
                format!("`undo` of step `{of}` has an `id`"),
                format!("an undo has no id of its own: it is journaled as `{of}.undo`"),
            );
        }
        if raw.value.undo.is_some() || raw.value.verify.is_some() {
            self.error(
                raw.pos,
                format!("`undo` of step `{of}` cannot have its own `undo` or `verify`"),
            );
        }
        self.step_body(raw, &format!("{of}.undo"), defaults)
    }

    fn kind(&mut self, s: &RawStep, pos: Pos, id: &str) -> Option<StepKind> {
        let present: Vec<&str> = [
            ("shell", s.shell.is_some()),
            ("http", s.http.is_some()),
            ("sql", s.sql.is_some()),
            ("migrate", s.migrate.is_some()),
            ("backup", s.backup.is_some()),
            ("rls", s.rls.is_some()),
            ("approval", s.approval.is_some()),
            ("manual", s.manual.is_some()),
            ("wait", s.wait.is_some()),
            ("notify", s.notify.is_some()),
            ("rolling_restart", s.rolling_restart.is_some()),
            ("monitor", s.monitor.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, here)| here.then_some(name))
        .collect();
        match present.len() {
            0 => {
                self.error_hint(
                    pos,
                    format!("step `{id}` says nothing to do"),
                    format!("add exactly one kind key: {KINDS}"),
                );
                return None;
            }
            1 => {}
            _ => {
                self.error_hint(
                    pos,
                    format!("step `{id}` has {} kind keys: {}", present.len(), present.join(", ")),
                    "a step does one thing: split it into one step per kind",
                );
                return None;
            }
        }
        if let Some(k) = &s.shell {
            return self.shell(&k.value.0, k.pos, id).map(StepKind::Shell);
        }
        if let Some(k) = &s.http {
            return self.http(&k.value.0, k.pos).map(StepKind::Http);
        }
        if let Some(k) = &s.sql {
            return self.sql(&k.value, k.pos).map(StepKind::Sql);
        }
        if let Some(k) = &s.migrate {
            return self.migrate(&k.value, k.pos).map(StepKind::Migrate);
        }
        if let Some(k) = &s.backup {
            let database = self.database(&k.value.database, k.pos);
            let dir = self.path(&k.value.dir, k.pos, "backup dir");
            return Some(StepKind::Backup(Backup {
                database: database?,
                dir: dir?,
            }));
        }
        if let Some(k) = &s.rls {
            return self.rls(&k.value, k.pos).map(StepKind::Rls);
        }
        if let Some(k) = &s.approval {
            let role = self.plain(&k.value.role, k.pos, "approval role");
            let from: Vec<String> = k
                .value
                .from
                .iter()
                .filter_map(|f| self.plain(f, k.pos, "approver name"))
                .collect();
            let ttl = match &k.value.ttl {
                Some(t) => Some(self.duration(t, k.pos)?),
                None => None,
            };
            return Some(StepKind::Approval(Approval { role: role?, from, ttl }));
        }
        if let Some(k) = &s.manual {
            return self
                .plain(&k.value.0.text, k.pos, "checkbox text")
                .map(|text| self.redactor.mask(&text).into_owned())
                .map(|text| StepKind::Manual(Manual { text }));
        }
        if let Some(k) = &s.wait {
            return self.wait(&k.value, k.pos).map(StepKind::Wait);
        }
        if let Some(k) = &s.notify {
            let n = &k.value.0;
            let webhook = self.url(&n.webhook, k.pos, Scope::Steps, "webhook");
            let message = match &n.message {
                Some(m) => Some(self.template(m, k.pos, Scope::Steps)?),
                None => None,
            };
            return Some(StepKind::Notify(Notify {
                webhook: webhook?,
                message,
                required: n.required.unwrap_or(false),
            }));
        }
        if let Some(k) = &s.rolling_restart {
            return self.rolling_restart(&k.value, k.pos).map(StepKind::RollingRestart);
        }
        if let Some(k) = &s.monitor {
            return self.monitor(&k.value, k.pos).map(StepKind::Monitor);
        }
        None
    }

    pub(super) fn http(&mut self, raw: &RawHttp, pos: Pos) -> Option<HttpCheck> {
        let url = self.url(&raw.url, pos, Scope::Steps, "URL");
        let mut headers = BTreeMap::new();
        for (name, value) in &raw.headers {
            if let Some(t) = self.template(value, pos, Scope::Steps) {
                headers.insert(name.clone(), t);
            }
        }
        let body = match &raw.body {
            Some(b) => Some(self.template(b, pos, Scope::Steps)?),
            None => None,
        };
        let (mut status, mut body_contains, mut json, mut max_ms) = (None, None, BTreeMap::new(), None);
        if let Some(e) = &raw.expect {
            if let Some(s) = &e.status {
                status = Some(self.int(s, 100, 599, "expected status")? as u16);
            }
            if let Some(b) = &e.body_contains {
                body_contains = Some(self.template(b, pos, Scope::Steps)?);
            }
            for (pointer, value) in &e.json {
                if !(pointer.is_empty() || pointer.starts_with('/')) {
                    self.error_hint(
                        pos,
                        format!("`{pointer}` is not a JSON pointer"),
                        format!("pointers start with `/`: write `/{pointer}`"),
                    );
                }
                json.insert(pointer.clone(), value.clone());
            }
            if let Some(m) = &e.max_ms {
                max_ms = Some(u64::from(self.int(m, 1, 3_600_000, "max_ms")?));
            }
        }
        Some(HttpCheck {
            url: url?,
            method: self.choice_or(raw.method.as_ref(), pos, HttpMethod::Get)?,
            headers,
            body,
            expect_status: status,
            body_contains,
            json,
            max_ms,
        })
    }

    pub(super) fn sql(&mut self, raw: &RawSql, pos: Pos) -> Option<SqlCheck> {
        let database = self.database(&raw.database, pos);
        if self.has_references(&raw.query.value) {
            self.error_hint(
                at(&raw.query, pos),
                "references are not spliced into SQL text",
                "write `$1` in the query and put the value in `params: [\"${vars.x}\"]`",
            );
        }
        if raw.query.value.trim().is_empty() {
            self.error(at(&raw.query, pos), "query is empty");
        }
        let mut params = Vec::new();
        for p in &raw.params {
            match &p.value {
                serde_json::Value::String(s) => {
                    let text = Spanned {
                        value: s.clone(),
                        pos: p.pos,
                        offset: p.offset,
                    };
                    params.push(SqlParam::Text(self.template(&text, pos, Scope::Steps)?));
                }
                serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                    self.error(p.pos, "a query parameter must be a string, number, bool or null");
                }
                scalar => params.push(SqlParam::Value(scalar.clone())),
            }
        }
        let mut expect = SqlExpect::default();
        if let Some(e) = &raw.expect {
            if let Some(r) = &e.rows {
                expect.rows = Some(u64::from(self.int(r, 0, i64::from(u32::MAX), "expected rows")?));
            }
            if let Some(v) = &e.value {
                if v.value.is_array() || v.value.is_object() {
                    self.error(v.pos, "an expected value must be a string, number, bool or null");
                }
                expect.value = Some(v.value.clone());
            }
            expect.empty = e.empty;
        }
        Some(SqlCheck {
            database: database?,
            query: raw.query.value.clone(),
            params,
            expect,
        })
    }

    pub(super) fn check(&mut self, raw: &Spanned<RawCheck>, what: &str) -> Option<Check> {
        match (&raw.value.http, &raw.value.sql) {
            (Some(h), None) => self.http(&h.value.0, h.pos).map(Check::Http),
            (None, Some(s)) => self.sql(&s.value, s.pos).map(Check::Sql),
            _ => {
                self.error_hint(
                    raw.pos,
                    format!("`{what}` needs exactly one of `http` or `sql`"),
                    "a check is read-only: `{ http: URL }` or `{ sql: { database, query, expect } }`",
                );
                None
            }
        }
    }

    fn migrate(&mut self, raw: &RawMigrate, pos: Pos) -> Option<Migrate> {
        let database = self.database(&raw.database, pos);
        let dir = self.path(&raw.dir, pos, "migrations dir");
        let lock_timeout = self.optional_duration(raw.lock_timeout.as_ref(), pos, Duration::from_secs(10));
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
        Some(Migrate {
            database: database?,
            dir: dir?,
            style,
            check: raw.check.unwrap_or(false),
            lock_timeout: lock_timeout?,
        })
    }

    fn rls(&mut self, raw: &RawRls, pos: Pos) -> Option<Rls> {
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
            if let (Some(name), Some(tenant_column)) = (name, column) {
                tables.push(RlsTable {
                    name,
                    tenant_column,
                    allow_empty: t.value.allow_empty.unwrap_or(false),
                });
            }
        }
        Some(Rls {
            database: database?,
            role: role?,
            setting: setting?,
            tenants,
            tables,
        })
    }

    fn wait(&mut self, raw: &RawWait, pos: Pos) -> Option<Wait> {
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

    fn rolling_restart(&mut self, raw: &RawRollingRestart, pos: Pos) -> Option<RollingRestart> {
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
