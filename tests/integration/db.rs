//! A fresh PostgreSQL database per test, created on the server of
//! `DEPLOYCTL_TEST_DATABASE_URL` (default: local trust auth) and dropped when the test ends.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{Connection, Executor, PgConnection};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The server tests may use.
pub fn admin_url() -> String {
    std::env::var("DEPLOYCTL_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// One test's database.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub fn create() -> Self {
        let name = format!(
            "deployctl_t_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let admin = admin_url();
        runtime().block_on(async {
            let mut conn = PgConnection::connect(&admin)
                .await
                .expect("PostgreSQL reachable (scripts/ensure-postgres)");
            conn.execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
                .await
                .expect("drop");
            conn.execute(format!("CREATE DATABASE \"{name}\"").as_str())
                .await
                .expect("create database");
        });
        let mut url = url::Url::parse(&admin).expect("admin url");
        url.set_path(&format!("/{name}"));
        TestDb {
            name,
            url: url.to_string(),
        }
    }

    /// Runs SQL (several statements allowed) in this database.
    pub fn execute(&self, sql: &str) {
        runtime().block_on(async {
            let mut conn = PgConnection::connect(&self.url).await.expect("connect");
            sqlx::raw_sql(sql).execute(&mut conn).await.expect("sql");
        });
    }

    /// The first column of the first row, as text.
    pub fn scalar(&self, sql: &str) -> Option<String> {
        runtime().block_on(async {
            let mut conn = PgConnection::connect(&self.url).await.expect("connect");
            sqlx::query_scalar::<_, Option<String>>(sql)
                .fetch_one(&mut conn)
                .await
                .expect("query")
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (admin, name) = (admin_url(), self.name.clone());
        runtime().block_on(async {
            if let Ok(mut conn) = PgConnection::connect(&admin).await {
                let _ = conn
                    .execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
                    .await;
            }
        });
    }
}
