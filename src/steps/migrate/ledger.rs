//! The database side: the bookkeeping table of a style, in the schema of the URL, and what
//! it records, compared with the folder. Rows with `rolled_back_at` are history and count
//! for nothing. Applying lives in `apply.rs`.

use sqlx::PgConnection;

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

    /// The database's name in the runbook, for messages.
    pub fn database(&self) -> &str {
        self.database
    }

    /// The style whose table this is.
    pub fn style(&self) -> MigrationStyle {
        self.style
    }

    fn table(&self) -> &'static str {
        match self.style {
            MigrationStyle::Prisma => "_prisma_migrations",
            MigrationStyle::Plain => "deployctl_migrations",
        }
    }

    /// "cannot <doing> `<table>` in database `<db>`: <error>".
    pub fn error(&self, doing: &str, error: &sqlx::Error) -> String {
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
}

/// A bookkeeping row an undo deleted, as the journal keeps it (the database no longer does).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RemovedRow {
    /// The migration's name.
    pub migration: String,
    /// Prisma's row id (plain rows have none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The checksum recorded when it was applied.
    pub checksum: String,
    /// When it finished applying (ISO 8601).
    pub applied_at: String,
}

impl Ledger<'_> {
    /// Deletes the row of an applied migration `name` (for Prisma: the finished row that is
    /// not rolled back; earlier rolled-back rows are history and stay) and returns what it
    /// held; empty when there was none (reverted before). Run inside the revert's transaction.
    pub async fn remove(&self, conn: &mut PgConnection, name: &str) -> Result<Vec<RemovedRow>, sqlx::Error> {
        let query = match self.style {
            MigrationStyle::Prisma => format!(
                "DELETE FROM {} WHERE migration_name = $1 AND finished_at IS NOT NULL AND rolled_back_at IS NULL \
                 RETURNING migration_name, id, checksum, to_json(finished_at) #>> '{{}}'",
                self.qualified
            ),
            MigrationStyle::Plain => format!(
                "DELETE FROM {} WHERE name = $1 RETURNING name, NULL::text, checksum, to_json(applied_at) #>> '{{}}'",
                self.qualified
            ),
        };
        let rows: Vec<(String, Option<String>, String, String)> =
            sqlx::query_as(&query).bind(name).fetch_all(conn).await?;
        Ok(rows
            .into_iter()
            .map(|(migration, id, checksum, applied_at)| RemovedRow {
                migration,
                id,
                checksum,
                applied_at,
            })
            .collect())
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
