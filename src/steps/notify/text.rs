//! The human text of a notification: the `text` of a Slack-format POST and the body of an
//! e-mail. One function, so a chat message and a mail say the same.

use super::NotifyPayload;

/// What people read: a notify step's message, or a line about a run event with the step,
/// the approval asked for (role, digest, the command to type) and who to call.
pub fn text(p: &NotifyPayload) -> String {
    if p.event == "step" {
        return match &p.message {
            Some(message) => message.clone(),
            None => format!(
                "{}: `{}` (run {})",
                p.runbook,
                p.step.as_deref().unwrap_or(""),
                p.run_id
            ),
        };
    }
    let mut lines = vec![headline(p)];
    if let Some(request) = &p.request {
        lines.push(format!(
            "needs an approval by role {} for runbook sha256 {}",
            request.role, request.runbook_sha256
        ));
        lines.push(format!("approve with: {}", request.command));
    }
    if let Some(message) = &p.message {
        lines.push(message.clone());
    }
    if !p.contacts.is_empty() {
        lines.push(format!("contacts: {}", p.contacts.join("; ")));
    }
    lines.join("\n")
}

/// `runbook run ID: event at `step``.
pub(crate) fn headline(p: &NotifyPayload) -> String {
    let at = p.step.as_deref().map(|s| format!(" at `{s}`")).unwrap_or_default();
    format!("{} run {}: {}{at}", p.runbook, p.run_id, p.event.replace('_', " "))
}
