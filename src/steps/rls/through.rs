//! `through:`: tenant isolation as the service shows it, not only as the database enforces
//! it. For each table with `through`, the URL is requested as each tenant (the tenant header
//! set to the tenant) and must answer 2xx with a JSON array (the whole body, or the array at
//! the JSON pointer `items`) whose every item's `owner_field` is that tenant and whose length
//! is the tenant's row count in the table (counted by the connecting user with
//! `row_security = off`: the true count). Then a request without the header must return no
//! rows: an error status or an empty list. A middleware that forgets to set the tenant
//! (every list empty, or everyone's rows) fails here while the database checks pass.

use serde_json::Value;
use sqlx::PgPool;

use super::{Findings, quote_ident, quote_qualified, short};
use crate::runbook::model::{Rls, RlsTable, RlsThrough};
use crate::steps::{StepContext, sql_error};

/// Checks every table that says `through:`.
pub(super) async fn check(
    rls: &Rls,
    ctx: &StepContext<'_>,
    pool: &PgPool,
    findings: &mut Findings,
) -> Result<(), String> {
    for table in &rls.tables {
        let Some(through) = &table.through else {
            continue;
        };
        let url = through.url.render(ctx.run_id);
        for tenant in &rls.tenants {
            let rows = tenant_rows(table, tenant, pool).await.map_err(|e| {
                format!(
                    "cannot count `{}` rows of tenant {}: {}",
                    table.name,
                    short(tenant),
                    sql_error(&e)
                )
            })?;
            let answer = get(ctx, &url, Some((&through.tenant_header, tenant))).await;
            findings.assert(as_tenant(table, through, tenant, rows, &url, answer));
        }
        let answer = get(ctx, &url, None).await;
        findings.assert(without_header(through, &url, answer));
    }
    Ok(())
}

/// The tenant's true rows in the table.
async fn tenant_rows(table: &RlsTable, tenant: &str, pool: &PgPool) -> Result<i64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET LOCAL row_security = off").execute(&mut *tx).await?;
    let sql = format!(
        "SELECT count(*) FROM {} WHERE {}::text = $1",
        quote_qualified(&table.name),
        quote_ident(&table.tenant_column)
    );
    let n = sqlx::query_scalar(&sql).bind(tenant).fetch_one(&mut *tx).await;
    let _ = tx.rollback().await;
    n
}

/// A response: its status and body, or why there was none.
type Answer = Result<(u16, String), String>;

async fn get(ctx: &StepContext<'_>, url: &str, header: Option<(&str, &str)>) -> Answer {
    let mut request = ctx.http.get(url).timeout(ctx.timeout);
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    let response = request
        .send()
        .await
        .map_err(|e| format!("GET {url}: {}", crate::steps::http::describe_error(&e, ctx.timeout)))?;
    let status = response.status().as_u16();
    let body = response
        .text()
        .await
        .map_err(|e| format!("GET {url}: cannot read the body: {e}"))?;
    Ok((status, body))
}

/// The items of a body: the array at `pointer`, or why not.
fn items(body: &str, pointer: &str) -> Result<Vec<Value>, String> {
    let value: Value = serde_json::from_str(body).map_err(|_| "the body is not JSON".to_string())?;
    match value.pointer(pointer) {
        Some(Value::Array(items)) => Ok(items.clone()),
        Some(_) => Err(format!(
            "`{}` is not a JSON array",
            if pointer.is_empty() { "the body" } else { pointer }
        )),
        None => Err(format!("the body has no `{pointer}`")),
    }
}

/// An item's owner as text (a string, or a number written out).
fn owner(item: &Value, field: &str) -> Option<String> {
    match item.get(field)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The tenant sees exactly its own rows: `None` when that holds.
fn as_tenant(
    table: &RlsTable,
    through: &RlsThrough,
    tenant: &str,
    rows: i64,
    url: &str,
    answer: Answer,
) -> Option<String> {
    let who = format!("GET {url} as tenant {} (`{}`)", short(tenant), through.tenant_header);
    let (status, body) = match answer {
        Ok(answer) => answer,
        Err(e) => return Some(e),
    };
    if !(200..300).contains(&status) {
        return Some(format!(
            "{who}: answered {status}, expected the tenant's `{}` rows",
            table.name
        ));
    }
    let items = match items(&body, &through.items) {
        Ok(items) => items,
        Err(e) => return Some(format!("{who}: {e}")),
    };
    let foreign: Vec<String> = items
        .iter()
        .filter(|item| !owner(item, &through.owner_field).is_some_and(|o| o.eq_ignore_ascii_case(tenant)))
        .map(|item| owner(item, &through.owner_field).map_or("no owner".into(), |o| short(&o)))
        .collect();
    if !foreign.is_empty() {
        return Some(format!(
            "{who}: {} of {} items are not the tenant's (`{}`: {}): the service leaks other tenants' rows",
            foreign.len(),
            items.len(),
            through.owner_field,
            foreign.join(", ")
        ));
    }
    (items.len() as i64 != rows).then(|| {
        format!(
            "{who}: {} items, but the tenant has {rows} rows in `{}`: the service does not serve the tenant its own rows",
            items.len(),
            table.name
        )
    })
}

/// Without the tenant header: an error status or an empty list.
fn without_header(through: &RlsThrough, url: &str, answer: Answer) -> Option<String> {
    let (status, body) = match answer {
        Ok(answer) => answer,
        Err(e) => return Some(e),
    };
    if !(200..300).contains(&status) {
        return None;
    }
    match items(&body, &through.items) {
        Ok(items) if items.is_empty() => None,
        Ok(items) => Some(format!(
            "GET {url} without `{}`: {} items returned: a request naming no tenant must see no tenant's rows",
            through.tenant_header,
            items.len()
        )),
        Err(e) => Some(format!(
            "GET {url} without `{}`: answered {status}: {e}",
            through.tenant_header
        )),
    }
}
