//! The rollback procedure's steps, fixed when it begins: the undo ledger in reverse (the
//! undo of the last completed step first), then the runbook's `rollback` steps.
//!
//! The list is journaled in `rollback_started`, so a rollback cut off by a crash resumes
//! the same list (`deployctl rollback` again), skipping every rollback step already done.
//! A failed rollback step stops the rollback (exit 5: a human decides, then `deployctl
//! rollback` retries it) unless it says `on_failure: continue`; the run is finished, with
//! exit 4, only once every rollback step is done.

use super::plan::Plan;
use crate::event::PlannedStep;
use crate::journal::RunState;

/// The rollback steps of `run` in the order they run.
pub fn rollback_plan(run: &RunState, plan: &Plan<'_>) -> Vec<PlannedStep> {
    let undos = run.ledger().into_iter().map(|(_, undo)| PlannedStep {
        id: undo.id.clone(),
        title: undo.title.clone(),
        kind: plan
            .rollback_step(&undo.id)
            .map_or(if undo.migrations.is_empty() { "undo" } else { "migrate" }, |s| s.kind)
            .to_string(),
    });
    undos.chain(plan.rollback.iter().map(|s| s.journaled())).collect()
}
