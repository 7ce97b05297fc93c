//! The one kind key of a step: exactly one present, and its fields validated by the
//! kind's own function.

use super::context::Validator;
use super::step::KINDS;
use crate::runbook::diagnostic::Pos;
use crate::runbook::interpolate::Scope;
use crate::runbook::model::*;
use crate::runbook::raw::*;

impl Validator<'_> {
    /// The step's kind, or `None` with an error: none or several kind keys, or bad fields.
    pub(super) fn kind(&mut self, s: &RawStep, pos: Pos, id: &str) -> Option<StepKind> {
        if !self.one_kind_key(s, pos, id) {
            return None;
        }
        if let Some(k) = &s.shell {
            return self.shell(&k.value.0, k.pos, id).map(StepKind::Shell);
        }
        if let Some(k) = &s.http {
            return self.http(&k.value.0, k.pos).map(StepKind::Http);
        }
        if let Some(k) = &s.sql {
            return self.sql(&k.value, k.pos).map(StepKind::Sql);
        }
        if let Some(k) = &s.migrate {
            return self.migrate(&k.value, k.pos).map(StepKind::Migrate);
        }
        if let Some(k) = &s.backup {
            return self.backup(&k.value, k.pos).map(StepKind::Backup);
        }
        if let Some(k) = &s.restore {
            return self.restore(&k.value, k.pos).map(StepKind::Restore);
        }
        if let Some(k) = &s.rls {
            return self.rls(&k.value, k.pos).map(StepKind::Rls);
        }
        if let Some(k) = &s.approval {
            return self.approval(&k.value, k.pos).map(StepKind::Approval);
        }
        if let Some(k) = &s.manual {
            return self
                .plain(&k.value.0.text, k.pos, "checkbox text")
                .map(|text| self.redactor.mask(&text).into_owned())
                .map(|text| StepKind::Manual(Manual { text }));
        }
        if let Some(k) = &s.wait {
            return self.wait(&k.value, k.pos).map(StepKind::Wait);
        }
        if let Some(k) = &s.notify {
            return self.notify(&k.value.0, k.pos).map(StepKind::Notify);
        }
        if let Some(k) = &s.rolling_restart {
            return self.rolling_restart(&k.value, k.pos).map(StepKind::RollingRestart);
        }
        if let Some(k) = &s.monitor {
            return self.monitor(&k.value, k.pos).map(StepKind::Monitor);
        }
        if let Some(k) = &s.query {
            return self.query(&k.value, k.pos).map(StepKind::Query);
        }
        None
    }

    /// Whether exactly one kind key is present; an error naming them otherwise.
    fn one_kind_key(&mut self, s: &RawStep, pos: Pos, id: &str) -> bool {
        let present: Vec<&str> = [
            ("shell", s.shell.is_some()),
            ("http", s.http.is_some()),
            ("sql", s.sql.is_some()),
            ("migrate", s.migrate.is_some()),
            ("backup", s.backup.is_some()),
            ("restore", s.restore.is_some()),
            ("rls", s.rls.is_some()),
            ("approval", s.approval.is_some()),
            ("manual", s.manual.is_some()),
            ("wait", s.wait.is_some()),
            ("notify", s.notify.is_some()),
            ("rolling_restart", s.rolling_restart.is_some()),
            ("monitor", s.monitor.is_some()),
            ("query", s.query.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, here)| here.then_some(name))
        .collect();
        match present.len() {
            0 => {
                self.error_hint(
                    pos,
                    format!("step `{id}` says nothing to do"),
                    format!("add exactly one kind key: {KINDS}"),
                );
                false
            }
            1 => true,
            _ => {
                self.error_hint(
                    pos,
                    format!("step `{id}` has {} kind keys: {}", present.len(), present.join(", ")),
                    "a step does one thing: split it into one step per kind",
                );
                false
            }
        }
    }

    fn backup(&mut self, raw: &RawBackup, pos: Pos) -> Option<Backup> {
        let database = self.database(&raw.database, pos);
        let dir = self.path(&raw.dir, pos, "backup dir");
        let verify = self.choice_or(raw.verify.as_ref(), pos, BackupVerify::List);
        Some(Backup {
            database: database?,
            dir: dir?,
            verify: verify?,
        })
    }

    fn restore(&mut self, raw: &RawRestore, pos: Pos) -> Option<Restore> {
        let database = self.database(&raw.database, pos);
        let from = self.plain(&raw.from, pos, "backup step id");
        Some(Restore {
            database: database?,
            from: from?,
        })
    }

    fn approval(&mut self, raw: &RawApproval, pos: Pos) -> Option<Approval> {
        let role = self.plain(&raw.role, pos, "approval role");
        let from: Vec<String> = raw
            .from
            .iter()
            .filter_map(|f| self.plain(f, pos, "approver name"))
            .collect();
        let ttl = match &raw.ttl {
            Some(t) => Some(self.duration(t, pos)?),
            None => None,
        };
        Some(Approval { role: role?, from, ttl })
    }

    fn notify(&mut self, raw: &RawNotify, pos: Pos) -> Option<Notify> {
        let target = self.target(raw.webhook.as_ref(), raw.format.as_ref(), raw.email.as_ref(), pos);
        let message = match &raw.message {
            Some(m) => Some(self.template(m, pos, Scope::Steps)?),
            None => None,
        };
        Some(Notify {
            target: target?,
            message,
            required: raw.required.unwrap_or(false),
        })
    }
}
