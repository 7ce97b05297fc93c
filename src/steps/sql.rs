//! `sql`: one query with bound parameters, checked against `expect`.
//!
//! References never reach the SQL text (the validator refuses them there); they arrive as
//! `$1, $2, ...` parameters. The query runs in a transaction with `statement_timeout` set
//! from the step's timeout, so a slow query is cancelled by the server, not just abandoned.

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{Column, Postgres, Row, TypeInfo};

use super::kind::Kind;
use super::{Failure, StepContext, StepOutcome, sql_error};
use crate::runbook::Runbook;
use crate::runbook::model::{SqlCheck, SqlParam};

/// Rows read at most; enough for any `expect.rows` a runbook means.
const MAX_ROWS: usize = 10_000;

impl Kind for SqlCheck {
    fn describe(&self, _runbook: &Runbook) -> String {
        describe_sql(self)
    }

    /// Its database answers `select 1` (its own query might write).
    async fn probe(&self, ctx: &StepContext<'_>) -> Option<Result<String, Failure>> {
        let db = &self.database;
        let answered = async {
            let pool = ctx.databases.pool(db, std::time::Duration::from_secs(5)).await?;
            sqlx::query("select 1").execute(&pool).await.map_err(|e| sql_error(&e))
        };
        Some(match answered.await {
            Ok(_) => Ok(format!("database `{db}` answered `select 1`")),
            Err(reason) => Err(Failure::new(reason)),
        })
    }

    async fn execute(&self, ctx: &StepContext<'_>) -> StepOutcome {
        let started = std::time::Instant::now();
        let (pool, where_) = match ctx.databases.step_pool(&self.database, ctx.timeout).await {
            Ok(found) => found,
            Err(reason) => return ctx.fail(reason),
        };
        let rows = match run(self, ctx, &pool, started).await {
            Ok(rows) => rows,
            Err(e) => return ctx.fail(format!("{where_}: {}", sql_error(&e))),
        };
        match judge(self, &rows) {
            Ok(detail) => StepOutcome::Done {
                detail: Some(ctx.redactor.mask(&detail).into_owned()),
                output: None,
            },
            Err(reason) => ctx.fail(format!("{where_}: {reason}")),
        }
    }
}

/// A query and its expectations in one line, for plans.
pub(crate) fn describe_sql(q: &SqlCheck) -> String {
    let query: String = q.query.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut expect = Vec::new();
    if let Some(rows) = q.expect.rows {
        expect.push(format!("rows = {rows}"));
    }
    if let Some(v) = &q.expect.value {
        expect.push(format!("value = {v}"));
    }
    if let Some(e) = q.expect.empty {
        expect.push(if e { "empty".into() } else { "not empty".into() });
    }
    let expect = if expect.is_empty() {
        String::new()
    } else {
        format!(" → {}", expect.join(", "))
    };
    format!("database {}: {query}{expect}", q.database)
}

async fn run(
    check: &SqlCheck,
    ctx: &StepContext<'_>,
    pool: &sqlx::PgPool,
    started: std::time::Instant,
) -> Result<Vec<PgRow>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // What is left of 90% of the step's time once connected: the server's own "statement
    // timeout" message should arrive before the engine gives up on the attempt, however
    // long the connection took.
    let left = (ctx.timeout * 9 / 10).saturating_sub(started.elapsed());
    let ms = left.as_millis().clamp(1, i32::MAX as u128);
    sqlx::query(&format!("SET LOCAL statement_timeout = {ms}"))
        .execute(&mut *tx)
        .await?;
    let query = bind(sqlx::query(&check.query), &check.params, ctx.run_id);
    let mut rows = Vec::new();
    {
        use futures_util::TryStreamExt;
        let mut stream = query.fetch(&mut *tx);
        while let Some(row) = stream.try_next().await? {
            rows.push(row);
            if rows.len() >= MAX_ROWS {
                break;
            }
        }
    }
    tx.commit().await?;
    Ok(rows)
}

fn bind<'q>(
    mut query: Query<'q, Postgres, PgArguments>,
    params: &'q [SqlParam],
    run_id: &str,
) -> Query<'q, Postgres, PgArguments> {
    for p in params {
        query = match p {
            SqlParam::Text(t) => query.bind(t.render(run_id)),
            SqlParam::Value(serde_json::Value::Bool(b)) => query.bind(*b),
            SqlParam::Value(serde_json::Value::Number(n)) => match n.as_i64() {
                Some(i) => query.bind(i),
                None => query.bind(n.as_f64().unwrap_or(f64::NAN)),
            },
            SqlParam::Value(serde_json::Value::String(s)) => query.bind(s.clone()),
            SqlParam::Value(_) => query.bind(None::<String>),
        };
    }
    query
}

/// Checks the rows against `expect`; the detail says what was found.
fn judge(check: &SqlCheck, rows: &[PgRow]) -> Result<String, String> {
    let count = rows.len();
    let shown = if count >= MAX_ROWS {
        format!("{MAX_ROWS}+ rows")
    } else {
        plural(count)
    };
    if let Some(expected) = check.expect.rows
        && count as u64 != expected
    {
        return Err(format!("returned {shown}, expected {}", plural(expected as usize)));
    }
    if let Some(empty) = check.expect.empty
        && empty != (count == 0)
    {
        return Err(if empty {
            format!("returned {shown}, expected none")
        } else {
            "returned no rows, expected some".into()
        });
    }
    let Some(expected) = &check.expect.value else {
        return Ok(format!("returned {shown}"));
    };
    let Some(row) = rows.first() else {
        return Err(format!("returned no rows, expected a value {expected}"));
    };
    let actual = first_value(row)?;
    if values_equal(&actual, expected) {
        Ok(format!("value {actual}"))
    } else {
        Err(format!("returned {actual}, expected {expected}"))
    }
}

fn plural(n: usize) -> String {
    if n == 1 { "1 row".into() } else { format!("{n} rows") }
}

/// The first column of a row as JSON, for the types runbooks compare.
fn first_value(row: &PgRow) -> Result<serde_json::Value, String> {
    use serde_json::Value;
    let Some(column) = row.columns().first() else {
        return Err("the query returned no columns".into());
    };
    let ty = column.type_info().name().to_string();
    let value = match ty.as_str() {
        "BOOL" => row.try_get::<Option<bool>, _>(0).map(|v| v.map(Value::from)),
        "INT2" => row.try_get::<Option<i16>, _>(0).map(|v| v.map(Value::from)),
        "INT4" => row.try_get::<Option<i32>, _>(0).map(|v| v.map(Value::from)),
        "INT8" => row.try_get::<Option<i64>, _>(0).map(|v| v.map(Value::from)),
        "FLOAT4" => row.try_get::<Option<f32>, _>(0).map(|v| v.map(Value::from)),
        "FLOAT8" => row.try_get::<Option<f64>, _>(0).map(|v| v.map(Value::from)),
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" => row.try_get::<Option<String>, _>(0).map(|v| v.map(Value::from)),
        "JSON" | "JSONB" => row.try_get::<Option<Value>, _>(0),
        other => {
            return Err(format!(
                "cannot compare a value of type {other}; cast it in the query (e.g. `::text` or `::bigint`)"
            ));
        }
    };
    value.map(|v| v.unwrap_or(Value::Null)).map_err(|e| sql_error(&e))
}

/// Numbers compare by value (1 = 1.0); everything else exactly.
fn values_equal(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}
