//! Finding a runbook's journal, who this process is when it locks one, and the escalation
//! contacts printed when a run needs people.

use std::path::{Path, PathBuf};

use crate::commands::Ui;
use crate::engine::{default_journal, identity};
use crate::journal::Holder;
use crate::runbook::model::Contacts;

/// `--journal`/`DEPLOYCTL_JOURNAL`, else `.deployctl/<name>.jsonl` next to the runbook.
pub fn journal_for(ui: &Ui, runbook_file: &Path, name: &str) -> PathBuf {
    ui.journal
        .clone()
        .unwrap_or_else(|| default_journal(runbook_file, name))
}

/// This process as a lock holder: pid, host, now, the command, the operator.
pub fn holder(command: String, operator: &str) -> Holder {
    Holder {
        pid: std::process::id(),
        host: identity::host(),
        since: chrono::Utc::now(),
        command,
        operator: operator.to_string(),
    }
}

/// Prints who to call (stderr, so it survives `--output json`).
pub fn print_contacts(ui: &Ui, contacts: &Contacts) {
    let kinds = [
        ("technical", &contacts.technical),
        ("database", &contacts.database),
        ("security", &contacts.security),
        ("business", &contacts.business),
    ];
    let lines: Vec<String> = kinds
        .iter()
        .filter_map(|(kind, c)| {
            c.as_ref().map(|c| {
                let backup = c.backup.as_deref().map(|b| format!(", backup {b}")).unwrap_or_default();
                format!("  {kind}: {}{backup}", c.primary)
            })
        })
        .collect();
    if !lines.is_empty() {
        ui.err("escalation contacts:");
        for l in lines {
            ui.err(&l);
        }
    }
}
