//! Read-only probes for `run --dry-run` (without `--offline`): the difference between a plan
//! that was checked against the targets and one that was only modelled.
//!
//! Each step kind owns its probe (`steps::probe`) and never changes anything: an `sql`
//! step's database gets `select 1` (its own query might write), a `migrate` step's folder
//! is compared with its bookkeeping table (pending, failed, drifted; no lock, nothing
//! created), a `backup` step checks that `pg_dump` exists and is not older than the server,
//! an `rls` step runs its catalog checks in a read-only transaction, and an `http` step is
//! sent only when its method is GET or HEAD. A step whose probe passed is `verified`; one
//! whose probe failed keeps `simulated` and carries what the probe found, so the operator
//! sees it before the window, not in it. A step that checks what an earlier step of the
//! plan changes cannot fail: its probe finding is "checked after" that step ([`super::depends`]).

use std::time::Duration;

use super::depends::{Changed, targets as targets_of};
use super::plan::{Plan, PlanStep, Verdict};
use crate::redact::Redactor;
use crate::steps::{Databases, Failure, StepContext};

/// How long one probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Probes every probe-able step of the plan in place.
pub async fn probe(plan: &mut Plan<'_>, clock: crate::clock::Clock) {
    let loaded = plan.loaded;
    let runbook = &loaded.runbook;
    let Ok(http) = crate::steps::http_client() else {
        return;
    };
    let databases = Databases::new(runbook, "dry-run");
    let targets = plan
        .phases
        .iter_mut()
        .flat_map(|p| p.steps.iter_mut())
        .chain(plan.rollback.iter_mut());
    let mut changed = Changed::default();
    for planned in targets {
        let step = planned.step();
        let touches = targets_of(step, runbook);
        let after = changed.by(&touches).map(str::to_string);
        if planned.changes {
            changed.record(&step.id, touches);
        }
        let ctx = StepContext {
            run_id: "dry-run",
            runbook: &runbook.name,
            step_id: &step.id,
            redactor: &loaded.redactor,
            http: &http,
            databases: &databases,
            timeout: step.timeout.min(PROBE_TIMEOUT),
            clock,
            live: None,
        };
        let limit = ctx.timeout;
        let found = tokio::time::timeout(limit, crate::steps::probe(&step.kind, &ctx))
            .await
            .unwrap_or_else(|_| {
                let shown = crate::runbook::duration::format(limit);
                Some(Err(Failure::new(format!("no answer within {shown}"))))
            });
        match (found, after) {
            // What it checks is changed by an earlier step first: what it finds now is no
            // failure, only the state before that change.
            (Some(Err(failure)), Some(after)) => {
                let now = failure.masked(&loaded.redactor).text();
                planned.probe = Some(format!(
                    "checked after `{after}` (it verifies that step's change; before it: {now})"
                ));
            }
            (Some(found), _) => record(planned, found, &loaded.redactor),
            (None, _) => {}
        }
    }
}

fn record(step: &mut PlanStep, found: Result<String, Failure>, redactor: &Redactor) {
    match found {
        Ok(note) => {
            step.verdict = Verdict::Verified;
            step.probe = Some(redactor.mask(&note).into_owned());
        }
        Err(failure) => step.probe_failed = Some(failure.masked(redactor).text()),
    }
}
