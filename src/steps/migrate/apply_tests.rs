//! Applying in Prisma style with one simple query per migration (file + bookkeeping), against
//! a real PostgreSQL: the edge cases of sending a file together with its bookkeeping.

use super::tests::{TestDb, detail, done, failure};
use crate::runbook::model::MigrationStyle;

/// A Prisma-layout folder with these (name, migration.sql) pairs.
fn folder(migrations: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, sql) in migrations {
        std::fs::create_dir(dir.path().join(name)).unwrap();
        std::fs::write(dir.path().join(name).join("migration.sql"), sql).unwrap();
    }
    dir
}

/// (migration_name, finished, applied_steps_count) of every row, in the order applied.
async fn rows(db: &TestDb) -> Vec<(String, bool, i32)> {
    sqlx::query_as(
        "SELECT migration_name, finished_at IS NOT NULL, applied_steps_count FROM _prisma_migrations ORDER BY started_at",
    )
    .fetch_all(&mut db.conn().await)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_file_that_must_run_alone_is_sent_alone() {
    let db = TestDb::create().await;
    let dir = folder(&[
        ("1_table", "CREATE TABLE t (id INT, v TEXT);"),
        ("2_index", "CREATE INDEX CONCURRENTLY t_v ON t (v);"),
        ("3_more", "ALTER TABLE t ADD COLUMN w INT;"),
    ]);
    let outcome = db.migrate(dir.path(), MigrationStyle::Prisma, false).await;
    assert_eq!(detail(outcome), done("applied 3 migrations: 1_table, 2_index, 3_more"));
    let expected: Vec<(String, bool, i32)> = ["1_table", "2_index", "3_more"]
        .iter()
        .map(|n| (n.to_string(), true, 1))
        .collect();
    assert_eq!(rows(&db).await, expected);
}

#[tokio::test]
async fn trailing_comments_odd_names_and_times_are_kept_right() {
    let db = TestDb::create().await;
    let dir = folder(&[
        ("1_it's \\odd", "CREATE TABLE a (id INT); -- no newline at the end"),
        ("2_block", "CREATE TABLE b (id INT) /* a block comment */"),
    ]);
    let outcome = db.migrate(dir.path(), MigrationStyle::Prisma, false).await;
    assert_eq!(detail(outcome), done("applied 2 migrations: 1_it's \\odd, 2_block"));
    assert_eq!(
        rows(&db).await,
        [("1_it's \\odd".to_string(), true, 1), ("2_block".to_string(), true, 1)]
    );
    let ordered: bool = sqlx::query_scalar(
        "SELECT bool_and(finished_at >= started_at) AND \
         (SELECT a.finished_at <= b.started_at FROM _prisma_migrations a, _prisma_migrations b \
          WHERE a.migration_name LIKE '1_%' AND b.migration_name = '2_block') FROM _prisma_migrations",
    )
    .fetch_one(&mut db.conn().await)
    .await
    .unwrap();
    assert!(
        ordered,
        "each row started before its file and finished after it, in order"
    );
    assert_eq!(
        db.migrate(dir.path(), MigrationStyle::Prisma, true).await,
        done("up to date (2 migrations)")
    );
}

#[tokio::test]
async fn a_failing_file_keeps_its_row_unfinished_and_the_next_unrecorded() {
    let db = TestDb::create().await;
    let dir = folder(&[
        ("1_ok", "CREATE TABLE a (id INT);"),
        ("2_bad", "CREATE TABLE b (id INT);\nSELECT 1/0;"),
        ("3_never", "CREATE TABLE c (id INT);"),
    ]);
    let reason = failure(db.migrate(dir.path(), MigrationStyle::Prisma, false).await);
    assert!(
        reason.starts_with("migration `2_bad` failed in database `app`: division by zero"),
        "{reason}"
    );
    assert_eq!(
        rows(&db).await,
        [("1_ok".to_string(), true, 1), ("2_bad".to_string(), false, 0)]
    );
    let b: bool = sqlx::query_scalar("SELECT to_regclass('public.b') IS NULL")
        .fetch_one(&mut db.conn().await)
        .await
        .unwrap();
    assert!(b, "the failed file left nothing");
}
