//! Connections to the runbook's databases: one lazily built pool per database, shared by
//! every step of the run.
//!
//! Connection errors name the database, host, port and database name, never the password
//! (and every message is masked by the caller's redactor anyway).
//!
//! A URL's `?schema=NAME` (Prisma's convention) is taken off the URL here, before anything
//! connects: sqlx and libpq do not know it, and only `migrate` gives it a meaning
//! ([`Databases::schema`]).

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use tokio::sync::Mutex;

use crate::pg_error::sql_error;
use crate::runbook::Runbook;

/// The run's database pools, by runbook database name.
#[derive(Debug, Default)]
pub struct Databases {
    urls: BTreeMap<String, String>,
    schemas: BTreeMap<String, String>,
    pools: Mutex<HashMap<String, PgPool>>,
}

impl Databases {
    /// Pools for the runbook's databases, connected on first use.
    pub fn new(runbook: &Runbook, run_id: &str) -> Self {
        let mut urls = BTreeMap::new();
        let mut schemas = BTreeMap::new();
        for (name, db) in &runbook.databases {
            let (url, schema) = split_schema(&db.url.render(run_id));
            urls.insert(name.clone(), url);
            if let Some(schema) = schema {
                schemas.insert(name.clone(), schema);
            }
        }
        Databases {
            urls,
            schemas,
            pools: Mutex::new(HashMap::new()),
        }
    }

    /// The schema a database's URL names with `?schema=` (Prisma's convention), if any;
    /// `migrate` keeps its bookkeeping there and applies migrations with it as `search_path`.
    pub fn schema(&self, name: &str) -> Option<&str> {
        self.schemas.get(name).map(String::as_str)
    }

    /// `host:port/dbname` of a database, for messages (no credentials).
    pub fn describe(&self, name: &str) -> String {
        match self.urls.get(name).and_then(|u| url::Url::parse(u).ok()) {
            Some(u) => format!(
                "{}:{}{}",
                u.host_str().unwrap_or("localhost"),
                u.port().unwrap_or(5432),
                u.path()
            ),
            None => "?".into(),
        }
    }

    /// The rendered URL of a database, without `?schema=` (contains its password: mask before
    /// showing).
    pub fn url(&self, name: &str) -> Option<&str> {
        self.urls.get(name).map(String::as_str)
    }

    /// The connection options of a database (for steps that need their own session).
    pub fn options(&self, name: &str) -> Result<PgConnectOptions, String> {
        let url = self
            .urls
            .get(name)
            .ok_or_else(|| format!("database `{name}` is not declared"))?;
        PgConnectOptions::from_str(url).map_err(|e| format!("database `{name}`: invalid URL: {e}"))
    }

    /// The pool of a database; connects (within `connect_timeout`) on first use.
    pub async fn pool(&self, name: &str, connect_timeout: Duration) -> Result<PgPool, String> {
        let mut pools = self.pools.lock().await;
        if let Some(pool) = pools.get(name) {
            return Ok(pool.clone());
        }
        let options = self.options(name)?.application_name("deployctl");
        // One direct attempt first: a pool retries until its timeout and then reports only
        // "timed out", where the operator needs "connection refused" or "password failed".
        match tokio::time::timeout(connect_timeout, PgConnection::connect_with(&options)).await {
            Ok(Ok(conn)) => drop(conn.close().await),
            Ok(Err(e)) => return Err(self.connect_error(name, &e)),
            Err(_) => return Err(self.connect_error(name, &sqlx::Error::PoolTimedOut)),
        }
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(connect_timeout)
            .connect_with(options)
            .await
            .map_err(|e| self.connect_error(name, &e))?;
        pools.insert(name.to_string(), pool.clone());
        Ok(pool)
    }

    /// The pool a query step (`sql`, `rls`) runs on, connected within a quarter of the step's
    /// time (1 to 10 s), and "database `x` (host:port/db)", the words its messages start with.
    pub(crate) async fn step_pool(&self, name: &str, step_timeout: Duration) -> Result<(PgPool, String), String> {
        let connect = (step_timeout / 4).clamp(Duration::from_secs(1), Duration::from_secs(10));
        let pool = self.pool(name, connect).await?;
        Ok((pool, format!("database `{name}` ({})", self.describe(name))))
    }

    /// "cannot connect to database `x` (host:port/db): reason".
    pub fn connect_error(&self, name: &str, error: &sqlx::Error) -> String {
        format!(
            "cannot connect to database `{name}` ({}): {}",
            self.describe(name),
            sql_error(error)
        )
    }
}

/// The URL without its `schema` query parameters, and the last non-empty value of them.
/// A URL that does not parse is returned unchanged (connecting reports it).
fn split_schema(raw: &str) -> (String, Option<String>) {
    let Ok(mut url) = url::Url::parse(raw) else {
        return (raw.to_string(), None);
    };
    if !url.query_pairs().any(|(key, _)| key == "schema") {
        return (raw.to_string(), None);
    }
    let mut schema = None;
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter_map(|(key, value)| match key.as_ref() {
            "schema" => {
                if !value.is_empty() {
                    schema = Some(value.into_owned());
                }
                None
            }
            _ => Some((key.into_owned(), value.into_owned())),
        })
        .collect();
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
    (url.to_string(), schema)
}

#[cfg(test)]
mod tests {
    use super::split_schema;

    #[test]
    fn schema_is_taken_off_the_url() {
        let (url, schema) = split_schema("postgres://u:pw@h:5433/db?schema=app&sslmode=disable");
        assert_eq!(url, "postgres://u:pw@h:5433/db?sslmode=disable");
        assert_eq!(schema.as_deref(), Some("app"));
        let (url, schema) = split_schema("postgres://u@h/db?schema=My%20Schema");
        assert_eq!(url, "postgres://u@h/db");
        assert_eq!(schema.as_deref(), Some("My Schema"));
        let (url, schema) = split_schema("postgres://u@h/db?schema=");
        assert_eq!((url.as_str(), schema), ("postgres://u@h/db", None));
        let (url, schema) = split_schema("postgres://u@h/db?sslmode=require");
        assert_eq!((url.as_str(), schema), ("postgres://u@h/db?sslmode=require", None));
    }
}
