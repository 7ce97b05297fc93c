//! The journal's tables in PostgreSQL, created on first use and versioned like the file
//! format: a newer layout is refused, never written to.
//!
//! Creation runs in one transaction under a transaction-level advisory lock, so two
//! deployctl processes meeting an empty database do not race on `CREATE TABLE`.

use sqlx::{Connection, PgConnection};

/// The table layout this build reads and writes.
pub const SCHEMA_VERSION: i32 = 1;

/// Serialises schema creation across processes (an arbitrary constant: "deployctl" in ASCII).
const SCHEMA_LOCK: i64 = 0x6465_706c_6f79_6374;

/// Why the schema cannot be used.
#[derive(Debug)]
pub enum SchemaProblem {
    /// The database said no (permissions, connection lost, ...).
    Sql(sqlx::Error),
    /// Written by a newer deployctl.
    Newer(i32),
}

impl From<sqlx::Error> for SchemaProblem {
    fn from(e: sqlx::Error) -> Self {
        SchemaProblem::Sql(e)
    }
}

/// Creates the tables if missing, then checks the version.
pub async fn ensure(conn: &mut PgConnection) -> Result<(), SchemaProblem> {
    let mut tx = conn.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(SCHEMA_LOCK)
        .execute(&mut *tx)
        .await?;
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS deployctl_schema (
             only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
             version integer NOT NULL
         );
         INSERT INTO deployctl_schema (version) VALUES (1) ON CONFLICT DO NOTHING;",
    )
    .execute(&mut *tx)
    .await?;
    let version: i32 = sqlx::query_scalar("SELECT version FROM deployctl_schema")
        .fetch_one(&mut *tx)
        .await?;
    if version > SCHEMA_VERSION {
        return Err(SchemaProblem::Newer(version));
    }
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS deployctl_journal (
             journal text NOT NULL,
             seq bigint NOT NULL,
             at timestamptz NOT NULL,
             run_id text NOT NULL,
             event text NOT NULL,
             entry json NOT NULL,
             PRIMARY KEY (journal, seq)
         );
         CREATE TABLE IF NOT EXISTS deployctl_lock_holder (
             journal text PRIMARY KEY,
             pid integer NOT NULL,
             host text NOT NULL,
             operator text NOT NULL,
             command text NOT NULL,
             since timestamptz NOT NULL,
             heartbeat timestamptz NOT NULL
         );",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// For readers: whether the tables exist (a database never written to is an empty
/// journal), refusing a newer layout. Creates nothing.
pub async fn check(conn: &mut PgConnection) -> Result<bool, SchemaProblem> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('deployctl_journal') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await?;
    if !exists {
        return Ok(false);
    }
    let version: Option<i32> = sqlx::query_scalar("SELECT version FROM deployctl_schema")
        .fetch_optional(&mut *conn)
        .await?;
    match version {
        Some(v) if v > SCHEMA_VERSION => Err(SchemaProblem::Newer(v)),
        _ => Ok(true),
    }
}
