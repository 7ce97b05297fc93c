//! The database side: the bookkeeping table of a style, what it records, and applying one
//! migration with its bookkeeping.
//!
//! Prisma style writes `_prisma_migrations` the way Prisma 6's schema engine does: a row
//! with a v4 UUID and the checksum is inserted first, the file runs as ONE simple query (one
//! implicit transaction), then `finished_at` and `applied_steps_count = 1` are set; on
//! failure the error goes into `logs` and the row stays "failed" until someone sets
//! `rolled_back_at`. Rows with `rolled_back_at` are history and count for nothing. Plain
//! style runs the file and inserts its row in one explicit transaction, so it has no failed
//! state.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

use sqlx::{Connection, PgConnection};

use super::source::LocalMigration;
use crate::runbook::model::MigrationStyle;
use crate::steps::sql_error;

/// Prisma 6's own DDL for the table (columns, types, defaults and order as it creates them).
const PRISMA_COLUMNS: &str = r#"(
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)"#;

const PLAIN_COLUMNS: &str = "(
    name TEXT PRIMARY KEY,
    checksum TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)";

/// What the table records about one migration.
#[derive(Debug, Clone)]
pub(super) struct Applied {
    name: String,
    checksum: String,
    finished: bool,
}

/// The bookkeeping table of one style in one schema of one database.
pub(super) struct Ledger<'a> {
    style: MigrationStyle,
    database: &'a str,
    /// The schema, unquoted (`public` unless the URL says `?schema=`).
    schema: &'a str,
    /// `"schema"."table"`, for SQL text.
    qualified: String,
}

impl<'a> Ledger<'a> {
    pub fn new(style: MigrationStyle, database: &'a str, schema: Option<&'a str>) -> Self {
        let schema = schema.unwrap_or("public");
        let table = match style {
            MigrationStyle::Prisma => "_prisma_migrations",
            MigrationStyle::Plain => "deployctl_migrations",
        };
        Ledger {
            style,
            database,
            schema,
            qualified: format!("{}.{}", quote_ident(schema), quote_ident(table)),
        }
    }

    /// `"schema"."table"`, for SQL text.
    pub fn qualified(&self) -> &str {
        &self.qualified
    }

    fn table(&self) -> &'static str {
        match self.style {
            MigrationStyle::Prisma => "_prisma_migrations",
            MigrationStyle::Plain => "deployctl_migrations",
        }
    }

    fn error(&self, doing: &str, error: &sqlx::Error) -> String {
        let schema = match self.schema {
            "public" => String::new(),
            other => format!("schema `{other}` of "),
        };
        format!(
            "cannot {doing} `{}` in {schema}database `{}`: {}",
            self.table(),
            self.database,
            sql_error(error)
        )
    }

    /// The recorded migrations (none when the table does not exist yet; nothing is created).
    pub async fn load(&self, conn: &mut PgConnection) -> Result<Vec<Applied>, String> {
        let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
            .bind(&self.qualified)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| self.error("look up", &e))?;
        if !exists {
            return Ok(Vec::new());
        }
        let query = match self.style {
            MigrationStyle::Prisma => format!(
                "SELECT migration_name, checksum, finished_at IS NOT NULL FROM {} \
                 WHERE rolled_back_at IS NULL ORDER BY started_at, migration_name",
                self.qualified
            ),
            MigrationStyle::Plain => format!("SELECT name, checksum, true FROM {} ORDER BY name", self.qualified),
        };
        let rows: Vec<(String, String, bool)> = sqlx::query_as(&query)
            .fetch_all(conn)
            .await
            .map_err(|e| self.error("read", &e))?;
        Ok(rows
            .into_iter()
            .map(|(name, checksum, finished)| Applied {
                name,
                checksum,
                finished,
            })
            .collect())
    }

    /// Creates the schema (as Prisma does) and the table if they are missing. The schema is
    /// looked up first because `CREATE SCHEMA IF NOT EXISTS` needs the CREATE privilege on
    /// the database even when the schema exists.
    pub async fn ensure_table(&self, conn: &mut PgConnection) -> Result<(), String> {
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)")
            .bind(self.schema)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| self.error("look up the schema of", &e))?;
        if !exists {
            sqlx::raw_sql(&format!("CREATE SCHEMA IF NOT EXISTS {}", quote_ident(self.schema)))
                .execute(&mut *conn)
                .await
                .map_err(|e| self.error("create the schema of", &e))?;
        }
        let columns = match self.style {
            MigrationStyle::Prisma => PRISMA_COLUMNS,
            MigrationStyle::Plain => PLAIN_COLUMNS,
        };
        sqlx::raw_sql(&format!("CREATE TABLE IF NOT EXISTS {} {columns}", self.qualified))
            .execute(conn)
            .await
            .map(|_| ())
            .map_err(|e| self.error("create", &e))
    }

    /// Applies one migration and records it.
    pub async fn apply(&self, conn: &mut PgConnection, migration: &LocalMigration) -> Result<(), String> {
        match self.style {
            MigrationStyle::Prisma => self.apply_prisma(conn, migration).await,
            MigrationStyle::Plain => self.apply_plain(conn, migration).await,
        }
    }

    async fn apply_prisma(&self, conn: &mut PgConnection, migration: &LocalMigration) -> Result<(), String> {
        let id = uuid_v4();
        sqlx::query(&format!(
            "INSERT INTO {} (id, checksum, migration_name, started_at, applied_steps_count) \
             VALUES ($1, $2, $3, now(), 0)",
            self.qualified
        ))
        .bind(&id)
        .bind(&migration.checksum)
        .bind(&migration.name)
        .execute(&mut *conn)
        .await
        .map_err(|e| self.error("write", &e))?;
        if let Err(error) = sqlx::raw_sql(&migration.sql).execute(&mut *conn).await {
            let message = sql_error(&error);
            // A file with its own BEGIN leaves the session in an aborted transaction.
            let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
            let logs = format!("migration `{}` failed: {message}", migration.name);
            let logged = sqlx::query(&format!("UPDATE {} SET logs = $2 WHERE id = $1", self.qualified))
                .bind(&id)
                .bind(&logs)
                .execute(&mut *conn)
                .await;
            let unlogged = match logged {
                Ok(_) => String::new(),
                Err(e) => format!(" (and its `logs` could not be written: {})", sql_error(&e)),
            };
            return Err(format!(
                "migration `{}` failed in database `{}`: {message}{unlogged}\nhint: fix the database by hand, then mark it rolled back (`prisma migrate resolve --rolled-back {}`, or set `rolled_back_at = now()` on its `_prisma_migrations` row) and run again",
                migration.name, self.database, migration.name
            ));
        }
        sqlx::query(&format!(
            "UPDATE {} SET finished_at = now(), applied_steps_count = applied_steps_count + 1 WHERE id = $1",
            self.qualified
        ))
        .bind(&id)
        .execute(conn)
        .await
        .map(|_| ())
        .map_err(|e| self.error("write", &e))
    }

    async fn apply_plain(&self, conn: &mut PgConnection, migration: &LocalMigration) -> Result<(), String> {
        let failed = |e: sqlx::Error| {
            format!(
                "migration `{}` failed in database `{}`: {}",
                migration.name,
                self.database,
                sql_error(&e)
            )
        };
        let mut tx = conn.begin().await.map_err(failed)?;
        sqlx::raw_sql(&migration.sql).execute(&mut *tx).await.map_err(failed)?;
        sqlx::query(&format!(
            "INSERT INTO {} (name, checksum) VALUES ($1, $2)",
            self.qualified
        ))
        .bind(&migration.name)
        .bind(&migration.checksum)
        .execute(&mut *tx)
        .await
        .map_err(failed)?;
        tx.commit().await.map_err(failed)
    }
}

/// The folder compared with the table.
#[derive(Debug, Default)]
pub(super) struct Comparison<'a> {
    /// Local migrations without a finished row, in order.
    pub pending: Vec<&'a LocalMigration>,
    /// Rows neither finished nor rolled back.
    pub failed: Vec<&'a str>,
    /// Finished rows whose file changed since.
    pub drifted: Vec<&'a str>,
    /// Finished rows without a local migration.
    pub missing: Vec<&'a str>,
}

impl<'a> Comparison<'a> {
    pub fn new(local: &'a [LocalMigration], applied: &'a [Applied]) -> Self {
        let mut comparison = Comparison::default();
        for row in applied {
            let file = local.iter().find(|m| m.name == row.name);
            match (row.finished, file) {
                (false, _) => comparison.failed.push(&row.name),
                (true, None) => comparison.missing.push(&row.name),
                (true, Some(m)) if !m.matches(&row.checksum) => comparison.drifted.push(&row.name),
                (true, Some(_)) => {}
            }
        }
        comparison.pending = local
            .iter()
            .filter(|m| !applied.iter().any(|row| row.name == m.name))
            .collect();
        comparison.drifted.dedup();
        comparison
    }

    /// Each problem, by name, for a `check` failure; empty when up to date.
    pub fn problems(&self) -> Vec<String> {
        let lists: [(&str, Vec<&str>); 4] = [
            ("pending", self.pending.iter().map(|m| m.name.as_str()).collect()),
            ("failed and not rolled back", self.failed.clone()),
            ("edited after being applied (checksum drift)", self.drifted.clone()),
            ("applied but missing locally", self.missing.clone()),
        ];
        lists
            .into_iter()
            .filter(|(_, names)| !names.is_empty())
            .map(|(what, names)| format!("{what}: {}", super::ticked(&names)))
            .collect()
    }
}

/// One identifier in double quotes, inner quotes doubled.
pub(super) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
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
