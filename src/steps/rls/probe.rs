//! Behavioural assertions, run as the app role for every ordered pair of tenants.
//!
//! Each probe statement runs under a SAVEPOINT that is always rolled back, so an expected
//! error does not abort the transaction and an accepted write leaves no trace for the next
//! probe. `set_config(.., true)` is not guarded: it must outlive the savepoints.

use sqlx::PgConnection;

use super::catalog::Table;
use super::{Findings, quote_ident, short, writes};
use crate::runbook::model::Rls;
use crate::steps::sql_error;

/// SQLSTATE of `insufficient_privilege` (includes "new row violates row-level security").
pub(super) const REFUSED: &str = "42501";
/// SQLSTATE of `not_null_violation`.
const NOT_NULL: &str = "23502";
/// SQLSTATE of `invalid_text_representation` (e.g. `''::uuid`).
pub(super) const INVALID_TEXT: &str = "22P02";

/// Counts every tenant's true rows, switches to the app role and probes every table.
pub(super) async fn run(
    rls: &Rls,
    tables: &[Table<'_>],
    conn: &mut PgConnection,
    findings: &mut Findings,
) -> Result<(), sqlx::Error> {
    let mut censuses = Vec::new();
    for table in tables {
        censuses.push(Census::take(rls, table, conn).await?);
    }
    sqlx::query(&format!("SET LOCAL ROLE {}", quote_ident(&rls.role)))
        .execute(&mut *conn)
        .await?;
    for (table, before) in tables.iter().zip(&censuses) {
        not_proven(rls, table, before, findings);
        for (a, tenant) in rls.tenants.iter().enumerate() {
            set_tenant(rls, tenant, conn).await?;
            for other in rls.tenants.iter().filter(|o| *o != tenant) {
                let pair = Pair {
                    tenant,
                    other,
                    owned: before.tenants[a],
                };
                probe_reads(table, &pair, conn, findings).await?;
                probe_insert(table, &pair, conn, findings).await?;
            }
            writes::probe(rls, table, a, before, conn, findings).await?;
        }
        probe_empty(rls, table, conn, findings).await?;
    }
    Ok(())
}

/// A table's rows per listed tenant (in `rls.tenants` order) and in all, as the connecting
/// user (who must see every row) sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Census {
    pub total: i64,
    pub tenants: Vec<i64>,
}

impl Census {
    /// Counts in one statement.
    pub async fn take(rls: &Rls, table: &Table<'_>, conn: &mut PgConnection) -> Result<Self, sqlx::Error> {
        let t = &table.quoted;
        let sql = format!(
            "SELECT (SELECT count(*) FROM {t}), ARRAY(SELECT (SELECT count(*) FROM {t} WHERE {} = CAST(u.x AS {})) \
             FROM unnest($1::text[]) WITH ORDINALITY AS u(x, i) ORDER BY u.i)",
            table.column, table.column_type
        );
        let (total, tenants) = sqlx::query_as::<_, (i64, Vec<i64>)>(&sql)
            .bind(&rls.tenants)
            .fetch_one(&mut *conn)
            .await?;
        if tenants.len() != rls.tenants.len() {
            return Err(sqlx::Error::Protocol(format!(
                "counted {} tenants of {}",
                tenants.len(),
                rls.tenants.len()
            )));
        }
        Ok(Census { total, tenants })
    }

    /// Rows of no listed tenant (another tenant, or NULL).
    pub fn unlisted(&self) -> i64 {
        self.total - self.tenants.iter().sum::<i64>()
    }
}

/// A tenant without rows in a table proves nothing: no read or write can show that the
/// others cannot reach its rows. A failure, or a note with `allow_empty: true`.
fn not_proven(rls: &Rls, table: &Table<'_>, census: &Census, findings: &mut Findings) {
    for (tenant, _) in rls.tenants.iter().zip(&census.tenants).filter(|(_, n)| **n == 0) {
        let (name, t) = (table.name, short(tenant));
        if table.allow_empty {
            findings.notes.push(format!(
                "{name}: tenant {t} has no rows, so its isolation is not proven (allow_empty)"
            ));
        } else {
            findings.assert(Some(format!(
                "{name}: tenant {t} has no rows, so no probe can show that other tenants cannot read or change them: not proven"
            )));
            findings.hint = Some(NOT_PROVEN_HINT);
        }
    }
}

/// The tenant whose session is probed and the tenant whose rows it must not reach.
struct Pair<'a> {
    tenant: &'a str,
    other: &'a str,
    /// Rows the tenant truly owns.
    owned: i64,
}

/// What to do about a tenant without rows.
const NOT_PROVEN_HINT: &str = "give every listed tenant at least one row in every listed table (a seed or canary row), or add `allow_empty: true` to the table entry to accept an unproven table";

/// `"col" = CAST($1::text AS <type>)`: tenant values are bound, cast to the column's type.
fn tenant_is(table: &Table<'_>) -> String {
    format!("{} = CAST($1::text AS {})", table.column, table.column_type)
}

async fn set_tenant(rls: &Rls, tenant: &str, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT set_config($1, $2, true)")
        .bind(&rls.setting)
        .bind(tenant)
        .execute(&mut *conn)
        .await
        .map(drop)
}

/// Own rows visible, only own rows visible, the other tenant's rows invisible.
async fn probe_reads(
    table: &Table<'_>,
    pair: &Pair<'_>,
    conn: &mut PgConnection,
    findings: &mut Findings,
) -> Result<(), sqlx::Error> {
    let (name, a, b) = (table.name, short(pair.tenant), short(pair.other));
    let all = format!("SELECT count(*) FROM {}", table.quoted);
    let mine = format!("{all} WHERE {}", tenant_is(table));
    let visible = guarded_count(&all, None, conn).await?;
    let own = guarded_count(&mine, Some(pair.tenant), conn).await?;
    let theirs = guarded_count(&mine, Some(pair.other), conn).await?;
    let (visible, own, theirs) = match (visible, own, theirs) {
        (Ok(v), Ok(o), Ok(t)) => (v, o, t),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            findings.assert(Some(format!("{name}: tenant {a} cannot read: {}", sql_error(&e))));
            return Ok(());
        }
    };
    findings.assert((own != pair.owned).then(|| format!("{name}: tenant {a} sees {own} of its {} rows", pair.owned)));
    findings.assert((theirs != 0).then(|| format!("{name}: tenant {a} sees {theirs} rows of tenant {b}")));
    let stray = visible - own - theirs;
    findings.assert((stray > 0).then(|| format!("{name}: tenant {a} sees {stray} rows of no listed tenant")));
    Ok(())
}

/// A cross-tenant INSERT is refused.
async fn probe_insert(
    table: &Table<'_>,
    pair: &Pair<'_>,
    conn: &mut PgConnection,
    findings: &mut Findings,
) -> Result<(), sqlx::Error> {
    let (name, a, b) = (table.name, short(pair.tenant), short(pair.other));
    let insert = format!(
        "INSERT INTO {} ({}) VALUES (CAST($1::text AS {}))",
        table.quoted, table.column, table.column_type
    );
    match guarded_execute(&insert, pair.other, conn).await? {
        Ok(_) => findings.assert(Some(format!("{name}: tenant {a} inserted a row for tenant {b}"))),
        Err(e) if code(&e).as_deref() == Some(REFUSED) => findings.assert(None),
        // PostgreSQL applies the RLS `WITH CHECK` before NOT NULL: reaching the NOT NULL
        // check means the policy let the cross-tenant row through.
        Err(e) if code(&e).as_deref() == Some(NOT_NULL) => findings.assert(Some(format!(
            "{name}: tenant {a}'s insert of a row for tenant {b} passed the RLS check (it failed later, on NOT NULL)"
        ))),
        Err(e) => findings.assert(Some(format!(
            "{name}: tenant {a} cross-tenant insert failed: {}",
            sql_error(&e)
        ))),
    }
    Ok(())
}

/// With the setting empty no rows are visible (22P02 from a uuid cast counts as none).
async fn probe_empty(
    rls: &Rls,
    table: &Table<'_>,
    conn: &mut PgConnection,
    findings: &mut Findings,
) -> Result<(), sqlx::Error> {
    set_tenant(rls, "", conn).await?;
    let name = table.name;
    let all = format!("SELECT count(*) FROM {}", table.quoted);
    let failure = match guarded_count(&all, None, conn).await? {
        Ok(0) => None,
        Ok(n) => Some(format!("{name}: with `{}` empty, {n} rows are visible", rls.setting)),
        Err(e) if code(&e).as_deref() == Some(INVALID_TEXT) => {
            findings.notes.push(format!(
                "{name}: with `{}` empty the policy raises 22P02 (invalid input), counted as no rows visible",
                rls.setting
            ));
            None
        }
        Err(e) => Some(format!(
            "{name}: with `{}` empty, reading failed: {}",
            rls.setting,
            sql_error(&e)
        )),
    };
    findings.assert(failure);
    Ok(())
}

/// The SQLSTATE of a server error.
pub(super) fn code(error: &sqlx::Error) -> Option<String> {
    match error {
        sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// A `count(*)` under a savepoint: the outer error is the connection's, the inner the
/// statement's.
pub(super) async fn guarded_count(
    sql: &str,
    tenant: Option<&str>,
    conn: &mut PgConnection,
) -> Result<Result<i64, sqlx::Error>, sqlx::Error> {
    sqlx::raw_sql("SAVEPOINT rls_probe").execute(&mut *conn).await?;
    let mut query = sqlx::query_scalar::<_, i64>(sql);
    if let Some(tenant) = tenant {
        query = query.bind(tenant);
    }
    let result = query.fetch_one(&mut *conn).await;
    undo(conn).await?;
    Ok(result)
}

/// A write under a savepoint, always undone; yields rows affected.
async fn guarded_execute(
    sql: &str,
    tenant: &str,
    conn: &mut PgConnection,
) -> Result<Result<u64, sqlx::Error>, sqlx::Error> {
    sqlx::raw_sql("SAVEPOINT rls_probe").execute(&mut *conn).await?;
    let result = sqlx::query(sql).bind(tenant).execute(&mut *conn).await;
    undo(conn).await?;
    Ok(result.map(|r| r.rows_affected()))
}

pub(super) async fn undo(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::raw_sql("ROLLBACK TO SAVEPOINT rls_probe; RELEASE SAVEPOINT rls_probe")
        .execute(&mut *conn)
        .await
        .map(drop)
}
