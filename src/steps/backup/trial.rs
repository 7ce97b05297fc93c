//! The scratch side of `verify: restore`: the dump is restored into a database created for
//! it on the same server (`<database>_verify_<random>`, the source's name cut to 40
//! characters), its rows are counted, and the
//! database is dropped again, on success and failure alike (and, best effort, when the step
//! is dropped half-way).
//!
//! `pg_restore --exit-on-error --single-transaction --no-owner --no-privileges`: the trial
//! proves that the archive restores and holds every row; ownership and grants are left out
//! because the connecting role may not be allowed to set them in a database it just made.

use std::path::Path;

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use super::Failed;
use super::counts::{RowCounts, row_counts};
use super::pg::{command, connection_args, describe, run};
use crate::steps::{Excerpt, Failure, sql_error};

/// A scratch database, dropped when this goes away without [`Scratch::drop_now`].
struct Scratch {
    options: PgConnectOptions,
    name: String,
    dropped: bool,
}

impl Scratch {
    async fn create(options: &PgConnectOptions) -> Result<Self, String> {
        let source: String = options.get_database().unwrap_or("postgres").chars().take(40).collect();
        let name = format!("{source}_verify_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let mut conn = PgConnection::connect_with(options)
            .await
            .map_err(|e| format!("cannot connect to create a scratch database: {}", sql_error(&e)))?;
        let created = sqlx::raw_sql(&format!("CREATE DATABASE {} TEMPLATE template0", quote(&name)))
            .execute(&mut conn)
            .await;
        let _ = conn.close().await;
        created.map_err(|e| format!("cannot create the scratch database `{name}`: {}", sql_error(&e)))?;
        Ok(Scratch {
            options: options.clone(),
            name,
            dropped: false,
        })
    }

    async fn drop_now(mut self) -> Result<(), String> {
        self.dropped = true;
        drop_database(&self.options, &self.name).await
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let (options, name) = (self.options.clone(), self.name.clone());
            handle.spawn(async move {
                let _ = drop_database(&options, &name).await;
            });
        }
    }
}

async fn drop_database(options: &PgConnectOptions, name: &str) -> Result<(), String> {
    let failed = |e: sqlx::Error| format!("cannot drop the scratch database `{name}`: {}", sql_error(&e));
    let mut conn = PgConnection::connect_with(options).await.map_err(failed)?;
    let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote(name));
    let dropped = sqlx::query(&sql).execute(&mut conn).await;
    let _ = conn.close().await;
    dropped.map(|_| ()).map_err(failed)
}

/// Restores `file` into a fresh scratch database and counts its rows; the database is gone
/// when this returns.
pub(super) async fn restore_and_count(
    pg_restore: &str,
    options: &PgConnectOptions,
    password: Option<&str>,
    file: &Path,
) -> Result<RowCounts, Failed> {
    let scratch = Scratch::create(options).await.map_err(Failed::new)?;
    let result = restore_into(pg_restore, options, password, file, &scratch.name).await;
    let dropped = scratch.drop_now().await;
    let counts = result?;
    dropped.map_err(Failed::new)?;
    Ok(counts)
}

async fn restore_into(
    pg_restore: &str,
    options: &PgConnectOptions,
    password: Option<&str>,
    file: &Path,
    name: &str,
) -> Result<RowCounts, Failed> {
    let mut restore = command(pg_restore, options, password);
    restore
        .args(connection_args(options, name))
        .args([
            "--exit-on-error",
            "--single-transaction",
            "--no-owner",
            "--no-privileges",
        ])
        .arg(file);
    let mut stderr = Excerpt::new();
    let status = run(restore, pg_restore, &mut |_| {}, &mut |b| stderr.push(b))
        .await
        .map_err(Failed::new)?;
    if !status.success() {
        return Err(Failed {
            failure: Failure::new(format!(
                "the dump did not restore into a scratch database: `{pg_restore}` {}; the partial file `{}` was deleted",
                describe(status),
                file.display()
            ))
            .with_hint("the archive is unusable as a backup: see the output for the statement that failed"),
            output: stderr,
        });
    }
    let mut conn = PgConnection::connect_with(&options.clone().database(name))
        .await
        .map_err(|e| {
            Failed::new(format!(
                "cannot connect to the scratch database `{name}`: {}",
                sql_error(&e)
            ))
        })?;
    let counts = row_counts(&mut conn).await;
    let _ = conn.close().await;
    counts.map_err(|e| {
        Failed::new(format!(
            "cannot count the rows restored into `{name}`: {}",
            sql_error(&e)
        ))
    })
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
