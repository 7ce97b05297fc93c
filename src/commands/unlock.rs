//! `deployctl unlock RUNBOOK`: clear the holder record a crashed run left behind.
//!
//! The kernel already released a dead process's lock; what remains is the record. While a
//! live process holds the lock, unlock refuses (exit 6) and names it. `--kill-orphans`
//! then kills the process groups of steps the killed run left running
//! ([`super::kill_orphans`]).

use crate::cli::UnlockArgs;
use crate::commands::{Ui, report_journal_error};
use crate::engine::identity;
use crate::event::{Entry, Event};
use crate::exit::Exit;
use crate::journal::{Holder, JournalError, JournalTarget, latest_run};
use crate::report::json_lines::JsonLine;
use crate::runbook::load::peek_name;

/// Clears a stale lock record, then with `--kill-orphans` kills what the killed run left.
pub async fn unlock(ui: &Ui, args: &UnlockArgs) -> Exit {
    let operator = identity::operator(args.operator.as_deref());
    let name = match peek_name(&args.runbook) {
        Ok(n) => n,
        Err(e) => {
            ui.err(&e.to_string());
            return Exit::Invalid;
        }
    };
    let journal = super::journal_for(ui, &args.runbook, &name);
    match clear(ui, &journal, &operator).await {
        Exit::Success if args.kill_orphans => super::kill_orphans::kill_orphans(ui, &journal, &operator).await,
        exit => exit,
    }
}

async fn clear(ui: &Ui, journal: &JournalTarget, operator: &str) -> Exit {
    match journal.clear_stale().await {
        Ok(None) => {
            if ui.json() {
                ui.line(&JsonLine::Unlock {
                    journal: journal.to_string(),
                    cleared: None,
                });
            } else {
                ui.out(&format!("journal `{journal}` is not locked"));
            }
            Exit::Success
        }
        Ok(Some(holder)) => {
            if ui.json() {
                ui.line(&JsonLine::Unlock {
                    journal: journal.to_string(),
                    cleared: Some(holder.to_string()),
                });
            } else {
                ui.out(&format!("cleared a stale lock of `{journal}`: it was held by {holder}"));
            }
            if let Err(e) = record(journal, operator, &holder, ui.clock.now()).await {
                ui.err(&format!("warning: the unlock was not journaled: {e}"));
            }
            Exit::Success
        }
        Err(e @ JournalError::Locked { .. }) => {
            if let JournalError::Locked { holder, .. } = &e {
                ui.err(&format!(
                    "refusing to unlock `{journal}`: it is held by a live process, {holder}"
                ));
            }
            ui.err("  hint: that run is still going; stop it (Ctrl-C) or wait, then try again");
            Exit::from(&e)
        }
        Err(e) => report_journal_error(ui, &e),
    }
}

async fn record(
    journal: &JournalTarget,
    operator: &str,
    cleared: &Holder,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), JournalError> {
    let me = super::holder("deployctl unlock".into(), operator);
    let mut locked = journal.lock(&me).await?;
    let appended = async {
        let run_id = latest_run(locked.read().await?.entries)
            .map(|r| r.run_id)
            .unwrap_or_else(|| "-".into());
        locked
            .append(&Entry {
                at,
                run_id,
                event: Event::Unlocked {
                    by: operator.into(),
                    holder: cleared.to_string(),
                },
            })
            .await
    }
    .await;
    locked.release().await;
    appended
}
