//! The `restore` kind and `backup: { verify: restore }` through the real binary against the
//! real PostgreSQL: a rollback restores the backup this run made, refuses a dump whose
//! sha256 changed, and `validate` and the dry-run say what a restore destroys.

use crate::db::TestDb;
use crate::harness::{Outcome, Workspace};

/// A runbook that backs `db` up (verified by a restore), runs `change`, fails, and rolls
/// back with `rollback` steps.
fn runbook(db: &TestDb, change: &str, rollback: &str) -> String {
    format!(
        r#"deployctl: 1
name: restore
databases:
  app: {{ url: "{url}" }}
phases:
  - id: p
    steps:
      - {{ id: backup-app, backup: {{ database: app, dir: backups, verify: restore }} }}
      - {{ id: change, shell: {change:?} }}
      - {{ id: bad, shell: "exit 1", on_failure: rollback }}
rollback:
  steps:
{rollback}"#,
        url = db.url,
    )
}

const RESTORE: &str = "    - { id: restore-app, restore: { database: app, from: backup-app } }\n";

fn seeded() -> TestDb {
    let db = TestDb::create();
    db.execute("CREATE TABLE note (id int PRIMARY KEY, body text); INSERT INTO note SELECT g, 'n' FROM generate_series(1, 50) g");
    db
}

fn run(ws: &Workspace) -> Outcome {
    ws.deployctl().args(["run", "r.yaml"]).run()
}

#[test]
fn a_rollback_restores_the_backup_of_this_run_and_compares_its_row_counts() {
    let db = seeded();
    let change = format!(
        "psql -q '{}' -c 'DELETE FROM note WHERE id > 10' -c 'CREATE TABLE later (id int)'",
        db.url
    );
    let ws = Workspace::new(&runbook(&db, &change, RESTORE));
    let out = run(&ws);
    assert_eq!(out.code, 4, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        db.scalar("SELECT count(*)::text FROM note").as_deref(),
        Some("50"),
        "rows restored"
    );
    let finished = ws.events("restore", "step_finished");
    let backup = finished
        .iter()
        .find(|f| f["step"] == "backup-app")
        .expect("backup journaled");
    let record: serde_json::Value = serde_json::from_str(backup["output"].as_str().expect("record")).expect("json");
    assert_eq!(record["rows"]["public.note"], 50, "{record}");
    let restore = finished
        .iter()
        .find(|f| f["step"] == "restore-app")
        .expect("restore journaled");
    assert_eq!(restore["status"], "done", "{restore}");
    let detail = restore["reason"]
        .as_str()
        .or(restore["detail"].as_str())
        .unwrap_or_default();
    assert!(
        detail.contains("1 tables, 50 rows, counts equal to the backup's"),
        "{restore}"
    );
    assert_eq!(
        db.scalar("SELECT to_regclass('later')::text").as_deref(),
        Some("later"),
        "what the archive does not hold is left alone"
    );
}

#[test]
fn a_dump_changed_since_the_backup_is_refused_before_anything_is_touched() {
    let db = seeded();
    let change = format!(
        "for f in backups/*.dump; do printf x >> \"$f\"; done; psql -q '{}' -c 'DELETE FROM note'",
        db.url
    );
    let ws = Workspace::new(&runbook(&db, &change, RESTORE));
    let out = run(&ws);
    assert_ne!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_ne!(out.code, 4, "a failed rollback is not a clean one: {}", out.stderr);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains("changed since `backup-app` wrote it"), "{all}");
    assert_eq!(
        db.scalar("SELECT count(*)::text FROM note").as_deref(),
        Some("0"),
        "nothing restored"
    );
}

#[test]
fn validate_wants_a_gate_before_a_restore_and_a_backup_of_the_same_database() {
    let db = seeded();
    let ws = Workspace::new(&runbook(&db, "true", RESTORE));
    let out = ws.deployctl().args(["validate", "r.yaml"]).run();
    assert!(
        out.stderr
            .contains("`restore` step `restore-app` is not preceded by a gate in its rollback path"),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    let strict = ws.deployctl().args(["validate", "--strict", "r.yaml"]).run();
    assert_ne!(strict.code, 0, "{}", strict.stderr);

    let gated = "    - { id: decide, approval: { role: dba } }\n".to_string() + RESTORE;
    ws.rewrite(&runbook(&db, "true", &gated));
    let out = ws.deployctl().args(["validate", "r.yaml"]).run();
    assert!(!out.stderr.contains("not preceded by a gate"), "{}", out.stderr);

    let wrong = "    - { id: restore-app, restore: { database: app, from: change } }\n";
    ws.rewrite(&runbook(&db, "true", wrong));
    let out = ws.deployctl().args(["validate", "r.yaml"]).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("names `from: change`, a `shell` step, not a `backup`"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_dry_run_calls_a_restore_destructive() {
    let db = seeded();
    let ws = Workspace::new(&runbook(&db, "true", RESTORE));
    let out = ws.deployctl().args(["run", "r.yaml", "--dry-run", "--offline"]).run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(
            "pg_restore database app from the dump of `backup-app` (destructive: writes since that backup are lost)"
        ),
        "{}",
        out.stdout
    );
}
