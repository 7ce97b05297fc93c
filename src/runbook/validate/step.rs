//! Validation of steps: the common fields, defaults and `undo`; the kind key is checked in
//! [`super::kind`], each kind's fields in the kind's own file.
//!
//! A step's settings are its own, else the runbook's `defaults`, else the built-in defaults
//! (timeout 5m, no retries, retry_delay 2s, constant delay, on_failure stop).

use std::time::Duration;

use super::context::Validator;
use crate::runbook::diagnostic::Pos;
use crate::runbook::model::*;
use crate::runbook::raw::*;
use crate::runbook::spanned::Spanned;

/// Settings every step inherits unless it says otherwise.
#[derive(Debug, Clone)]
pub(super) struct Defaults {
    timeout: Duration,
    retries: u32,
    retry_delay: Duration,
    backoff: Backoff,
    on_failure: OnFailure,
}

pub(super) const KINDS: &str =
    "shell, http, sql, migrate, backup, restore, rls, approval, manual, wait, notify, rolling_restart, monitor, query";

impl Validator<'_> {
    pub(super) fn defaults(&mut self, raw: Option<&RawDefaults>) -> Defaults {
        let mut d = Defaults {
            timeout: Duration::from_secs(300),
            retries: 0,
            retry_delay: Duration::from_secs(2),
            backoff: Backoff { factor: 1.0, max: None },
            on_failure: OnFailure::Stop,
        };
        let Some(raw) = raw else { return d };
        if let Some(t) = raw.timeout.as_ref().and_then(|t| self.duration(t, Pos::FILE)) {
            d.timeout = t;
        }
        if let Some(r) = raw.retries.as_ref().and_then(|r| self.int(r, 0, 100, "retries")) {
            d.retries = r;
        }
        if let Some(t) = raw.retry_delay.as_ref().and_then(|t| self.duration(t, Pos::FILE)) {
            d.retry_delay = t;
        }
        if let Some(b) = raw.backoff.as_ref().and_then(|b| self.backoff(b)) {
            d.backoff = b;
        }
        if let Some(f) = raw.on_failure.as_ref().and_then(|f| self.choice(f, Pos::FILE)) {
            d.on_failure = f;
        }
        d
    }

    fn backoff(&mut self, raw: &Spanned<RawBackoff>) -> Option<Backoff> {
        let factor = match &raw.value.factor {
            Some(f) if !self.unquoted(f, "backoff factor") => return None,
            Some(f) if !(1.0..=100.0).contains(&f.value) => {
                self.error_hint(
                    f.pos,
                    format!("backoff factor must be between 1 and 100, not {}", f.value),
                    "1 keeps the delay constant; 2 doubles it after each attempt",
                );
                return None;
            }
            Some(f) => f.value,
            None => 2.0,
        };
        let max = match &raw.value.max {
            Some(m) => Some(self.duration(m, raw.pos)?),
            None => None,
        };
        Some(Backoff { factor, max })
    }

    /// A step of a phase or of the rollback procedure (must have an id).
    pub(super) fn step(&mut self, raw: &Spanned<RawStep>, defaults: &Defaults) -> Option<Step> {
        let pos = raw.pos;
        let id = match &raw.value.id {
            Some(id) => {
                if id.value.ends_with(".undo") {
                    self.error_hint(
                        id.pos,
                        format!("step id `{}` ends in `.undo`", id.value),
                        "`<id>.undo` names the journal entries of a step's undo: choose another id",
                    );
                } else if self.name(&id.value, id.pos, "step id") {
                    self.claim_id(&id.value, id.pos);
                }
                id.value.clone()
            }
            None => {
                self.error_hint(
                    pos,
                    "step has no `id`",
                    "give every step a unique id: `- id: backup-community`",
                );
                "<no id>".to_string()
            }
        };
        self.step_body(raw, &id, defaults)
    }

    fn claim_id(&mut self, id: &str, pos: Pos) {
        if let Some(first) = self.step_ids.get(id) {
            let first = *first;
            self.error_hint(
                pos,
                format!("duplicate step id `{id}` (first at line {}:{})", first.line, first.col),
                "step ids are unique across all phases and `rollback`: they name journal entries",
            );
        } else {
            self.step_ids.insert(id.to_owned(), pos);
        }
    }

    fn step_body(&mut self, raw: &Spanned<RawStep>, id: &str, defaults: &Defaults) -> Option<Step> {
        let s = &raw.value;
        let pos = raw.pos;
        let timeout = self.optional_duration(s.timeout.as_ref(), pos, defaults.timeout);
        let retries = match &s.retries {
            Some(r) => self.int(r, 0, 100, "retries"),
            None => Some(defaults.retries),
        };
        let retry_delay = self.optional_duration(s.retry_delay.as_ref(), pos, defaults.retry_delay);
        let backoff = match &s.backoff {
            Some(b) => self.backoff(b),
            None => Some(defaults.backoff),
        };
        let verify = s.verify.as_ref().map(|v| self.check(v, "verify"));
        let undo = s.undo.as_ref().map(|u| self.undo(u, id, defaults));
        let on_failure = self.choice_or(s.on_failure.as_ref(), pos, defaults.on_failure);
        let title = s.title.as_ref().map(|t| self.title(t, pos));
        let kind = self.kind(s, pos, id);
        let kind = kind?;
        let idempotent = s.idempotent.unwrap_or_else(|| kind.idempotent_by_default());
        Some(Step {
            id: id.to_owned(),
            title,
            pos: s.id.as_ref().map_or(pos, |id| id.pos),
            timeout: timeout?,
            retries: retries?,
            retry_delay: retry_delay?,
            backoff: backoff?,
            on_failure: on_failure?,
            idempotent,
            verify: match verify {
                Some(v) => Some(v?),
                None => None,
            },
            undo: match undo {
                Some(u) => Some(Box::new(u?)),
                None => None,
            },
            kind,
        })
    }

    fn undo(&mut self, raw: &Spanned<RawStep>, of: &str, defaults: &Defaults) -> Option<Step> {
        if let Some(id) = &raw.value.id {
            self.error_hint(
                id.pos,
                format!("`undo` of step `{of}` has an `id`"),
                format!("an undo has no id of its own: it is journaled as `{of}.undo`"),
            );
        }
        if raw.value.undo.is_some() || raw.value.verify.is_some() {
            self.error(
                raw.pos,
                format!("`undo` of step `{of}` cannot have its own `undo` or `verify`"),
            );
        }
        self.step_body(raw, &format!("{of}.undo"), defaults)
    }
}
