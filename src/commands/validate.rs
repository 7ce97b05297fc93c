//! `deployctl validate RUNBOOK...`: every problem of every file, exit 2 if any is invalid.

use std::collections::BTreeMap;
use std::path::Path;

use crate::cli::ValidateArgs;
use crate::commands::{Ui, report_load_error};
use crate::exit::Exit;
use crate::report::github;
use crate::report::json_lines::{JsonLine, diagnostic_line};
use crate::runbook::{Diagnostic, LoadError, LoadOptions, Loaded, load};

/// Validates each runbook; `--strict` turns warnings into failures.
pub fn validate(ui: &Ui, env: &BTreeMap<String, String>, args: &ValidateArgs) -> Exit {
    let options = LoadOptions {
        env: env.clone(),
        vars: ui.vars.clone(),
    };
    let mut exit = Exit::Success;
    for path in &args.runbooks {
        let ok = match load(path, &options) {
            Ok(loaded) => valid(ui, path, &loaded, args.strict),
            Err(error) => {
                invalid(ui, path, &error);
                false
            }
        };
        if !ok {
            exit = Exit::Invalid;
        }
    }
    exit
}

/// A runbook that loaded: its warnings, and whether it passes (`--strict` refuses warnings).
fn valid(ui: &Ui, path: &Path, loaded: &Loaded, strict: bool) -> bool {
    let warnings = loaded.warnings.len();
    for d in &loaded.warnings {
        emit(ui, path, d, &loaded.redactor);
    }
    let failed = strict && warnings > 0;
    let steps = loaded.runbook.steps().count() + loaded.runbook.rollback.len();
    if ui.json() {
        ui.line(&JsonLine::Validated {
            file: path.display().to_string(),
            ok: !failed,
            steps: Some(steps),
            warnings: Some(warnings),
            error: None,
        });
    } else if failed {
        ui.err(&format!(
            "{}: invalid under --strict ({warnings} warnings)",
            path.display()
        ));
    } else if !ui.quiet {
        let note = if warnings > 0 {
            format!(", {warnings} warnings")
        } else {
            String::new()
        };
        ui.out(&format!("{}: ok ({steps} steps{note})", path.display()));
    }
    !failed
}

/// A runbook that did not load: its problems, as text, JSON lines or annotations.
fn invalid(ui: &Ui, path: &Path, error: &LoadError) {
    if ui.json() {
        if let LoadError::Invalid { diagnostics, .. } = error {
            for d in diagnostics {
                emit(ui, path, d, &Default::default());
            }
        }
        ui.line(&JsonLine::Validated {
            file: path.display().to_string(),
            ok: false,
            steps: None,
            warnings: None,
            error: Some(error.to_string()),
        });
    } else {
        report_load_error(ui, error);
        if ui.github() {
            annotate(ui, path, error);
        }
    }
}

fn emit(ui: &Ui, path: &std::path::Path, d: &Diagnostic, redactor: &crate::redact::Redactor) {
    if ui.json() {
        ui.line(&diagnostic_line(&path.display().to_string(), d, redactor));
    } else {
        ui.err(&redactor.mask(&d.display(path).to_string()));
        if ui.github() {
            ui.data(&github::diagnostic(&path.display().to_string(), d, redactor));
        }
    }
}

/// A runbook that did not load, as GitHub annotations.
fn annotate(ui: &Ui, path: &std::path::Path, error: &LoadError) {
    let file = path.display().to_string();
    match error {
        LoadError::Invalid { diagnostics, .. } => {
            for d in diagnostics {
                ui.data(&github::diagnostic(&file, d, &Default::default()));
            }
        }
        LoadError::Read { source, .. } => {
            let message = format!("cannot read runbook: {source}");
            ui.data(&github::annotation("error", &file, 0, 0, "deployctl", &message));
        }
    }
}
