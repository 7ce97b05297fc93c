//! Validation of shell commands: `shell` steps (in phases, undos and the rollback) and
//! the services' `restart` commands, all run by `sh -c`.
//!
//! Theory of operation: a `${...}` value pasted into a command's text becomes shell code,
//! whatever quotes surround it (`'${vars.x}'` is escaped by a value holding `'`). So a
//! reference in the text (other than `${run.id}`, which deployctl makes of digits, letters
//! and `-`) is a warning, an error under `validate --strict`; and a value that holds
//! anything but letters, digits and `_ . / : @ % + = , -` is an error always, so that
//! `--var x="';touch PWNED;'"` can never run. The safe way is the environment: `env: { X:
//! "${vars.x}" }` and `"$X"` in the text, which the shell expands as one word, never as code.
//! Values of `env` entries whose name says they are secret are registered for masking.

use std::collections::BTreeMap;

use super::context::{Validator, at};
use crate::redact::is_secret_name;
use crate::runbook::diagnostic::Pos;
use crate::runbook::interpolate::{Reference, Scope, references};
use crate::runbook::model::{Shell, Template};
use crate::runbook::raw::{RawShell, Text};

/// What to write instead of pasting a value into a command.
pub(super) const SAFE_FORM: &str =
    "pass it through the environment: `shell: { run: 'deploy \"$RELEASE\"', env: { RELEASE: \"${vars.release}\" } }`";

impl Validator<'_> {
    pub(super) fn shell(&mut self, raw: &RawShell, pos: Pos, id: &str) -> Option<Shell> {
        self.shell_text(&raw.run, pos, &format!("the shell command of step `{id}`"));
        let run = self.template(&raw.run, pos, Scope::Steps);
        if run.as_ref().is_some_and(Template::is_blank) {
            self.error(at(&raw.run, pos), "shell command is empty");
        }
        let cwd = match &raw.cwd {
            Some(c) => self.path(c, pos, "cwd"),
            None => Some(self.workdir.clone()),
        };
        if let (Some(cwd), Some(run)) = (&cwd, &run) {
            self.warn_missing_script(&run.display(), cwd, &raw.run, pos);
        }
        let mut env = BTreeMap::new();
        for (name, value) in &raw.env {
            if name.is_empty() || name.contains('=') || name.contains('\0') {
                self.error(
                    value.pos,
                    format!("invalid environment variable name `{}`", name.escape_debug()),
                );
            }
            if let Some(t) = self.template(value, pos, Scope::Steps) {
                if is_secret_name(name) {
                    // `env: { API_TOKEN: ... }` is as secret as an inherited `$API_TOKEN`.
                    for part in t.literal_parts() {
                        self.redactor.register(part);
                    }
                }
                env.insert(name.clone(), t);
            }
        }
        let expect_exit = match &raw.expect_exit {
            Some(e) => self.int(e, 0, 255, "expect_exit").map(|v| v as i32),
            None => Some(0),
        };
        Some(Shell {
            run: run?,
            cwd: cwd?,
            env,
            expect_exit: expect_exit?,
        })
    }

    /// Checks the references pasted into a command's text (`what` names the command).
    pub(super) fn shell_text(&mut self, text: &Text, parent: Pos, what: &str) {
        let Ok(found) = references(&text.value) else {
            return; // a broken reference is reported when the text is resolved
        };
        for reference in found {
            let Some(written) = written(&reference) else { continue };
            let pos = self.locate(text, at(text, parent), &written);
            let value = self.value_of(&reference);
            match value.as_deref().and_then(active_char) {
                Some(c) => {
                    // Not even one character of a secret is shown.
                    let secret = value.as_deref().is_some_and(|v| self.redactor.mask(v) != v);
                    let shown = if secret {
                        "a shell character".to_string()
                    } else {
                        format!(
                            "`{}`",
                            if c.is_control() {
                                c.escape_debug().to_string()
                            } else {
                                c.to_string()
                            }
                        )
                    };
                    self.error_hint(
                        pos,
                        format!("`{written}` puts {shown} into {what}: the shell would run the value as code"),
                        SAFE_FORM,
                    );
                }
                None => self.warn(
                    pos,
                    format!("`{written}` is pasted into {what}: a value holding shell syntax would run as code"),
                    SAFE_FORM,
                ),
            }
        }
    }

    /// The value a reference resolves to, if it resolves (an unknown one is reported elsewhere).
    fn value_of(&self, reference: &Reference) -> Option<String> {
        match reference {
            // A var may hold `${run.id}` until the run starts: deployctl's own, inert.
            Reference::Var(name) => self.vars.get(name).map(|v| v.replace("${run.id}", "run-id")),
            Reference::Env { name, default } => self.env.get(name).or(default.as_ref()).cloned(),
            Reference::ServiceHealth(name) => self.services.get(name).cloned().flatten(),
            Reference::RunId => None,
        }
    }
}

/// The reference as written, or `None` for `${run.id}` (deployctl's own, inert).
fn written(reference: &Reference) -> Option<String> {
    match reference {
        Reference::Var(name) => Some(format!("${{vars.{name}}}")),
        Reference::Env { name, default: None } => Some(format!("${{env.{name}}}")),
        Reference::Env { name, default: Some(d) } => Some(format!("${{env.{name}:-{d}}}")),
        Reference::ServiceHealth(name) => Some(format!("${{services.{name}.health}}")),
        Reference::RunId => None,
    }
}

/// The first character of `value` that the shell could read as more than a plain word.
fn active_char(value: &str) -> Option<char> {
    value
        .chars()
        .find(|c| !(c.is_alphanumeric() || "_./:@%+=,-".contains(*c)))
}

#[cfg(test)]
mod tests {
    use super::active_char;

    #[test]
    fn only_plain_words_are_inert() {
        for inert in [
            "v1.2.3",
            "http://127.0.0.1:8081/health",
            "a_b-c,d=e+f@g%20",
            "Ünïcode",
            "",
        ] {
            assert_eq!(active_char(inert), None, "{inert}");
        }
        for (active, c) in [
            ("';touch PWNED;'", '\''),
            ("$(id)", '$'),
            ("`id`", '`'),
            ("a b", ' '),
            ("x\ny", '\n'),
            ("a;b", ';'),
            ("a|b", '|'),
            ("a>b", '>'),
            ("\"q\"", '"'),
            ("a#b", '#'),
            ("*", '*'),
        ] {
            assert_eq!(active_char(active), Some(c), "{active}");
        }
    }
}
