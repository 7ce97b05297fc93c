//! One notification to one target: a webhook POST in its format, or an e-mail.

use std::time::Duration;

use serde::Serialize;

use super::email::{Mail, send};
use super::text::{headline, text};
use super::{NotifyPayload, origin, post_json};
use crate::redact::Redactor;
use crate::runbook::model::{NotifyFormat, Target};

/// The body of a Slack-format POST (Slack and Mattermost incoming webhooks read `text`).
#[derive(Serialize)]
struct SlackBody {
    text: String,
}

/// Delivers `payload` to `target`: `Ok` says where it went ("posted to ...", "mailed to
/// ..."), `Err` why not. Neither is masked yet; callers mask both.
pub async fn deliver(
    target: &Target,
    payload: &NotifyPayload,
    http: &reqwest::Client,
    redactor: &Redactor,
    timeout: Duration,
) -> Result<String, String> {
    match target {
        Target::Webhook { url, format } => {
            let url = url.render(&payload.run_id);
            match format {
                NotifyFormat::Generic => post_json(http, &url, payload, timeout).await?,
                NotifyFormat::Slack => post_json(http, &url, &SlackBody { text: text(payload) }, timeout).await?,
            }
            Ok(format!("posted to {}", origin(&url)))
        }
        Target::Email(email) => {
            let subject = match &email.subject {
                Some(s) => redactor.mask(&s.render(&payload.run_id)).into_owned(),
                None => headline(payload),
            };
            let smtp = email.smtp.render(&payload.run_id);
            let mail = Mail {
                smtp: &smtp,
                from: &email.from,
                to: &email.to,
                subject: &subject,
                body: &text(payload),
                ca: email.ca.as_deref(),
            };
            send(&mail, timeout).await?;
            Ok(format!("mailed to {}", email.to.join(", ")))
        }
    }
}
