//! Applying pending migrations with their bookkeeping, on the step's one connection.
//!
//! Prisma style writes `_prisma_migrations` rows as Prisma 6's schema engine does: a row with
//! a v4 UUID and the checksum is inserted first, the file runs as ONE simple query (one
//! implicit transaction), then `finished_at` and `applied_steps_count = 1` are set; on
//! failure the error goes into `logs` and the row stays "failed" until someone sets
//! `rolled_back_at`. One departure, for speed: the file, the "finished" update of its row and
//! the insert of the next migration's row are sent as ONE simple query, so they commit
//! together: one commit per migration (as `psql` applying the files) where Prisma needs three.
//! The row is still inserted before its file runs (in the previous commit) and finished after
//! it; a failing file rolls back with its "finished" update and the next row, so the failed
//! row and its `logs` end up exactly as Prisma leaves them. The states in between that this
//! skips are ones where Prisma could be caught by a crash with a file applied but its row
//! unfinished. A file that can only run alone (`CREATE INDEX CONCURRENTLY`: SQLSTATE 25001)
//! is sent alone, as Prisma does, and its bookkeeping after it.
//!
//! Plain style runs the file and inserts its row in one explicit transaction, so it has no
//! failed state.
//!
//! Both styles run each migration's transaction under [`LockRetry`]: one refused its lock
//! within `lock_timeout` is rolled back and tried again. When the retries are spent, nothing
//! of it remains: in Prisma style its row (inserted before it, unfinished) is deleted too, so
//! `prisma migrate status` lists it as not yet applied, as before the run, rather than
//! failed (a failed row would block every later deploy until someone resolves it, for a
//! migration that never ran).

use sqlx::{Connection, PgConnection};

use super::ledger::Ledger;
use super::lock_retry::{LockRetry, Tried};
use super::source::LocalMigration;
use crate::runbook::model::MigrationStyle;
use crate::steps::{Failure, sql_error};

/// Applies `pending` in order; `done` receives each name as soon as its file is committed.
pub(super) async fn apply_all(
    ledger: &Ledger<'_>,
    conn: &mut PgConnection,
    pending: &[&LocalMigration],
    done: &mut Vec<String>,
    retry: &LockRetry<'_>,
) -> Result<(), Failure> {
    retry.prepare(conn, ledger.database()).await?;
    match ledger.style() {
        MigrationStyle::Prisma => apply_prisma(ledger, conn, pending, done, retry).await,
        MigrationStyle::Plain => {
            for migration in pending {
                apply_plain(ledger, conn, migration, retry).await?;
                done.push(migration.name.clone());
            }
            Ok(())
        }
    }
}

async fn apply_prisma(
    ledger: &Ledger<'_>,
    conn: &mut PgConnection,
    pending: &[&LocalMigration],
    done: &mut Vec<String>,
    retry: &LockRetry<'_>,
) -> Result<(), Failure> {
    let ids: Vec<String> = pending.iter().map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let Some(first) = pending.first() else {
        return Ok(());
    };
    sqlx::raw_sql(&record(ledger, &ids[0], first, "now()"))
        .execute(&mut *conn)
        .await
        .map_err(|e| ledger.error("write", &e))?;
    for (i, migration) in pending.iter().enumerate() {
        let mut bookkeeping = format!(
            "UPDATE {} SET finished_at = clock_timestamp(), applied_steps_count = applied_steps_count + 1 WHERE id = '{}';\n",
            ledger.qualified(),
            ids[i]
        );
        if let Some(next) = pending.get(i + 1) {
            bookkeeping.push_str(&record(ledger, &ids[i + 1], next, "clock_timestamp()"));
        }
        // The newline ends a trailing `--` comment of the file; the `;` its last statement.
        let together = format!("{}\n;\n{bookkeeping}", migration.sql);
        let tried = retry
            .run(&migration.name, &migration.sql, async || {
                sqlx::raw_sql(&together).execute(&mut *conn).await.map(|_| ())
            })
            .await;
        match tried {
            Tried::Applied => {}
            Tried::LockNotGranted { message, attempts } => {
                let failure = retry.refusal(&migration.name, ledger.database(), &message, attempts);
                return Err(gave_up(ledger, conn, migration, &ids[i], failure).await);
            }
            // `CREATE INDEX CONCURRENTLY` and the like run only alone, as Prisma sends them.
            Tried::Failed(e) if code(&e).as_deref() == Some(ALONE_ONLY) => {
                if let Err(error) = sqlx::raw_sql(&migration.sql).execute(&mut *conn).await {
                    return Err(failed(ledger, conn, migration, &ids[i], &error).await);
                }
                sqlx::raw_sql(&bookkeeping)
                    .execute(&mut *conn)
                    .await
                    .map_err(|e| ledger.error("write", &e))?;
            }
            Tried::Failed(error) => return Err(failed(ledger, conn, migration, &ids[i], &error).await),
        }
        done.push(migration.name.clone());
    }
    Ok(())
}

/// A migration refused its locks to the end: nothing of it ran, so its unfinished row goes
/// too (Prisma then sees it pending, not failed).
async fn gave_up(
    ledger: &Ledger<'_>,
    conn: &mut PgConnection,
    migration: &LocalMigration,
    id: &str,
    failure: Failure,
) -> Failure {
    let removed = sqlx::raw_sql(&format!("DELETE FROM {} WHERE id = '{id}'", ledger.qualified()))
        .execute(&mut *conn)
        .await;
    match removed {
        Ok(_) => failure,
        Err(e) => failure.with_hint(format!(
            "its unfinished `_prisma_migrations` row could not be removed ({}): mark it rolled back with `prisma migrate resolve --rolled-back {}`",
            sql_error(&e),
            migration.name
        )),
    }
}

/// SQLSTATE `active_sql_transaction`: "cannot run inside a transaction block".
const ALONE_ONLY: &str = "25001";

fn code(error: &sqlx::Error) -> Option<String> {
    match error {
        sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// The INSERT of a migration's row, values as literals (it shares a simple query with SQL
/// text, where parameters cannot be bound): the id and checksum are hex, the name is quoted
/// as an escape string, which means the same whatever `standard_conforming_strings` says.
fn record(ledger: &Ledger<'_>, id: &str, migration: &LocalMigration, started_at: &str) -> String {
    format!(
        "INSERT INTO {} (id, checksum, migration_name, started_at, applied_steps_count) VALUES ('{id}', '{}', {}, {started_at}, 0);\n",
        ledger.qualified(),
        hex_only(&migration.checksum),
        escape_literal(&migration.name)
    )
}

/// `E'...'` with backslashes and quotes escaped.
fn escape_literal(text: &str) -> String {
    format!("E'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The checksum, which is always hex; anything else is dropped rather than spliced.
fn hex_only(text: &str) -> String {
    text.chars().filter(char::is_ascii_hexdigit).collect()
}

/// Keeps the error in the row's `logs`; the reason the step fails with.
async fn failed(
    ledger: &Ledger<'_>,
    conn: &mut PgConnection,
    migration: &LocalMigration,
    id: &str,
    error: &sqlx::Error,
) -> Failure {
    let message = sql_error(error);
    // A file with its own BEGIN leaves the session in an aborted transaction.
    let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
    let logs = format!("migration `{}` failed: {message}", migration.name);
    let logged = sqlx::query(&format!("UPDATE {} SET logs = $2 WHERE id = $1", ledger.qualified()))
        .bind(id)
        .bind(&logs)
        .execute(&mut *conn)
        .await;
    let unlogged = match logged {
        Ok(_) => String::new(),
        Err(e) => format!(" (and its `logs` could not be written: {})", sql_error(&e)),
    };
    Failure::new(format!(
        "migration `{}` failed in database `{}`: {message}{unlogged}",
        migration.name,
        ledger.database()
    ))
    .with_hint(format!(
        "fix the database by hand, then mark it rolled back (`prisma migrate resolve --rolled-back {}`, or set `rolled_back_at = now()` on its `_prisma_migrations` row) and run again",
        migration.name
    ))
}

async fn apply_plain(
    ledger: &Ledger<'_>,
    conn: &mut PgConnection,
    migration: &LocalMigration,
    retry: &LockRetry<'_>,
) -> Result<(), Failure> {
    let tried = retry
        .run(&migration.name, &migration.sql, async || {
            plain_once(ledger, conn, migration).await
        })
        .await;
    match tried {
        Tried::Applied => Ok(()),
        Tried::LockNotGranted { message, attempts } => {
            Err(retry.refusal(&migration.name, ledger.database(), &message, attempts))
        }
        Tried::Failed(e) => Err(Failure::new(format!(
            "migration `{}` failed in database `{}`: {}",
            migration.name,
            ledger.database(),
            sql_error(&e)
        ))),
    }
}

/// One transaction: the file and its row.
async fn plain_once(
    ledger: &Ledger<'_>,
    conn: &mut PgConnection,
    migration: &LocalMigration,
) -> Result<(), sqlx::Error> {
    let mut tx = conn.begin().await?;
    sqlx::raw_sql(&migration.sql).execute(&mut *tx).await?;
    sqlx::query(&format!(
        "INSERT INTO {} (name, checksum) VALUES ($1, $2)",
        ledger.qualified()
    ))
    .bind(&migration.name)
    .bind(&migration.checksum)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}
