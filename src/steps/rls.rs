//! `rls`: proves row-level security isolates tenants, inside transactions that are always
//! rolled back.
//!
//! Theory of operation: first the catalog (each table has RLS enabled and forced and
//! policies covering SELECT, INSERT, UPDATE and DELETE; the app role exists, is not a
//! superuser and lacks BYPASSRLS). Then, in one transaction, the connecting user (a
//! superuser or a BYPASSRLS role: a forced table's owner sees only what its policies
//! allow) counts each tenant's true rows, switches to the app role with `SET LOCAL ROLE`
//! and, for every ordered pair of tenants (A, B), sets the tenant setting
//! to A and checks what A can see and insert of B (see [`probe`]); A's UPDATE and DELETE
//! carry no tenant predicate, and a recount shows whose rows they reached (see [`writes`]).
//! A tenant without rows in a table proves nothing there: "not proven" fails the step unless
//! the table says `allow_empty: true`. Then the tenant setting set to `''`, and a new session
//! where it was never set (see [`session`]), must show no rows. Every statement that may
//! fail runs under a SAVEPOINT so an expected error does not abort the transaction. The
//! transactions are rolled back on every path (and on drop), so the database is unchanged.
//! A table with `through:` is then checked through the service's HTTP API as well (see
//! [`through`]).
//! Identifiers are quoted; tenant values and the setting name are bound parameters.

mod catalog;
mod probe;
mod session;
#[cfg(test)]
mod tests;
mod through;
mod writes;

use std::time::Duration;

use sqlx::PgConnection;
use sqlx::postgres::PgConnectOptions;

use super::kind::Kind;
use super::{Failure, StepContext, StepOutcome, sql_error};
use crate::runbook::Runbook;
use crate::runbook::model::Rls;

/// What the checks found: failed assertions, notes on what could not be checked, how
/// many assertions held, and what to do about a failure that is not a leak.
#[derive(Debug, Default)]
struct Findings {
    failed: Vec<String>,
    notes: Vec<String>,
    held: usize,
    hint: Option<&'static str>,
}

impl Findings {
    /// Records one assertion: held when `failure` is `None`.
    fn assert(&mut self, failure: Option<String>) {
        match failure {
            None => self.held += 1,
            Some(f) => self.failed.push(f),
        }
    }
}

impl Kind for Rls {
    fn describe(&self, _runbook: &Runbook) -> String {
        let tables: Vec<&str> = self.tables.iter().map(|t| t.name.as_str()).collect();
        format!(
            "database {} as role {}: {} × {} tenants",
            self.database,
            self.role,
            tables.join(", "),
            self.tenants.len()
        )
    }

    /// The catalog checks in a read-only transaction; no tenant row is touched.
    async fn probe(&self, ctx: &StepContext<'_>) -> Option<Result<String, Failure>> {
        Some(probe(self, ctx).await.map_err(Failure::new))
    }

    async fn execute(&self, ctx: &StepContext<'_>) -> StepOutcome {
        let (pool, where_) = match ctx.databases.step_pool(&self.database, ctx.timeout).await {
            Ok(found) => found,
            Err(reason) => return ctx.fail(reason),
        };
        let options = match ctx.databases.options(&self.database) {
            Ok(o) => o.application_name("deployctl"),
            Err(reason) => return ctx.fail(reason),
        };
        let mut tx = match pool.begin().await {
            Ok(tx) => tx,
            Err(e) => return ctx.fail(format!("{where_}: {}", sql_error(&e))),
        };
        let result = check(self, ctx.timeout, &options, &mut tx).await;
        // Always rolled back: the probes insert, update and delete.
        let rollback = tx.rollback().await;
        let mut findings = match (result, rollback) {
            (Err(e), _) | (Ok(_), Err(e)) => return ctx.fail(format!("{where_}: {}", sql_error(&e))),
            (Ok(f), Ok(())) => f,
        };
        if let Err(reason) = through::check(self, ctx, &pool, &mut findings).await {
            return ctx.fail(format!("{where_}: {reason}"));
        }
        if !findings.failed.is_empty() {
            // Notes ride along: "not checked" matters most when other assertions fail.
            let reason = findings
                .failed
                .iter()
                .chain(&findings.notes)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ");
            let failure = Failure::new(reason);
            return ctx.fail(match findings.hint {
                Some(hint) => failure.with_hint(hint),
                None => failure,
            });
        }
        let mut detail = format!(
            "{} × {}: {} assertions hold",
            count_of(self.tables.len(), "table"),
            count_of(self.tenants.len(), "tenant"),
            findings.held
        );
        for note in &findings.notes {
            detail.push_str("; ");
            detail.push_str(note);
        }
        StepOutcome::Done {
            detail: Some(ctx.redactor.mask(&detail).into_owned()),
            output: None,
        }
    }
}

/// The dry-run probe: the catalog checks only (RLS enabled and forced, policies for every
/// command, a safe role), in a read-only transaction; no tenant row is touched.
async fn probe(rls: &Rls, ctx: &StepContext<'_>) -> Result<String, String> {
    let pool = ctx.databases.pool(&rls.database, Duration::from_secs(5)).await?;
    let where_ = format!(
        "database `{}` ({})",
        rls.database,
        ctx.databases.describe(&rls.database)
    );
    let mut tx = pool.begin().await.map_err(|e| format!("{where_}: {}", sql_error(&e)))?;
    let result = async {
        sqlx::query("SET TRANSACTION READ ONLY").execute(&mut *tx).await?;
        let mut findings = Findings::default();
        catalog::check_role(rls, &mut tx, &mut findings).await?;
        for table in &rls.tables {
            catalog::check_table(table, &mut tx, &mut findings).await?;
        }
        Ok::<_, sqlx::Error>(findings)
    }
    .await;
    let _ = tx.rollback().await;
    let findings = result.map_err(|e| format!("{where_}: {}", sql_error(&e)))?;
    if findings.failed.is_empty() {
        Ok(format!(
            "catalog: {} catalog assertions hold (tenant checks run with the step)",
            findings.held
        ))
    } else {
        Err(findings.failed.join("; "))
    }
}

/// Runs the catalog checks, then the probes in the caller's transaction, then the probe of
/// a new session (its own connection, made with `options`).
async fn check(
    rls: &Rls,
    timeout: Duration,
    options: &PgConnectOptions,
    conn: &mut PgConnection,
) -> Result<Findings, sqlx::Error> {
    let ms = (timeout.as_millis() * 9 / 10).clamp(1, i32::MAX as u128);
    sqlx::query(&format!("SET LOCAL statement_timeout = {ms}"))
        .execute(&mut *conn)
        .await?;
    let mut findings = Findings::default();
    let role_found = catalog::check_role(rls, conn, &mut findings).await?;
    let mut tables = Vec::new();
    for table in &rls.tables {
        if let Some(t) = catalog::check_table(table, conn, &mut findings).await? {
            tables.push(t);
        }
    }
    if role_found {
        probe::run(rls, &tables, conn, &mut findings).await?;
        session::probe_unset(rls, &tables, options, timeout, &mut findings).await?;
    }
    Ok(findings)
}

/// `"name"`, or `"schema"."name"` for `schema.name`.
fn quote_qualified(name: &str) -> String {
    name.split('.').map(quote_ident).collect::<Vec<_>>().join(".")
}

/// One identifier in double quotes, inner quotes doubled.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A tenant for messages: long ids shortened to their first four characters.
fn short(tenant: &str) -> String {
    if tenant.chars().count() > 8 {
        format!("{}…", tenant.chars().take(4).collect::<String>())
    } else {
        tenant.to_string()
    }
}

fn count_of(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
