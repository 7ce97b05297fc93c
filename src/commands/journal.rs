//! `deployctl journal export RUNBOOK --to FILE` and `deployctl journal import RUNBOOK
//! --from FILE`: copy a journal between a file and the journal `--journal` names (usually
//! PostgreSQL), entry for entry, so a run can move to a shared database or be archived.
//!
//! The destination is locked while it is written and must be empty unless `--replace` is
//! given; the copy is all or nothing (one transaction, or one fsync after the last line).

use std::path::Path;

use crate::cli::JournalCommand;
use crate::commands::{Ui, journal_for, report_journal_error};
use crate::engine::identity;
use crate::event::Event;
use crate::exit::Exit;
use crate::journal::{JournalError, JournalTarget};
use crate::report::json_lines::JsonLine;
use crate::runbook::load::peek_name;

/// What to do with a destination that already holds entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Overwrite {
    /// Refuse (exit 2).
    Refuse,
    /// Replace its entries.
    Replace,
}

/// Which way the entries go between the file and the configured journal.
#[derive(Debug, Clone, Copy)]
enum Direction {
    /// `export`: the configured journal into the file.
    ToFile,
    /// `import`: the file into the configured journal.
    FromFile,
}

/// Runs `journal export` or `journal import`.
pub async fn journal(ui: &Ui, command: &JournalCommand) -> Exit {
    let (runbook, file, replace, direction) = match command {
        JournalCommand::Export(a) => (&a.runbook, &a.to, a.replace, Direction::ToFile),
        JournalCommand::Import(a) => (&a.runbook, &a.from, a.replace, Direction::FromFile),
    };
    let name = match peek_name(runbook) {
        Ok(n) => n,
        Err(e) => {
            ui.err(&format!("{e}\n  hint: the journal is found by the runbook's `name`"));
            return Exit::Invalid;
        }
    };
    let configured = journal_for(ui, runbook, &name);
    let file = JournalTarget::File(file.clone());
    let (from, to) = match direction {
        Direction::ToFile => (configured, file),
        Direction::FromFile => (file, configured),
    };
    let overwrite = if replace { Overwrite::Replace } else { Overwrite::Refuse };
    match copy(&from, &to, overwrite, runbook, &name).await {
        Ok(Ok(count)) if ui.json() => {
            ui.line(&JsonLine::JournalCopied {
                from: from.to_string(),
                to: to.to_string(),
                entries: count,
            });
            Exit::Success
        }
        Ok(Ok(count)) => {
            ui.out(&format!("copied {count} entries from `{from}` to `{to}`"));
            Exit::Success
        }
        Ok(Err(refusal)) => {
            ui.err(&format!("deployctl journal: {refusal}"));
            Exit::Invalid
        }
        Err(e) => report_journal_error(ui, &e),
    }
}

/// Copies every entry; the inner `Err` is a refusal (nothing written).
async fn copy(
    from: &JournalTarget,
    to: &JournalTarget,
    overwrite: Overwrite,
    runbook: &Path,
    name: &str,
) -> Result<Result<usize, String>, JournalError> {
    if let (JournalTarget::File(a), JournalTarget::File(b)) = (from, to)
        && a == b
    {
        return Ok(Err(format!(
            "`{from}` is both the source and the destination\n  hint: give --journal postgres://... (or another file) as the other side"
        )));
    }
    let source = from.read().await?;
    if source.entries.is_empty() {
        return Ok(Err(format!(
            "`{from}` holds no entries of `{}`: nothing to copy",
            runbook.display()
        )));
    }
    if let Some(other) = source.entries.iter().find_map(|e| match &e.event {
        Event::RunStarted { runbook, .. } if runbook != name => Some(runbook),
        _ => None,
    }) {
        return Ok(Err(format!(
            "`{from}` holds runs of runbook `{other}`, not of `{name}`\n  hint: copy it with the runbook it belongs to"
        )));
    }
    let operator = identity::operator(None);
    let holder = super::holder(format!("deployctl journal copy to {to}"), &operator);
    let mut locked = to.lock(&holder).await?;
    let result = async {
        let existing = locked.read().await?.entries.len();
        if existing > 0 && overwrite == Overwrite::Refuse {
            return Ok(Err(format!(
                "`{to}` already holds {existing} entries\n  hint: add --replace to overwrite them (keep a copy first: `deployctl journal export`)"
            )));
        }
        locked.replace_with(&source.entries).await?;
        Ok(Ok(source.entries.len()))
    }
    .await;
    locked.release().await;
    result
}
