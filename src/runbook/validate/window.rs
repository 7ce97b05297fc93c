//! Validation of the deployment window: its time zone, recurring openings, freezes and
//! what happens at the close.

use chrono::{NaiveDate, NaiveTime};

use super::context::Validator;
use crate::runbook::model::{Freeze, Overrun, Weekday, Window, WindowSlot};
use crate::runbook::raw::{RawFreeze, RawWindow, RawWindowSlot};
use crate::runbook::spanned::Spanned;

impl Validator<'_> {
    pub(super) fn window(&mut self, raw: &Spanned<RawWindow>) -> Option<Window> {
        let w = &raw.value;
        let timezone = match &w.timezone {
            None => Some(chrono_tz::UTC),
            Some(tz) => match tz.value.parse::<chrono_tz::Tz>() {
                Ok(tz) => Some(tz),
                Err(_) => {
                    self.error_hint(
                        tz.pos,
                        format!("unknown time zone `{}`", tz.value),
                        "use an IANA name such as UTC, Europe/Berlin, America/New_York",
                    );
                    None
                }
            },
        };
        if w.allow.is_empty() {
            self.error_hint(
                raw.pos,
                "`window.allow` is empty: the window never opens",
                "add an opening: { days: [tue], start: \"02:00\", end: \"06:00\" }",
            );
        }
        let allow = w.allow.iter().filter_map(|slot| self.window_slot(slot)).collect();
        let deny = w.deny.iter().filter_map(|freeze| self.freeze(freeze)).collect();
        let overrun = self.choice_or(w.overrun.as_ref(), raw.pos, Overrun::Finish);
        Some(Window {
            timezone: timezone?,
            allow,
            deny,
            overrun: overrun?,
        })
    }

    /// One recurring opening: days, and a start and end that differ (an end before the
    /// start runs past midnight).
    fn window_slot(&mut self, slot: &Spanned<RawWindowSlot>) -> Option<WindowSlot> {
        let s = &slot.value;
        if s.days.is_empty() {
            self.error(slot.pos, "window opening has no `days`");
        }
        let start = self.time(&s.start);
        let end = self.time(&s.end);
        let (start, end) = (start?, end?);
        if start == end {
            self.error_hint(
                s.end.pos,
                format!("window opening starts and ends at `{}`", s.end.value),
                "an opening that ends before it starts runs past midnight; equal times open for nothing",
            );
        }
        let days: Vec<Weekday> = s.days.iter().filter_map(|d| self.choice(d, slot.pos)).collect();
        Some(WindowSlot { days, start, end })
    }

    /// A freeze: dates on which the window stays closed (`to` defaults to `from`).
    fn freeze(&mut self, freeze: &Spanned<RawFreeze>) -> Option<Freeze> {
        let f = &freeze.value;
        let from = self.date(&f.from);
        let to = match &f.to {
            Some(t) => self.date(t),
            None => from,
        };
        let (from, to) = (from?, to?);
        if to < from {
            self.error(freeze.pos, format!("freeze ends ({to}) before it starts ({from})"));
        }
        Some(Freeze {
            from,
            to,
            reason: f.reason.as_ref().map(|r| r.value.clone()),
        })
    }

    fn time(&mut self, text: &Spanned<String>) -> Option<NaiveTime> {
        let ok = text.value.len() == 5 && text.value.as_bytes()[2] == b':';
        match NaiveTime::parse_from_str(&text.value, "%H:%M") {
            Ok(t) if ok => Some(t),
            _ => {
                self.error_hint(
                    text.pos,
                    format!("invalid time `{}`", text.value),
                    "write 24-hour HH:MM, e.g. \"02:00\" or \"23:30\" (quoted)",
                );
                None
            }
        }
    }

    fn date(&mut self, text: &Spanned<String>) -> Option<NaiveDate> {
        match NaiveDate::parse_from_str(&text.value, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                self.error_hint(
                    text.pos,
                    format!("invalid date `{}`", text.value),
                    "write YYYY-MM-DD, e.g. \"2026-12-24\"",
                );
                None
            }
        }
    }
}
