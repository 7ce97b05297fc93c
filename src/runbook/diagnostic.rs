//! Problems found in a runbook, each pinned to `file:line:col`.
//!
//! The loader and the validator never stop at the first problem they can survive: they
//! collect [`Diagnostic`]s, so an operator fixes a runbook in one pass instead of one error
//! per run. Rendering is `path:line:col: message`, then an indented `hint:` line when there is
//! something concrete to do.

use std::fmt;
use std::path::Path;

/// Where something was written in the runbook: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    /// 1-based line; 0 when unknown (the whole file).
    pub line: u32,
    /// 1-based column in characters; 0 when unknown.
    pub col: u32,
}

impl Pos {
    /// A position for problems that concern the file as a whole.
    pub const FILE: Pos = Pos { line: 1, col: 1 };
}

/// How bad a problem is: errors stop the runbook, warnings do not (unless `--strict`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The runbook cannot be used.
    Error,
    /// The runbook can run, but a reviewer should look (rollback readiness and the like).
    Warning,
}

/// One problem in one runbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where it is.
    pub pos: Pos,
    /// Error or warning.
    pub severity: Severity,
    /// Lowercase fragment naming the thing in backticks.
    pub message: String,
    /// What to do about it, when we know.
    pub hint: Option<String>,
    /// The file it is in when that is not the runbook (a migration the lint read).
    pub file: Option<std::path::PathBuf>,
    /// The lint rule that found it (`warning[rule]:`), for lint findings.
    pub rule: Option<String>,
}

impl Diagnostic {
    /// An error at `pos`.
    pub fn error(pos: Pos, message: impl Into<String>) -> Self {
        Diagnostic {
            pos,
            severity: Severity::Error,
            message: message.into(),
            hint: None,
            file: None,
            rule: None,
        }
    }

    /// A warning at `pos`.
    pub fn warning(pos: Pos, message: impl Into<String>) -> Self {
        Diagnostic {
            pos,
            severity: Severity::Warning,
            message: message.into(),
            hint: None,
            file: None,
            rule: None,
        }
    }

    /// Adds the `hint:` line.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Binds the diagnostic to a file for display.
    pub fn display<'a>(&'a self, path: &'a Path) -> DisplayDiagnostic<'a> {
        DisplayDiagnostic { path, diagnostic: self }
    }
}

/// A diagnostic rendered as `path:line:col: message` (+ `hint:`).
pub struct DisplayDiagnostic<'a> {
    path: &'a Path,
    diagnostic: &'a Diagnostic,
}

impl fmt::Display for DisplayDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.diagnostic;
        let level = match (d.severity, &d.rule) {
            (Severity::Error, _) => String::new(),
            (Severity::Warning, None) => "warning: ".into(),
            (Severity::Warning, Some(rule)) => format!("warning[{rule}]: "),
        };
        write!(
            f,
            "{}:{}:{}: {level}{}",
            d.file.as_deref().unwrap_or(self.path).display(),
            d.pos.line,
            d.pos.col,
            d.message
        )?;
        if let Some(hint) = &d.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// A collection of diagnostics being gathered during one load.
#[derive(Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Records a problem.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    /// Records an error at `pos`.
    pub fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.push(Diagnostic::error(pos, message));
    }

    /// Whether any error (not warning) was recorded.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    /// All problems, in file order, errors before warnings at the same place; lint findings
    /// of migration files after the runbook's, by file.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        // The runbook's own first (`file` None), then each migration file the lint read.
        self.items
            .sort_by(|a, b| (&a.file, a.pos, a.severity).cmp(&(&b.file, b.pos, b.severity)));
        self.items.dedup();
        self.items
    }
}
