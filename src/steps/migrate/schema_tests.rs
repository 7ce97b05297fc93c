//! `?schema=NAME` on the database URL, both styles, against a real PostgreSQL: the
//! bookkeeping table and the migrated tables land in that schema, created when missing.

use super::tests::{TestDb, detail, done, failure, fixture};
use crate::redact::Redactor;
use crate::runbook::model::MigrationStyle;
use crate::steps::StepOutcome;

/// `schema.table` names of the ordinary tables outside the system schemas.
async fn tables(db: &TestDb) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
    )
    .fetch_all(&mut db.conn().await)
    .await
    .unwrap()
}

fn with_schema(db: &TestDb, schema: &str) -> String {
    let mut url = url::Url::parse(&db.url).unwrap();
    url.query_pairs_mut().append_pair("schema", schema);
    url.to_string()
}

#[tokio::test]
async fn prisma_style_keeps_everything_in_the_schema_of_the_url() {
    let db = TestDb::create().await;
    let url = with_schema(&db, "tenant_a");
    let (step, databases) = db.step_at(&url, &fixture("prisma"), MigrationStyle::Prisma);
    let outcome = db.run(&step, &databases).await;
    assert!(
        matches!(&outcome, StepOutcome::Done { detail: Some(d), .. } if d.starts_with("applied 3 migrations")),
        "{outcome:?}"
    );
    assert_eq!(
        tables(&db).await,
        ["tenant_a.Note", "tenant_a.Tenant", "tenant_a._prisma_migrations"]
    );
    let mut check = step.clone();
    check.check = true;
    assert_eq!(db.run(&check, &databases).await, done("up to date (3 migrations)"));
    // The same folder against `public` is another, empty history.
    let reason = failure(db.migrate(&fixture("prisma"), MigrationStyle::Prisma, true).await);
    assert!(reason.contains("pending: `20240101000000_init`"), "{reason}");
}

#[tokio::test]
async fn plain_style_and_an_existing_schema_that_needs_quoting() {
    let db = TestDb::create().await;
    let schema = "Billing \"v2\"";
    sqlx::raw_sql("CREATE SCHEMA \"Billing \"\"v2\"\"\"")
        .execute(&mut db.conn().await)
        .await
        .unwrap();
    let url = with_schema(&db, schema);
    let (step, databases) = db.step_at(&url, &fixture("plain"), MigrationStyle::Plain);
    let outcome = db.run(&step, &databases).await;
    assert_eq!(
        detail(outcome),
        done("applied 2 migrations: 0001_accounts, 0002_sessions")
    );
    let again = db.run(&step, &databases).await;
    assert_eq!(again, done("up to date (2 migrations)"));
    assert_eq!(
        tables(&db).await,
        [
            "Billing \"v2\".accounts",
            "Billing \"v2\".deployctl_migrations",
            "Billing \"v2\".sessions"
        ]
    );
}

#[tokio::test]
async fn the_schema_parameter_never_reaches_the_driver_and_the_password_stays_masked() {
    let db = TestDb::create().await;
    let mut url = url::Url::parse(&with_schema(&db, "app")).unwrap();
    url.set_port(Some(1)).unwrap();
    url.set_password(Some("canary-pw-4242")).unwrap();
    let (step, databases) = db.step_at(url.as_str(), &fixture("prisma"), MigrationStyle::Prisma);
    assert_eq!(databases.schema("app"), Some("app"));
    assert!(!databases.url("app").unwrap().contains("schema="));
    let mut redactor = Redactor::default();
    redactor.register_url_password(url.as_str());
    let http = reqwest::Client::new();
    let outcome = crate::steps::kind::Kind::execute(&step, &super::tests::context(&redactor, &http, &databases)).await;
    let reason = failure(outcome);
    assert!(
        reason.starts_with("cannot connect to database `app` (127.0.0.1:1/"),
        "{reason}"
    );
    assert!(!reason.contains("canary-pw-4242"), "{reason}");
}
