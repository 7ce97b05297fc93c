//! The source side of `verify: restore`: a read-only REPEATABLE READ transaction whose
//! snapshot is exported (`pg_export_snapshot`) for `pg_dump --snapshot`, so the row counts
//! taken in it are exactly those of the dump, whatever is written meanwhile.

use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use super::counts::{RowCounts, row_counts};
use crate::steps::sql_error;

/// The open transaction holding the exported snapshot; it must outlive the dump.
pub(super) struct Snapshot {
    conn: PgConnection,
    /// The snapshot's id, for `pg_dump --snapshot`.
    pub id: String,
}

impl Snapshot {
    /// Opens the transaction and exports its snapshot. Table locks it takes later (to count)
    /// wait at most `lock_wait`, as `pg_dump`'s do.
    pub async fn export(options: &PgConnectOptions, database: &str, lock_wait: Duration) -> Result<Self, String> {
        let failed = |e: sqlx::Error| format!("cannot export a snapshot of database `{database}`: {}", sql_error(&e));
        let mut conn = PgConnection::connect_with(&options.clone().application_name("deployctl backup"))
            .await
            .map_err(failed)?;
        sqlx::raw_sql(&format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SET LOCAL lock_timeout = {}",
            lock_wait.as_millis()
        ))
        .execute(&mut conn)
        .await
        .map_err(failed)?;
        let id: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
            .fetch_one(&mut conn)
            .await
            .map_err(failed)?;
        Ok(Snapshot { conn, id })
    }

    /// The row counts of the snapshot.
    pub async fn count(&mut self, database: &str) -> Result<RowCounts, String> {
        row_counts(&mut self.conn)
            .await
            .map_err(|e| format!("cannot count the rows of database `{database}`: {}", sql_error(&e)))
    }

    /// Ends the transaction (read-only: nothing to keep).
    pub async fn end(mut self) {
        let _ = sqlx::raw_sql("ROLLBACK").execute(&mut self.conn).await;
        let _ = self.conn.close().await;
    }
}
