//! Who to call for which problem: a failed database step pages the database contact, a
//! failed RLS check the security contact, a waiting approval the business contact, a
//! failed rollback everyone. Used for the lines printed on stderr and for the `contacts`
//! of webhook payloads, so both say the same.

use crate::runbook::model::{Contact, Contacts, Runbook, StepKind};

/// The kind of problem, which decides the contacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// A step failed, or waits for a retry approval.
    Step,
    /// The run waits for a person (a gate, or a retry approval).
    Gate,
    /// The rollback itself failed: page everyone.
    RollbackFailed,
    /// The run waits at an `approval` or `manual` step, as planned: the people who can
    /// pass it (no escalation).
    PlannedGate,
}

/// Contact kinds for a problem at a step, most relevant first.
pub fn kinds(problem: Problem, kind: Option<&StepKind>) -> &'static [&'static str] {
    match (problem, kind) {
        (Problem::RollbackFailed, _) => &["technical", "database", "security", "business"],
        (Problem::Gate | Problem::PlannedGate, Some(StepKind::Approval(_))) => &["business", "technical"],
        (Problem::Gate | Problem::PlannedGate, _) => &["technical"],
        (Problem::Step, Some(StepKind::Sql(_) | StepKind::Migrate(_) | StepKind::Backup(_))) => {
            &["database", "technical"]
        }
        (Problem::Step, Some(StepKind::Rls(_))) => &["security", "database"],
        (Problem::Step, _) => &["technical"],
    }
}

/// `kind: primary, backup BACKUP` lines for a problem at a step (forward or rollback), in
/// the order of [`kinds`]; every defined contact when none of those kinds is defined.
pub fn contacts_for(runbook: &Runbook, problem: Problem, step: Option<&str>) -> Vec<String> {
    let kind = step.and_then(|id| {
        runbook
            .steps()
            .map(|(_, s)| s)
            .chain(runbook.rollback.iter())
            .chain(runbook.steps().filter_map(|(_, s)| s.undo.as_deref()))
            .find(|s| s.id == id)
            .map(|s| &s.kind)
    });
    let wanted: Vec<String> = kinds(problem, kind)
        .iter()
        .filter_map(|k| line(&runbook.contacts, k))
        .collect();
    if !wanted.is_empty() {
        return wanted;
    }
    ["technical", "database", "security", "business"]
        .iter()
        .filter_map(|k| line(&runbook.contacts, k))
        .collect()
}

fn line(contacts: &Contacts, kind: &str) -> Option<String> {
    let contact: &Option<Contact> = match kind {
        "technical" => &contacts.technical,
        "database" => &contacts.database,
        "security" => &contacts.security,
        "business" => &contacts.business,
        _ => return None,
    };
    contact.as_ref().map(|c| {
        let backup = c.backup.as_deref().map(|b| format!(", backup {b}")).unwrap_or_default();
        format!("{kind}: {}{backup}", c.primary)
    })
}
