//! Read-only probes for `run --dry-run` (without `--offline`): the difference between a plan
//! that was checked against the targets and one that was only modelled.
//!
//! A probe never changes anything: an `sql` step's database gets `select 1` (its own query
//! might write), a `migrate` step's folder is compared with its bookkeeping table (pending,
//! failed, drifted; no lock, nothing created), a `backup` step checks that `pg_dump` exists
//! and is not older than the server, an `rls` step runs its catalog checks in a read-only
//! transaction, and an `http` step is sent only when its method is GET or HEAD. A step whose
//! probe passed is `verified`; one whose probe failed keeps `simulated` and carries what
//! the probe found, so the operator sees it before the window, not in it.

use std::collections::HashMap;
use std::time::Duration;

use super::plan::{Plan, PlanStep, Verdict};
use crate::redact::Redactor;
use crate::runbook::model::{HttpMethod, StepKind};
use crate::steps::{Databases, StepContext, StepOutcome, execute, probe_backup, probe_migrate, probe_rls};

/// How long one probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Probes every probe-able step of the plan in place.
pub async fn probe(plan: &mut Plan<'_>) {
    let loaded = plan.loaded;
    let runbook = &loaded.runbook;
    let Ok(http) = crate::steps::http_client() else {
        return;
    };
    let databases = Databases::new(runbook, "dry-run");
    let mut reachable: HashMap<String, Result<(), String>> = HashMap::new();
    let targets = plan
        .phases
        .iter_mut()
        .flat_map(|p| p.steps.iter_mut())
        .chain(plan.rollback.iter_mut());
    for planned in targets {
        let step = planned.step();
        let ctx = StepContext {
            run_id: "dry-run",
            runbook: &runbook.name,
            step_id: &step.id,
            redactor: &loaded.redactor,
            http: &http,
            databases: &databases,
            timeout: step.timeout.min(PROBE_TIMEOUT),
        };
        let found = match &step.kind {
            StepKind::Sql(q) => {
                let db = q.database.clone();
                if !reachable.contains_key(&db) {
                    let result = database_answers(&databases, &db).await;
                    reachable.insert(db.clone(), result);
                }
                reachable
                    .get(&db)
                    .cloned()
                    .map(|r| r.map(|()| format!("database `{db}` answered `select 1`")))
            }
            StepKind::Migrate(m) => Some(within(ctx.timeout, probe_migrate(m, &ctx)).await),
            StepKind::Backup(b) => Some(within(ctx.timeout, probe_backup(b, &ctx)).await),
            StepKind::Rls(r) => Some(within(ctx.timeout, probe_rls(r, &ctx)).await),
            StepKind::Http(h) if matches!(h.method, HttpMethod::Get | HttpMethod::Head) => Some(
                match tokio::time::timeout(ctx.timeout, execute(&step.kind, &ctx)).await {
                    Ok(StepOutcome::Done { detail, .. }) => Ok(format!("answered: {}", detail.unwrap_or_default())),
                    Ok(StepOutcome::Failed { reason, .. }) => Err(reason),
                    Err(_) => Err("did not answer within 10s".into()),
                },
            ),
            _ => None,
        };
        if let Some(found) = found {
            record(planned, found, &loaded.redactor);
        }
    }
}

async fn within(limit: Duration, probe: impl Future<Output = Result<String, String>>) -> Result<String, String> {
    tokio::time::timeout(limit, probe)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {}", crate::runbook::duration::format(limit))))
}

async fn database_answers(databases: &Databases, name: &str) -> Result<(), String> {
    let pool = databases.pool(name, Duration::from_secs(5)).await?;
    sqlx::query("select 1")
        .execute(&pool)
        .await
        .map(|_| ())
        .map_err(|e| crate::steps::sql_error(&e))
}

fn record(step: &mut PlanStep, found: Result<String, String>, redactor: &Redactor) {
    match found {
        Ok(note) => {
            step.verdict = Verdict::Verified;
            step.probe = Some(redactor.mask(&note).into_owned());
        }
        Err(reason) => step.probe_failed = Some(redactor.mask(&reason).into_owned()),
    }
}
