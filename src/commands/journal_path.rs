//! Finding a runbook's journal, who this process is when it locks one, and the escalation
//! contacts printed when a run needs people.

use std::path::Path;

use crate::commands::Ui;
use crate::engine::escalation::{Problem, contacts_for};
use crate::engine::{default_journal, identity};
use crate::journal::{Holder, JournalTarget};
use crate::runbook::model::Runbook;

/// `--journal`/`DEPLOYCTL_JOURNAL` (a file, or a `postgres://` database holding the journal
/// named `name`), else `.deployctl/<name>.jsonl` next to the runbook. With `--environment
/// ENV` the journal's name is `<name>@ENV`: its own file, its own rows and its own lock.
pub fn journal_for(ui: &Ui, runbook_file: &Path, name: &str) -> JournalTarget {
    let key = match &ui.environment {
        Some(environment) => format!("{name}@{environment}"),
        None => name.to_string(),
    };
    JournalTarget::from_arg(ui.journal.as_deref(), &key, || default_journal(runbook_file, &key))
}

/// This process as a lock holder: pid, host, now, the command, the operator.
pub fn holder(command: String, operator: &str) -> Holder {
    Holder {
        pid: std::process::id(),
        host: identity::host(),
        since: chrono::Utc::now(),
        command,
        operator: operator.to_string(),
        heartbeat: None,
    }
}

/// Prints who to call about a problem at a step (stderr, so it survives `--output json`).
pub fn print_contacts(ui: &Ui, runbook: &Runbook, problem: Problem, step: Option<&str>) {
    let lines = contacts_for(runbook, problem, step);
    if lines.is_empty() {
        return;
    }
    let header = match problem {
        Problem::RollbackFailed => "escalation contacts (page them now):",
        // A planned gate is nothing to escalate: these are the people who can pass it.
        Problem::PlannedGate => "who to ask:",
        Problem::Step | Problem::Gate => "escalation contacts:",
    };
    ui.err(header);
    for line in lines {
        ui.err(&format!("  {line}"));
    }
}
