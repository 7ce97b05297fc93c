//! Cross-tenant UPDATE and DELETE, written as an attacker would write them: without a
//! tenant predicate.
//!
//! A probe such as `DELETE FROM t WHERE tenant = B` reads the tenant column, so PostgreSQL
//! applies the table's SELECT policies too, and a permissive `FOR DELETE USING (true)` or
//! `FOR UPDATE USING (true)` policy is never exercised. So tenant A runs `DELETE FROM t` and
//! `UPDATE t SET tenant = A` (no WHERE, no RETURNING, no column read: only the DELETE or
//! UPDATE policies apply) under a savepoint; before the savepoint is rolled back, the
//! connecting user counts each tenant's rows again, and every row another tenant lost is a
//! row A touched. Setting the tenant column to A keeps A's own rows valid for a policy's
//! `WITH CHECK`, so a correct policy lets the statement succeed and touch only A's rows.

use sqlx::PgConnection;

use super::catalog::Table;
use super::probe::{Census, REFUSED, code, undo};
use super::{Findings, short};
use crate::runbook::model::Rls;
use crate::steps::sql_error;

/// Tenant `a` updates and deletes every row it can reach; no other tenant may lose a row.
pub(super) async fn probe(
    rls: &Rls,
    table: &Table<'_>,
    a: usize,
    before: &Census,
    conn: &mut PgConnection,
    findings: &mut Findings,
) -> Result<(), sqlx::Error> {
    let tenant = &rls.tenants[a];
    let update = format!(
        "UPDATE {} SET {} = CAST($1::text AS {})",
        table.quoted, table.column, table.column_type
    );
    let delete = format!("DELETE FROM {}", table.quoted);
    for (verb, command, sql, bind) in [
        ("updated", "UPDATE", update, Some(tenant.as_str())),
        ("deleted", "DELETE", delete, None),
    ] {
        match guarded_write(&sql, bind, rls, table, conn).await? {
            Ok(after) => {
                let touched = touched(rls, table, a, before, &after, verb);
                if touched.is_empty() {
                    findings.assert(None);
                }
                findings.failed.extend(touched);
            }
            Err(e) if code(&e).as_deref() == Some(REFUSED) => findings.assert(None),
            Err(e) => findings.assert(Some(format!(
                "{}: tenant {}'s {command} without a WHERE failed, so what it may reach is not proven: {}",
                table.name,
                short(tenant),
                sql_error(&e)
            ))),
        }
    }
    Ok(())
}

/// One failure per tenant that lost rows, and one for rows of no listed tenant.
fn touched(rls: &Rls, table: &Table<'_>, a: usize, before: &Census, after: &Census, verb: &str) -> Vec<String> {
    let (name, who) = (table.name, short(&rls.tenants[a]));
    let mut failures: Vec<String> = rls
        .tenants
        .iter()
        .enumerate()
        .filter(|(b, _)| *b != a)
        .filter_map(|(b, other)| {
            let lost = before.tenants[b] - after.tenants[b];
            (lost > 0).then(|| format!("{name}: tenant {who} {verb} {lost} rows of tenant {}", short(other)))
        })
        .collect();
    let stray = before.unlisted() - after.unlisted();
    if stray > 0 {
        failures.push(format!("{name}: tenant {who} {verb} {stray} rows of no listed tenant"));
    }
    failures
}

/// A write under a savepoint, always undone; the table's census as the connecting user
/// just before undoing it. The outer error is the connection's, the inner the write's.
async fn guarded_write(
    sql: &str,
    bind: Option<&str>,
    rls: &Rls,
    table: &Table<'_>,
    conn: &mut PgConnection,
) -> Result<Result<Census, sqlx::Error>, sqlx::Error> {
    sqlx::raw_sql("SAVEPOINT rls_probe").execute(&mut *conn).await?;
    let mut query = sqlx::query(sql);
    if let Some(value) = bind {
        query = query.bind(value);
    }
    let written = query.execute(&mut *conn).await;
    let census = match written {
        Ok(_) => {
            // Undone with the savepoint, like the write: the app role is back afterwards.
            sqlx::raw_sql("SET LOCAL ROLE NONE").execute(&mut *conn).await?;
            Ok(Census::take(rls, table, conn).await?)
        }
        Err(e) => Err(e),
    };
    undo(conn).await?;
    Ok(census)
}
