//! `validate` checks that the files and folders a runbook names exist now: a migrations
//! folder, the script a `shell` command or a service's `restart` starts when its first word
//! is a relative path (`scripts/deploy.sh`, `./bin/restart`). (A backup directory is not
//! checked: the step creates it with its parents.) A missing one is a warning, not an error (an earlier step may create it, and `--strict`
//! refuses warnings in CI): found before the window rather than by the step in it.

use std::path::Path;

use super::context::{Validator, at};
use crate::runbook::diagnostic::Pos;
use crate::runbook::raw::Text;

impl Validator<'_> {
    /// Warns when folder `dir` (a `what` written as `text`) does not exist.
    pub(super) fn warn_missing_dir(&mut self, dir: &Path, text: &Text, parent: Pos, what: &str) {
        if !dir.exists() {
            self.warn(
                at(text, parent),
                format!("{what} `{}` does not exist", text.value),
                format!(
                    "create `{}`, or check the path (relative to the runbook's workdir); ignore this if an earlier step creates it",
                    dir.display()
                ),
            );
        }
    }

    /// Warns when the first word of command `run` (run in `cwd`) is a relative path to a
    /// file that does not exist.
    pub(super) fn warn_missing_script(&mut self, run: &str, cwd: &Path, text: &Text, parent: Pos) {
        let Some(first) = run.split_whitespace().next() else {
            return;
        };
        let relative = first.contains('/') && !first.starts_with('/') && !first.contains(['$', '`', '~', '*']);
        if relative && !cwd.join(first).exists() {
            self.warn(
                at(text, parent),
                format!("the command's program `{first}` does not exist"),
                format!(
                    "it is run from `{}`: check the path, or ignore this if an earlier step creates it",
                    cwd.display()
                ),
            );
        }
    }
}
