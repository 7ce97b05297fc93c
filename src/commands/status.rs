//! `deployctl status [RUNBOOK]`: the latest run's checklist, read from the journal alone,
//! rendered for a terminal, a script (JSON), a change ticket (Markdown) or a browser (HTML).
//! Under `--output json` the default (human) format becomes one `status` JSON line.
//! Without a runbook it shows the journal written last here or above ([`super::latest`]).

use crate::cli::{StatusArgs, StatusFormat};
use crate::commands::latest::latest_journal;
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
    let journal = match locate(ui, args).await {
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
        if ui.json() {
            ui.line(&JsonLine::NoRun {
                journal: journal.to_string(),
            });
        }
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
        StatusFormat::Markdown => ui.document(markdown(&v).trim_end()),
        StatusFormat::Html => ui.document(html(&v).trim_end()),
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

/// The journal: the runbook's; without one, a `--journal` file, else the journal written
/// last (named on stderr, [`super::latest`]).
async fn locate(ui: &Ui, args: &StatusArgs) -> Result<JournalTarget, String> {
    let Some(runbook) = &args.runbook else {
        let chosen = latest_journal(ui).await?;
        if chosen.searched != "--journal" {
            ui.note(&format!(
                "status of journal `{}` (runbook `{}`), the one written last in {}",
                chosen.journal, chosen.key, chosen.searched
            ));
        }
        return Ok(chosen.journal);
    };
    let name = peek_name(runbook)
        .map_err(|e| format!("{e}\n  hint: status needs the runbook's `name` to find its journal"))?;
    Ok(super::journal_for(ui, runbook, &name))
}
