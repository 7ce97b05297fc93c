//! The runbook's run-level webhooks as a consumer of [`Notice`]s. Best effort: a webhook
//! that does not answer is a warning, never a reason to stop a deployment, nor to delay a
//! rollback (notices of the rollback are sent in the background and settled at the end).

use std::time::Duration;

use tokio::task::JoinHandle;

use super::escalation::contacts_for;
use super::notice::Notice;
use crate::runbook::Loaded;
use crate::steps::{NotifyPayload, post_json};

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
        runbook
            .notify
            .iter()
            .map(|url| {
                let url = url.render(&self.run_id);
                let shown = self.loaded.redactor.mask(&url).into_owned();
                let payload = NotifyPayload {
                    runbook: runbook.name.clone(),
                    run_id: self.run_id.clone(),
                    event: notice.event().to_string(),
                    step: notice.step().map(str::to_owned),
                    status: notice.status().map(str::to_owned),
                    message: None,
                    contacts: contacts.clone(),
                };
                let (http, event) = (self.http.clone(), notice.event());
                tokio::spawn(async move {
                    post_json(&http, &url, &payload, WEBHOOK_TIMEOUT)
                        .await
                        .err()
                        .map(|reason| format!("webhook {shown} was not told `{event}`: {reason}"))
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
