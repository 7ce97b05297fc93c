//! [`super::undo_plain`] against a real PostgreSQL, one database per test.

use std::path::Path;

use super::tests::{TestDb, context, copy_fixture, failure};
use super::{PlainUndo, applied_migrations, undo_plain};
use crate::redact::Redactor;
use crate::runbook::model::MigrationStyle;
use crate::steps::StepOutcome;

const BOTH: [&str; 2] = ["0001_accounts", "0002_sessions"];

/// Migrates `dir` (plain style) and returns what the step recorded as applied.
async fn migrate(db: &TestDb, dir: &Path) -> Vec<String> {
    match db.migrate(dir, MigrationStyle::Plain, false).await {
        StepOutcome::Done {
            output: Some(output), ..
        } => applied_migrations(&output).expect("applied record"),
        other => panic!("{other:?}"),
    }
}

async fn undo(db: &TestDb, dir: &Path, style: MigrationStyle, applied: &[String]) -> (PlainUndo, StepOutcome) {
    let (step, databases) = db.step(dir, style);
    let (redactor, http) = (Redactor::default(), reqwest::Client::new());
    let ctx = context(&redactor, &http, &databases);
    let undo = undo_plain(&step, applied, &ctx).await;
    (undo.clone(), undo.into_outcome(&ctx))
}

async fn exists(db: &TestDb, table: &str) -> bool {
    sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(table)
        .fetch_one(&mut db.conn().await)
        .await
        .unwrap()
}

async fn rows(db: &TestDb) -> Vec<String> {
    sqlx::query_scalar("SELECT name FROM deployctl_migrations ORDER BY name")
        .fetch_all(&mut db.conn().await)
        .await
        .unwrap()
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|n| n.to_string()).collect()
}

#[tokio::test]
async fn reverts_newest_first_and_a_second_undo_changes_nothing() {
    let db = TestDb::create().await;
    let dir = copy_fixture("plain");
    std::fs::write(dir.path().join("0002_sessions.down.sql"), "DROP TABLE sessions;\n").unwrap();
    let applied = migrate(&db, dir.path()).await;
    assert_eq!(applied, names(&BOTH));

    let (report, outcome) = undo(&db, dir.path(), MigrationStyle::Plain, &applied).await;
    assert_eq!(report.reverted, names(&["0002_sessions", "0001_accounts"]));
    assert!(report.is_complete() && report.without_down.is_empty());
    let StepOutcome::Done { detail, output } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        detail.as_deref(),
        Some("reverted 2 migrations: 0002_sessions, 0001_accounts")
    );
    let output: serde_json::Value = serde_json::from_str(&output.expect("rows kept")).unwrap();
    assert_eq!(
        output["reverted"][1]["migration"], "0001_accounts",
        "the journal keeps the rows"
    );
    assert!(!exists(&db, "public.accounts").await && !exists(&db, "public.sessions").await);
    assert!(rows(&db).await.is_empty());

    let (again, _) = undo(&db, dir.path(), MigrationStyle::Plain, &applied).await;
    assert_eq!(again.already_reverted, names(&["0002_sessions", "0001_accounts"]));
    assert!(again.reverted.is_empty() && again.is_complete());
}

#[tokio::test]
async fn stops_at_the_newest_migration_without_a_down_file() {
    let db = TestDb::create().await;
    let dir = copy_fixture("plain");
    let applied = migrate(&db, dir.path()).await;

    let (report, outcome) = undo(&db, dir.path(), MigrationStyle::Plain, &applied).await;
    assert_eq!(report.without_down, names(&["0002_sessions"]));
    assert_eq!(report.kept, names(&["0002_sessions", "0001_accounts"]));
    assert!(report.reverted.is_empty() && report.failed.is_none() && !report.is_complete());
    let reason = failure(outcome);
    assert!(
        reason.starts_with(
            "migration `0002_sessions` has no down file (`0002_sessions.down.sql`); still applied: `0002_sessions`, `0001_accounts`; reverted nothing"
        ),
        "{reason}"
    );
    assert!(
        reason.contains("\nhint: revert the migrations still applied by hand"),
        "{reason}"
    );
    assert!(exists(&db, "public.accounts").await && exists(&db, "public.sessions").await);
    assert_eq!(rows(&db).await, names(&BOTH));
}

#[tokio::test]
async fn a_failing_down_file_changes_nothing_of_its_migration() {
    let db = TestDb::create().await;
    let dir = copy_fixture("plain");
    std::fs::write(
        dir.path().join("0002_sessions.down.sql"),
        "DROP TABLE sessions;\nSELECT 1/0;\n",
    )
    .unwrap();
    let applied = migrate(&db, dir.path()).await;

    let (report, outcome) = undo(&db, dir.path(), MigrationStyle::Plain, &applied).await;
    assert_eq!(
        report.failed.as_deref(),
        Some("down migration `0002_sessions.down.sql` failed: division by zero (SQLSTATE 22012)")
    );
    assert_eq!(report.kept, names(&["0002_sessions", "0001_accounts"]));
    assert!(failure(outcome).contains("still applied: `0002_sessions`, `0001_accounts`"));
    assert!(
        exists(&db, "public.sessions").await,
        "the down file ran in one transaction"
    );
    assert_eq!(rows(&db).await, names(&BOTH), "its row is kept with it");
}

#[tokio::test]
async fn refuses_names_that_are_not_file_stems() {
    let db = TestDb::create().await;
    let dir = copy_fixture("plain");
    let (escape, _) = undo(&db, dir.path(), MigrationStyle::Plain, &names(&["../../etc/passwd"])).await;
    assert!(
        escape
            .failed
            .as_deref()
            .is_some_and(|f| f.starts_with("`../../etc/passwd` is not a migration name")),
        "{escape:?}"
    );
    assert_eq!(escape.kept, names(&["../../etc/passwd"]));
    let (prisma, _) = undo(&db, dir.path(), MigrationStyle::Prisma, &names(&["a/b"])).await;
    assert!(
        prisma
            .failed
            .as_deref()
            .is_some_and(|f| f.contains("is not a migration name"))
    );
    let (nothing, _) = undo(&db, dir.path(), MigrationStyle::Plain, &[]).await;
    assert_eq!(nothing, PlainUndo::default());
    assert_eq!(applied_migrations("not json"), None);
    assert_eq!(applied_migrations(r#"{"applied":[1]}"#), None);
}

/// Prisma style: `<name>/down.sql` runs newest first with the deletion of the migration's
/// finished `_prisma_migrations` row (not `rolled_back_at`), whose id, checksum and applied
/// time go to the undo's output; a second undo changes nothing.
#[tokio::test]
async fn prisma_down_files_delete_their_rows_and_the_output_keeps_them() {
    let db = TestDb::create().await;
    let dir = copy_fixture("prisma");
    let rls = "20240103000000_rls";
    let notes = "20240102000000_notes";
    std::fs::write(
        dir.path().join(rls).join("down.sql"),
        "DROP POLICY tenant_isolation ON \"Note\";\nALTER TABLE \"Note\" NO FORCE ROW LEVEL SECURITY;\nALTER TABLE \"Note\" DISABLE ROW LEVEL SECURITY;\n",
    )
    .unwrap();
    std::fs::write(dir.path().join(notes).join("down.sql"), "DROP TABLE \"Note\";\n").unwrap();
    let applied = match db.migrate(dir.path(), MigrationStyle::Prisma, false).await {
        StepOutcome::Done {
            output: Some(output), ..
        } => applied_migrations(&output).unwrap(),
        other => panic!("{other:?}"),
    };
    let (id, checksum): (String, String) =
        sqlx::query_as("SELECT id, checksum FROM _prisma_migrations WHERE migration_name = $1")
            .bind(rls)
            .fetch_one(&mut db.conn().await)
            .await
            .unwrap();

    let (report, outcome) = undo(&db, dir.path(), MigrationStyle::Prisma, &applied[1..]).await;
    assert_eq!(report.reverted, names(&[rls, notes]));
    assert!(report.is_complete());
    let StepOutcome::Done {
        output: Some(output), ..
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    let output: serde_json::Value = serde_json::from_str(&output).unwrap();
    assert_eq!(output["reverted"][0]["migration"], rls);
    assert_eq!(output["reverted"][0]["id"], id.as_str());
    assert_eq!(output["reverted"][0]["checksum"], checksum.as_str());
    assert!(
        output["reverted"][0]["applied_at"]
            .as_str()
            .is_some_and(|t| t.starts_with("20"))
    );
    assert!(!exists(&db, "public.\"Note\"").await && exists(&db, "public.\"Tenant\"").await);
    let left: Vec<String> = sqlx::query_scalar("SELECT migration_name FROM _prisma_migrations")
        .fetch_all(&mut db.conn().await)
        .await
        .unwrap();
    assert_eq!(left, names(&["20240101000000_init"]), "deleted, not marked rolled back");

    let (again, _) = undo(&db, dir.path(), MigrationStyle::Prisma, &applied[1..]).await;
    assert_eq!(again.already_reverted, names(&[rls, notes]));
    assert!(again.reverted.is_empty() && again.is_complete());
}

#[tokio::test]
async fn a_prisma_migration_without_down_sql_stops_the_undo_naming_its_file() {
    let db = TestDb::create().await;
    let dir = copy_fixture("prisma");
    let applied = match db.migrate(dir.path(), MigrationStyle::Prisma, false).await {
        StepOutcome::Done {
            output: Some(output), ..
        } => applied_migrations(&output).unwrap(),
        other => panic!("{other:?}"),
    };
    let (report, outcome) = undo(&db, dir.path(), MigrationStyle::Prisma, &applied).await;
    assert!(report.reverted.is_empty() && !report.is_complete());
    let reason = failure(outcome);
    assert!(
        reason.starts_with("migration `20240103000000_rls` has no down file (`20240103000000_rls/down.sql`)"),
        "{reason}"
    );
    assert!(
        reason.contains("delete their rows from `_prisma_migrations`"),
        "{reason}"
    );
}
