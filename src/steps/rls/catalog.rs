//! Catalog assertions: RLS enabled and forced, policies for every command, a safe app role.

use sqlx::{PgConnection, Row};

use super::{Findings, quote_qualified};
use crate::runbook::model::{Rls, RlsTable};

/// A table that exists, ready for the probes.
pub(super) struct Table<'a> {
    /// As written in the runbook, for messages.
    pub name: &'a str,
    /// The quoted, possibly schema-qualified name.
    pub quoted: String,
    /// The quoted tenant column.
    pub column: String,
    /// The tenant column's SQL type (`format_type`), to cast bound tenant values.
    pub column_type: String,
    /// A tenant without rows here is a note, not a failure.
    pub allow_empty: bool,
}

/// Checks the app role; `false` when it does not exist (the probes cannot run).
pub(super) async fn check_role(
    rls: &Rls,
    conn: &mut PgConnection,
    findings: &mut Findings,
) -> Result<bool, sqlx::Error> {
    let row = sqlx::query("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1")
        .bind(&rls.role)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else {
        findings.assert(Some(format!("role `{}` does not exist", rls.role)));
        return Ok(false);
    };
    let (superuser, bypass): (bool, bool) = (row.try_get(0)?, row.try_get(1)?);
    findings.assert(superuser.then(|| format!("role `{}` is a superuser (bypasses RLS)", rls.role)));
    findings.assert(bypass.then(|| format!("role `{}` has BYPASSRLS", rls.role)));
    Ok(true)
}

/// Checks one table's catalog entries; `None` when the table or column is missing.
pub(super) async fn check_table<'a>(
    table: &'a RlsTable,
    conn: &mut PgConnection,
    findings: &mut Findings,
) -> Result<Option<Table<'a>>, sqlx::Error> {
    let name = &table.name;
    let quoted = quote_qualified(name);
    let row = sqlx::query(
        "SELECT c.relrowsecurity, c.relforcerowsecurity,
                (SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
                  WHERE a.attrelid = c.oid AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped)
           FROM pg_class c WHERE c.oid = to_regclass($1)",
    )
    .bind(&quoted)
    .bind(&table.tenant_column)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        findings.assert(Some(format!("{name}: table not found")));
        return Ok(None);
    };
    let (enabled, forced): (bool, bool) = (row.try_get(0)?, row.try_get(1)?);
    let column_type: Option<String> = row.try_get(2)?;
    findings.assert((!enabled).then(|| format!("{name}: RLS not enabled")));
    if enabled {
        findings.assert((!forced).then(|| format!("{name}: RLS enabled but not forced")));
    }
    let commands: Vec<String> = sqlx::query_scalar(
        "SELECT p.cmd FROM pg_policies p
           JOIN pg_class c ON c.relname = p.tablename
           JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = p.schemaname
          WHERE c.oid = to_regclass($1)",
    )
    .bind(&quoted)
    .fetch_all(&mut *conn)
    .await?;
    let missing: Vec<&str> = ["SELECT", "INSERT", "UPDATE", "DELETE"]
        .into_iter()
        .filter(|cmd| !commands.iter().any(|c| c == "ALL" || c == cmd))
        .collect();
    findings.assert((!missing.is_empty()).then(|| format!("{name}: no policy for {}", missing.join(", "))));
    let Some(column_type) = column_type else {
        findings.assert(Some(format!("{name}: column `{}` not found", table.tenant_column)));
        return Ok(None);
    };
    Ok(Some(Table {
        name,
        quoted,
        column: super::quote_ident(&table.tenant_column),
        column_type,
        allow_empty: table.allow_empty,
    }))
}
