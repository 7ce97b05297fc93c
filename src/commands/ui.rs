//! Where a command's text goes, and the choices that shape it (format, quiet).
//!
//! Text for people ([`Ui::out`], [`Ui::err`]) is neutralised on its way out: no escape
//! sequence or bidi override from a journal, a target or a command-line name reaches the
//! terminal ([`crate::report::escape`]). Data for machines ([`Ui::data`], [`Ui::line`]) is
//! written as serialized. Writes never panic: a closed pipe (`deployctl status | head`)
//! just ends the output, and any other write error on stdout makes the command end with a
//! message and a non-zero exit ([`Ui::finish`], [`crate::report::stdout`]).

use std::collections::BTreeMap;
use std::io::Write;

use crate::cli::{GlobalArgs, OutputFormat};
use crate::exit::Exit;
use crate::journal::JournalError;
use crate::report::escape::{Breaks, neutralise};
use crate::report::json_lines::JsonLine;
use crate::report::{paint, stdout};
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
    /// Now (`--now` pretends).
    pub clock: crate::engine::Clock,
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
            clock: args
                .now
                .map_or_else(crate::engine::Clock::system, crate::engine::Clock::pretending),
        }
    }

    /// Whether JSON lines were asked for.
    pub fn json(&self) -> bool {
        self.output == OutputFormat::Json
    }

    /// Whether GitHub Actions annotations were asked for.
    pub fn github(&self) -> bool {
        self.output == OutputFormat::Github
    }

    /// Writes text for people to stdout, its control characters neutralised.
    pub fn out(&self, text: &str) {
        stdout::line(&paint::stdout(&neutralise(text, Breaks::Keep)));
    }

    /// Writes a document (Markdown, HTML) to stdout, neutralised but never painted.
    pub fn document(&self, text: &str) {
        stdout::line(&neutralise(text, Breaks::Keep));
    }

    /// Writes data for machines (JSON) to stdout as it is: the serializer escaped it.
    pub fn data(&self, text: &str) {
        stdout::line(text);
    }

    /// Writes one typed line of `--output json` on stdout.
    pub fn line(&self, line: &JsonLine<'_>) {
        match line.to_line() {
            Ok(text) => self.data(&text),
            Err(e) => self.err(&format!("deployctl: cannot render a JSON line: {e}")),
        }
    }

    /// Writes a remark to stderr (what deployctl chose for the user), unless `--quiet`.
    pub fn note(&self, text: &str) {
        if !self.quiet {
            self.err(&format!("note: {text}"));
        }
    }

    /// Writes a problem to stderr, its control characters neutralised.
    pub fn err(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{}", paint::stderr(&neutralise(text, Breaks::Keep)));
    }

    /// The command's exit code once its output is written. When stdout failed for a reason
    /// other than a closed pipe (a full disk, `/dev/full`), the output the user asked for
    /// does not exist: say so, and exit 2 if the command would have exited 0. A command
    /// that already ends non-zero (a run that failed, paused or rolled back: its outcome is
    /// journaled either way) keeps its own code, which says more.
    pub fn finish(&self, exit: Exit) -> Exit {
        let Some(reason) = stdout::failure() else {
            return exit;
        };
        self.err(&format!("deployctl: cannot write to stdout: {reason}"));
        self.err("  hint: free space where stdout goes, or send it elsewhere (another file, a pipe)");
        match exit {
            Exit::Success => Exit::Invalid,
            other => other,
        }
    }
}

/// The environment as references see it (variables that are not UTF-8 are ignored).
pub fn environment() -> BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// Loads a runbook with the command line's environment and `--var`s, reporting a load
/// error as validation does (every diagnostic as `path:line:col: message`); `None` means
/// exit 2.
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

/// `path` when it exists; else `runbooks/PATH` when that exists (said on stderr), as
/// `deployctl run NAME.yaml` is typed from a repository's root.
pub fn find_runbook(ui: &Ui, path: &std::path::Path) -> std::path::PathBuf {
    let beside = std::path::Path::new("runbooks").join(path);
    if !path.exists() && path.is_relative() && beside.is_file() {
        ui.note(&format!(
            "`{}` is not here; using `{}`",
            path.display(),
            beside.display()
        ));
        return beside;
    }
    path.to_path_buf()
}

/// Prints why a runbook could not be loaded.
pub fn report_load_error(ui: &Ui, error: &LoadError) {
    match error {
        LoadError::Read { path, source } => {
            ui.err(&format!("{}: cannot read runbook: {source}", path.display()));
            let beside = std::path::Path::new("runbooks").join(path);
            if source.kind() == std::io::ErrorKind::NotFound && path.is_relative() && beside.is_file() {
                ui.err(&format!("  hint: `{}` exists: give that path", beside.display()));
            } else if source.kind() == std::io::ErrorKind::NotFound {
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
