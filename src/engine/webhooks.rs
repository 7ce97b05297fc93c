//! The runbook's run-level channels (webhooks, e-mail) as a consumer of [`Notice`]s, each
//! told the events it hears. Best effort: a channel that does not answer is a warning, never
//! a reason to stop a deployment, nor to delay a rollback (notices of the rollback are sent
//! in the background and settled at the end).

use std::time::Duration;

use tokio::task::JoinHandle;

use super::escalation::contacts_for;
use super::notice::Notice;
use crate::runbook::Loaded;
use crate::runbook::model::Target;
use crate::steps::{ApprovalRequest, NotifyPayload, deliver};

const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);

/// The webhooks of one run.
pub(super) struct Webhooks<'a> {
    loaded: &'a Loaded,
    http: reqwest::Client,
    run_id: String,
    background: Vec<JoinHandle<Option<String>>>,
}

impl<'a> Webhooks<'a> {
    /// The runbook's webhooks for run `run_id`.
    pub(super) fn new(loaded: &'a Loaded, http: reqwest::Client, run_id: String) -> Self {
        Webhooks {
            loaded,
            http,
            run_id,
            background: Vec::new(),
        }
    }

    /// Tells every webhook. A background notice returns at once (its failures come with
    /// [`Self::settle`]); any other waits, at most [`WEBHOOK_TIMEOUT`] each, and returns the
    /// warnings to show.
    pub(super) async fn tell(&mut self, notice: &Notice) -> Vec<String> {
        let sending = self.send(notice);
        if notice.in_background() {
            self.background.extend(sending);
            return Vec::new();
        }
        self.warnings(sending).await
    }

    /// Waits for the background notices and returns their warnings.
    pub(super) async fn settle(&mut self) -> Vec<String> {
        let pending = std::mem::take(&mut self.background);
        self.warnings(pending).await
    }

    fn send(&self, notice: &Notice) -> Vec<JoinHandle<Option<String>>> {
        let runbook = &self.loaded.runbook;
        let contacts = notice
            .problem()
            .map(|p| contacts_for(runbook, p, notice.step()))
            .unwrap_or_default();
        let payload = NotifyPayload {
            runbook: runbook.name.clone(),
            run_id: self.run_id.clone(),
            event: notice.event().to_string(),
            step: notice.step().map(str::to_owned),
            status: notice.status().map(str::to_owned),
            message: None,
            contacts,
            request: notice.request().map(|(role, command)| ApprovalRequest {
                role: role.to_owned(),
                runbook_sha256: self.loaded.sha256.clone(),
                command: command.to_owned(),
            }),
        };
        runbook
            .notify
            .iter()
            .filter(|channel| channel.hears(notice.kind()))
            .map(|channel| {
                let shown = self
                    .loaded
                    .redactor
                    .mask(&named(&channel.target, &self.run_id))
                    .into_owned();
                let (target, payload) = (channel.target.clone(), payload.clone());
                let (http, redactor, event) = (self.http.clone(), self.loaded.redactor.clone(), notice.event());
                tokio::spawn(async move {
                    deliver(&target, &payload, &http, &redactor, WEBHOOK_TIMEOUT)
                        .await
                        .err()
                        .map(|reason| format!("{shown} was not told `{event}`: {reason}"))
                })
            })
            .collect()
    }

    async fn warnings(&self, sending: Vec<JoinHandle<Option<String>>>) -> Vec<String> {
        let mut warnings = Vec::new();
        for handle in sending {
            if let Ok(Some(warning)) = handle.await {
                warnings.push(self.loaded.redactor.mask(&warning).into_owned());
            }
        }
        warnings
    }
}

/// How a warning names a channel: `webhook URL` (masked by the caller) or `e-mail to ...`.
fn named(target: &Target, run_id: &str) -> String {
    match target {
        Target::Webhook { url, .. } => format!("webhook {}", url.render(run_id)),
        Target::Email(_) => target.display(),
    }
}
