//! `deployctl status [RUNBOOK]`: the latest run's checklist, read from the journal alone,
//! rendered for a terminal, a script (JSON), a change ticket (Markdown) or a browser (HTML).
//! Under `--output json` the default (human) format becomes one `status` JSON line.

use std::path::PathBuf;

use crate::cli::{StatusArgs, StatusFormat};
use crate::commands::{Ui, report_journal_error};
use crate::exit::Exit;
use crate::journal::{JournalTarget, latest_run};
use crate::report::html::html;
use crate::report::human_status::human;
use crate::report::json_lines::JsonLine;
use crate::report::markdown::markdown;
use crate::report::status::view;
use crate::runbook::load::peek_name;

/// Prints the checklist.
pub async fn status(ui: &Ui, args: &StatusArgs) -> Exit {
    let journal = match locate(ui, args) {
        Ok(target) => target,
        Err(message) => {
            ui.err(&message);
            return Exit::Invalid;
        }
    };
    let read = match journal.read().await {
        Ok(r) => r,
        Err(e) => return report_journal_error(ui, &e),
    };
    for w in &read.warnings {
        ui.err(&format!("warning: {w}"));
    }
    let Some(run) = latest_run(read.entries) else {
        ui.err(&format!("no run recorded in `{journal}` yet"));
        ui.err("  hint: `deployctl run RUNBOOK` starts one");
        return Exit::Success;
    };
    let lock = match journal.inspect().await {
        Ok(state) => state,
        Err(e) => return report_journal_error(ui, &e),
    };
    let v = view(&run, &lock);
    match args.format {
        StatusFormat::Human if ui.json() => ui.line(&JsonLine::Status(&v)),
        StatusFormat::Human => ui.out(human(&v).trim_end()),
        StatusFormat::Markdown => ui.out(markdown(&v).trim_end()),
        StatusFormat::Html => ui.out(html(&v).trim_end()),
        StatusFormat::Json => match serde_json::to_string_pretty(&v) {
            Ok(text) => ui.data(&text),
            Err(e) => {
                ui.err(&format!("deployctl: cannot render status: {e}"));
                return Exit::Invalid;
            }
        },
    }
    Exit::Success
}

/// The journal: a `--journal` file alone is enough; a database needs the runbook's name.
fn locate(ui: &Ui, args: &StatusArgs) -> Result<JournalTarget, String> {
    let given = ui.journal.as_deref();
    let Some(runbook) = &args.runbook else {
        return match given.map(|path| JournalTarget::from_arg(Some(path), "", PathBuf::new)) {
            Some(JournalTarget::File(path)) => Ok(JournalTarget::File(path)),
            Some(JournalTarget::Postgres(_)) => Err("deployctl status: which runbook's journal?\n  hint: a PostgreSQL journal holds one journal per runbook: give the runbook (`deployctl status runbooks/x.yaml`)".into()),
            None => Err("deployctl status: which run?\n  hint: give the runbook (`deployctl status runbooks/x.yaml`) or --journal PATH".into()),
        };
    };
    let name = peek_name(runbook)
        .map_err(|e| format!("{e}\n  hint: status needs the runbook's `name` to find its journal"))?;
    Ok(super::journal_for(ui, runbook, &name))
}
