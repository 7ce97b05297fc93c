//! The `migrate` step's lint at load time: every migration of its folder is read and linted
//! with squawk ([`crate::runbook::lint`]); findings are warnings located in the migration
//! file (`file:line:col: warning[rule]: ...` plus squawk's help as the hint), so `validate`
//! shows them, `--strict` refuses them, and `run --dry-run` prints them before the plan.
//! Offline there is no telling which migrations are applied, so all are linted: an applied
//! one that warns carries a `-- squawk-ignore-file RULE` or a `lint.ignore` of its step.

use std::path::Path;

use squawk_linter::Rule;

use super::context::{Validator, at};
use crate::runbook::diagnostic::{Diagnostic, Pos};
use crate::runbook::lint;
use crate::runbook::migration_dir::migrations;
use crate::runbook::model::MigrationStyle;
use crate::runbook::raw::RawLint;
use crate::runbook::spanned::Spanned;

impl Validator<'_> {
    /// The step's `lint.ignore`, each name checked against squawk's rules.
    pub(super) fn lint_ignore(&mut self, raw: Option<&Spanned<RawLint>>, pos: Pos) -> Vec<String> {
        let Some(raw) = raw else {
            return Vec::new();
        };
        let parent = at(raw, pos);
        let mut names = Vec::new();
        for name in &raw.value.ignore {
            if lint::rule(&name.value).is_some() {
                names.push(name.value.trim().to_string());
            } else {
                self.error_hint(
                    at(name, parent),
                    format!("unknown lint rule `{}`", name.value.escape_debug()),
                    "use a squawk rule name, e.g. `require-concurrent-index-creation` (https://squawkhq.com/docs/rules)",
                );
            }
        }
        names
    }

    /// Lints every migration of the folder; a folder that cannot be read now is left to the
    /// step (an earlier step may create it).
    pub(super) fn lint_migrations(&mut self, dir: &Path, style: MigrationStyle, ignore: &[String]) {
        let Ok(entries) = migrations(dir, style) else {
            return;
        };
        let ignore: Vec<Rule> = ignore.iter().filter_map(|n| lint::rule(n)).collect();
        for entry in entries {
            let Ok(sql) = std::fs::read_to_string(&entry.path) else {
                continue;
            };
            let shown = shown_path(&entry.path);
            for finding in lint::lint_sql(&sql, style, &ignore) {
                let mut d = Diagnostic::warning(
                    Pos {
                        line: finding.line,
                        col: finding.col,
                    },
                    finding.message,
                );
                d.hint = finding.help;
                d.file = Some(shown.clone());
                d.rule = Some(finding.rule);
                self.diagnostics.push(d);
            }
        }
    }
}

/// A migration's path as diagnostics show it: relative to the current directory when inside it.
fn shown_path(path: &Path) -> std::path::PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
}
