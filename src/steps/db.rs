//! Connections to the runbook's databases: one lazily built pool per database, shared by
//! every step of the run.
//!
//! Connection errors name the database, host, port and database name, never the password
//! (and every message is masked by the caller's redactor anyway).

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use tokio::sync::Mutex;

use crate::runbook::Runbook;

/// The run's database pools, by runbook database name.
#[derive(Debug, Default)]
pub struct Databases {
    urls: BTreeMap<String, String>,
    pools: Mutex<HashMap<String, PgPool>>,
}

impl Databases {
    /// Pools for the runbook's databases, connected on first use.
    pub fn new(runbook: &Runbook, run_id: &str) -> Self {
        let urls = runbook
            .databases
            .iter()
            .map(|(name, db)| (name.clone(), db.url.render(run_id)))
            .collect();
        Databases {
            urls,
            pools: Mutex::new(HashMap::new()),
        }
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

    /// The rendered URL of a database (contains its password: mask before showing).
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

    /// "cannot connect to database `x` (host:port/db): reason".
    pub fn connect_error(&self, name: &str, error: &sqlx::Error) -> String {
        format!(
            "cannot connect to database `{name}` ({}): {}",
            self.describe(name),
            sql_error(error)
        )
    }
}

/// A database error as one line: SQLSTATE and message for server errors.
pub fn sql_error(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => format!("{} (SQLSTATE {code})", db.message()),
            None => db.message().to_string(),
        },
        sqlx::Error::PoolTimedOut => "no answer within the connect timeout".into(),
        sqlx::Error::Io(io) => io.to_string(),
        other => other.to_string(),
    }
}
