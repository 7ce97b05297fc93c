//! `deployctl status [RUNBOOK]`: the latest run's checklist, read from the journal alone,
//! rendered for a terminal, a script (JSON), a change ticket (Markdown) or a browser (HTML).

use std::path::PathBuf;

use crate::cli::{StatusArgs, StatusFormat};
use crate::commands::Ui;
use crate::exit::Exit;
use crate::journal::{inspect, latest_run, read};
use crate::report::html::html;
use crate::report::human_status::human;
use crate::report::markdown::markdown;
use crate::report::status::view;
use crate::runbook::load::peek_name;

/// Prints the checklist.
pub fn status(ui: &Ui, args: &StatusArgs) -> Exit {
    let journal = match locate(ui, args) {
        Ok(path) => path,
        Err(message) => {
            ui.err(&message);
            return Exit::Invalid;
        }
    };
    let read = match read(&journal) {
        Ok(r) => r,
        Err(e) => {
            ui.err(&format!("deployctl: {e}"));
            ui.err(&format!("  hint: {}", e.hint()));
            return Exit::Invalid;
        }
    };
    for w in &read.warnings {
        ui.err(&format!("warning: {w}"));
    }
    let Some(run) = latest_run(read.entries) else {
        ui.err(&format!("no run recorded in `{}` yet", journal.display()));
        ui.err("  hint: `deployctl run RUNBOOK` starts one");
        return Exit::Success;
    };
    let lock = match inspect(&journal) {
        Ok(state) => state,
        Err(e) => {
            ui.err(&format!("deployctl: {e}"));
            return Exit::Invalid;
        }
    };
    let v = view(&run, &lock);
    match args.format {
        StatusFormat::Human => ui.out(human(&v).trim_end()),
        StatusFormat::Markdown => ui.out(markdown(&v).trim_end()),
        StatusFormat::Html => ui.out(html(&v).trim_end()),
        StatusFormat::Json => match serde_json::to_string_pretty(&v) {
            Ok(text) => ui.out(&text),
            Err(e) => {
                ui.err(&format!("deployctl: cannot render status: {e}"));
                return Exit::Invalid;
            }
        },
    }
    Exit::Success
}

fn locate(ui: &Ui, args: &StatusArgs) -> Result<PathBuf, String> {
    if let Some(path) = &ui.journal {
        return Ok(path.clone());
    }
    let Some(runbook) = &args.runbook else {
        return Err("deployctl status: which run?\n  hint: give the runbook (`deployctl status runbooks/x.yaml`) or --journal PATH".into());
    };
    let name = peek_name(runbook)
        .map_err(|e| format!("{e}\n  hint: status needs the runbook's `name` to find its journal"))?;
    Ok(crate::engine::default_journal(runbook, &name))
}
