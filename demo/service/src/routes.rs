//! The HTTP surface: `/health`, the service's data endpoint, and `/metrics`.
//!
//! Every answer is JSON. The data endpoint reads as the application role in a transaction
//! whose `app.current_user_id` is the caller's `X-User-Id`, the way the real services'
//! RLS middleware does; the transaction is rolled back because it only reads.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::fault::Fault;
use crate::metrics::Metrics;
use crate::service::Service;

/// The header carrying the caller's user id (a UUID).
pub const USER_HEADER: &str = "x-user-id";

/// The role the data endpoint reads as (created by each service's first migration).
const APP_ROLE: &str = "app_user";

/// What every handler shares.
pub struct App {
    /// Which service this is.
    pub service: Service,
    /// Release label, reported by /health.
    pub release: String,
    /// The service's database.
    pub pool: PgPool,
    /// When to start failing (the `--break` demo).
    pub fault: Fault,
    /// What Prometheus scrapes at `/metrics`.
    pub metrics: Metrics,
    /// The pre-RLS release: no tenant middleware, the query filters by the caller itself.
    pub pre_rls: bool,
}

/// `/health`, the service's data endpoint, and `/metrics` (every other answer counted).
pub fn router(app: Arc<App>) -> Router {
    let data_path = app.service.data_path();
    Router::new()
        .route("/health", get(health))
        .route(data_path, get(data))
        .route_layer(axum::middleware::from_fn_with_state(app.clone(), counted))
        .route("/metrics", get(metrics))
        .with_state(app)
}

/// Times and counts one request of the service's own routes.
async fn counted(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let route = request.uri().path().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let known = ["/health", app.service.data_path()];
    app.metrics
        .observe(&route, &known, response.status().as_u16(), started.elapsed());
    response
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let headers = [(
        axum::http::header::CONTENT_TYPE,
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
    )];
    (headers, app.metrics.render()).into_response()
}

async fn health(State(app): State<Arc<App>>) -> Response {
    if app.fault.tick() {
        return failing(&app);
    }
    let status = match sqlx::query_scalar::<_, i32>("select 1").fetch_one(&app.pool).await {
        Ok(_) => (StatusCode::OK, "ok"),
        Err(e) => {
            eprintln!("{}: health: database does not answer: {e}", app.service.name());
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    };
    answer(&app, status.0, json!({ "status": status.1 }))
}

async fn data(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if app.fault.tick() {
        return failing(&app);
    }
    let Some(user) = headers
        .get(USER_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_uuid(v))
    else {
        return answer(
            &app,
            StatusCode::BAD_REQUEST,
            json!({ "error": "missing or invalid X-User-Id header: expected the caller's user id as a UUID" }),
        );
    };
    match rows_for(&app, user).await {
        Ok(rows) => answer(&app, StatusCode::OK, json!({ "user_id": user, "rows": rows })),
        Err(e) => {
            eprintln!("{}: {}: query failed: {e}", app.service.name(), app.service.data_path());
            answer(
                &app,
                StatusCode::SERVICE_UNAVAILABLE,
                json!({ "error": "the database did not answer the query" }),
            )
        }
    }
}

/// The rows `user` may see, read as the application role: under RLS with the tenant set
/// (the middleware), or, in the pre-RLS release, filtered by the query and the tenant never
/// set, so forced RLS shows that release nothing.
async fn rows_for(app: &App, user: &str) -> Result<Value, sqlx::Error> {
    let mut tx = app.pool.begin().await?;
    sqlx::query(&format!("SET LOCAL ROLE {APP_ROLE}"))
        .execute(&mut *tx)
        .await?;
    if app.pre_rls {
        let rows: Value = sqlx::query_scalar(&app.service.pre_rls_query())
            .bind(user)
            .fetch_one(&mut *tx)
            .await?;
        tx.rollback().await?;
        return Ok(rows);
    }
    sqlx::query("select set_config('app.current_user_id', $1, true)")
        .bind(user)
        .execute(&mut *tx)
        .await?;
    let rows: Value = sqlx::query_scalar(app.service.data_query()).fetch_one(&mut *tx).await?;
    tx.rollback().await?;
    Ok(rows)
}

fn failing(app: &App) -> Response {
    answer(
        app,
        StatusCode::INTERNAL_SERVER_ERROR,
        json!({ "status": "failing", "error": "broken release (fault mode)" }),
    )
}

/// Every answer names the service and release, so a test or an operator sees which
/// process answered.
fn answer(app: &App, status: StatusCode, mut body: Value) -> Response {
    if let Value::Object(map) = &mut body {
        map.insert("service".into(), json!(app.service.name()));
        map.insert("release".into(), json!(app.release));
    }
    (status, Json(body)).into_response()
}

/// `8-4-4-4-12` hex digits: the form PostgreSQL's `uuid` accepts and the tenants use.
fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::is_uuid;

    #[test]
    fn uuids_are_recognised() {
        assert!(is_uuid("11111111-1111-1111-1111-111111111111"));
        assert!(is_uuid("0A1b2C3d-0000-4000-8000-00000000abcd"));
        assert!(!is_uuid("11111111111111111111111111111111"));
        assert!(!is_uuid("1111111-11111-1111-1111-111111111111"));
        assert!(!is_uuid("zzzzzzzz-1111-1111-1111-111111111111"));
        assert!(!is_uuid("' or 1=1 --"));
    }
}
