//! The validator's working state and its checks of single values.
//!
//! Every check records what is wrong and returns `None`, so callers keep going and the
//! operator gets all problems of the file at once. A value written in short form (whose own
//! position is unknown) is reported at its parent's position.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use crate::redact::Redactor;
use crate::runbook::diagnostic::{Diagnostic, Diagnostics, Pos};
use crate::runbook::duration;
use crate::runbook::interpolate::{EnvUse, Reference, Resolver, Scope, Template, references};
use crate::runbook::raw::Text;
use crate::runbook::source::Source;
use crate::runbook::spanned::Spanned;

/// What the validator reads besides the runbook.
pub struct Inputs<'a> {
    /// The environment snapshot.
    pub env: &'a BTreeMap<String, String>,
    /// `--var NAME=VALUE` overrides.
    pub var_overrides: &'a BTreeMap<String, String>,
    /// Directory of the runbook file (absolute).
    pub runbook_dir: &'a Path,
}

/// State of one validation pass.
pub struct Validator<'a> {
    pub(super) source: &'a Source<'a>,
    pub(super) env: &'a BTreeMap<String, String>,
    pub(super) diagnostics: Diagnostics,
    pub(super) redactor: Redactor,
    pub(super) vars: BTreeMap<String, String>,
    pub(super) services: BTreeMap<String, Option<String>>,
    pub(super) databases: Vec<String>,
    /// Prometheus sources declared (valid or not), and the valid ones.
    pub(super) prometheus_names: Vec<String>,
    pub(super) prometheus: BTreeMap<String, crate::runbook::model::PromSource>,
    pub(super) service_names: Vec<String>,
    pub(super) workdir: PathBuf,
    /// Step ids seen so far, with where they were first written.
    pub(super) step_ids: BTreeMap<String, Pos>,
    /// Every `${env.X}` resolved so far, and how.
    pub(super) env_used: BTreeMap<String, EnvUse>,
}

const NAME_HINT: &str = "use lowercase letters, digits, `.`, `_` and `-`";

impl<'a> Validator<'a> {
    pub(super) fn new(source: &'a Source<'a>, inputs: &Inputs<'a>) -> Self {
        Validator {
            source,
            env: inputs.env,
            diagnostics: Diagnostics::default(),
            redactor: Redactor::from_env(inputs.env),
            vars: BTreeMap::new(),
            services: BTreeMap::new(),
            databases: Vec::new(),
            prometheus_names: Vec::new(),
            prometheus: BTreeMap::new(),
            service_names: Vec::new(),
            workdir: inputs.runbook_dir.to_path_buf(),
            step_ids: BTreeMap::new(),
            env_used: BTreeMap::new(),
        }
    }

    pub(super) fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.diagnostics.error(pos, message);
    }

    pub(super) fn error_hint(&mut self, pos: Pos, message: impl Into<String>, hint: impl Into<String>) {
        self.diagnostics.push(Diagnostic::error(pos, message).with_hint(hint));
    }

    pub(super) fn warn(&mut self, pos: Pos, message: impl Into<String>, hint: impl Into<String>) {
        self.diagnostics.push(Diagnostic::warning(pos, message).with_hint(hint));
    }

    /// Resolves the references in a string value.
    pub(super) fn template(&mut self, text: &Text, parent: Pos, scope: Scope) -> Option<Template> {
        let pos = at(text, parent);
        let mut resolver = Resolver {
            vars: &self.vars,
            env: self.env,
            services: &self.services,
            redactor: &mut self.redactor,
            env_used: &mut self.env_used,
        };
        match resolver.resolve(&text.value, scope) {
            Ok(template) => Some(template),
            Err(errors) => {
                // An empty message means "already reported where it was declared".
                for e in errors.into_iter().filter(|e| !e.message.is_empty()) {
                    let located = self.locate(text, pos, &e.source);
                    let d = Diagnostic::error(located, e.message);
                    self.diagnostics.push(match e.hint {
                        Some(h) => d.with_hint(h),
                        None => d,
                    });
                }
                None
            }
        }
    }

    /// A title: its references resolved like other strings (the run id shown as
    /// `${run.id}`), secrets masked. A bad reference is reported, and the text kept.
    pub(super) fn title(&mut self, text: &Text, parent: Pos) -> String {
        match self.template(text, parent, Scope::Steps) {
            Some(t) => self.redactor.mask(&t.display()).into_owned(),
            None => text.value.clone(),
        }
    }

    /// A string that is resolved now and may not depend on the run id.
    pub(super) fn plain(&mut self, text: &Text, parent: Pos, what: &str) -> Option<String> {
        let template = self.template(text, parent, Scope::Steps)?;
        let resolved = template.render("");
        if template.display() != resolved {
            self.error(at(text, parent), format!("`${{run.id}}` cannot be used in {what}"));
            return None;
        }
        if resolved.trim().is_empty() {
            self.error(at(text, parent), format!("{what} is empty"));
            return None;
        }
        Some(resolved)
    }

    /// Where inside the file a reference written in `text` is, or `text`'s position.
    pub(super) fn locate(&self, text: &Text, pos: Pos, needle: &str) -> Pos {
        text.offset
            .and_then(|o| self.source.find_after(o, needle))
            .unwrap_or(pos)
    }

    /// A duration such as `500ms`, `30s`, `5m`, `4h`, `1h30m`; must be more than zero.
    pub(super) fn duration(&mut self, text: &Text, parent: Pos) -> Option<Duration> {
        let pos = at(text, parent);
        // `${vars.watch}` lets one runbook watch 4h in production and 30s in a rehearsal.
        let (value, shown) = if text.value.contains("${") {
            let resolved = self.plain(text, parent, "a duration")?;
            let shown = format!("`{}` (= `{resolved}`)", text.value);
            (resolved, shown)
        } else {
            (text.value.clone(), format!("`{}`", text.value))
        };
        match duration::parse(value.trim()) {
            Ok(d) if d.is_zero() => {
                self.error_hint(pos, format!("duration {shown} must be more than zero"), DURATION_HINT);
                None
            }
            Ok(d) if d > duration::MAX => {
                self.error_hint(
                    pos,
                    format!("duration {shown} is longer than the limit of 366 days"),
                    "nothing in a deployment waits that long; write at most 8784h",
                );
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                self.error_hint(pos, format!("invalid duration {shown}: {e}"), DURATION_HINT);
                None
            }
        }
    }

    pub(super) fn optional_duration(
        &mut self,
        text: Option<&Text>,
        parent: Pos,
        default: Duration,
    ) -> Option<Duration> {
        match text {
            Some(t) => self.duration(t, parent),
            None => Some(default),
        }
    }

    /// A name: journal names, step and phase ids, database and service names.
    pub(super) fn name(&mut self, value: &str, pos: Pos, what: &str) -> bool {
        let ok = !value.is_empty()
            && value.len() <= 64
            && value
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
        if !ok {
            self.error_hint(
                pos,
                format!("invalid {what} `{}`", value.escape_debug()),
                format!("{NAME_HINT}; at most 64 characters"),
            );
        }
        ok
    }

    /// An integer within bounds, written as a number (`retries: "3"` is refused as the docs
    /// say: YAML's quotes make a string, and a runbook means what it literally says).
    pub(super) fn int(&mut self, value: &Spanned<i64>, min: i64, max: i64, what: &str) -> Option<u32> {
        if !self.unquoted(value, what) {
            return None;
        }
        if value.value < min || value.value > max {
            self.error(
                value.pos,
                format!("{what} must be between {min} and {max}, not {}", value.value),
            );
            return None;
        }
        u32::try_from(value.value).ok()
    }

    /// Whether a number was written as one; a quoted number is reported and refused.
    pub(super) fn unquoted<T: std::fmt::Display>(&mut self, value: &Spanned<T>, what: &str) -> bool {
        let quoted = value.offset.is_some_and(|o| self.source.starts_with_quote(o));
        if quoted {
            self.error_hint(
                value.pos,
                format!("{what} must be a number, not the string \"{}\"", value.value),
                format!("remove the quotes: {}", value.value),
            );
        }
        !quoted
    }

    /// A path inside the workdir (no `..`); relative paths are joined to it.
    pub(super) fn path(&mut self, text: &Text, parent: Pos, what: &str) -> Option<PathBuf> {
        let value = self.plain(text, parent, what)?;
        let path = Path::new(&value);
        if path.components().any(|c| c == Component::ParentDir) {
            self.error_hint(
                at(text, parent),
                format!("{what} `{value}` leaves the runbook's workdir through `..`"),
                "paths stay inside the workdir; set `workdir:` at the top of the runbook to move it",
            );
            return None;
        }
        Some(self.workdir.join(path))
    }

    /// A database name that `databases:` declares.
    pub(super) fn database(&mut self, text: &Text, parent: Pos) -> Option<String> {
        let pos = at(text, parent);
        if self.databases.contains(&text.value) {
            return Some(text.value.clone());
        }
        let hint = declared("databases", &self.databases);
        self.error_hint(pos, format!("unknown database `{}`", text.value), hint);
        None
    }

    /// A service name that `services:` declares.
    pub(super) fn service(&mut self, text: &Text, parent: Pos) -> Option<String> {
        let pos = at(text, parent);
        if self.service_names.contains(&text.value) {
            return Some(text.value.clone());
        }
        let hint = declared("services", &self.service_names);
        self.error_hint(pos, format!("unknown service `{}`", text.value), hint);
        None
    }

    /// An http(s) URL once references are resolved.
    pub(super) fn url(&mut self, text: &Text, parent: Pos, scope: Scope, what: &str) -> Option<Template> {
        let template = self.template(text, parent, scope)?;
        let rendered = template.render("run-id");
        match url::Url::parse(&rendered) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(template),
            Ok(u) => {
                let shown = self.redactor.mask(&rendered).into_owned();
                self.error_hint(
                    at(text, parent),
                    format!("{what} `{shown}` is not an http(s) URL (scheme `{}`)", u.scheme()),
                    "write http://host:port/path",
                );
                None
            }
            Err(e) => {
                let shown = self.redactor.mask(&rendered).into_owned();
                self.error_hint(
                    at(text, parent),
                    format!("{what} `{shown}` is not a valid URL: {e}"),
                    "write http://host:port/path",
                );
                None
            }
        }
    }

    /// Whether a string carries any reference (for fields where splicing would be unsafe).
    pub(super) fn has_references(&self, text: &str) -> bool {
        references(text).map(|r| !r.is_empty()).unwrap_or(true)
    }

    /// Whether a string references the run id.
    pub(super) fn uses_run_id(text: &str) -> bool {
        references(text).map(|r| r.contains(&Reference::RunId)).unwrap_or(false)
    }
}

const DURATION_HINT: &str = "write a number and a unit: 500ms, 30s, 5m, 4h (or 1h30m)";

fn declared(what: &str, names: &[String]) -> String {
    if names.is_empty() {
        format!("this runbook declares no {what}; add them under `{what}:`")
    } else {
        format!("declared {what}: {}", names.join(", "))
    }
}

/// The position of a value, or its parent's when it came from a short form.
pub(super) fn at<T>(value: &Spanned<T>, parent: Pos) -> Pos {
    if value.pos.line == 0 { parent } else { value.pos }
}
