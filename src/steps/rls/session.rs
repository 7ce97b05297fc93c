//! A connection without tenant context: the tenant setting never set.
//!
//! `current_setting(name, true)` is NULL only in a session where the setting was never set:
//! once `set_config` ran (even `SET LOCAL` in a rolled-back transaction) the session keeps
//! it as an empty string, and neither `RESET` nor `DISCARD ALL` brings NULL back (measured
//! on PostgreSQL 15). A policy such as `current_setting(..) IS NULL OR owner = ..` passes
//! every probe made after a `set_config` yet shows every row to a new connection. So this
//! probe opens its own connection, takes the app role in a read-only transaction that is
//! rolled back, and counts what each table shows. The state it saw is named in messages:
//! "never set", or a value the login starts with (a database or role default).

use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use super::catalog::Table;
use super::probe::{INVALID_TEXT, code, guarded_count};
use super::{Findings, quote_ident};
use crate::runbook::model::Rls;
use crate::steps::sql_error;

/// In a new session as the app role, with the setting as a new connection has it, no
/// table shows a row.
pub(super) async fn probe_unset(
    rls: &Rls,
    tables: &[Table<'_>],
    options: &PgConnectOptions,
    timeout: Duration,
    findings: &mut Findings,
) -> Result<(), sqlx::Error> {
    let mut conn = PgConnection::connect_with(options).await?;
    let result = probe(rls, tables, timeout, &mut conn, findings).await;
    let _ = conn.close().await;
    result
}

async fn probe(
    rls: &Rls,
    tables: &[Table<'_>],
    timeout: Duration,
    conn: &mut PgConnection,
    findings: &mut Findings,
) -> Result<(), sqlx::Error> {
    let mut tx = conn.begin().await?;
    let ms = (timeout.as_millis() * 9 / 10).clamp(1, i32::MAX as u128);
    sqlx::raw_sql(&format!(
        "SET TRANSACTION READ ONLY; SET LOCAL statement_timeout = {ms}; SET LOCAL ROLE {}",
        quote_ident(&rls.role)
    ))
    .execute(&mut *tx)
    .await?;
    let value: Option<String> = sqlx::query_scalar("SELECT current_setting($1, true)")
        .bind(&rls.setting)
        .fetch_one(&mut *tx)
        .await?;
    let state = match value {
        None => "never set".to_string(),
        Some(v) if v.is_empty() => "empty".to_string(),
        Some(v) => format!("`{v}` (the login's default)"),
    };
    for table in tables {
        let all = format!("SELECT count(*) FROM {}", table.quoted);
        let name = table.name;
        let failure = match guarded_count(&all, None, &mut tx).await? {
            Ok(0) => None,
            Ok(n) => Some(format!(
                "{name}: in a new session, with `{}` {state}, {n} rows are visible",
                rls.setting
            )),
            Err(e) if code(&e).as_deref() == Some(INVALID_TEXT) => None,
            Err(e) => Some(format!(
                "{name}: in a new session, with `{}` {state}, reading failed: {}",
                rls.setting,
                sql_error(&e)
            )),
        };
        findings.assert(failure);
    }
    tx.rollback().await
}
