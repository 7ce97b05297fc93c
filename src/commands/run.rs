//! `deployctl run RUNBOOK [--dry-run [--offline]]`.
//!
//! Only the dry-run exists so far: it loads, validates, plans and prints, writing nothing.

use std::collections::BTreeMap;

use serde_json::json;

use crate::cli::RunArgs;
use crate::commands::{Ui, report_load_error};
use crate::engine::{ProbeMode, plan};
use crate::exit::Exit;
use crate::report;
use crate::runbook::{LoadOptions, load};

/// Runs (for now: plans) a runbook.
pub fn run(ui: &Ui, env: &BTreeMap<String, String>, args: &RunArgs) -> Exit {
    let options = LoadOptions {
        env: env.clone(),
        vars: ui.vars.clone(),
    };
    let loaded = match load(&args.runbook, &options) {
        Ok(loaded) => loaded,
        Err(e) => {
            report_load_error(ui, &e);
            return Exit::Invalid;
        }
    };
    if !args.dry_run {
        ui.err(&format!(
            "{}: executing runbooks is not built yet; only `deployctl run --dry-run` works",
            args.runbook.display()
        ));
        ui.err("  hint: deployctl run --dry-run --offline RUNBOOK prints what a run would do");
        return Exit::Invalid;
    }
    let mode = if args.offline {
        ProbeMode::Offline
    } else {
        ProbeMode::Online
    };
    let plan = plan(&loaded, mode);
    let file = args.runbook.display().to_string();
    if ui.json() {
        for d in &loaded.warnings {
            ui.json_line(&json!({ "type": "diagnostic", "file": file, "line": d.pos.line, "col": d.pos.col, "severity": "warning", "message": loaded.redactor.mask(&d.message), "hint": d.hint }));
        }
        for line in report::plan::json_lines(&plan, &file) {
            ui.json_line(&line);
        }
    } else {
        for d in &loaded.warnings {
            ui.err(&loaded.redactor.mask(&d.display(&args.runbook).to_string()));
        }
        let text = report::plan::human(&plan, &file);
        ui.out(text.trim_end());
    }
    Exit::Success
}
