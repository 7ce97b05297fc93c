//! Run-level webhooks: started, paused, failed, interrupted, finished, trigger fired,
//! rollback started and ended. Best effort: a webhook that does not answer is a warning,
//! never a reason to stop a deployment, nor to delay a rollback.

use std::time::Duration;

use tokio::task::JoinHandle;

use super::escalation::{Problem, contacts_for};
use super::executor::Executor;
use super::observer::Observer;
use crate::steps::{NotifyPayload, post_json};

const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);

impl<O: Observer> Executor<'_, O> {
    /// Tells every webhook and waits for them (at most [`WEBHOOK_TIMEOUT`] each).
    pub(super) async fn announce(&mut self, event: &str, step: Option<&str>, status: Option<&str>) {
        let sending = self.send(event, step, status);
        self.settle(sending).await;
    }

    /// Tells every webhook in the background: the rollback must not wait for a slow hook.
    /// What they answered is reported by [`Executor::settle_background`].
    pub(super) fn announce_in_background(&mut self, event: &str, step: Option<&str>, status: Option<&str>) {
        let sending = self.send(event, step, status);
        self.background.push(sending);
    }

    /// Waits for the background announcements and warns about the ones that failed.
    pub(super) async fn settle_background(&mut self) {
        let pending = std::mem::take(&mut self.background);
        self.settle(pending.into_iter().flatten().collect()).await;
    }

    fn send(&self, event: &str, step: Option<&str>, status: Option<&str>) -> Vec<JoinHandle<Option<String>>> {
        let runbook = &self.loaded.runbook;
        let problem = match event {
            "run_failed" => Some(Problem::Step),
            "run_paused" => Some(Problem::Gate),
            "rollback_failed" => Some(Problem::RollbackFailed),
            _ => None,
        };
        let contacts = problem.map(|p| contacts_for(runbook, p, step)).unwrap_or_default();
        runbook
            .notify
            .iter()
            .map(|url| {
                let url = url.render(&self.run_id);
                let shown = self.loaded.redactor.mask(&url).into_owned();
                let payload = NotifyPayload {
                    runbook: runbook.name.clone(),
                    run_id: self.run_id.clone(),
                    event: event.to_string(),
                    step: step.map(str::to_owned),
                    status: status.map(str::to_owned),
                    message: None,
                    contacts: contacts.clone(),
                };
                let (http, event) = (self.http.clone(), event.to_string());
                tokio::spawn(async move {
                    post_json(&http, &url, &payload, WEBHOOK_TIMEOUT)
                        .await
                        .err()
                        .map(|reason| format!("webhook {shown} was not told `{event}`: {reason}"))
                })
            })
            .collect()
    }

    async fn settle(&mut self, sending: Vec<JoinHandle<Option<String>>>) {
        for handle in sending {
            if let Ok(Some(warning)) = handle.await {
                let warning = self.loaded.redactor.mask(&warning).into_owned();
                self.observer.warn(&warning);
            }
        }
    }
}
