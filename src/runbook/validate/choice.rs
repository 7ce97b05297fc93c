//! Fields that take one of a fixed set of words (`on_failure: rollback`, `days: [tue]`).
//!
//! They are read as strings and checked here rather than by serde, so a wrong word is one
//! more problem in the list instead of the end of validation. The raw types still declare
//! the enum for the JSON Schema, and serde's own names are the accepted spellings.

use serde::de::DeserializeOwned;

use super::context::{Validator, at};
use crate::runbook::diagnostic::Pos;
use crate::runbook::model::{
    BackupVerify, HttpMethod, Metric, MigrationStyle, NotifyEvent, NotifyFormat, OnFailure, OnNoData, Overrun, Weekday,
};
use crate::runbook::raw::Text;

/// An enum whose values a runbook spells out.
pub(super) trait Choice: DeserializeOwned {
    /// What the field is, for messages.
    const WHAT: &'static str;
    /// The accepted spellings.
    const VALUES: &'static [&'static str];
}

macro_rules! choice {
    ($ty:ty, $what:literal, [$($v:literal),+]) => {
        impl Choice for $ty {
            const WHAT: &'static str = $what;
            const VALUES: &'static [&'static str] = &[$($v),+];
        }
    };
}

choice!(Weekday, "day", ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]);
choice!(Overrun, "overrun policy", ["finish", "pause", "rollback"]);
choice!(OnFailure, "on_failure", ["stop", "rollback", "continue"]);
choice!(
    HttpMethod,
    "HTTP method",
    ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
);
choice!(MigrationStyle, "migration style", ["prisma", "plain"]);
choice!(BackupVerify, "backup verify", ["list", "restore"]);
choice!(OnNoData, "on_no_data", ["fail", "pause", "ignore"]);
choice!(Metric, "metric", ["error_rate", "p50_ms", "p95_ms", "p99_ms"]);
choice!(NotifyFormat, "notify format", ["generic", "slack"]);
choice!(
    NotifyEvent,
    "run event",
    [
        "run_started",
        "run_paused",
        "approval_requested",
        "run_failed",
        "run_interrupted",
        "run_finished",
        "trigger_fired",
        "rollback_started",
        "rolled_back",
        "rollback_failed"
    ]
);

impl Validator<'_> {
    /// The enum value a word names, or a problem listing the accepted words.
    pub(super) fn choice<T: Choice>(&mut self, text: &Text, parent: Pos) -> Option<T> {
        match serde_json::from_value(serde_json::Value::String(text.value.clone())) {
            Ok(value) => Some(value),
            Err(_) => {
                self.error_hint(
                    at(text, parent),
                    format!("unknown {} `{}`", T::WHAT, text.value.escape_debug()),
                    format!("expected one of: {}", T::VALUES.join(", ")),
                );
                None
            }
        }
    }

    /// Like [`Self::choice`], with a default when the field is absent.
    pub(super) fn choice_or<T: Choice>(&mut self, text: Option<&Text>, parent: Pos, default: T) -> Option<T> {
        match text {
            Some(t) => self.choice(t, parent),
            None => Some(default),
        }
    }
}
