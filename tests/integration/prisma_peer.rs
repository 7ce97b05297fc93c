//! deployctl and the real Prisma CLI on the same databases, both ways, with the services'
//! migration sets: what one writes in `_prisma_migrations`, the other reads as up to date.
//! One database per test; Prisma is `tools/prisma-peer` (see `peer.rs`).

use crate::db::TestDb;
use crate::migrations::{Bytes, Mode, SERVICES, copy, deployctl_migrate, names, service};
use crate::peer::peer;

/// Asserts that deployctl's `check: true` passes.
fn assert_check_passes(url: &str, dir: &std::path::Path) {
    let check = deployctl_migrate(url, dir, Mode::Check);
    assert_eq!(check.code, 0, "{}\n{}", check.stdout, check.stderr);
    assert!(check.stdout.contains("up to date"), "{}", check.stdout);
}

/// Asserts that `prisma migrate status` says up to date.
fn assert_prisma_up_to_date(url: &str, dir: &std::path::Path) {
    let status = peer().stock().status(url, dir);
    assert!(status.up_to_date(), "{status}");
}

/// `migration_name` of every finished, not rolled back row, in the order they were applied.
fn finished_rows(db: &TestDb) -> Vec<String> {
    db.scalar(
        "SELECT string_agg(migration_name, ',' ORDER BY started_at, migration_name) FROM _prisma_migrations \
         WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL AND applied_steps_count = 1",
    )
    .map(|s| s.split(',').map(str::to_string).collect())
    .unwrap_or_default()
}

#[test]
fn a_database_migrated_by_deployctl_is_up_to_date_for_prisma() {
    for svc in SERVICES {
        let db = TestDb::create();
        let out = deployctl_migrate(&db.url, &service(svc), Mode::Apply);
        assert_eq!(out.code, 0, "{svc}: {}\n{}", out.stdout, out.stderr);
        assert_prisma_up_to_date(&db.url, &service(svc));
        assert_eq!(finished_rows(&db), names(&service(svc)), "{svc}");
    }
}

#[test]
fn a_database_migrated_by_prisma_passes_deployctls_check() {
    for svc in SERVICES {
        let db = TestDb::create();
        let deploy = peer().stock().deploy(&db.url, &service(svc));
        assert_eq!(deploy.code, 0, "{svc}: {deploy}");
        assert_check_passes(&db.url, &service(svc));
        let again = deployctl_migrate(&db.url, &service(svc), Mode::Apply);
        assert_eq!(again.code, 0, "{}", again.stderr);
        assert_eq!(
            finished_rows(&db),
            names(&service(svc)),
            "{svc}: deployctl applied nothing more"
        );
    }
}

#[test]
fn a_history_begun_by_prisma_and_continued_by_deployctl_stays_consistent() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let all = service("marketplace");
    let first = copy(&all, tmp.path(), "first", Some(1), Bytes::Same);
    let db = TestDb::create();
    assert_eq!(peer().stock().deploy(&db.url, &first).code, 0);
    let out = deployctl_migrate(&db.url, &all, Mode::Apply);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("applied 2 migrations"),
        "only the rest is applied: {}",
        out.stdout
    );
    assert_prisma_up_to_date(&db.url, &all);
    assert_check_passes(&db.url, &all);
    assert_eq!(finished_rows(&db), names(&all));
}

#[test]
fn a_history_begun_by_deployctl_and_continued_by_prisma_stays_consistent() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let all = service("marketplace");
    let first = copy(&all, tmp.path(), "first", Some(1), Bytes::Same);
    let db = TestDb::create();
    assert_eq!(deployctl_migrate(&db.url, &first, Mode::Apply).code, 0);
    let deploy = peer().stock().deploy(&db.url, &all);
    assert_eq!(deploy.code, 0, "{deploy}");
    assert!(
        deploy.stdout.contains("20260120090000_business_accounts") && !deploy.stdout.contains("20260106090000_init"),
        "Prisma applies only the rest: {deploy}"
    );
    assert_prisma_up_to_date(&db.url, &all);
    assert_check_passes(&db.url, &all);
    assert_eq!(finished_rows(&db), names(&all));
}

#[test]
fn crlf_copies_count_as_applied_for_both_tools_both_ways() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lf = service("community");
    let crlf = copy(&lf, tmp.path(), "crlf", None, Bytes::Crlf);

    let by_deployctl = TestDb::create();
    assert_eq!(deployctl_migrate(&by_deployctl.url, &lf, Mode::Apply).code, 0);
    assert_prisma_up_to_date(&by_deployctl.url, &crlf);
    assert_check_passes(&by_deployctl.url, &crlf);

    let by_prisma = TestDb::create();
    assert_eq!(peer().stock().deploy(&by_prisma.url, &crlf).code, 0);
    assert_check_passes(&by_prisma.url, &lf);
    assert_prisma_up_to_date(&by_prisma.url, &lf);
}

/// A BOM is an editor's artifact, like line endings: deployctl treats adding or removing it
/// as no edit, records the raw bytes' checksum as Prisma does, and does not send the BOM to
/// PostgreSQL. Prisma 6.19.3 sends it and fails the migration with a syntax error.
#[test]
fn bom_copies_are_not_drift_and_deployctl_applies_them() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let plain = service("academy");
    let bom = copy(&plain, tmp.path(), "bom", None, Bytes::Bom);

    let by_prisma = TestDb::create();
    assert_eq!(peer().stock().deploy(&by_prisma.url, &plain).code, 0);
    assert_check_passes(&by_prisma.url, &bom);

    let by_deployctl = TestDb::create();
    let out = deployctl_migrate(&by_deployctl.url, &bom, Mode::Apply);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_prisma_up_to_date(&by_deployctl.url, &bom);
    assert_prisma_up_to_date(&by_deployctl.url, &plain);
    assert_check_passes(&by_deployctl.url, &plain);
    let first = &names(&bom)[0];
    let raw = std::fs::read(bom.join(first).join("migration.sql")).expect("the BOM copy");
    let recorded = by_deployctl.scalar(&format!(
        "SELECT checksum FROM _prisma_migrations WHERE migration_name = '{first}'"
    ));
    assert_eq!(
        recorded,
        Some(sha256(&raw)),
        "the raw bytes, BOM included, as Prisma records"
    );

    let prisma_on_bom = TestDb::create();
    let deploy = peer().stock().deploy(&prisma_on_bom.url, &bom);
    assert_ne!(deploy.code, 0, "Prisma was expected to fail on a BOM: {deploy}");
    assert!(deploy.stderr.contains("syntax error"), "{deploy}");
}

/// The columns (name, position, type, length, nullability, default) and constraints of
/// `_prisma_migrations` in `schema`, one line each.
pub fn table_shape(db: &TestDb, schema: &str) -> String {
    let columns = db.scalar(&format!(
        "SELECT string_agg(format('%s|%s|%s|%s|%s|%s|%s|%s|%s', column_name, ordinal_position, data_type, udt_name, \
         character_maximum_length, datetime_precision, numeric_precision, is_nullable, column_default), E'\\n' \
         ORDER BY ordinal_position) \
         FROM information_schema.columns WHERE table_schema = '{schema}' AND table_name = '_prisma_migrations'"
    ));
    let constraints = db.scalar(&format!(
        "SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid), E'\\n' ORDER BY conname) FROM pg_constraint \
         WHERE conrelid = to_regclass('\"{schema}\"._prisma_migrations')"
    ));
    format!("{}\n{}", columns.unwrap_or_default(), constraints.unwrap_or_default())
}

/// `table_shape` of the table Prisma 6.19.3 creates on PostgreSQL (measured).
const PRISMA_SHAPE: &str = "id|1|character varying|varchar|36|||NO|
checksum|2|character varying|varchar|64|||NO|
finished_at|3|timestamp with time zone|timestamptz||6||YES|
migration_name|4|character varying|varchar|255|||NO|
logs|5|text|text||||YES|
rolled_back_at|6|timestamp with time zone|timestamptz||6||YES|
started_at|7|timestamp with time zone|timestamptz||6||NO|now()
applied_steps_count|8|integer|int4|||32|NO|0
_prisma_migrations_pkey PRIMARY KEY (id)";

#[test]
fn the_bookkeeping_table_is_column_for_column_the_one_prisma_creates() {
    let by_prisma = TestDb::create();
    assert_eq!(peer().stock().deploy(&by_prisma.url, &service("community")).code, 0);
    let by_deployctl = TestDb::create();
    assert_eq!(
        deployctl_migrate(&by_deployctl.url, &service("community"), Mode::Apply).code,
        0
    );
    let prisma = table_shape(&by_prisma, "public");
    assert_eq!(prisma, PRISMA_SHAPE, "what Prisma 6.19.3 creates");
    assert_eq!(table_shape(&by_deployctl, "public"), prisma);
}

/// Lowercase hex sha256.
fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A migration folder whose file is not named `migration.sql`: `prisma migrate deploy`
/// applies the migrations before it and then stops with error P3015 (measured with
/// 6.19.3); deployctl, which once skipped the folder and said "up to date", refuses the set
/// before applying anything, applying and checking, naming the folder.
#[test]
fn a_folder_without_migration_sql_is_refused_by_both_tools() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let set = copy(&service("community"), tmp.path(), "set", None, Bytes::Same);
    let odd = set.join("20990101000000_later");
    std::fs::create_dir(&odd).expect("mkdir");
    std::fs::write(odd.join("migrations.sql"), "create table later (id int);").expect("write");
    let by_prisma = TestDb::create();
    let deploy = peer().stock().deploy(&by_prisma.url, &set);
    assert_ne!(deploy.code, 0, "{deploy}");
    assert!(
        deploy.stdout.contains("P3015") || deploy.stderr.contains("P3015"),
        "{deploy}"
    );
    let db = TestDb::create();
    for mode in [Mode::Apply, Mode::Check] {
        let out = deployctl_migrate(&db.url, &set, mode);
        assert_eq!(out.code, 2, "{mode:?}: {}\n{}", out.stdout, out.stderr);
        assert!(
            out.stderr.contains(
                "1 migration folder without a `migration.sql`: `20990101000000_later` (holds `migrations.sql`)"
            ),
            "{mode:?}: {}",
            out.stderr
        );
        assert!(out.stderr.contains("(error P3015)"), "{}", out.stderr);
    }
    assert_eq!(
        db.scalar("SELECT to_regclass('_prisma_migrations')::text"),
        None,
        "deployctl applied nothing"
    );
}
