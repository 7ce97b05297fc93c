//! The deployment window as written: recurring slots, freezes, what happens at the close.

use schemars::JsonSchema;
use serde::Deserialize;

use super::super::spanned::Spanned;
use super::Text;

/// The deployment window.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWindow {
    /// IANA time zone the times are in (default UTC).
    pub timezone: Option<Text>,
    /// When changes may run.
    pub allow: Vec<Spanned<RawWindowSlot>>,
    /// Freeze dates on which nothing runs.
    #[serde(default)]
    pub deny: Vec<Spanned<RawFreeze>>,
    /// What happens when the window closes while changes still run.
    #[schemars(with = "Option<Overrun>")]
    pub overrun: Option<Text>,
}

/// One recurring opening of the window.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWindowSlot {
    /// Days the opening starts on.
    #[schemars(with = "Vec<Weekday>")]
    pub days: Vec<Text>,
    /// Opening time, `HH:MM`.
    pub start: Text,
    /// Closing time, `HH:MM`; earlier than start means the next day.
    pub end: Text,
}

/// A freeze: dates on which the window is closed.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFreeze {
    /// First frozen date, `YYYY-MM-DD`.
    pub from: Text,
    /// Last frozen date (inclusive); defaults to `from`.
    pub to: Option<Text>,
    /// Why, shown when a run is refused.
    pub reason: Option<Text>,
}

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

/// What to do when the window closes mid-run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Overrun {
    /// Keep going to the end.
    Finish,
    /// Stop before the next step that changes things (exit 3).
    Pause,
    /// Run the rollback.
    Rollback,
}
