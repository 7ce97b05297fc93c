//! The deployment window: is it open now, when does it close, when does it open next.
//!
//! Theory of operation: slots are written in the window's timezone as weekdays and wall
//! times; a slot whose end is not after its start ends the next day. For an instant we look
//! at the slots that started on the local date before it and on its own date (no slot is
//! longer than a day), turn their local bounds into instants with chrono-tz, and check
//! whether the instant falls inside. Wall times that do not exist (the spring-forward gap)
//! move to the first instant after the gap; ambiguous ones (fall back) take the earlier
//! reading for a start and the later for an end, so a window is never shortened by a DST
//! change. A freeze closes the window for every slot that starts on one of its dates.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::runbook::model::{Weekday, Window};

/// How far ahead the next opening is searched.
const HORIZON_DAYS: i64 = 400;

/// The window at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowState {
    /// Open until `closes`.
    Open {
        /// When the slot that is open now ends.
        closes: DateTime<Utc>,
    },
    /// Closed.
    Closed {
        /// Why, in words (outside every slot, or a freeze and its reason).
        why: String,
        /// When it opens next, if within the horizon.
        next: Option<DateTime<Utc>>,
    },
}

/// One concrete opening: a slot on a date.
#[derive(Debug, Clone, Copy)]
struct Opening {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    date: NaiveDate,
}

/// The window as one line: `tue,wed,thu 02:00-06:00; fri 23:00-03:00 (UTC), overrun finish`.
pub fn describe(w: &Window) -> String {
    let slots: Vec<String> = w
        .allow
        .iter()
        .map(|s| {
            let days: Vec<String> = s
                .days
                .iter()
                .map(|d| {
                    serde_json::to_value(d)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                })
                .collect();
            format!(
                "{} {}-{}",
                days.join(","),
                s.start.format("%H:%M"),
                s.end.format("%H:%M")
            )
        })
        .collect();
    let overrun = serde_json::to_value(w.overrun)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let freezes = if w.deny.is_empty() {
        String::new()
    } else {
        format!(", {} freeze(s)", w.deny.len())
    };
    format!("{} ({}){freezes}, overrun {overrun}", slots.join("; "), w.timezone)
}

/// The window's state at `now`. A frozen slot never hides another that is open, and the
/// close runs on through slots that start before (or as) the open one ends.
pub fn state(window: &Window, now: DateTime<Utc>) -> WindowState {
    let today = now.with_timezone(&window.timezone).date_naive();
    let (open, frozen_now): (Vec<Opening>, Vec<Opening>) = [today - Duration::days(1), today]
        .into_iter()
        .flat_map(|date| openings_on(window, date))
        .filter(|o| o.start <= now && now < o.end)
        .partition(|o| frozen(window, o.date).is_none());
    if let Some(o) = open.iter().max_by_key(|o| o.end) {
        return WindowState::Open {
            closes: close_after(window, o.end),
        };
    }
    let why = match frozen_now.first() {
        Some(o) => format!("frozen on {}{}", o.date, frozen(window, o.date).unwrap_or_default()),
        None => "outside every allowed slot".to_string(),
    };
    WindowState::Closed {
        why,
        next: next_opening(window, now),
    }
}

/// Where an opening that ends at `end` really closes: adjacent or overlapping unfrozen
/// slots (Monday 20:00-00:00 then Tuesday 00:00-04:00) make one opening.
fn close_after(window: &Window, mut end: DateTime<Utc>) -> DateTime<Utc> {
    // Each slot is at most a day long, so a week of chained slots is far past any run.
    for _ in 0..14 {
        let date = end.with_timezone(&window.timezone).date_naive();
        let next = [date - Duration::days(1), date]
            .into_iter()
            .flat_map(|d| openings_on(window, d))
            .filter(|o| o.start <= end && end < o.end && frozen(window, o.date).is_none())
            .map(|o| o.end)
            .max();
        match next {
            Some(later) => end = later,
            None => break,
        }
    }
    end
}

/// The first unfrozen opening that starts at or after `now`.
pub fn next_opening(window: &Window, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let today = now.with_timezone(&window.timezone).date_naive();
    (0..HORIZON_DAYS)
        .map(|d| today + Duration::days(d))
        .flat_map(|date| openings_on(window, date))
        .filter(|o| o.start >= now && frozen(window, o.date).is_none())
        .map(|o| o.start)
        .min()
}

/// The slots that start on a local date.
fn openings_on(window: &Window, date: NaiveDate) -> Vec<Opening> {
    let tz = window.timezone;
    let day = weekday(date);
    window
        .allow
        .iter()
        .filter(|slot| slot.days.contains(&day))
        .map(|slot| {
            let end_date = if slot.end <= slot.start {
                date + Duration::days(1)
            } else {
                date
            };
            Opening {
                start: instant(tz, date, slot.start, Edge::Start),
                end: instant(tz, end_date, slot.end, Edge::End),
                date,
            }
        })
        .collect()
}

#[derive(Clone, Copy)]
enum Edge {
    Start,
    End,
}

/// A local wall time as an instant; see the module doc for gaps and folds.
fn instant(tz: Tz, date: NaiveDate, time: NaiveTime, edge: Edge) -> DateTime<Utc> {
    let local = NaiveDateTime::new(date, time);
    let mapped = tz.from_local_datetime(&local);
    let chosen = match edge {
        Edge::Start => mapped.earliest(),
        Edge::End => mapped.latest(),
    };
    match chosen {
        Some(t) => t.with_timezone(&Utc),
        None => {
            // In a spring-forward gap: the first valid minute after it (gaps are < 3h).
            (1..=180)
                .find_map(|m| tz.from_local_datetime(&(local + Duration::minutes(m))).earliest())
                .map_or_else(|| Utc.from_utc_datetime(&local), |t| t.with_timezone(&Utc))
        }
    }
}

/// `Some(": reason")` when a freeze covers the date.
fn frozen(window: &Window, date: NaiveDate) -> Option<String> {
    window
        .deny
        .iter()
        .find(|f| f.from <= date && date <= f.to)
        .map(|f| f.reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default())
}

fn weekday(date: NaiveDate) -> Weekday {
    match date.weekday() {
        chrono::Weekday::Mon => Weekday::Mon,
        chrono::Weekday::Tue => Weekday::Tue,
        chrono::Weekday::Wed => Weekday::Wed,
        chrono::Weekday::Thu => Weekday::Thu,
        chrono::Weekday::Fri => Weekday::Fri,
        chrono::Weekday::Sat => Weekday::Sat,
        chrono::Weekday::Sun => Weekday::Sun,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runbook::model::{Freeze, Overrun, WindowSlot};

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn slot(days: &[Weekday], start: &str, end: &str) -> WindowSlot {
        let t = |s: &str| NaiveTime::parse_from_str(s, "%H:%M").unwrap_or_default();
        WindowSlot {
            days: days.to_vec(),
            start: t(start),
            end: t(end),
        }
    }

    fn window(tz: Tz, allow: Vec<WindowSlot>) -> Window {
        Window {
            timezone: tz,
            allow,
            deny: Vec::new(),
            overrun: Overrun::Finish,
        }
    }

    fn seed() -> Window {
        use Weekday::*;
        window(
            chrono_tz::UTC,
            vec![slot(&[Tue, Wed, Thu], "02:00", "06:00"), slot(&[Fri], "23:00", "03:00")],
        )
    }

    #[test]
    fn open_inside_a_slot_and_closed_at_its_end() {
        // 2026-03-03 is a Tuesday.
        assert_eq!(
            state(&seed(), at("2026-03-03T02:00:00Z")),
            WindowState::Open {
                closes: at("2026-03-03T06:00:00Z")
            }
        );
        let WindowState::Closed { next, .. } = state(&seed(), at("2026-03-03T06:00:00Z")) else {
            panic!("06:00 is the end")
        };
        assert_eq!(next, Some(at("2026-03-04T02:00:00Z")));
    }

    #[test]
    fn a_slot_crossing_midnight_belongs_to_the_day_it_starts() {
        // Friday 23:00 to Saturday 03:00; Saturday is not in any slot of its own.
        assert_eq!(
            state(&seed(), at("2026-03-07T01:30:00Z")),
            WindowState::Open {
                closes: at("2026-03-07T03:00:00Z")
            }
        );
        let WindowState::Closed { next, .. } = state(&seed(), at("2026-03-07T03:00:00Z")) else {
            panic!("closed at 03:00 Saturday")
        };
        assert_eq!(next, Some(at("2026-03-10T02:00:00Z")), "next Tuesday");
    }

    #[test]
    fn slots_are_in_the_window_timezone() {
        let w = window(chrono_tz::Europe::Berlin, vec![slot(&[Weekday::Tue], "02:00", "06:00")]);
        // 02:00 in Berlin in winter is 01:00 UTC.
        assert!(matches!(
            state(&w, at("2026-03-03T01:00:00Z")),
            WindowState::Open { .. }
        ));
        assert!(matches!(
            state(&w, at("2026-03-03T05:30:00Z")),
            WindowState::Closed { .. }
        ));
    }

    #[test]
    fn a_dst_gap_moves_the_start_and_a_fold_keeps_the_full_length() {
        // Europe/Berlin springs forward on Sunday 2026-03-29: 02:00-03:00 does not exist.
        let w = window(chrono_tz::Europe::Berlin, vec![slot(&[Weekday::Sun], "02:30", "05:00")]);
        let WindowState::Closed { next, .. } = state(&w, at("2026-03-28T12:00:00Z")) else {
            panic!("Saturday noon is closed")
        };
        // 02:30 does not exist; the slot opens at 03:00 CEST = 01:00 UTC.
        assert_eq!(next, Some(at("2026-03-29T01:00:00Z")));
        // It falls back on Sunday 2026-10-25: 02:00-03:00 happens twice. A slot ending at
        // 02:30 ends at the later 02:30 (01:30 UTC), not the earlier (00:30 UTC).
        let w = window(chrono_tz::Europe::Berlin, vec![slot(&[Weekday::Sun], "01:00", "02:30")]);
        assert_eq!(
            state(&w, at("2026-10-25T00:00:00Z")),
            WindowState::Open {
                closes: at("2026-10-25T01:30:00Z")
            }
        );
    }

    #[test]
    fn a_freeze_closes_the_slots_that_start_on_its_dates() {
        let mut w = seed();
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default();
        w.deny.push(Freeze {
            from: d("2026-03-03"),
            to: d("2026-03-04"),
            reason: Some("quarter close".into()),
        });
        let WindowState::Closed { why, next } = state(&w, at("2026-03-03T03:00:00Z")) else {
            panic!("frozen")
        };
        assert_eq!(why, "frozen on 2026-03-03: quarter close");
        assert_eq!(next, Some(at("2026-03-05T02:00:00Z")));
    }

    #[test]
    fn a_frozen_slot_does_not_hide_an_open_one() {
        use Weekday::*;
        let mut w = window(
            chrono_tz::UTC,
            vec![slot(&[Fri], "22:00", "06:00"), slot(&[Sat], "01:00", "03:00")],
        );
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default();
        // Friday 2026-03-06 is frozen; Saturday's own slot is not.
        w.deny.push(Freeze {
            from: d("2026-03-06"),
            to: d("2026-03-06"),
            reason: None,
        });
        assert_eq!(
            state(&w, at("2026-03-07T02:00:00Z")),
            WindowState::Open {
                closes: at("2026-03-07T03:00:00Z")
            }
        );
        let WindowState::Closed { why, .. } = state(&w, at("2026-03-07T04:00:00Z")) else {
            panic!("only the frozen Friday slot covers 04:00")
        };
        assert_eq!(why, "frozen on 2026-03-06");
    }

    #[test]
    fn adjacent_slots_make_one_opening() {
        use Weekday::*;
        let w = window(
            chrono_tz::UTC,
            vec![slot(&[Mon], "20:00", "00:00"), slot(&[Tue], "00:00", "04:00")],
        );
        // Monday 2026-03-02 23:30: open until Tuesday 04:00, not midnight.
        assert_eq!(
            state(&w, at("2026-03-02T23:30:00Z")),
            WindowState::Open {
                closes: at("2026-03-03T04:00:00Z")
            }
        );
        // A slot starting exactly at the given instant is the next opening.
        assert_eq!(
            next_opening(&w, at("2026-03-03T00:00:00Z")),
            Some(at("2026-03-03T00:00:00Z"))
        );
    }
}
