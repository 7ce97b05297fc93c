//! `?schema=NAME` with both tools: deployctl and Prisma (honouring the schema as its native
//! engine does, see `peer.rs`) keep `_prisma_migrations` and the tables in that schema, and
//! each reads the other's history as up to date.

use crate::db::TestDb;
use crate::migrations::{Mode, deployctl_migrate, service};
use crate::peer::peer;
use crate::prisma_peer::table_shape;

fn with_schema(db: &TestDb, schema: &str) -> String {
    format!("{}?schema={schema}", db.url)
}

/// `schema.table` of every ordinary table outside the system schemas.
fn tables(db: &TestDb) -> String {
    db.scalar(
        "SELECT string_agg(n.nspname || '.' || c.relname, ',' ORDER BY n.nspname, c.relname) FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
    )
    .unwrap_or_default()
}

#[test]
fn deployctl_in_a_schema_is_up_to_date_for_prisma_in_that_schema() {
    let db = TestDb::create();
    let url = with_schema(&db, "community");
    let out = deployctl_migrate(&url, &service("community"), Mode::Apply);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(tables(&db), "community._prisma_migrations,community.posts");
    let status = peer().schema_aware().status(&url, &service("community"));
    assert!(status.up_to_date(), "{status}");
    // In `public` there is no history: Prisma and deployctl both see everything pending.
    let public = peer().stock().status(&db.url, &service("community"));
    assert_eq!(public.code, 1, "{public}");
    assert_eq!(deployctl_migrate(&db.url, &service("community"), Mode::Check).code, 1);
}

#[test]
fn prisma_in_a_schema_passes_deployctls_check_in_that_schema() {
    let db = TestDb::create();
    let url = with_schema(&db, "market");
    let deploy = peer().schema_aware().deploy(&url, &service("marketplace"));
    assert_eq!(deploy.code, 0, "{deploy}");
    assert_eq!(
        tables(&db),
        "market._prisma_migrations,market.business_accounts,market.listings"
    );
    let check = deployctl_migrate(&url, &service("marketplace"), Mode::Check);
    assert_eq!(check.code, 0, "{}\n{}", check.stdout, check.stderr);

    let by_deployctl = TestDb::create();
    let url = with_schema(&by_deployctl, "market");
    assert_eq!(deployctl_migrate(&url, &service("marketplace"), Mode::Apply).code, 0);
    assert_eq!(table_shape(&by_deployctl, "market"), table_shape(&db, "market"));
}
