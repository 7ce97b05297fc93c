//! Run-level webhooks: started, paused, failed, interrupted, finished. Best effort: a
//! webhook that does not answer is a warning, never a reason to stop a deployment.

use std::time::Duration;

use super::executor::Executor;
use super::observer::Observer;
use crate::steps::{NotifyPayload, post_json};

const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);

impl<O: Observer> Executor<'_, O> {
    pub(super) async fn announce(&mut self, event: &str, step: Option<&str>, status: Option<&str>) {
        let runbook = &self.loaded.runbook;
        for url in &runbook.notify {
            let url = url.render(&self.run_id);
            let payload = NotifyPayload {
                runbook: runbook.name.clone(),
                run_id: self.run_id.clone(),
                event: event.to_string(),
                step: step.map(str::to_owned),
                status: status.map(str::to_owned),
                message: None,
            };
            if let Err(reason) = post_json(&self.http, &url, &payload, WEBHOOK_TIMEOUT).await {
                let shown = self.loaded.redactor.mask(&url).into_owned();
                let reason = self.loaded.redactor.mask(&reason).into_owned();
                self.observer
                    .warn(&format!("webhook {shown} was not told `{event}`: {reason}"));
            }
        }
    }
}
