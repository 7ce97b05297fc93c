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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::ApprovalRequest;

    fn payload(event: &str) -> NotifyPayload {
        NotifyPayload {
            runbook: "tech-debt-001.1".into(),
            run_id: "r-1".into(),
            event: event.into(),
            step: Some("pm-approval".into()),
            status: Some("paused".into()),
            message: None,
            contacts: vec!["business: @pm (Morgan), backup CTO".into()],
            request: None,
        }
    }

    #[test]
    fn an_approval_request_says_who_for_what_and_how() {
        let mut p = payload("approval_requested");
        p.request = Some(ApprovalRequest {
            role: "@pm".into(),
            runbook_sha256: "ab12".into(),
            command: "deployctl approve r.yaml pm-approval --by \"YOUR NAME\"".into(),
        });
        assert_eq!(
            text(&p),
            "tech-debt-001.1 run r-1: approval requested at `pm-approval`\nneeds an approval by role @pm for runbook sha256 ab12\napprove with: deployctl approve r.yaml pm-approval --by \"YOUR NAME\"\ncontacts: business: @pm (Morgan), backup CTO"
        );
    }

    #[test]
    fn a_step_says_its_message_or_names_itself() {
        let mut p = payload("step");
        assert_eq!(text(&p), "tech-debt-001.1: `pm-approval` (run r-1)");
        p.message = Some("deploying".into());
        assert_eq!(text(&p), "deploying");
    }
}
