//! [`Statement`]: the exact text an approver signs.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::journal::ApprovalRecord;

/// What an approval says, field by field; [`Statement::text`] is what is signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement<'a> {
    /// The runbook digest approved.
    pub runbook_sha256: &'a str,
    /// The run.
    pub run_id: &'a str,
    /// The step (gate).
    pub step: &'a str,
    /// The role approved as, if any.
    pub role: Option<&'a str>,
    /// The approver's name as given with `--by`.
    pub name: &'a str,
    /// When (the journal entry's time).
    pub at: DateTime<Utc>,
    /// The note, if any.
    pub note: Option<&'a str>,
}

impl<'a> Statement<'a> {
    /// The statement of a journaled approval of run `run_id`.
    pub fn of(record: &'a ApprovalRecord, run_id: &'a str) -> Self {
        Statement {
            runbook_sha256: &record.runbook_sha256,
            run_id,
            step: &record.step,
            role: record.role.as_deref(),
            name: &record.by,
            at: record.at,
            note: record.note.as_deref(),
        }
    }

    /// One `key: value` line per field; free text is JSON-quoted, so a name or a note with a
    /// line break cannot forge another field.
    pub fn text(&self) -> String {
        let quote = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
        let optional = |s: Option<&str>| s.map_or_else(|| "null".to_owned(), quote);
        format!(
            "deployctl approval v1\nrunbook-sha256: {}\nrun: {}\nstep: {}\nrole: {}\nname: {}\ntime: {}\nnote: {}\n",
            quote(self.runbook_sha256),
            quote(self.run_id),
            quote(self.step),
            optional(self.role),
            quote(self.name),
            self.at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            optional(self.note),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_in_the_text_and_free_text_cannot_forge_a_line() {
        let at = DateTime::parse_from_rfc3339("2026-03-03T02:30:00Z").map(|t| t.with_timezone(&Utc));
        let statement = Statement {
            runbook_sha256: "ab12",
            run_id: "r-1",
            step: "pm-approval",
            role: Some("@pm"),
            name: "Morgan",
            at: at.unwrap_or_default(),
            note: Some("ok\nstep: cto-approval"),
        };
        assert_eq!(
            statement.text(),
            "deployctl approval v1\nrunbook-sha256: \"ab12\"\nrun: \"r-1\"\nstep: \"pm-approval\"\nrole: \"@pm\"\nname: \"Morgan\"\ntime: 2026-03-03T02:30:00Z\nnote: \"ok\\nstep: cto-approval\"\n"
        );
    }
}
