//! Where a command's text goes, and the choices that shape it (format, quiet).
//!
//! Writes never panic: a closed pipe (`deployctl status | head`) just ends the output.

use std::collections::BTreeMap;
use std::io::Write;

use crate::cli::{GlobalArgs, OutputFormat};
use crate::exit::Exit;
use crate::journal::JournalError;
use crate::report::json_lines::JsonLine;
use crate::runbook::LoadError;

/// Output settings of one invocation.
#[derive(Debug, Clone)]
pub struct Ui {
    /// Human lines or JSON lines.
    pub output: OutputFormat,
    /// Problems only.
    pub quiet: bool,
    /// Show step output (-v).
    pub verbose: bool,
    /// `--journal` / `DEPLOYCTL_JOURNAL`.
    pub journal: Option<std::path::PathBuf>,
    /// `--environment`: one journal per runbook and environment.
    pub environment: Option<String>,
    /// `--var` overrides.
    pub vars: BTreeMap<String, String>,
}

impl Ui {
    /// Settings from the global flags and the environment (`NO_COLOR`).
    pub fn new(args: &GlobalArgs) -> Self {
        Ui {
            output: args.output,
            quiet: args.quiet,
            verbose: args.verbose > 0,
            journal: args.journal.clone(),
            environment: args.environment.clone(),
            vars: args.vars.iter().cloned().collect(),
        }
    }

    /// Whether JSON lines were asked for.
    pub fn json(&self) -> bool {
        self.output == OutputFormat::Json
    }

    /// Writes text to stdout.
    pub fn out(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
    }

    /// Writes one JSON object as a line on stdout (untyped: `commands/run.rs` until its
    /// dry-run writes [`JsonLine`]s through [`Ui::line`]).
    pub fn json_line(&self, value: &serde_json::Value) {
        self.out(&value.to_string());
    }

    /// Writes one typed line of `--output json` on stdout.
    pub fn line(&self, line: &JsonLine<'_>) {
        match line.to_line() {
            Ok(text) => self.out(&text),
            Err(e) => self.err(&format!("deployctl: cannot render a JSON line: {e}")),
        }
    }

    /// Writes a problem to stderr.
    pub fn err(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{text}");
    }
}

/// The environment as references see it (variables that are not UTF-8 are ignored).
pub fn environment() -> BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// Prints why a runbook did not load: every diagnostic as `path:line:col: message`.
/// Loads a runbook with the command line's environment and `--var`s, reporting a load
/// error as validation does; `None` means exit 2.
pub fn load_runbook(
    ui: &Ui,
    env: &std::collections::BTreeMap<String, String>,
    path: &std::path::Path,
) -> Option<crate::runbook::Loaded> {
    let options = crate::runbook::LoadOptions {
        env: env.clone(),
        vars: ui.vars.clone(),
    };
    match crate::runbook::load(path, &options) {
        Ok(loaded) => Some(loaded),
        Err(e) => {
            report_load_error(ui, &e);
            None
        }
    }
}

/// Prints why a runbook could not be loaded.
pub fn report_load_error(ui: &Ui, error: &LoadError) {
    match error {
        LoadError::Read { path, source } => {
            ui.err(&format!("{}: cannot read runbook: {source}", path.display()));
            if source.kind() == std::io::ErrorKind::NotFound {
                ui.err("  hint: check the path; runbooks usually live in runbooks/");
            }
        }
        LoadError::Invalid { path, diagnostics } => {
            for d in diagnostics {
                ui.err(&d.display(path).to_string());
            }
        }
    }
}

/// Prints a journal error and what to do about it, and gives its exit code (6 when another
/// run holds the lock, else 2).
pub fn report_journal_error(ui: &Ui, error: &JournalError) -> Exit {
    ui.err(&format!("deployctl: {error}"));
    ui.err(&format!("  hint: {}", error.hint()));
    Exit::from(error)
}
