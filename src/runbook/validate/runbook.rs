//! Validation of the runbook's top level: version, name, vars, targets, window, contacts,
//! phases and the rollback procedure. Steps are in `step.rs`, the window in `window.rs`.
//!
//! Order matters only for references: vars resolve first (against the environment), then
//! databases and services (against vars), then steps (against everything).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use super::context::{Inputs, Validator, at};
use crate::redact::Redactor;
use crate::runbook::diagnostic::{Diagnostic, Pos};
use crate::runbook::interpolate::{EnvUse, Scope};
use crate::runbook::model::{Contact, Contacts, Database, Phase, Runbook, Service};
use crate::runbook::raw::{RawContact, RawContacts, RawRunbook};
use crate::runbook::source::Source;
use crate::runbook::spanned::Spanned;

/// The outcome of validating one runbook.
pub struct Validated {
    /// The model, when there is no error.
    pub runbook: Option<Runbook>,
    /// Errors and warnings, in file order.
    pub diagnostics: Vec<Diagnostic>,
    /// The secrets met while resolving.
    pub redactor: Redactor,
    /// Every `${env.X}` resolved, and how.
    pub env_used: BTreeMap<String, EnvUse>,
}

/// Checks a parsed runbook and builds its model, collecting every problem.
pub fn validate(raw: &RawRunbook, source: &Source<'_>, inputs: &Inputs<'_>) -> Validated {
    let mut v = Validator::new(source, inputs);
    let mut runbook = v.runbook(raw, inputs);
    if let Some(runbook) = &mut runbook {
        v.readiness(runbook, raw);
        v.baseline_ends(runbook);
    }
    let failed = v.diagnostics.has_errors();
    Validated {
        runbook: if failed { None } else { runbook },
        diagnostics: v.diagnostics.into_sorted(),
        redactor: v.redactor,
        env_used: v.env_used,
    }
}

impl Validator<'_> {
    fn runbook(&mut self, raw: &RawRunbook, inputs: &Inputs<'_>) -> Option<Runbook> {
        if self.unquoted(&raw.deployctl, "`deployctl` (the format version)") && raw.deployctl.value != 1 {
            self.error_hint(
                raw.deployctl.pos,
                format!("unsupported runbook format version `{}`", raw.deployctl.value),
                "this deployctl reads `deployctl: 1`",
            );
        }
        self.name(&raw.name.value, raw.name.pos, "runbook name");
        if let Some(workdir) = &raw.workdir {
            self.workdir(workdir, inputs);
        }
        self.vars(raw, inputs.var_overrides);
        let databases = self.databases(raw);
        let services = self.targets_services(raw);
        let prometheus = self.prometheus_sources(raw);
        let window = raw.window.as_ref().and_then(|w| self.window(w));
        let contacts = raw.contacts.as_ref().map(|c| self.contacts(c)).unwrap_or_default();
        let notify: Vec<_> = raw.notify.iter().filter_map(|n| self.channel(n)).collect();
        let approvals = self.approvals(raw.approvals.as_ref());
        let defaults = self.defaults(raw.defaults.as_ref());
        let phases = self.phases(raw, &defaults);
        let rollback: Vec<_> = raw
            .rollback
            .iter()
            .flat_map(|r| &r.steps)
            .filter_map(|s| self.step(s, &defaults))
            .collect();

        let title = raw.title.as_ref().map(|t| self.title(t, raw.name.pos));
        Some(Runbook {
            name: raw.name.value.clone(),
            title: title.unwrap_or_else(|| raw.name.value.clone()),
            description: raw.description.as_ref().map(|d| d.value.clone()),
            workdir: self.workdir.clone(),
            allow_self_approval: raw.allow_self_approval.unwrap_or(false),
            vars: self.vars.clone(),
            databases,
            services,
            prometheus,
            window,
            contacts,
            notify,
            approvals,
            phases,
            rollback,
        })
    }

    /// `workdir`, relative to the runbook file; it must be a directory.
    fn workdir(&mut self, workdir: &Spanned<String>, inputs: &Inputs<'_>) {
        self.workdir = normalize(&inputs.runbook_dir.join(&workdir.value));
        if !self.workdir.is_dir() {
            self.error_hint(
                workdir.pos,
                format!(
                    "workdir `{}` is not a directory (resolved to `{}`)",
                    workdir.value,
                    self.workdir.display()
                ),
                "`workdir` is relative to the runbook file; create the directory or fix the path",
            );
        }
    }

    /// The phases in order: unique ids, at least one step each.
    fn phases(&mut self, raw: &RawRunbook, defaults: &super::step::Defaults) -> Vec<Phase> {
        let mut phases = Vec::new();
        let mut phase_ids: BTreeMap<String, Pos> = BTreeMap::new();
        if raw.phases.value.is_empty() {
            self.error_hint(
                raw.phases.pos,
                "`phases` is empty",
                "a runbook needs at least one phase with one step",
            );
        }
        for phase in &raw.phases.value {
            let p = &phase.value;
            if self.name(&p.id.value, p.id.pos, "phase id")
                && let Some(first) = phase_ids.insert(p.id.value.clone(), p.id.pos)
            {
                self.error(
                    p.id.pos,
                    format!("duplicate phase id `{}` (first at line {})", p.id.value, first.line),
                );
            }
            if p.steps.value.is_empty() {
                self.error_hint(
                    p.steps.pos,
                    format!("phase `{}` has no steps", p.id.value),
                    "add a step or remove the phase",
                );
            }
            let steps: Vec<_> = p.steps.value.iter().filter_map(|s| self.step(s, defaults)).collect();
            let title = p.title.as_ref().map(|t| self.title(t, p.id.pos));
            phases.push(Phase {
                id: p.id.value.clone(),
                title: title.unwrap_or_else(|| p.id.value.clone()),
                in_window: p.window.unwrap_or(true),
                steps,
            });
        }
        phases
    }

    fn vars(&mut self, raw: &RawRunbook, overrides: &BTreeMap<String, String>) {
        for (name, value) in &raw.vars {
            self.name_var(name, value.pos);
            let resolved = match overrides.get(name) {
                Some(v) => Some(v.clone()),
                None => self.template(value, value.pos, Scope::Vars).map(|t| {
                    if Self::uses_run_id(&value.value) {
                        // kept symbolic in the var's text; filled in per run
                        t.display()
                    } else {
                        t.render("")
                    }
                }),
            };
            if let Some(v) = resolved {
                self.vars.insert(name.clone(), v);
            }
        }
        for name in overrides.keys().filter(|k| !raw.vars.contains_key(*k)) {
            let declared: Vec<&str> = raw.vars.keys().map(String::as_str).collect();
            self.error_hint(
                Pos::FILE,
                format!("`--var {name}=...` sets a variable this runbook does not declare"),
                if declared.is_empty() {
                    "this runbook declares no vars".to_string()
                } else {
                    format!("declared vars: {}", declared.join(", "))
                },
            );
        }
    }

    fn name_var(&mut self, name: &str, pos: Pos) {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            self.error_hint(
                pos,
                format!("invalid variable name `{}`", name.escape_debug()),
                "use letters, digits, `_` and `-`",
            );
        }
    }

    fn databases(&mut self, raw: &RawRunbook) -> BTreeMap<String, Database> {
        let mut out = BTreeMap::new();
        for (name, db) in &raw.databases {
            self.name(name, db.pos, "database name");
            self.databases.push(name.clone());
            let Some(url) = self.template(&db.value.url, db.pos, Scope::Targets) else {
                continue;
            };
            let rendered = url.render("run-id");
            self.redactor.register_url_password(&rendered);
            match url::Url::parse(&rendered) {
                Ok(u) if matches!(u.scheme(), "postgres" | "postgresql") => {
                    out.insert(name.clone(), Database { url });
                }
                _ => {
                    let shown = self.redactor.mask(&rendered).into_owned();
                    self.error_hint(
                        at(&db.value.url, db.pos),
                        format!("database `{name}`: `{shown}` is not a postgres:// URL"),
                        "write postgres://user@host:5432/dbname (put the password in an env variable: ${env.PGPASSWORD})",
                    );
                }
            }
        }
        out
    }

    fn targets_services(&mut self, raw: &RawRunbook) -> BTreeMap<String, Service> {
        let mut out = BTreeMap::new();
        for (name, svc) in &raw.services {
            self.name(name, svc.pos, "service name");
            self.service_names.push(name.clone());
            let health = self.url(&svc.value.health, svc.pos, Scope::Targets, "health URL");
            self.shell_text(
                &svc.value.restart,
                svc.pos,
                &format!("the `restart` command of service `{name}`"),
            );
            let restart = self.template(&svc.value.restart, svc.pos, Scope::Targets);
            if let Some(restart) = &restart {
                let workdir = self.workdir.clone();
                self.warn_missing_script(&restart.display(), &workdir, &svc.value.restart, svc.pos);
            }
            // Registered even when broken, so steps that use it do not report it as unknown too.
            self.services.insert(name.clone(), health.as_ref().map(|h| h.display()));
            if let (Some(health), Some(restart)) = (health, restart) {
                out.insert(name.clone(), Service { health, restart });
            }
        }
        out
    }

    fn contacts(&mut self, raw: &RawContacts) -> Contacts {
        let contact = |c: &Option<RawContact>| {
            c.as_ref().map(|c| Contact {
                primary: c.primary.value.clone(),
                backup: c.backup.as_ref().map(|b| b.value.clone()),
            })
        };
        Contacts {
            technical: contact(&raw.technical),
            database: contact(&raw.database),
            security: contact(&raw.security),
            business: contact(&raw.business),
        }
    }
}

/// Removes `.` and resolves `..` lexically (the directory need not exist yet).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}
