//! Where notifications go (a webhook in a chat format, or an e-mail over SMTP) and how
//! approvals are proven: the parts of the model that are about people.

use std::path::PathBuf;

use super::interpolate::Template;
use super::raw::{NotifyEvent, NotifyFormat};
use crate::signing::AllowedSigners;

/// Where one notification goes.
#[derive(Debug, Clone)]
pub enum Target {
    /// A POST of a JSON body.
    Webhook {
        /// The URL (its path may hold a token: show only its origin).
        url: Template,
        /// The body's shape.
        format: NotifyFormat,
    },
    /// An e-mail.
    Email(Email),
}

impl Target {
    /// How plans and dry runs name it (a webhook's URL as written, an e-mail's recipients).
    pub fn display(&self) -> String {
        match self {
            Target::Webhook { url, .. } => format!("POST {}", url.display()),
            Target::Email(e) => format!("e-mail to {}", e.to.join(", ")),
        }
    }
}

/// An e-mail sent over SMTP.
#[derive(Debug, Clone)]
pub struct Email {
    /// `smtps://` (TLS), `smtp://...?tls=required` (STARTTLS) or plain `smtp://` to a relay
    /// on this machine; the password in it is a registered secret.
    pub smtp: Template,
    /// Sender address.
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
    /// Subject line, when the runbook gives one.
    pub subject: Option<Template>,
    /// A certificate authority to trust besides the public ones.
    pub ca: Option<PathBuf>,
}

/// A run-level channel and the events it hears.
#[derive(Debug, Clone)]
pub struct Channel {
    /// Where it goes.
    pub target: Target,
    /// The events it hears; empty means every event.
    pub events: Vec<NotifyEvent>,
}

impl Channel {
    /// Whether this channel is told about `event`.
    pub fn hears(&self, event: NotifyEvent) -> bool {
        self.events.is_empty() || self.events.contains(&event)
    }
}

/// How approvals are proven.
#[derive(Debug, Clone, Default)]
pub struct Approvals {
    /// The OpenSSH allowed-signers file (absolute), when signatures are checked.
    pub allowed_signers: Option<PathBuf>,
    /// Its keys, read when the runbook was loaded.
    pub signers: Option<AllowedSigners>,
    /// Refuse an approval that is not signed by the approver's own key.
    pub require_signature: bool,
}
