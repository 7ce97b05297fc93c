//! The undo of a migrate step: the down file of each migration the step applied, newest
//! first (`<name>.down.sql` for `style: plain`, `<name>/down.sql` beside `migration.sql` for
//! `style: prisma`).
//!
//! Theory of operation: every down file is read before the database is touched, so a missing
//! or unreadable one is known up front. Then, under the migration advisory lock, each
//! migration is reverted in ONE transaction that deletes its bookkeeping row and runs its
//! down file: either both happen or neither. For Prisma the row is deleted, not marked
//! `rolled_back_at`: with a finished row marked rolled back, Prisma 6.19.3's `migrate deploy`
//! re-applies the migration while `migrate status` still says "up to date"; without the row
//! both say "not yet applied". The deleted rows (id, checksum, applied time) are returned in
//! the undo's output, so the journal keeps them. A migration whose row is already gone
//! was reverted before (a rollback interrupted and run again), so its down file is not run a
//! second time. The undo stops at the first migration that has no down file, and at the
//! first down file that fails: reverting an older migration beneath a newer one that stays
//! applied is not safe. What was done and what is left are reported as a [`PlainUndo`] value.
//!
//! Each transaction runs under the step's `lock_timeout` and `lock_retries`, as the forward
//! migrations do ([`super::lock_retry`]): a down file's ALTER queued behind a long
//! transaction would otherwise stall every reader of its table for as long as it lasts. A
//! down file refused its locks to the last retry is rolled back and stops the undo; running
//! the rollback again later goes on from it.

use sqlx::{Connection, PgConnection};

use super::ledger::{Ledger, RemovedRow};
use super::lock_retry::{LockRetry, Tried};
use super::{connect, lock, source};
use crate::runbook::model::{Migrate, MigrationStyle};
use crate::steps::{Failure, StepContext, StepOutcome, sql_error};

/// What undoing a migrate step (either style; the name is historical) did, so the undo ledger can journal it and decide
/// whether the rollback succeeded ([`PlainUndo::is_complete`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlainUndo {
    /// Reverted now by their down file, in the order they were reverted (newest first).
    pub reverted: Vec<String>,
    /// Had no bookkeeping row any more (reverted earlier): nothing was run for them.
    pub already_reverted: Vec<String>,
    /// Applied by the step but without a `<name>.down.sql`, newest first.
    pub without_down: Vec<String>,
    /// Still applied after the undo, newest first: from the migration that stopped it on.
    pub kept: Vec<String>,
    /// Why the undo stopped early, when something failed (not when a down file is missing).
    pub failed: Option<String>,
    /// Whether what stopped it was a down file refused its locks to the last retry: nothing
    /// is wrong with the migrations, the rollback can simply be run again.
    pub lock_refused: bool,
    /// The bookkeeping rows deleted, newest first, for the journal.
    pub removed: Vec<RemovedRow>,
    /// The step's style, for the hint.
    pub style: Option<MigrationStyle>,
}

impl PlainUndo {
    /// Whether every migration the step applied is reverted now.
    pub fn is_complete(&self) -> bool {
        self.failed.is_none() && self.kept.is_empty()
    }

    /// The undo as a step outcome (done only when complete), masked for the journal.
    pub fn into_outcome(self, ctx: &StepContext<'_>) -> StepOutcome {
        let mut text = match self.reverted.len() {
            0 => "reverted nothing".to_string(),
            n => format!(
                "reverted {n} migration{}: {}",
                super::plural(n),
                self.reverted.join(", ")
            ),
        };
        if !self.already_reverted.is_empty() {
            text.push_str(&format!("; already reverted: {}", self.already_reverted.join(", ")));
        }
        let output = (!self.removed.is_empty())
            .then(|| serde_json::json!({ "reverted": self.removed }).to_string())
            .map(|o| ctx.redactor.mask(&o).into_owned());
        if self.is_complete() {
            return StepOutcome::Done {
                detail: Some(ctx.redactor.mask(&text).into_owned()),
                output,
            };
        }
        let (down, table) = match self.style {
            Some(MigrationStyle::Prisma) => ("/down.sql", "_prisma_migrations"),
            _ => (".down.sql", "deployctl_migrations"),
        };
        let why = match (&self.failed, self.kept.first()) {
            (Some(failed), _) => failed.clone(),
            (None, Some(first)) => format!("migration `{first}` has no down file (`{first}{down}`)"),
            (None, None) => String::new(),
        };
        let reason = format!(
            "{why}; still applied: {}; {text}",
            super::ticked(&self.kept.iter().map(String::as_str).collect::<Vec<_>>())
        );
        let hint = match self.lock_refused {
            true => "a long transaction holds a conflicting lock on the table: `deployctl rollback` again once it has ended (what was reverted stays reverted), or raise `lock_timeout` / `lock_retries`".to_string(),
            false => format!(
                "revert the migrations still applied by hand, newest first, and delete their rows from `{table}`"
            ),
        };
        let failure = Failure::new(reason).with_hint(hint);
        StepOutcome::failed_with_output(failure.masked(ctx.redactor), output)
    }
}

/// Reverts the migrations a `step` applied (`applied`, in the order it applied
/// them, as [`super::applied_migrations`] reads them from its journaled output), newest
/// first, each down file with the deletion of its bookkeeping row in one transaction, under
/// the migration advisory lock.
pub async fn undo_plain(step: &Migrate, applied: &[String], ctx: &StepContext<'_>) -> PlainUndo {
    let newest_first: Vec<&String> = applied.iter().rev().collect();
    let mut undo = PlainUndo::default();
    if applied.is_empty() {
        return undo;
    }
    undo.style = Some(step.style);
    let stop = |undo: &mut PlainUndo, from: usize, failed: Option<String>| {
        undo.kept = newest_first[from..].iter().map(|n| n.to_string()).collect();
        undo.failed = failed;
    };
    let downs: Result<Vec<_>, String> = newest_first
        .iter()
        .map(|name| source::read_down(&step.dir, name, step.style))
        .collect();
    let downs = match downs {
        Ok(downs) => downs,
        Err(e) => {
            stop(&mut undo, 0, Some(e));
            return undo;
        }
    };
    undo.without_down = newest_first
        .iter()
        .zip(&downs)
        .filter(|(_, down)| down.is_none())
        .map(|(name, _)| name.to_string())
        .collect();
    let mut conn = match connect(step, ctx).await {
        Ok(conn) => conn,
        Err(e) => {
            stop(&mut undo, 0, Some(e));
            return undo;
        }
    };
    if let Err(e) = lock::acquire(&mut conn, &step.database, step.lock_timeout).await {
        stop(&mut undo, 0, Some(e.text()));
        let _ = conn.close().await;
        return undo;
    }
    if let Some((from, failed)) = revert_all(step, ctx, &mut conn, &newest_first, &downs, &mut undo).await {
        stop(&mut undo, from, failed);
    }
    if let Err(e) = lock::release(&mut conn, &step.database).await
        && undo.failed.is_none()
    {
        undo.failed = Some(e);
    }
    let _ = conn.close().await;
    undo
}

/// Reverts newest first until one has no down file or fails: then `Some((index, error))`,
/// the migrations from that index on being kept.
async fn revert_all(
    step: &Migrate,
    ctx: &StepContext<'_>,
    conn: &mut PgConnection,
    newest_first: &[&String],
    downs: &[Option<String>],
    undo: &mut PlainUndo,
) -> Option<(usize, Option<String>)> {
    let ledger = Ledger::new(step.style, &step.database, ctx.databases.schema(&step.database));
    // A down file's ALTER stuck behind a long transaction would stall every reader of its
    // table as a forward migration would: the same lock timeout and retries.
    let retry = LockRetry {
        timeout: step.lock_timeout,
        retries: step.lock_retries,
        ctx,
    };
    if let Err(e) = retry.prepare(conn, &step.database).await {
        return Some((0, Some(e.text())));
    }
    for (i, (name, down)) in newest_first.iter().zip(downs).enumerate() {
        match revert(&ledger, conn, name, down.as_deref(), &retry).await {
            Ok(Reverted::Now(rows)) => {
                undo.reverted.push(name.to_string());
                undo.removed.extend(rows);
            }
            Ok(Reverted::Before) => undo.already_reverted.push(name.to_string()),
            Ok(Reverted::NoDownFile) => return Some((i, None)),
            Ok(Reverted::Refused(reason)) => {
                undo.lock_refused = true;
                return Some((i, Some(reason)));
            }
            Err(e) => return Some((i, Some(e))),
        }
    }
    None
}

/// How one migration's revert went.
enum Reverted {
    Now(Vec<RemovedRow>),
    Before,
    NoDownFile,
    /// Its down file was refused its locks to the last retry (rolled back, still applied).
    Refused(String),
}

/// Deletes the row and runs the down file in one transaction, under the step's lock
/// timeout and retries.
async fn revert(
    ledger: &Ledger<'_>,
    conn: &mut PgConnection,
    name: &str,
    down: Option<&str>,
    retry: &LockRetry<'_>,
) -> Result<Reverted, String> {
    let file = match ledger.style() {
        MigrationStyle::Plain => format!("{name}.down.sql"),
        MigrationStyle::Prisma => format!("{name}/down.sql"),
    };
    let failed = |e: sqlx::Error| format!("down migration `{file}` failed: {}", sql_error(&e));
    let Some(sql) = down else {
        // Nothing to run: only whether its row is still there tells what to say.
        let mut tx = conn.begin().await.map_err(failed)?;
        let removed = ledger.remove(&mut tx, name).await.map_err(failed)?;
        tx.rollback().await.map_err(failed)?;
        return Ok(match removed.is_empty() {
            true => Reverted::Before,
            false => Reverted::NoDownFile,
        });
    };
    let mut reverted = Reverted::Before;
    let tried = retry
        .run(name, sql, async || {
            let mut tx = conn.begin().await?;
            let removed = ledger.remove(&mut tx, name).await?;
            if removed.is_empty() {
                reverted = Reverted::Before;
                return tx.rollback().await;
            }
            sqlx::raw_sql(sql).execute(&mut *tx).await?;
            tx.commit().await?;
            reverted = Reverted::Now(removed);
            Ok(())
        })
        .await;
    match tried {
        Tried::Applied => Ok(reverted),
        Tried::LockNotGranted { message, attempts } => Ok(Reverted::Refused(
            retry.refused(
                &format!("down migration `{file}`"),
                ledger.database(),
                &message,
                attempts,
            ) + "; rolled back, the migration stays applied",
        )),
        Tried::Failed(e) => Err(failed(e)),
    }
}
