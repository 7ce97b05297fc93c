//! Tests against a real PostgreSQL (`DEPLOYCTL_TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`): each test creates its own database and
//! its own app role, and drops both when done, even when it panics.

use std::path::Path;
use std::time::Duration;

use crate::redact::Redactor;
use crate::runbook::model::{Rls, StepKind};
use crate::runbook::{LoadOptions, load};
use crate::steps::kind::Kind;
use crate::steps::scratch::ScratchDb;
use crate::steps::{Databases, StepContext, StepOutcome};

const TENANT_A: &str = "11111111-1111-1111-1111-111111111111";
const TENANT_B: &str = "22222222-2222-2222-2222-222222222222";

/// A scratch database and app role, both dropped on drop.
struct TestDb {
    db: ScratchDb,
    role: String,
}

impl std::ops::Deref for TestDb {
    type Target = ScratchDb;
    fn deref(&self) -> &ScratchDb {
        &self.db
    }
}

impl TestDb {
    /// A database and role with the fixtures applied in order.
    async fn with(fixtures: &[&str]) -> Self {
        let mut db = ScratchDb::create("deployctl_rls").await;
        let role = db.create_role("app_user", "NOLOGIN").await;
        let mut conn = db.conn().await;
        for fixture in fixtures {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/rls")
                .join(fixture);
            let sql = std::fs::read_to_string(path).unwrap().replace("__ROLE__", &role);
            sqlx::raw_sql(&sql).execute(&mut conn).await.unwrap();
        }
        TestDb { db, role }
    }

    /// An rls step over `posts` and `listings`, loaded from a real runbook.
    fn step(&self) -> (Rls, Databases) {
        let yaml = format!(
            "deployctl: 1\nname: rls-test\ndatabases:\n  app: {{ url: \"{}\" }}\nphases:\n  - id: validate\n    steps:\n      - id: rls\n        rls: {{ database: app, role: {}, setting: app.current_user_id, tenants: [\"{TENANT_A}\", \"{TENANT_B}\"], tables: [{{ name: posts, tenant_column: author_id }}, {{ name: public.listings, tenant_column: seller_id }}] }}\n",
            self.url, self.role
        );
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), yaml).unwrap();
        let loaded = load(file.path(), &LoadOptions::default()).expect("test runbook loads");
        let StepKind::Rls(step) = loaded.runbook.phases[0].steps[0].kind.clone() else {
            panic!("not an rls step")
        };
        (step, Databases::new(&loaded.runbook, "run-1"))
    }

    async fn run(&self, step: &Rls) -> StepOutcome {
        let (_, databases) = self.step();
        let redactor = Redactor::default();
        let http = reqwest::Client::new();
        let ctx = StepContext {
            run_id: "run-1",
            runbook: "rls-test",
            step_id: "rls",
            redactor: &redactor,
            http: &http,
            databases: &databases,
            timeout: Duration::from_secs(60),

            clock: crate::clock::Clock::system(),
            live: None,
        };
        step.execute(&ctx).await
    }

    /// Runs the standard step once.
    async fn check(&self) -> StepOutcome {
        let (step, _) = self.step();
        self.run(&step).await
    }

    /// Every row of both tables, as text, to prove the step changed nothing.
    async fn contents(&self) -> Vec<String> {
        let mut conn = self.conn().await;
        sqlx::query_scalar(
            "SELECT 'posts ' || p::text FROM posts p
             UNION ALL SELECT 'listings ' || l::text FROM listings l ORDER BY 1",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap()
    }
}

fn failure(outcome: StepOutcome) -> String {
    match outcome {
        StepOutcome::Failed { reason, hint, .. } => crate::steps::Failure { reason, hint }.text(),
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// Whether a failure reason names a failed assertion (not a note) about `table`.
fn blames(reason: &str, table: &str) -> bool {
    reason
        .split("; ")
        .filter(|part| !part.contains("counted as no rows visible") && !part.contains("not checked"))
        .any(|part| part.starts_with(&format!("{table}:")))
}

/// Runs the step and checks that the tables are unchanged afterwards.
async fn check_unchanged(db: &TestDb) -> StepOutcome {
    let before = db.contents().await;
    assert_eq!(before.len(), 7, "fixture seeds 5 posts and 2 listings");
    let outcome = db.check().await;
    assert_eq!(db.contents().await, before, "the step must leave the tables unchanged");
    outcome
}

#[tokio::test]
async fn good_setup_passes_and_changes_nothing() {
    let db = TestDb::with(&["good.sql"]).await;
    let outcome = check_unchanged(&db).await;
    let StepOutcome::Done {
        detail: Some(detail), ..
    } = outcome
    else {
        panic!("expected success, got {outcome:?}")
    };
    assert!(
        detail.starts_with("2 tables × 2 tenants: 36 assertions hold"),
        "{detail}"
    );
    assert!(
        detail.contains("posts: with `app.current_user_id` empty the policy raises 22P02"),
        "{detail}"
    );
}

#[tokio::test]
async fn owner_without_force_is_caught() {
    let db = TestDb::with(&["good.sql", "not_forced.sql"]).await;
    let reason = failure(check_unchanged(&db).await);
    assert!(reason.contains("posts: RLS enabled but not forced"), "{reason}");
    assert!(
        reason.contains("posts: tenant 1111… sees 3 rows of tenant 2222…"),
        "{reason}"
    );
    assert!(
        reason.contains("posts: tenant 2222… sees 2 rows of tenant 1111…"),
        "{reason}"
    );
    assert!(
        reason.contains("posts: tenant 1111… updated 3 rows of tenant 2222…"),
        "{reason}"
    );
    assert!(
        reason.contains("posts: tenant 1111… inserted a row for tenant 2222…"),
        "{reason}"
    );
    assert!(!blames(&reason, "public.listings"), "{reason}");
}

#[tokio::test]
async fn using_true_policy_is_caught() {
    let db = TestDb::with(&["good.sql", "using_true.sql"]).await;
    let reason = failure(check_unchanged(&db).await);
    assert!(
        reason.contains("public.listings: tenant 1111… sees 1 rows of tenant 2222…"),
        "{reason}"
    );
    assert!(
        reason.contains("public.listings: tenant 2222… deleted 1 rows of tenant 1111…"),
        "{reason}"
    );
    assert!(
        reason.contains("public.listings: tenant 2222… inserted a row for tenant 1111…"),
        "{reason}"
    );
    assert!(
        reason.contains("public.listings: with `app.current_user_id` empty, 2 rows are visible"),
        "{reason}"
    );
    assert!(!blames(&reason, "posts"), "{reason}");
}

#[tokio::test]
async fn table_without_policy_is_caught() {
    let db = TestDb::with(&["good.sql", "no_policy.sql"]).await;
    let reason = failure(check_unchanged(&db).await);
    assert!(
        reason.contains("public.listings: no policy for SELECT, INSERT, UPDATE, DELETE"),
        "{reason}"
    );
    assert!(
        reason.contains("public.listings: tenant 1111… sees 0 of its 1 rows"),
        "{reason}"
    );
    assert!(!blames(&reason, "posts"), "{reason}");
}

#[tokio::test]
async fn role_with_bypassrls_is_caught() {
    let db = TestDb::with(&["good.sql", "bypassrls.sql"]).await;
    let reason = failure(check_unchanged(&db).await);
    assert!(
        reason.contains(&format!("role `{}` has BYPASSRLS", db.role)),
        "{reason}"
    );
    assert!(
        reason.contains("posts: tenant 2222… sees 2 rows of tenant 1111…"),
        "{reason}"
    );
}

#[tokio::test]
async fn missing_role_and_table_are_named() {
    let db = TestDb::with(&["good.sql"]).await;
    let (mut step, _) = db.step();
    step.role = format!("{}_missing", db.role);
    step.tables[0].name = "nope.posts".into();
    let reason = failure(db.run(&step).await);
    assert!(
        reason.contains(&format!("role `{}_missing` does not exist", db.role)),
        "{reason}"
    );
    assert!(reason.contains("nope.posts: table not found"), "{reason}");
}

#[tokio::test]
async fn an_insert_stopped_only_by_not_null_is_a_leak() {
    let db = TestDb::with(&["good.sql", "using_true.sql"]).await;
    let mut conn = db.conn().await;
    // RLS WITH CHECK runs before NOT NULL, so only a permissive policy reaches 23502.
    sqlx::raw_sql("ALTER TABLE listings ALTER COLUMN price DROP DEFAULT")
        .execute(&mut conn)
        .await
        .unwrap();
    let reason = failure(check_unchanged(&db).await);
    assert!(
        reason.contains("passed the RLS check (it failed later, on NOT NULL)"),
        "{reason}"
    );
    assert!(!reason.contains("inserted a row"), "{reason}");
}

#[tokio::test]
async fn a_policy_open_while_the_setting_was_never_set_is_caught() {
    let db = TestDb::with(&["good.sql", "open_when_unset.sql"]).await;
    let reason = failure(check_unchanged(&db).await);
    assert!(
        reason.contains("posts: in a new session, with `app.current_user_id` never set, 5 rows are visible"),
        "{reason}"
    );
    // Set to '' it isolates (the uuid cast fails): only the new session shows the leak.
    assert!(!reason.contains("posts: with `app.current_user_id` empty,"), "{reason}");
    assert!(!blames(&reason, "public.listings"), "{reason}");
}

#[tokio::test]
async fn the_new_session_probe_sees_the_setting_a_login_starts_with() {
    let db = TestDb::with(&["good.sql", "open_when_unset.sql"]).await;
    let mut conn = db.conn().await;
    // A default for the database: new sessions start with it, so none is "never set".
    sqlx::raw_sql(&format!(
        "ALTER DATABASE {} SET app.current_user_id = '{TENANT_A}'",
        db.name
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let reason = failure(db.check().await);
    assert!(
        reason.contains(&format!(
            "posts: in a new session, with `app.current_user_id` `{TENANT_A}` (the login's default), 2 rows are visible"
        )),
        "{reason}"
    );
}

#[tokio::test]
async fn permissive_update_and_delete_policies_are_exercised() {
    let db = TestDb::with(&["good.sql", "open_writes.sql"]).await;
    let reason = failure(check_unchanged(&db).await);
    for expected in [
        "posts: tenant 1111… updated 3 rows of tenant 2222…",
        "posts: tenant 2222… updated 2 rows of tenant 1111…",
        "public.listings: tenant 1111… deleted 1 rows of tenant 2222…",
        "public.listings: tenant 2222… deleted 1 rows of tenant 1111…",
    ] {
        assert!(reason.contains(expected), "{expected}\n{reason}");
    }
    assert!(!reason.contains("posts: tenant 1111… deleted"), "{reason}");
    assert!(!reason.contains("public.listings: tenant 1111… updated"), "{reason}");
    // Reading stays isolated: only the writes leak.
    assert!(!reason.contains(" sees "), "{reason}");
}

#[tokio::test]
async fn rows_of_no_listed_tenant_touched_by_a_write_are_named() {
    let db = TestDb::with(&["good.sql", "open_writes.sql"]).await;
    let mut conn = db.conn().await;
    sqlx::raw_sql("INSERT INTO listings (seller_id, price) VALUES ('33333333-3333-3333-3333-333333333333', 30)")
        .execute(&mut conn)
        .await
        .unwrap();
    let reason = failure(db.check().await);
    assert!(
        reason.contains("public.listings: tenant 1111… deleted 1 rows of no listed tenant"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_tenant_without_rows_is_not_proven_unless_allowed() {
    let db = TestDb::with(&["good.sql", "tenant_without_listings.sql"]).await;
    let before = db.contents().await;
    let reason = failure(db.check().await);
    assert_eq!(db.contents().await, before, "the step must leave the tables unchanged");
    assert!(
        reason.contains("public.listings: tenant 2222… has no rows, so no probe can show that other tenants cannot read or change them: not proven"),
        "{reason}"
    );
    assert!(
        reason.ends_with("\nhint: give every listed tenant at least one row in every listed table (a seed or canary row), or add `allow_empty: true` to the table entry to accept an unproven table"),
        "{reason}"
    );
    assert!(!blames(&reason, "posts"), "{reason}");

    let (mut step, _) = db.step();
    step.tables[1].allow_empty = true;
    let StepOutcome::Done {
        detail: Some(detail), ..
    } = db.run(&step).await
    else {
        panic!("allow_empty accepts the unproven table")
    };
    assert!(
        detail.contains("public.listings: tenant 2222… has no rows, so its isolation is not proven (allow_empty)"),
        "{detail}"
    );
}
