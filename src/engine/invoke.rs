//! How an invocation begins: the journal read and folded, what must not go on refused (a
//! journal of another runbook, a run half-way through its rollback, a step's process
//! group from a killed run still running), then the [`Driver`] opened on the run.
//!
//! Theory of operation: an unfinished latest run is resumed (its digests checked,
//! `run_resumed` journaled), otherwise a new run starts with the plan's outline in its
//! first entry ([`super::opening`]).

use super::cancel::Cancel;
use super::driver::Driver;
use super::feasibility::History;
use super::observer::Observer;
use super::options::RunOptions;
use super::outcome::{RunError, RunOutcome};
use super::plan::Plan;
use crate::event::RunStatus;
use crate::journal::{LockedJournal, RunState, latest_run};

/// Runs (or resumes) the plan's runbook in `journal`, whose lock the caller holds.
pub async fn execute<O: Observer>(
    plan: &Plan<'_>,
    options: &RunOptions,
    observer: &mut O,
    cancel: Cancel,
    journal: &mut LockedJournal,
) -> Result<RunOutcome, RunError> {
    let (latest, history) = read_latest(journal, plan, observer).await?;
    let prior = latest.filter(|run| !run.is_finished());
    if let Some(run) = &prior {
        refuse_orphans(run, options, observer)?;
    }
    if let Some(run) = prior.as_ref().filter(|run| run.rolling_back()) {
        return Err(RunError::RollingBack {
            run_id: run.run_id.clone(),
            reason: run.rollback.as_ref().map(|r| r.reason.clone()).unwrap_or_default(),
            file: options.runbook_file.clone(),
        });
    }
    let mut driver = Driver::open(plan, options, observer, cancel, journal, prior, history)?;
    driver.drive().await
}

/// Runs the rollback procedure of the journal's latest run (`deployctl rollback`), or
/// finishes one that was cut off. The caller holds the journal's lock.
pub async fn roll_back<O: Observer>(
    plan: &Plan<'_>,
    options: &RunOptions,
    observer: &mut O,
    cancel: Cancel,
    journal: &mut LockedJournal,
) -> Result<RunOutcome, RunError> {
    let (latest, history) = read_latest(journal, plan, observer).await?;
    let Some(prior) = latest else {
        return Err(RunError::NothingToRollBack(format!(
            "journal `{}` holds no run of this runbook: there is nothing to roll back",
            journal.shown()
        )));
    };
    if let (Some(rollback), Some((RunStatus::RolledBack, _, at))) = (&prior.rollback, &prior.finished) {
        return Err(RunError::NothingToRollBack(format!(
            "run {} was already rolled back (finished {}; started by {}: {})",
            prior.run_id,
            at.format("%Y-%m-%d %H:%M:%S UTC"),
            rollback.by,
            rollback.reason
        )));
    }
    if !prior.is_finished() {
        refuse_orphans(&prior, options, observer)?;
    }
    let mut driver = Driver::open(plan, options, observer, cancel, journal, Some(prior), history)?;
    let reason = format!("requested by {} with `deployctl rollback`", options.operator);
    driver.roll_back_on_request(reason).await?;
    driver.drive().await
}

/// The journal's latest run and the durations of past steps, warnings shown. A journal
/// whose latest run belongs to another runbook is refused: its gates, undo ledger and
/// steps are not this runbook's.
async fn read_latest<O: Observer>(
    locked: &mut LockedJournal,
    plan: &Plan<'_>,
    observer: &mut O,
) -> Result<(Option<RunState>, History), RunError> {
    let journal = locked.read().await?;
    for warning in &journal.warnings {
        observer.warn(warning);
    }
    let history = History::from_entries(&journal.entries);
    let latest = latest_run(journal.entries);
    if let Some(run) = latest.as_ref().filter(|run| run.runbook != plan.runbook) {
        return Err(RunError::OtherRunbook {
            journal: locked.shown(),
            found: run.runbook.clone(),
            expected: plan.runbook.clone(),
        });
    }
    Ok((latest, history))
}

/// Refuses to go on while a process group of the run, left by a deployctl that was
/// killed, still runs on this host; warns about groups on other hosts.
fn refuse_orphans<O: Observer>(run: &RunState, options: &RunOptions, observer: &mut O) -> Result<(), RunError> {
    let (living, elsewhere) = super::orphans::find(run, &options.host);
    for p in elsewhere {
        observer.warn(&format!(
            "step `{}` started process group {} on host {} and the run was cut off: it cannot be checked from here; make sure it has ended",
            p.step, p.pgid, p.host
        ));
    }
    match living.as_slice() {
        [] => Ok(()),
        [first, rest @ ..] => Err(RunError::Orphaned {
            run_id: run.run_id.clone(),
            step: first.step.clone(),
            pgid: first.pgid,
            since: first.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            more: match rest.len() {
                0 => String::new(),
                n => format!(", and {n} more group{}", if n == 1 { "" } else { "s" }),
            },
            file: options.runbook_file.clone(),
        }),
    }
}
