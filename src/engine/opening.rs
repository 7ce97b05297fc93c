//! The entry that opens an invocation: `run_started` for a new run (with the plan's
//! outline and its inputs), `run_resumed` for an unfinished one.

use super::options::RunOptions;
use super::outcome::RunError;
use super::plan::Plan;
use super::unchanged::unchanged;
use crate::event::{Event, JOURNAL_FORMAT};
use crate::journal::RunState;
/// The first entry of a new run.
pub(super) fn started(plan: &Plan<'_>, options: &RunOptions) -> Event {
    let runbook = &plan.loaded.runbook;
    Event::RunStarted {
        format: JOURNAL_FORMAT,
        runbook: runbook.name.clone(),
        title: runbook.title.clone(),
        runbook_sha256: plan.sha256.clone(),
        vars_sha256: plan.inputs_digest(),
        operator: options.operator.clone(),
        host: options.host.clone(),
        pid: std::process::id(),
        plan: plan.journaled(),
        window: plan.window.clone(),
        inputs: Some(plan.inputs()),
        contacts: super::escalation::contacts_for(runbook, super::escalation::Problem::RollbackFailed, None),
        runbook_file: std::path::absolute(&options.runbook_file)
            .ok()
            .map(|p| p.display().to_string()),
    }
}

/// The entry of an invocation that resumes `prior`, once its runbook and inputs are found
/// unchanged (or changed under `--allow-changed`: the new ones are journaled with it).
pub(super) fn resumed(plan: &Plan<'_>, prior: &RunState, options: &RunOptions) -> Result<Event, RunError> {
    let changes = unchanged(plan, prior, options)?;
    Ok(Event::RunResumed {
        operator: options.operator.clone(),
        host: options.host.clone(),
        pid: std::process::id(),
        runbook_sha256: plan.sha256.clone(),
        vars_sha256: changes.inputs.then(|| plan.inputs_digest()),
        inputs: changes.inputs.then(|| plan.inputs()),
        plan: changes.runbook.then(|| plan.journaled()),
    })
}
