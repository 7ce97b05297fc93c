//! Applying pending migrations with their bookkeeping, on the step's one connection.
//!
//! Prisma style writes `_prisma_migrations` rows as Prisma 6's schema engine does: a row with
//! a v4 UUID and the checksum is inserted first, the file runs as ONE simple query (one
//! implicit transaction), then `finished_at` and `applied_steps_count = 1` are set; on
//! failure the error goes into `logs` and the row stays "failed" until someone sets
//! `rolled_back_at`. One departure, for speed: the "finished" update of a migration and the
//! insert of the next one's row are one statement (one commit instead of two). That only
//! skips the instant between those two writes; every state another session or a crash can
//! see is one Prisma's sequence also goes through. A run of N migrations costs 2N + 1
//! commits where Prisma needs 3N.
//!
//! Plain style runs the file and inserts its row in one explicit transaction, so it has no
//! failed state.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

use sqlx::{Connection, PgConnection};

use super::ledger::Ledger;
use super::source::LocalMigration;
use crate::runbook::model::MigrationStyle;
use crate::steps::sql_error;

/// Applies `pending` in order; `done` receives each name as soon as its file is committed.
pub(super) async fn apply_all(
    ledger: &Ledger<'_>,
    conn: &mut PgConnection,
    pending: &[&LocalMigration],
    done: &mut Vec<String>,
) -> Result<(), String> {
    match ledger.style() {
        MigrationStyle::Prisma => apply_prisma(ledger, conn, pending, done).await,
        MigrationStyle::Plain => {
            for migration in pending {
                apply_plain(ledger, conn, migration).await?;
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
) -> Result<(), String> {
    let table = ledger.qualified();
    let insert = format!(
        "INSERT INTO {table} (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)"
    );
    let finish =
        format!("UPDATE {table} SET finished_at = now(), applied_steps_count = applied_steps_count + 1 WHERE id = $1");
    let finish_then_insert = format!(
        "WITH finished AS ({finish}) {}",
        insert.replace("$1, $2, $3", "$2, $3, $4")
    );
    let mut unfinished: Option<String> = None;
    for migration in pending {
        let id = uuid_v4();
        let recorded = match &unfinished {
            None => {
                sqlx::query(&insert)
                    .bind(&id)
                    .bind(&migration.checksum)
                    .bind(&migration.name)
                    .execute(&mut *conn)
                    .await
            }
            Some(previous) => {
                sqlx::query(&finish_then_insert)
                    .bind(previous)
                    .bind(&id)
                    .bind(&migration.checksum)
                    .bind(&migration.name)
                    .execute(&mut *conn)
                    .await
            }
        };
        recorded.map_err(|e| ledger.error("write", &e))?;
        if let Err(error) = sqlx::raw_sql(&migration.sql).execute(&mut *conn).await {
            return Err(failed(ledger, conn, migration, &id, &error).await);
        }
        done.push(migration.name.clone());
        unfinished = Some(id);
    }
    match unfinished {
        Some(id) => sqlx::query(&finish)
            .bind(&id)
            .execute(conn)
            .await
            .map(|_| ())
            .map_err(|e| ledger.error("write", &e)),
        None => Ok(()),
    }
}

/// Keeps the error in the row's `logs`; the reason the step fails with.
async fn failed(
    ledger: &Ledger<'_>,
    conn: &mut PgConnection,
    migration: &LocalMigration,
    id: &str,
    error: &sqlx::Error,
) -> String {
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
    format!(
        "migration `{}` failed in database `{}`: {message}{unlogged}\nhint: fix the database by hand, then mark it rolled back (`prisma migrate resolve --rolled-back {}`, or set `rolled_back_at = now()` on its `_prisma_migrations` row) and run again",
        migration.name,
        ledger.database(),
        migration.name
    )
}

async fn apply_plain(ledger: &Ledger<'_>, conn: &mut PgConnection, migration: &LocalMigration) -> Result<(), String> {
    let failed = |e: sqlx::Error| {
        format!(
            "migration `{}` failed in database `{}`: {}",
            migration.name,
            ledger.database(),
            sql_error(&e)
        )
    };
    let mut tx = conn.begin().await.map_err(failed)?;
    sqlx::raw_sql(&migration.sql).execute(&mut *tx).await.map_err(failed)?;
    sqlx::query(&format!(
        "INSERT INTO {} (name, checksum) VALUES ($1, $2)",
        ledger.qualified()
    ))
    .bind(&migration.name)
    .bind(&migration.checksum)
    .execute(&mut *tx)
    .await
    .map_err(failed)?;
    tx.commit().await.map_err(failed)
}

/// A random (version 4) UUID, from std's randomly keyed hasher.
fn uuid_v4() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut bytes = [0u8; 16];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(&RandomState::new().hash_one((i, nanos)).to_le_bytes());
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}
