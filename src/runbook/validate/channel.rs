//! Checks of notification targets (webhooks, e-mail) and of `approvals:`.
//!
//! An SMTP URL's password is registered as a secret the moment it is read, so no later
//! message can show it. Plain SMTP is accepted only to this machine: a password or an
//! approval request sent in clear over a network is refused at validation, not at 3 a.m.

use super::context::{Validator, at};
use crate::runbook::diagnostic::Pos;
use crate::runbook::interpolate::{Scope, Template};
use crate::runbook::model::{Approvals, Channel, Email, NotifyFormat, Target};
use crate::runbook::raw::{RawApprovals, RawEmail, RawWebhook, Text};
use crate::runbook::spanned::Spanned;
use crate::signing::AllowedSigners;

impl Validator<'_> {
    /// A run-level channel.
    pub(super) fn channel(&mut self, raw: &Spanned<RawWebhook>) -> Option<Channel> {
        let c = &raw.value;
        let events: Vec<_> = c.events.iter().filter_map(|e| self.choice(e, raw.pos)).collect();
        let target = self.target(c.webhook.as_ref(), c.format.as_ref(), c.email.as_ref(), raw.pos)?;
        (events.len() == c.events.len()).then_some(Channel { target, events })
    }

    /// Exactly one of `webhook` (with its `format`) and `email`.
    pub(super) fn target(
        &mut self,
        webhook: Option<&Text>,
        format: Option<&Text>,
        email: Option<&Spanned<RawEmail>>,
        pos: Pos,
    ) -> Option<Target> {
        match (webhook, email) {
            (Some(url), None) => {
                let format = self.choice_or(format, pos, NotifyFormat::Generic);
                let url = self.url(url, pos, Scope::Steps, "webhook");
                Some(Target::Webhook {
                    url: url?,
                    format: format?,
                })
            }
            (None, Some(email)) => {
                if let Some(f) = format {
                    self.error(at(f, pos), "`format` applies to a webhook, not to an e-mail");
                }
                self.email(email).map(Target::Email)
            }
            (Some(_), Some(_)) => {
                self.error_hint(
                    pos,
                    "both `webhook` and `email` are given",
                    "one notify sends one way; write two",
                );
                None
            }
            (None, None) => {
                self.error_hint(
                    pos,
                    "notify needs `webhook` or `email`",
                    "e.g. webhook: https://hooks.example.com/T0K3N",
                );
                None
            }
        }
    }

    fn email(&mut self, raw: &Spanned<RawEmail>) -> Option<Email> {
        let e = &raw.value;
        let smtp = self.smtp(&e.smtp, raw.pos);
        let from = self.address(&e.from, raw.pos);
        let to: Vec<_> = e.to.iter().filter_map(|t| self.address(t, raw.pos)).collect();
        if e.to.is_empty() {
            self.error(raw.pos, "`to` is empty: name at least one recipient");
        }
        let subject = match &e.subject {
            Some(s) => Some(self.template(s, raw.pos, Scope::Steps)?),
            None => None,
        };
        let ca = match &e.ca {
            Some(ca) => Some(self.path(ca, raw.pos, "ca")?),
            None => None,
        };
        (to.len() == e.to.len() && !to.is_empty()).then_some(())?;
        Some(Email {
            smtp: smtp?,
            from: from?,
            to,
            subject,
            ca,
        })
    }

    /// An address `lettre` can parse (`Name <a@b>` or `a@b`).
    fn address(&mut self, text: &Text, parent: Pos) -> Option<String> {
        let value = self.plain(text, parent, "e-mail address")?;
        match value.parse::<lettre::message::Mailbox>() {
            Ok(_) => Some(value),
            Err(e) => {
                self.error_hint(
                    at(text, parent),
                    format!("`{value}` is not an e-mail address: {e}"),
                    "write name@example.com or \"Name <name@example.com>\"",
                );
                None
            }
        }
    }

    fn smtp(&mut self, text: &Text, parent: Pos) -> Option<Template> {
        let template = self.template(text, parent, Scope::Steps)?;
        let rendered = template.render("run-id");
        self.redactor.register_url_password(&rendered);
        let shown = self.redactor.mask(&rendered).into_owned();
        let problem = match url::Url::parse(&rendered) {
            Err(e) => Some(format!("SMTP URL `{shown}` is not a valid URL: {e}")),
            Ok(u) if !matches!(u.scheme(), "smtp" | "smtps") => Some(format!(
                "SMTP URL `{shown}` has scheme `{}`, not smtp or smtps",
                u.scheme()
            )),
            Ok(u) if u.host_str().is_none_or(str::is_empty) => Some(format!("SMTP URL `{shown}` names no host")),
            Ok(u) if !encrypted(&u) && !local(&u) => {
                Some(format!("SMTP URL `{shown}` sends in clear to another machine"))
            }
            Ok(_) => None,
        };
        match problem {
            Some(message) => {
                self.error_hint(
                    at(text, parent),
                    message,
                    "write smtps://user:${env.SMTP_PASSWORD}@host:465 (TLS) or smtp://host:587?tls=required (STARTTLS); plain smtp:// only to localhost",
                );
                None
            }
            None => Some(template),
        }
    }

    /// `approvals:`; `require_signature` needs `allowed_signers`.
    pub(super) fn approvals(&mut self, raw: Option<&Spanned<RawApprovals>>) -> Approvals {
        let Some(raw) = raw else {
            return Approvals::default();
        };
        let signers = raw
            .value
            .allowed_signers
            .as_ref()
            .and_then(|p| self.plain(p, raw.pos, "allowed_signers"))
            .map(|p| self.workdir.join(p));
        let require_signature = raw.value.require_signature.unwrap_or(false);
        let keys = signers.as_ref().and_then(|path| match AllowedSigners::load(path) {
            Ok(keys) => Some(keys),
            Err(e) => {
                self.error_hint(
                    raw.pos,
                    e,
                    "one key per line, as for `ssh-keygen -Y verify -f`: `morgan@example.com ssh-ed25519 AAAA...`",
                );
                None
            }
        });
        if require_signature && signers.is_none() {
            self.error_hint(
                raw.pos,
                "`require_signature: true` needs `allowed_signers`",
                "allowed_signers: ops/allowed_signers (OpenSSH format: `name@example.com ssh-ed25519 AAAA...`)",
            );
        }
        Approvals {
            allowed_signers: signers,
            signers: keys,
            require_signature,
        }
    }
}

/// `smtps://`, or `smtp://...?tls=required` (STARTTLS).
pub(crate) fn encrypted(url: &url::Url) -> bool {
    url.scheme() == "smtps" || url.query_pairs().any(|(k, v)| k == "tls" && v == "required")
}

fn local(url: &url::Url) -> bool {
    matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]" | "::1"))
}
