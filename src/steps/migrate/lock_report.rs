//! The online dry-run's lock report: per pending migration, the tables it locks and in
//! which mode ([`super::lock_modes`]), their row counts, and the sessions that would block
//! it right now (holding or queued for a conflicting lock, from `pg_locks` and
//! `pg_stat_activity`), so the operator sees the long transaction before the window, not
//! in it.
//!
//! Read-only and bounded: row counts come from `pg_class.reltuples` when the table was ever
//! analyzed, otherwise from `count(*)` under a 100 ms `lock_timeout` and a 2 s
//! `statement_timeout` (a table too big or locked says "rows unknown"). A question the
//! database cannot answer leaves a line saying so; the report never fails the probe.

use std::fmt::Write;

use sqlx::PgConnection;

use super::lock_modes::{TableLock, table_locks};
use super::source::LocalMigration;
use crate::steps::sql_error;

/// How the report's lines are indented under the probe's `✓` line.
const INDENT: &str = "               ";

/// A session that would block a migration now.
struct Blocker {
    pid: i32,
    mode: String,
    granted: bool,
    state: String,
    seconds: f64,
    query: String,
}

/// The report's lines for `pending` (empty when nothing is pending), each starting on a
/// new line so it follows the probe's summary.
pub(super) async fn report(conn: &mut PgConnection, pending: &[&LocalMigration]) -> String {
    let mut out = String::new();
    for migration in pending {
        let locks = table_locks(&migration.sql);
        if locks.is_empty() {
            let _ = write!(out, "\n{INDENT}`{}`: locks no existing table", migration.name);
        }
        for lock in locks {
            let line = table_line(conn, &lock).await;
            let _ = write!(out, "\n{INDENT}`{}`: {line}", migration.name);
        }
    }
    if out.is_empty() {
        return out;
    }
    format!("\n{INDENT}lock report:{out}")
}

/// `"Post" ACCESS EXCLUSIVE, 3 rows, would wait for pid 42 (...)`.
async fn table_line(conn: &mut PgConnection, lock: &TableLock) -> String {
    let head = format!("{} {}", lock.table, lock.mode.sql());
    let found: Result<Option<(String, Option<i64>)>, sqlx::Error> = sqlx::query_as(
        "SELECT c.oid::regclass::text, CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint END \
         FROM pg_class c WHERE c.oid = to_regclass($1)",
    )
    .bind(&lock.table)
    .fetch_optional(&mut *conn)
    .await;
    let (regclass, estimate) = match found {
        Ok(Some(found)) => found,
        Ok(None) => return format!("{head}, not there yet (made by an earlier migration)"),
        Err(e) => return format!("{head}, cannot look it up: {}", sql_error(&e)),
    };
    let rows = match estimate {
        Some(n) => format!("~{n} rows"),
        None => count(conn, &regclass).await,
    };
    let blockers = match blockers(conn, &regclass, &lock.mode.conflicting()).await {
        Ok(b) if b.is_empty() => "no session would block it now".to_string(),
        Ok(b) => format!(
            "would wait for {}",
            b.iter().map(describe).collect::<Vec<_>>().join("; ")
        ),
        Err(e) => format!("sessions unknown: {}", sql_error(&e)),
    };
    format!("{head}, {rows}, {blockers}")
}

/// An exact count, bounded in time; "rows unknown" when it is not answered quickly.
async fn count(conn: &mut PgConnection, regclass: &str) -> String {
    // `regclass::text` is the table's name, quoted as SQL needs it.
    let counted: Result<i64, sqlx::Error> = async {
        sqlx::raw_sql("BEGIN READ ONLY; SET LOCAL lock_timeout = 100; SET LOCAL statement_timeout = 2000")
            .execute(&mut *conn)
            .await?;
        sqlx::query_scalar(&format!("SELECT count(*) FROM {regclass}"))
            .fetch_one(&mut *conn)
            .await
    }
    .await;
    let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
    match counted {
        Ok(n) => format!("{n} rows"),
        Err(_) => "rows unknown".to_string(),
    }
}

async fn blockers(conn: &mut PgConnection, regclass: &str, modes: &[&str]) -> Result<Vec<Blocker>, sqlx::Error> {
    let rows: Vec<(i32, String, bool, String, f64, String)> = sqlx::query_as(
        "SELECT l.pid, l.mode, l.granted, COALESCE(a.state, ''), \
         COALESCE(EXTRACT(epoch FROM now() - a.xact_start)::float8, 0), \
         COALESCE(left(regexp_replace(a.query, '\\s+', ' ', 'g'), 60), '') \
         FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'relation' AND l.relation = to_regclass($1) \
         AND l.pid <> pg_backend_pid() AND l.mode = ANY($2) \
         ORDER BY l.granted DESC, a.xact_start NULLS LAST, l.pid",
    )
    .bind(regclass)
    .bind(modes)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(pid, mode, granted, state, seconds, query)| Blocker {
            pid,
            mode,
            granted,
            state,
            seconds,
            query,
        })
        .collect())
}

/// `pid 42 (idle in transaction for 12s, holds AccessShareLock: SELECT ...)`.
fn describe(b: &Blocker) -> String {
    let how = if b.granted { "holds" } else { "queued for" };
    let state = if b.state.is_empty() { "unknown state" } else { &b.state };
    format!(
        "pid {} ({state} for {:.0}s, {how} {}: {})",
        b.pid, b.seconds, b.mode, b.query
    )
}
