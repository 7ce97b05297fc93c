//! `notify`, and the delivery (webhook POST or e-mail) that run-level notifications share
//! with it.
//!
//! Webhook URLs often carry their credential in the path (Slack, Teams), and nothing marks
//! them secret, so messages name only the URL's origin, never its path or query. The message
//! text is masked before it leaves: a chat channel is as public as a log.

mod deliver;
mod email;
mod text;

use std::time::Duration;

use serde::Serialize;

use super::http::describe_error;
use super::kind::Kind;
use super::{StepContext, StepOutcome};
use crate::runbook::Runbook;
use crate::runbook::model::Notify;

pub use deliver::deliver;

/// The JSON body of every webhook POST.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotifyPayload {
    /// Runbook name.
    pub runbook: String,
    /// Run id.
    pub run_id: String,
    /// What happened: `step` for a notify step, else a run event (`started`, `failed`, ...).
    pub event: String,
    /// The step concerned, if any.
    pub step: Option<String>,
    /// Its status, if any.
    pub status: Option<String>,
    /// Free text (already masked).
    pub message: Option<String>,
    /// Who to call about it (`kind: primary, backup B`), on failures, pauses and a failed
    /// rollback; omitted otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<String>,
    /// The approval being asked for (`approval_requested` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<ApprovalRequest>,
}

/// What an `approval_requested` notice asks for: enough to approve without opening the
/// runbook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApprovalRequest {
    /// The role that must approve.
    pub role: String,
    /// The runbook digest an approval is given for.
    pub runbook_sha256: String,
    /// The exact command to type (with `--sign` when signatures are required).
    pub command: String,
}

/// POSTs `payload` as JSON; `Ok` on a 2xx answer. The error names the URL's origin and the
/// status or kind of failure (never the path, which may hold a token); callers still mask it.
pub async fn post_json(
    client: &reqwest::Client,
    url: &str,
    payload: &impl Serialize,
    timeout: Duration,
) -> Result<(), String> {
    let target = format!("POST {}", origin(url));
    let response = client
        .post(url)
        .timeout(timeout)
        .json(payload)
        .send()
        .await
        .map_err(|e| format!("{target}: {}", describe_error(&e, timeout)))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("{target}: answered {}, expected 2xx", status.as_u16()))
    }
}

/// `scheme://host:port/…` of a URL, or a placeholder when it does not parse.
pub(crate) fn origin(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) if parsed.path() == "/" && parsed.query().is_none() => parsed.origin().ascii_serialization(),
        Ok(parsed) => format!("{}/…", parsed.origin().ascii_serialization()),
        Err(_) => "<webhook URL that does not parse>".into(),
    }
}

impl Kind for Notify {
    fn describe(&self, _runbook: &Runbook) -> String {
        self.target.display()
    }

    async fn execute(&self, ctx: &StepContext<'_>) -> StepOutcome {
        let payload = NotifyPayload {
            contacts: Vec::new(),
            request: None,
            runbook: ctx.runbook.to_owned(),
            run_id: ctx.run_id.to_owned(),
            event: "step".into(),
            step: Some(ctx.step_id.to_owned()),
            status: Some("notify".into()),
            message: self
                .message
                .as_ref()
                .map(|m| ctx.redactor.mask(&m.render(ctx.run_id)).into_owned()),
        };
        let sent = deliver(&self.target, &payload, ctx.http, ctx.redactor, ctx.timeout).await;
        match sent {
            Ok(done) => StepOutcome::Done {
                detail: Some(ctx.redactor.mask(&done).into_owned()),
                output: None,
            },
            Err(reason) if self.required => {
                StepOutcome::failed(format!("{}: {}", failed(self), ctx.redactor.mask(&reason)))
            }
            Err(reason) => StepOutcome::Done {
                detail: Some(format!(
                    "{} (not required): {}",
                    failed(self),
                    ctx.redactor.mask(&reason)
                )),
                output: None,
            },
        }
    }
}

fn failed(notify: &Notify) -> &'static str {
    match notify.target {
        crate::runbook::model::Target::Webhook { .. } => "webhook failed",
        crate::runbook::model::Target::Email(_) => "e-mail failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::Redactor;
    use crate::runbook::model::{NotifyFormat, Target, Template};
    use crate::steps::test_server::{Fixture, TestServer, refused_url};

    fn notify(url: &str, required: bool) -> Notify {
        Notify {
            target: Target::Webhook {
                url: Template::literal(url),
                format: NotifyFormat::Generic,
            },
            message: Some(Template::literal("deploying with canary-s3cret")),
            required,
        }
    }

    #[tokio::test]
    async fn posts_the_payload() {
        let server = TestServer::start().await;
        server.reply(204, "");
        let mut redactor = Redactor::default();
        redactor.register("canary-s3cret");
        let outcome = Fixture::with_redactor(redactor)
            .run(&notify(&server.url("/hook/T0K3N"), true))
            .await;
        assert_eq!(
            outcome,
            StepOutcome::Done {
                detail: Some(format!("posted to {}/…", server.url(""))),
                output: None
            }
        );
        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(
            (requests[0].method.as_str(), requests[0].path.as_str()),
            ("POST", "/hook/T0K3N")
        );
        assert_eq!(requests[0].header("content-type"), Some("application/json"));
        let body: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap_or_default();
        assert_eq!(
            body,
            serde_json::json!({
                "runbook": "demo", "run_id": "r-1", "event": "step", "step": "announce",
                "status": "notify", "message": "deploying with ***"
            })
        );
    }

    #[tokio::test]
    async fn the_slack_format_posts_a_text_field() {
        let server = TestServer::start().await;
        server.reply(200, "ok");
        let mut step = notify(&server.url("/hook"), true);
        step.target = Target::Webhook {
            url: Template::literal(server.url("/hook")),
            format: NotifyFormat::Slack,
        };
        let outcome = Fixture::new().run(&step).await;
        assert!(matches!(outcome, StepOutcome::Done { .. }), "{outcome:?}");
        let requests = server.requests();
        let body: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap_or_default();
        assert_eq!(body, serde_json::json!({ "text": "deploying with canary-s3cret" }));
    }

    #[tokio::test]
    async fn required_failure_fails() {
        let server = TestServer::start().await;
        server.reply(500, "oops");
        let outcome = Fixture::new().run(&notify(&server.url("/hook/T0K3N"), true)).await;
        assert_eq!(
            outcome,
            StepOutcome::failed(format!(
                "webhook failed: POST {}/…: answered 500, expected 2xx",
                server.url("")
            ))
        );
    }

    #[tokio::test]
    async fn optional_failure_is_done_with_a_note() {
        let url = refused_url().await;
        let outcome = Fixture::new().run(&notify(&url, false)).await;
        assert_eq!(
            outcome,
            StepOutcome::Done {
                detail: Some(format!("webhook failed (not required): POST {url}: connection refused")),
                output: None
            }
        );
    }
}
