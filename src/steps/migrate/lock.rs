//! The migration advisory lock: key `72707369`, the one Prisma's schema engine takes, so
//! deployctl and `prisma migrate deploy` never migrate the same database at once.
//!
//! It is a session lock polled with `pg_try_advisory_lock` every 100ms rather than a blocking
//! `pg_advisory_lock`, so the wait is bounded by `lock_timeout` and a dropped step does not
//! leave a query waiting on the server.

use std::time::Duration;

use sqlx::PgConnection;
use tokio::time::Instant;

use crate::steps::{Failure, sql_error};

/// Prisma's advisory lock key.
pub(super) const KEY: i64 = 72707369;

const POLL: Duration = Duration::from_millis(100);

/// Takes the lock on this session, waiting up to `timeout`.
pub(super) async fn acquire(conn: &mut PgConnection, database: &str, timeout: Duration) -> Result<(), Failure> {
    let deadline = Instant::now() + timeout;
    loop {
        let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(KEY)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| {
                format!(
                    "cannot take the migration lock on database `{database}`: {}",
                    sql_error(&e)
                )
            })?;
        if taken {
            return Ok(());
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Failure::new(format!(
                "timed out after {} waiting for the migration lock (advisory lock {KEY}) on database `{database}`",
                humantime(timeout)
            ))
            .with_hint(format!(
                "another migration holds it; see `SELECT pid, state, query FROM pg_stat_activity WHERE pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = {KEY})`, or raise `lock_timeout`"
            )));
        }
        tokio::time::sleep(POLL.min(left)).await;
    }
}

/// Releases the lock taken by [`acquire`].
pub(super) async fn release(conn: &mut PgConnection, database: &str) -> Result<(), String> {
    sqlx::query_scalar::<_, bool>("SELECT pg_advisory_unlock($1)")
        .bind(KEY)
        .fetch_one(conn)
        .await
        .map(|_| ())
        .map_err(|e| {
            format!(
                "cannot release the migration lock on database `{database}`: {}",
                sql_error(&e)
            )
        })
}

fn humantime(d: Duration) -> String {
    match d.subsec_millis() {
        0 => format!("{}s", d.as_secs()),
        _ => format!("{:.1}s", d.as_secs_f64()),
    }
}
