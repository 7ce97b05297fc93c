//! A Prisma-style `migrate` undone by its `down.sql` files, checked with the real Prisma CLI:
//! after deployctl's rollback `prisma migrate status` lists the migration as not yet applied,
//! and both `prisma migrate deploy` and deployctl's own `migrate` re-apply it cleanly.
//! One database per test; Prisma is `../shared/tools/prisma-peer` (see `peer.rs`).

use std::path::Path;

use crate::db::TestDb;
use crate::harness::{Outcome, Workspace};
use crate::migrations::{Bytes, Mode, copy, deployctl_migrate, names, service};
use crate::peer::peer;

/// The RLS migration every service set ends with, the one the seed deployment applies.
const RLS: &str = "20260210220000_enable_rls";

/// A database at the release before RLS: every migration but the last applied by Prisma.
fn before_rls(svc: &str, tmp: &Path) -> TestDb {
    let all = service(svc);
    let earlier = copy(&all, tmp, "earlier", Some(names(&all).len() - 1), Bytes::Same);
    let db = TestDb::create();
    let deploy = peer().stock().deploy(&db.url, &earlier);
    assert_eq!(deploy.code, 0, "{svc}: {deploy}");
    db
}

/// Applies the service's set with deployctl, then fails the run so it rolls back.
fn migrate_then_roll_back(db: &TestDb, svc: &str) -> (Workspace, Outcome) {
    let ws = Workspace::new(&format!(
        r#"deployctl: 1
name: undo
databases:
  app: {{ url: "{}" }}
phases:
  - id: db
    steps:
      - {{ id: migrate, migrate: {{ database: app, dir: "{}", style: prisma }} }}
      - {{ id: bad, shell: "exit 1", on_failure: rollback }}
"#,
        db.url,
        service(svc).display()
    ));
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    (ws, out)
}

/// RLS is on for `table` (relrowsecurity).
fn rls_on(db: &TestDb, table: &str) -> bool {
    db.scalar(&format!(
        "SELECT relrowsecurity::text FROM pg_class WHERE relname = '{table}'"
    ))
    .as_deref()
        == Some("true")
}

#[test]
fn after_the_undo_prisma_sees_the_migration_pending_and_re_applies_it() {
    for (svc, table) in [
        ("community", "posts"),
        ("marketplace", "listings"),
        ("academy", "enrollments"),
    ] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let db = before_rls(svc, tmp.path());
        let (ws, out) = migrate_then_roll_back(&db, svc);
        assert_eq!(out.code, 4, "{svc}: {}\n{}", out.stdout, out.stderr);
        assert!(!rls_on(&db, table), "{svc}: the down file ran");
        let finished = ws.events("undo", "step_finished");
        let undo = finished
            .iter()
            .find(|f| f["step"] == "migrate.undo")
            .expect("undo journaled");
        assert_eq!(undo["status"], "done", "{undo}");
        let kept: serde_json::Value = serde_json::from_str(undo["output"].as_str().expect("output")).expect("json");
        assert_eq!(
            kept["reverted"][0]["migration"], RLS,
            "the journal keeps the deleted row"
        );
        assert_eq!(kept["reverted"][0]["id"].as_str().map(str::len), Some(36), "{kept}");

        let status = peer().stock().status(&db.url, &service(svc));
        assert!(!status.up_to_date(), "{svc}: {status}");
        assert!(
            status.stdout.contains("have not yet been applied") && status.stdout.contains(RLS),
            "{svc}: {status}"
        );
        let deploy = peer().stock().deploy(&db.url, &service(svc));
        assert_eq!(deploy.code, 0, "{svc}: {deploy}");
        assert!(deploy.stdout.contains(RLS), "Prisma re-applies it: {deploy}");
        assert!(rls_on(&db, table), "{svc}");
        assert!(peer().stock().status(&db.url, &service(svc)).up_to_date());
        let check = deployctl_migrate(&db.url, &service(svc), Mode::Check);
        assert_eq!(check.code, 0, "{svc}: {}\n{}", check.stdout, check.stderr);
    }
}

#[test]
fn after_the_undo_deployctl_re_applies_it_and_prisma_agrees() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = before_rls("community", tmp.path());
    let (_ws, out) = migrate_then_roll_back(&db, "community");
    assert_eq!(out.code, 4, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        db.scalar("SELECT count(*)::text FROM _prisma_migrations WHERE migration_name = '20260210220000_enable_rls'")
            .as_deref(),
        Some("0"),
        "deleted, not marked rolled back"
    );
    let again = deployctl_migrate(&db.url, &service("community"), Mode::Apply);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert!(again.stdout.contains("applied 1 migration"), "{}", again.stdout);
    assert!(rls_on(&db, "posts"));
    let status = peer().stock().status(&db.url, &service("community"));
    assert!(status.up_to_date(), "{status}");
}
