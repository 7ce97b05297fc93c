//! Scratch PostgreSQL databases for the database steps' unit tests: one per test, created on
//! the server of `DEPLOYCTL_TEST_DATABASE_URL` (default: local trust auth) and dropped, with
//! the roles the test registered, when the test ends (also when it panics).

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{Connection, PgConnection};

/// The server tests may use.
pub(super) fn admin_url() -> String {
    std::env::var("DEPLOYCTL_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A name unique across concurrent tests and test processes.
pub(super) fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "{prefix}_{}_{nanos}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A connection to the server as its administrator.
pub(super) async fn admin() -> PgConnection {
    PgConnection::connect(&admin_url())
        .await
        .expect("test database server (scripts/ensure-postgres)")
}

/// One test's database, and the cluster-wide roles it created.
pub(super) struct ScratchDb {
    /// Database name.
    pub name: String,
    /// Superuser URL of the database.
    pub url: String,
    /// Roles to drop after the database.
    pub roles: Vec<String>,
}

impl ScratchDb {
    /// Creates `<prefix>_<unique>`.
    pub async fn create(prefix: &str) -> Self {
        let name = unique(prefix);
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin().await)
            .await
            .expect("create database");
        let mut url = url::Url::parse(&admin_url()).expect("admin url");
        url.set_path(&name);
        ScratchDb {
            name,
            url: url.to_string(),
            roles: Vec::new(),
        }
    }

    /// Creates a role (`CREATE ROLE "<name>" <options>`), dropped with the database.
    pub async fn create_role(&mut self, prefix: &str, options: &str) -> String {
        let role = unique(prefix);
        sqlx::raw_sql(&format!("CREATE ROLE \"{role}\" {options}"))
            .execute(&mut admin().await)
            .await
            .expect("create role");
        self.roles.push(role.clone());
        role
    }

    /// A superuser connection to the database.
    pub async fn conn(&self) -> PgConnection {
        PgConnection::connect(&self.url)
            .await
            .expect("connect to scratch database")
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        let (name, roles) = (self.name.clone(), std::mem::take(&mut self.roles));
        // Drop runs inside the test's runtime: a fresh one on its own thread does the I/O.
        let dropped = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut admin) = PgConnection::connect(&admin_url()).await {
                    // One statement each: DROP DATABASE cannot run inside a multi-statement batch.
                    let _ = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut admin)
                        .await;
                    for role in roles {
                        let _ = sqlx::raw_sql(&format!("DROP ROLE IF EXISTS \"{role}\""))
                            .execute(&mut admin)
                            .await;
                    }
                }
            });
        });
        let _ = dropped.join();
    }
}
