//! The demo service as the seed deployment needs it: RLS decides what each caller sees,
//! `/health` tells the truth about the database, and the broken release turns bad.

use serde_json::Value;

use crate::db::TestDb;
use crate::demo_stack::{
    DemoStack, ENDPOINTS, SERVICES, ServiceProcess, TENANT_A, TENANT_B, TENANT_C, free_port, get, owners,
};
use crate::harness::eventually;

#[test]
fn every_data_endpoint_returns_only_the_callers_rows_once_rls_is_enabled() {
    let stack = DemoStack::create();
    stack.prepare_databases();
    // v2, the release with the tenant middleware (v1 is the pre-RLS release).
    stack.start_release("v2");

    // Before the RLS migration the application role sees every user's rows: the leak
    // TECH-DEBT-001.1 closes. This proves the isolation below comes from the database.
    for (service, path, column) in ENDPOINTS {
        let seen = owners(stack.port(service), path, column, TENANT_A);
        assert!(
            seen.iter().any(|o| o == TENANT_B) && seen.iter().any(|o| o == TENANT_C),
            "{service}{path} before RLS shows every tenant: {seen:?}"
        );
    }

    stack.enable_rls();
    for (service, path, column) in ENDPOINTS {
        for user in [TENANT_A, TENANT_B, TENANT_C] {
            let seen = owners(stack.port(service), path, column, user);
            assert!(!seen.is_empty(), "{service}{path}: {user} owns rows but sees none");
            assert!(
                seen.iter().all(|o| o == user),
                "{service}{path} as {user} shows other users' rows: {seen:?}"
            );
        }
        let stranger = "44444444-4444-4444-4444-444444444444";
        assert_eq!(
            owners(stack.port(service), path, column, stranger),
            Vec::<String>::new(),
            "{service}{path}: a user without rows sees nothing"
        );
    }
    assert_eq!(SERVICES.len(), ENDPOINTS.len());
}

/// The pre-RLS release v1 filters by the caller in its own query and never sets the tenant:
/// before RLS each user sees their rows; under forced RLS it reads nothing while /health
/// still answers 200 (the reason a rollback must revert the schema with the code).
#[test]
fn the_pre_rls_release_serves_each_user_before_rls_and_nothing_under_forced_rls() {
    let stack = DemoStack::create();
    stack.prepare_databases();
    stack.start_release("v1");
    for (service, path, column) in ENDPOINTS {
        let seen = owners(stack.port(service), path, column, TENANT_A);
        assert!(
            !seen.is_empty() && seen.iter().all(|o| o == TENANT_A),
            "{service}{path}: {seen:?}"
        );
    }
    stack.enable_rls();
    for (service, path, column) in ENDPOINTS {
        assert_eq!(
            owners(stack.port(service), path, column, TENANT_A),
            Vec::<String>::new(),
            "{service}{path} under forced RLS without the middleware"
        );
        let (status, _) = get(stack.port(service), "/health", None).expect("health answers");
        assert_eq!(status, 200, "{service}");
    }
}

#[test]
fn without_a_database_health_is_503_and_a_missing_or_bad_user_id_is_400() {
    // Nothing listens on this port: the database is unreachable.
    let unreachable = format!("postgres://postgres@127.0.0.1:{}/nowhere", free_port());
    let service = ServiceProcess::start("community", &unreachable, &[]);

    let (status, body) = get(service.port, "/health", None).expect("health answers");
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["service"], "community");
    assert_eq!(body["release"], "t1");
    assert_eq!(body["status"], "database unavailable");

    for user in [None, Some("not-a-uuid"), Some("11111111-1111-1111-1111-11111111111Z")] {
        let (status, body) = get(service.port, "/posts", user).expect("posts answers");
        assert_eq!(status, 400, "user {user:?}: {body}");
        assert!(
            body["error"].as_str().is_some_and(|e| e.contains("X-User-Id")),
            "{body}"
        );
    }
}

#[test]
fn a_broken_release_answers_500_once_its_request_budget_is_spent() {
    let db = TestDb::create();
    let service = ServiceProcess::start("academy", &db.url, &["--fail-after-requests", "2"]);
    let status = |path: &str| get(service.port, path, Some(TENANT_A)).expect("answers").0;
    assert_eq!(status("/health"), 200);
    assert_eq!(status("/health"), 200);
    assert_eq!(status("/health"), 500);
    let (code, body) = get(service.port, "/enrollments", Some(TENANT_A)).expect("answers");
    assert_eq!((code, body["status"].clone()), (500, Value::from("failing")), "{body}");
}

#[test]
fn a_broken_release_answers_500_after_its_delay() {
    let db = TestDb::create();
    let service = ServiceProcess::start("business", &db.url, &["--fail-after", "300ms"]);
    assert!(
        eventually(30, || get(service.port, "/health", None).is_some_and(|(s, _)| s == 500)),
        "/health never turned to 500"
    );
    let (code, body) = get(service.port, "/accounts", Some(TENANT_B)).expect("answers");
    assert_eq!(code, 500, "{body}");
    assert_eq!(body["error"], "broken release (fault mode)");
}
