//! The seed deployment's database part, per service, with the real binary: `migrate` the
//! service's own Prisma set into a fresh database, seed rows of two tenants, then `rls` over
//! the service's tables. One database per test.
//!
//! The role `app_user` is cluster-wide: the services' first migration creates it when absent
//! (tolerating a concurrent creation), tests running in parallel share it, and none alters or
//! drops it (its grants go with each test's database).

use crate::db::TestDb;
use crate::harness::Workspace;
use crate::migrations::service;

const TENANT_A: &str = "11111111-1111-1111-1111-111111111111";
const TENANT_B: &str = "22222222-2222-2222-2222-222222222222";

/// One tenant table of a service: its name, tenant column, and the other NOT NULL column a
/// seeded row needs.
struct Table {
    name: &'static str,
    tenant_column: &'static str,
    required: &'static str,
}

/// Migrate, seed (A owns 2 rows, B 3 in each table), check, and `rls` in one runbook.
fn runbook(db: &TestDb, svc: &str, tables: &[Table]) -> String {
    let mut steps = format!(
        "      - {{ id: migrate, migrate: {{ database: app, dir: \"{dir}\", style: prisma }} }}\n      - {{ id: migrated, migrate: {{ database: app, dir: \"{dir}\", check: true }} }}\n",
        dir = service(svc).display()
    );
    for t in tables {
        steps.push_str(&format!(
            "      - {{ id: seed-{name}, sql: {{ database: app, query: \"INSERT INTO {name} ({col}, {req}) VALUES ($1::uuid, 'a1'), ($1::uuid, 'a2'), ($2::uuid, 'b1'), ($2::uuid, 'b2'), ($2::uuid, 'b3') RETURNING id\", params: [\"{TENANT_A}\", \"{TENANT_B}\"], expect: {{ rows: 5 }} }} }}\n",
            name = t.name,
            col = t.tenant_column,
            req = t.required
        ));
    }
    let list: Vec<String> = tables
        .iter()
        .map(|t| format!("{{ name: {}, tenant_column: {} }}", t.name, t.tenant_column))
        .collect();
    steps.push_str(&format!(
        "      - {{ id: rls, rls: {{ database: app, role: app_user, setting: app.current_user_id, tenants: [\"{TENANT_A}\", \"{TENANT_B}\"], tables: [{}] }} }}\n",
        list.join(", ")
    ));
    format!(
        "deployctl: 1\nname: {svc}\ndatabases:\n  app: {{ url: \"{}\" }}\nphases:\n  - id: db\n    steps:\n{steps}",
        db.url
    )
}

/// Runs the service's runbook and asserts every step passed, the rls one with `tables`.
fn migrate_seed_and_prove_isolation(svc: &str, tables: &[Table]) {
    let db = TestDb::create();
    let ws = Workspace::new(&runbook(&db, svc, tables));
    let out = ws.deployctl().args(["run", "r.yaml"]).run();
    assert_eq!(out.code, 0, "{svc}:\n{}\n{}", out.stdout, out.stderr);
    let rls = ws
        .events(svc, "step_finished")
        .into_iter()
        .find(|e| e["step"] == "rls")
        .expect("the rls step finished");
    assert_eq!(rls["status"], "done", "{rls}");
    let detail = rls["reason"].as_str().unwrap_or_default();
    // 2 role assertions; per table 3 catalog ones, 6 per ordered pair of tenants, 1 with the
    // setting empty and 1 in a new session where it was never set.
    let held = 2 + 17 * tables.len();
    let expected = match tables.len() {
        1 => format!("1 table × 2 tenants: {held} assertions hold"),
        n => format!("{n} tables × 2 tenants: {held} assertions hold"),
    };
    assert_eq!(detail, expected, "no note either (an empty setting hides every row)");
    for t in tables {
        let count = db.scalar(&format!("SELECT count(*)::text FROM {}", t.name));
        assert_eq!(
            count.as_deref(),
            Some("5"),
            "the rls step changed nothing in {}",
            t.name
        );
    }
}

#[test]
fn community_posts_are_isolated_per_author() {
    migrate_seed_and_prove_isolation(
        "community",
        &[Table {
            name: "posts",
            tenant_column: "author_id",
            required: "title",
        }],
    );
}

#[test]
fn marketplace_listings_and_business_accounts_are_isolated_per_owner() {
    migrate_seed_and_prove_isolation(
        "marketplace",
        &[
            Table {
                name: "listings",
                tenant_column: "seller_id",
                required: "title",
            },
            Table {
                name: "business_accounts",
                tenant_column: "owner_id",
                required: "company",
            },
        ],
    );
}

#[test]
fn academy_enrollments_are_isolated_per_student() {
    migrate_seed_and_prove_isolation(
        "academy",
        &[Table {
            name: "enrollments",
            tenant_column: "student_id",
            required: "course",
        }],
    );
}
