//! Lock timeouts with retries: how a migration avoids taking production down.
//!
//! Most `ALTER TABLE` forms need an ACCESS EXCLUSIVE lock. Queued behind one long
//! transaction that holds any lock on the table, the ALTER waits, and every later reader
//! of the table queues behind the ALTER: a full outage until the long transaction ends.
//! So every migration's session runs with PostgreSQL's `lock_timeout` (the step's
//! `lock_timeout`, default 5s): a lock not granted in time fails the statement with
//! SQLSTATE 55P03, the migration's transaction rolls back (nothing of it remains, and the
//! readers queued behind it go on), and after a backoff it is tried again, up to
//! `lock_retries` more times (GitLab's `with_lock_retries`, strong_migrations' approach).
//!
//! Each refused attempt, and the attempt that applies after a refusal, is reported to the
//! engine, which journals it ([`Event::MigrationAttempt`]).
//!
//! A migration with its own transaction control (`BEGIN`/`COMMIT` in the file) is not
//! retried: part of it may have committed before the refusal.

use std::time::Duration;

use sqlx::PgConnection;
use tokio::time::Instant;

use crate::event::{Event, MigrationAttemptResult};
use crate::steps::{Failure, StepContext, sql_error};

/// SQLSTATE `lock_not_available`: `lock_timeout` expired.
const LOCK_NOT_AVAILABLE: &str = "55P03";

/// What to do about a refusal.
const REFUSAL_HINT: &str = "a long transaction holds a conflicting lock on its table: `run --dry-run` lists the blocking sessions; run again when it has ended, or raise `lock_timeout` / `lock_retries`";

/// The first backoff; each next one doubles, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// How a step's migrations wait for their table locks, and who hears about refusals.
pub(super) struct LockRetry<'a> {
    /// PostgreSQL `lock_timeout` of every statement of a migration.
    pub timeout: Duration,
    /// How many times a refused migration is tried again.
    pub retries: u32,
    /// Where attempts are reported (the engine journals them).
    pub ctx: &'a StepContext<'a>,
}

/// How a migration ended after its attempts.
pub(super) enum Tried {
    /// It committed.
    Applied,
    /// Its last attempt was refused a lock: rolled back, nothing of it applied.
    LockNotGranted {
        /// The database's message.
        message: String,
        /// How many attempts were made.
        attempts: u32,
    },
    /// It failed otherwise (the file's own error), at its first attempt that got its locks.
    Failed(sqlx::Error),
}

impl LockRetry<'_> {
    /// Sets `lock_timeout`, and `statement_timeout` from the step's timeout, on the
    /// migration session (it lives as long as the step): a step cut at its timeout drops
    /// its connection, but the server would go on with a running statement until it
    /// noticed; `statement_timeout` stops it there too.
    pub(super) async fn prepare(&self, conn: &mut PgConnection, database: &str) -> Result<(), Failure> {
        let ms = self.timeout.as_millis().max(1);
        let statement = self.ctx.timeout.as_millis().max(1);
        sqlx::raw_sql(&format!("SET lock_timeout = {ms}; SET statement_timeout = {statement}"))
            .execute(conn)
            .await
            .map(|_| ())
            .map_err(|e| {
                Failure::new(format!(
                    "cannot set `lock_timeout` and `statement_timeout` in database `{database}`: {}",
                    sql_error(&e)
                ))
            })
    }

    /// Runs `attempt` (one transaction of migration `name` whose SQL is `sql`) until its
    /// locks are granted or its retries are spent.
    pub(super) async fn run<F>(&self, name: &str, sql: &str, mut attempt: F) -> Tried
    where
        F: AsyncFnMut() -> Result<(), sqlx::Error>,
    {
        let attempts = self.retries + 1;
        let mut refused = false;
        for n in 1..=attempts {
            let started = Instant::now();
            let error = match attempt().await {
                Ok(()) => {
                    if refused {
                        self.report(name, n, started, MigrationAttemptResult::Applied, None);
                    }
                    return Tried::Applied;
                }
                Err(e) if not_granted(&e) => e,
                Err(e) => return Tried::Failed(e),
            };
            refused = true;
            let message = sql_error(&error);
            let last = n == attempts || own_transactions(sql);
            let wait = (!last).then(|| backoff(n));
            self.report(
                name,
                n,
                started,
                MigrationAttemptResult::LockNotGranted,
                Some((message.clone(), wait)),
            );
            match wait {
                Some(wait) => tokio::time::sleep(wait).await,
                None => return Tried::LockNotGranted { message, attempts: n },
            }
        }
        unreachable!("the last attempt returns")
    }

    /// The failure of a migration whose last attempt was refused its lock.
    pub(super) fn refusal(&self, name: &str, database: &str, message: &str, attempts: u32) -> Failure {
        let refused = self.refused(&format!("migration `{name}`"), database, message, attempts);
        Failure::new(format!("{refused}; rolled back, nothing of it was applied")).with_hint(REFUSAL_HINT)
    }

    /// `<what> was not granted its locks ...`: how many attempts, under which timeout, and
    /// the database's last refusal.
    pub(super) fn refused(&self, what: &str, database: &str, message: &str, attempts: u32) -> String {
        let tries = match attempts {
            1 => "1 attempt".to_string(),
            n => format!("{n} attempts"),
        };
        format!(
            "{what} was not granted its locks in database `{database}` ({tries}, lock_timeout {}): {message}",
            crate::runbook::duration::format(self.timeout)
        )
    }

    fn report(
        &self,
        name: &str,
        attempt: u32,
        started: Instant,
        result: MigrationAttemptResult,
        refusal: Option<(String, Option<Duration>)>,
    ) {
        let Some(live) = self.ctx.live else {
            return;
        };
        let (reason, wait) = refusal.unzip();
        live.report(Event::MigrationAttempt {
            step: self.ctx.step_id.to_string(),
            migration: name.to_string(),
            attempt,
            attempts: self.retries + 1,
            result,
            duration_ms: millis(started.elapsed()),
            reason: reason.map(|r| self.ctx.redactor.mask(&r).into_owned()),
            retry_in_ms: wait.flatten().map(millis),
        });
    }
}

/// Whether the error is a lock not granted within `lock_timeout`.
pub(super) fn not_granted(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => db.code().as_deref() == Some(LOCK_NOT_AVAILABLE),
        _ => false,
    }
}

/// The wait after refused attempt `n` (1-based): 0.5s, 1s, 2s, ... up to 8s.
pub(super) fn backoff(n: u32) -> Duration {
    let factor = 2u32.saturating_pow(n.saturating_sub(1));
    FIRST_BACKOFF.saturating_mul(factor).min(MAX_BACKOFF)
}

/// Whether the file controls transactions itself (`BEGIN`, `COMMIT`, `ROLLBACK`, ...).
pub(super) fn own_transactions(sql: &str) -> bool {
    use squawk_syntax::ast::Stmt;
    squawk_syntax::SourceFile::parse(sql).tree().stmts().any(|stmt| {
        matches!(
            stmt,
            Stmt::Begin(_) | Stmt::Commit(_) | Stmt::Rollback(_) | Stmt::PrepareTransaction(_)
        )
    })
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let waits: Vec<u64> = (1..=6).map(|n| millis(backoff(n))).collect();
        assert_eq!(waits, vec![500, 1000, 2000, 4000, 8000, 8000]);
    }

    #[test]
    fn files_with_their_own_transactions_are_recognised() {
        assert!(own_transactions("BEGIN;\nALTER TABLE t ADD c int;\nCOMMIT;\n"));
        assert!(!own_transactions("ALTER TABLE t ENABLE ROW LEVEL SECURITY;\n"));
    }
}
