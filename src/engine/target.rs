//! One line saying what a step acts on, for plans and reports ("what will it do?").
//!
//! Paths are shown relative to the runbook's workdir; `${run.id}` stays as written because
//! the plan comes before the run. Callers mask secrets.

use std::path::Path;

use crate::runbook::Runbook;
use crate::runbook::duration::format as dur;
use crate::runbook::model::*;

/// Describes what `kind` does, resolved.
pub fn describe(kind: &StepKind, runbook: &Runbook) -> String {
    let rel = |p: &Path| rel_path(p, &runbook.workdir);
    match kind {
        StepKind::Shell(s) => {
            let cwd = rel(&s.cwd);
            let exit = if s.expect_exit != 0 {
                format!(" (expect exit {})", s.expect_exit)
            } else {
                String::new()
            };
            if cwd == "." {
                format!("$ {}{exit}", s.run.display())
            } else {
                format!("$ {} (in {cwd}){exit}", s.run.display())
            }
        }
        StepKind::Http(h) => http(h),
        StepKind::Sql(q) => sql(q),
        StepKind::Migrate(m) => {
            let style = match m.style {
                MigrationStyle::Prisma => "prisma",
                MigrationStyle::Plain => "plain",
            };
            if m.check {
                format!(
                    "check database {} is up to date with {} ({style})",
                    m.database,
                    rel(&m.dir)
                )
            } else {
                format!("apply {} to database {} ({style})", rel(&m.dir), m.database)
            }
        }
        StepKind::Backup(b) => format!("pg_dump database {} into {}", b.database, rel(&b.dir)),
        StepKind::Rls(r) => {
            let tables: Vec<&str> = r.tables.iter().map(|t| t.name.as_str()).collect();
            format!(
                "database {} as role {}: {} × {} tenants",
                r.database,
                r.role,
                tables.join(", "),
                r.tenants.len()
            )
        }
        StepKind::Approval(a) if a.from.is_empty() => format!("approval by role {}", a.role),
        StepKind::Approval(a) => format!("approval by role {} (one of {})", a.role, a.from.join(", ")),
        StepKind::Manual(m) => format!("confirm: {}", m.text),
        StepKind::Wait(Wait::For(d)) => format!("sleep {}", dur(*d)),
        StepKind::Wait(Wait::Until { check, every }) => format!("until {} (every {})", check_text(check), dur(*every)),
        StepKind::Notify(n) => format!("POST {}", n.webhook.display()),
        StepKind::RollingRestart(r) => {
            let batches = match &r.batch {
                Batch::Count(n) => format!("{n} at a time"),
                Batch::Percent(p) => format!("{p}% at a time"),
                Batch::Ramp(sizes) => format!("batches of {sizes:?}"),
            };
            format!(
                "restart {} ({batches}, healthy within {})",
                r.services.join(", "),
                dur(r.health_timeout)
            )
        }
        StepKind::Monitor(m) => {
            let rules: Vec<String> = m.rollback_when.iter().map(rule).collect();
            let rules = if rules.is_empty() {
                "no rollback rules".into()
            } else {
                format!("roll back when {}", rules.join(" or "))
            };
            format!(
                "watch {} probe(s) every {} for {}; {rules}",
                m.probes.len(),
                dur(m.interval),
                dur(m.duration)
            )
        }
    }
}

/// The window as one line: `tue,wed,thu 02:00-06:00; fri 23:00-03:00 (UTC), overrun finish`.
pub fn describe_window(w: &Window) -> String {
    let slots: Vec<String> = w
        .allow
        .iter()
        .map(|s| {
            let days: Vec<String> = s
                .days
                .iter()
                .map(|d| {
                    serde_json::to_value(d)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                })
                .collect();
            format!(
                "{} {}-{}",
                days.join(","),
                s.start.format("%H:%M"),
                s.end.format("%H:%M")
            )
        })
        .collect();
    let overrun = serde_json::to_value(w.overrun)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let freezes = if w.deny.is_empty() {
        String::new()
    } else {
        format!(", {} freeze(s)", w.deny.len())
    };
    format!("{} ({}){freezes}, overrun {overrun}", slots.join("; "), w.timezone)
}

fn http(h: &HttpCheck) -> String {
    let method = serde_json::to_value(h.method)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let status = h.expect_status.map_or_else(|| "2xx".to_string(), |s| s.to_string());
    let latency = h.max_ms.map_or_else(String::new, |ms| format!(" within {ms}ms"));
    format!("{method} {} → {status}{latency}", h.url.display())
}

fn sql(q: &SqlCheck) -> String {
    let query: String = q.query.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut expect = Vec::new();
    if let Some(rows) = q.expect.rows {
        expect.push(format!("rows = {rows}"));
    }
    if let Some(v) = &q.expect.value {
        expect.push(format!("value = {v}"));
    }
    if let Some(e) = q.expect.empty {
        expect.push(if e { "empty".into() } else { "not empty".into() });
    }
    let expect = if expect.is_empty() {
        String::new()
    } else {
        format!(" → {}", expect.join(", "))
    };
    format!("database {}: {query}{expect}", q.database)
}

fn check_text(check: &Check) -> String {
    match check {
        Check::Http(h) => http(h),
        Check::Sql(q) => sql(q),
    }
}

fn rule(r: &Rule) -> String {
    let metric = serde_json::to_value(r.metric)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    match r.hold {
        Hold::For(d) => format!("{metric} > {} for {}", r.above, dur(d)),
        Hold::Consecutive(n) => format!("{metric} > {} in {n} windows in a row", r.above),
    }
}

fn rel_path(path: &Path, base: &Path) -> String {
    match path.strip_prefix(base) {
        Ok(p) if p.as_os_str().is_empty() => ".".into(),
        Ok(p) => p.display().to_string(),
        Err(_) => path.display().to_string(),
    }
}
