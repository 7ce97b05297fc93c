//! `deployctl unlock RUNBOOK`: clear the holder record a crashed run left behind.
//!
//! The kernel already released a dead process's lock; what remains is the record. While a
//! live process holds the lock, unlock refuses (exit 6) and names it.

use crate::cli::UnlockArgs;
use crate::commands::Ui;
use crate::engine::identity;
use crate::event::{Entry, Event};
use crate::exit::Exit;
use crate::journal::{Holder, JournalError, JournalWriter, acquire, clear_stale, latest_run, read};
use crate::runbook::load::peek_name;

/// Clears a stale lock record.
pub fn unlock(ui: &Ui, args: &UnlockArgs) -> Exit {
    let name = match peek_name(&args.runbook) {
        Ok(n) => n,
        Err(e) => {
            ui.err(&e.to_string());
            return Exit::Invalid;
        }
    };
    let journal = super::journal_for(ui, &args.runbook, &name);
    let operator = identity::operator(args.operator.as_deref());
    match clear_stale(&journal) {
        Ok(None) => {
            ui.out(&format!("journal `{}` is not locked", journal.display()));
            Exit::Success
        }
        Ok(Some(holder)) => {
            ui.out(&format!(
                "cleared a stale lock of `{}`: it was held by {holder}",
                journal.display()
            ));
            if let Err(e) = record(&journal, &operator, &holder) {
                ui.err(&format!("warning: the unlock was not journaled: {e}"));
            }
            Exit::Success
        }
        Err(JournalError::Locked { holder, .. }) => {
            ui.err(&format!(
                "refusing to unlock `{}`: it is held by a live process, {holder}",
                journal.display()
            ));
            ui.err("  hint: that run is still going; stop it (Ctrl-C) or wait, then try again");
            Exit::Locked
        }
        Err(e) => {
            ui.err(&format!("deployctl: {e}"));
            Exit::Invalid
        }
    }
}

fn record(journal: &std::path::Path, operator: &str, cleared: &Holder) -> Result<(), JournalError> {
    let me = super::holder("deployctl unlock".into(), operator);
    let _lock = acquire(journal, &me)?;
    let run_id = latest_run(read(journal)?.entries)
        .map(|r| r.run_id)
        .unwrap_or_else(|| "-".into());
    let (mut writer, _) = JournalWriter::open(journal)?;
    writer.append(&Entry {
        at: crate::engine::clock::now(),
        run_id,
        event: Event::Unlocked {
            by: operator.into(),
            holder: cleared.to_string(),
        },
    })
}
