//! The `migrate` step: applies a migrations folder in order under a PostgreSQL advisory lock.
//!
//! Theory of operation: the local folder is read first (names, texts, checksums), then ONE
//! dedicated connection is opened so the session-level advisory lock (`72707369`, the key
//! Prisma uses) lives exactly as long as the step: it is released explicitly at the end, and
//! dropping the future (timeout, signal) drops the connection, which releases it too. Under
//! the lock the bookkeeping table is read and compared with the folder ([`Comparison`]);
//! `check: true` only reports that comparison, otherwise pending migrations are applied one
//! by one, each as one transaction.
//!
//! `style: prisma` keeps `_prisma_migrations` exactly as Prisma 6 does on PostgreSQL, so
//! `prisma migrate status` agrees afterwards. Like `prisma migrate deploy`, applying ignores
//! edited and locally-missing applied migrations; `check` reports them. `style: plain` keeps
//! `deployctl_migrations` and refuses to apply on top of an edited applied migration. Down
//! files (`<name>.down.sql` plain, `<name>/down.sql` prisma) are run by [`undo_plain`].
//!
//! A URL's `?schema=NAME` works as in Prisma, for both styles: the bookkeeping table lives in
//! that schema (created, with the schema, when missing) and the session's `search_path` is
//! that schema alone while migrations run, so their unqualified names land there.
//!
//! What a run applied is recorded in the step's `output` as one JSON object,
//! `{"applied":["<name>",...]}` (on failure too: the ones applied before it), so that an
//! undo can be built from the journal alone ([`applied_migrations`]).

mod apply;
#[cfg(test)]
mod apply_tests;
mod ledger;
mod lock;
mod lock_modes;
mod lock_report;
mod lock_retry;
#[cfg(test)]
mod schema_tests;
mod source;
#[cfg(test)]
mod tests;
mod undo;
#[cfg(test)]
mod undo_tests;

use sqlx::{Connection, PgConnection};

use self::ledger::{Comparison, Ledger};
use self::source::LocalMigration;
use super::kind::{Kind, rel_path};
use super::{Failure, StepContext, StepOutcome};
use crate::event::UndoEntry;
use crate::runbook::Runbook;
use crate::runbook::model::{Migrate, MigrationStyle};

#[cfg(test)]
use self::undo::PlainUndo;
use self::undo::undo_plain;

impl Kind for Migrate {
    fn describe(&self, runbook: &Runbook) -> String {
        let style = match self.style {
            MigrationStyle::Prisma => "prisma",
            MigrationStyle::Plain => "plain",
        };
        let dir = rel_path(&self.dir, &runbook.workdir);
        if self.check {
            format!("check database {} is up to date with {dir} ({style})", self.database)
        } else {
            format!("apply {dir} to database {} ({style})", self.database)
        }
    }

    /// What applying would do, read-only (no lock taken, no table created).
    async fn probe(&self, ctx: &StepContext<'_>) -> Option<Result<String, Failure>> {
        Some(probe(self, ctx).await)
    }

    fn has_own_undo(&self) -> bool {
        !self.check
    }

    /// An apply whose migrations all have a down file (`<name>.down.sql`, or `down.sql` in
    /// a Prisma migration's folder): they are reverted newest first on rollback.
    fn own_undo(&self, id: &str, output: Option<&str>) -> Option<UndoEntry> {
        if !self.has_own_undo() {
            return None;
        }
        let applied = output.and_then(applied_migrations).filter(|a| !a.is_empty())?;
        let all_down = applied
            .iter()
            .all(|name| source::down_path(&self.dir, name, self.style).is_file());
        all_down.then(|| UndoEntry {
            id: format!("{id}.undo"),
            title: format!(
                "revert {} migration(s) of `{id}` with their down files, newest first",
                applied.len()
            ),
            migrations: applied,
        })
    }

    async fn revert(&self, undo: &UndoEntry, ctx: &StepContext<'_>) -> StepOutcome {
        undo_plain(self, &undo.migrations, ctx).await.into_outcome(ctx)
    }

    async fn execute(&self, ctx: &StepContext<'_>) -> StepOutcome {
        let mut applied = Vec::new();
        let result = run(self, ctx, &mut applied).await;
        let output = record(&applied).map(|o| ctx.redactor.mask(&o).into_owned());
        match result {
            Ok(detail) => StepOutcome::Done {
                detail: Some(ctx.redactor.mask(&detail).into_owned()),
                output,
            },
            Err(failure) => StepOutcome::failed_with_output(failure.masked(ctx.redactor), output),
        }
    }
}

/// The step's machine-readable output: `{"applied":[...]}`, or nothing when none was applied.
fn record(applied: &[String]) -> Option<String> {
    (!applied.is_empty()).then(|| serde_json::json!({ "applied": applied }).to_string())
}

/// The migrations a `migrate` step applied, in the order it applied them, read back from the
/// `output` it journaled; `None` when the output is not such a record. The undo ledger feeds
/// this to [`undo_plain`].
pub fn applied_migrations(output: &str) -> Option<Vec<String>> {
    let value: serde_json::Value = serde_json::from_str(output.trim()).ok()?;
    value
        .get("applied")?
        .as_array()?
        .iter()
        .map(|name| name.as_str().map(str::to_string))
        .collect()
}

/// Connects for a migration session: the schema of `?schema=` becomes the only entry of
/// `search_path`, as Prisma's schema engine sets it.
async fn connect(step: &Migrate, ctx: &StepContext<'_>) -> Result<PgConnection, String> {
    let options = ctx.databases.options(&step.database)?.application_name("deployctl");
    let mut conn = PgConnection::connect_with(&options)
        .await
        .map_err(|e| ctx.databases.connect_error(&step.database, &e))?;
    if let Some(schema) = ctx.databases.schema(&step.database) {
        let set = sqlx::query("SELECT set_config('search_path', $1, false)")
            .bind(ledger::quote_ident(schema))
            .execute(&mut conn)
            .await;
        if let Err(e) = set {
            let _ = conn.close().await;
            return Err(format!(
                "cannot set `search_path` to schema `{schema}` in database `{}`: {}",
                step.database,
                super::sql_error(&e)
            ));
        }
    }
    Ok(conn)
}

/// Reads the folder, connects, locks, does the work and unlocks; the detail or the reason.
/// `applied` receives each migration as soon as it is applied.
async fn run(step: &Migrate, ctx: &StepContext<'_>, applied: &mut Vec<String>) -> Result<String, Failure> {
    let local = source::read(&step.dir, step.style)?;
    let mut conn = connect(step, ctx).await?;
    let schema = ctx.databases.schema(&step.database);
    let result = match lock::acquire(&mut conn, &step.database, step.lock_timeout).await {
        Ok(()) => {
            let retry = lock_retry::LockRetry {
                timeout: step.lock_timeout,
                retries: step.lock_retries,
                ctx,
            };
            let result = locked(step, schema, &local, &mut conn, applied, &retry).await;
            let released = lock::release(&mut conn, &step.database).await;
            result.and_then(|detail| released.map(|()| detail).map_err(Failure::new))
        }
        Err(e) => Err(e),
    };
    // Closing only says goodbye politely; the session (and its lock) ends either way.
    let _ = conn.close().await;
    result
}

/// The work done while holding the lock.
async fn locked(
    step: &Migrate,
    schema: Option<&str>,
    local: &[LocalMigration],
    conn: &mut PgConnection,
    done: &mut Vec<String>,
    retry: &lock_retry::LockRetry<'_>,
) -> Result<String, Failure> {
    let ledger = Ledger::new(step.style, &step.database, schema);
    let applied = ledger.load(conn).await?;
    let comparison = Comparison::new(local, &applied);
    if step.check {
        return match comparison.problems() {
            problems if problems.is_empty() => Ok(up_to_date(local.len())),
            problems => Err(Failure::new(format!(
                "database `{}` is not up to date with `{}`: {}",
                step.database,
                step.dir.display(),
                problems.join("; ")
            ))),
        };
    }
    if let Some(name) = comparison.failed.first() {
        return Err(Failure::new(format!(
            "migration `{name}` failed earlier and is not rolled back in database `{}`",
            step.database
        ))
        .with_hint(format!(
            "fix the database by hand, then mark it rolled back (`prisma migrate resolve --rolled-back {name}`, or set `rolled_back_at = now()` on its `_prisma_migrations` row) and run again"
        )));
    }
    if step.style == MigrationStyle::Plain && !comparison.drifted.is_empty() {
        return Err(Failure::new(format!(
            "applied migration(s) edited since: {} (checksum differs from `deployctl_migrations`)",
            ticked(&comparison.drifted)
        ))
        .with_hint("restore the applied files and put the change in a new migration"));
    }
    ledger.ensure_table(conn).await?;
    apply::apply_all(&ledger, conn, &comparison.pending, done, retry).await?;
    Ok(match done.len() {
        0 => up_to_date(local.len()),
        n => format!("applied {n} migration{}: {}", plural(n), done.join(", ")),
    })
}

/// The dry-run probe: what applying would do, read-only (no lock taken, no table created),
/// with the lock report of the pending migrations ([`lock_report`]).
/// `Err` when the step would fail now (a failed row, plain-style drift, or a `check` that
/// is not up to date).
async fn probe(step: &Migrate, ctx: &StepContext<'_>) -> Result<String, Failure> {
    let local = source::read(&step.dir, step.style)?;
    let mut conn = connect(step, ctx).await?;
    let schema = ctx.databases.schema(&step.database);
    let applied = Ledger::new(step.style, &step.database, schema).load(&mut conn).await;
    let applied = match applied {
        Ok(applied) => applied,
        Err(e) => {
            let _ = conn.close().await;
            return Err(Failure::new(e));
        }
    };
    let comparison = Comparison::new(&local, &applied);
    let locks = if step.check {
        String::new()
    } else {
        lock_report::report(&mut conn, &comparison.pending).await
    };
    let _ = conn.close().await;
    let problems = comparison.problems();
    if step.check {
        return if problems.is_empty() {
            Ok(up_to_date(local.len()))
        } else {
            Err(Failure::new(problems.join("; ")))
        };
    }
    if !comparison.failed.is_empty() {
        return Err(Failure::new(format!(
            "failed and not rolled back: {}",
            ticked(&comparison.failed)
        )));
    }
    if step.style == MigrationStyle::Plain && !comparison.drifted.is_empty() {
        return Err(Failure::new(format!(
            "edited after being applied: {}",
            ticked(&comparison.drifted)
        )));
    }
    let pending: Vec<&str> = comparison.pending.iter().map(|m| m.name.as_str()).collect();
    Ok(match pending.len() {
        0 => up_to_date(local.len()),
        n => format!(
            "would apply {n} migration{} (lock_timeout {}, {} retries): {}{locks}",
            plural(n),
            crate::runbook::duration::format(step.lock_timeout),
            step.lock_retries,
            ticked(&pending)
        ),
    })
}

fn up_to_date(count: usize) -> String {
    format!("up to date ({count} migration{})", plural(count))
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `a`, `b` as "`a`, `b`".
fn ticked(names: &[&str]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}
