//! Rollback rules across windows: each rule keeps a streak of breaching windows and holds
//! once the streak reaches what the rule needs.
//!
//! `for: D` and `consecutive: N` reduce to the same test: the last `needed` windows all
//! breach, with `needed = ceil(D / interval)` for a span. A window in which the rule's metric
//! has no value is "no data": under `on_no_data: fail` it breaches (fail closed), under
//! `ignore` it is left out (the streak neither grows nor breaks), and under `pause` the
//! monitor stops for the operator.
//!
//! A baseline rule's threshold is its baseline shifted by its margin. Until the baseline
//! is known (a background monitor started before the step that ends its window) the rule
//! is not judged at all: it has no reading, and its streak neither grows nor breaks.

use std::collections::VecDeque;
use std::time::Duration;

use std::collections::BTreeMap;

use super::window::Figures;
use crate::event::RuleReading;
use crate::runbook::duration::format as dur;
use crate::runbook::model::{Hold, Margin, OnNoData, Rule, Threshold};

/// One rule and its streak.
pub(super) struct RuleState {
    rule: Rule,
    text: String,
    needed: u32,
    /// Numbers of the breaching windows of the current streak (at most `needed`).
    streak: VecDeque<u32>,
    streak_len: u32,
}

/// What the rules say after a window.
pub(super) enum Judgement {
    /// Keep watching.
    Fine,
    /// This rule holds, tripped by these windows.
    Holds { rule: String, windows: Vec<u32> },
    /// A rule had no data and `on_no_data` is `pause`.
    NoData { rule: String },
}

impl RuleState {
    pub(super) fn new(rule: &Rule, interval: Duration) -> Self {
        let needed = match rule.hold {
            Hold::Consecutive(n) => n.max(1),
            Hold::For(span) => {
                let ratio = span.as_secs_f64() / interval.as_secs_f64().max(f64::MIN_POSITIVE);
                // ceil, tolerant of float noise (5m / 10s is exactly 30).
                let windows = (ratio - 1e-9).ceil().max(1.0);
                if windows >= f64::from(u32::MAX) {
                    u32::MAX
                } else {
                    windows as u32
                }
            }
        };
        RuleState {
            rule: rule.clone(),
            text: describe(rule),
            needed,
            streak: VecDeque::new(),
            streak_len: 0,
        }
    }
}

/// The rule as the report shows it: `error_rate above 0.05 for 5m`,
/// `p99_ms above baseline + 10% for 5m`.
pub(super) fn describe(rule: &Rule) -> String {
    let hold = match rule.hold {
        Hold::For(span) => format!("for {}", dur(span)),
        Hold::Consecutive(1) => "in 1 window".to_string(),
        Hold::Consecutive(n) => format!("for {n} windows in a row"),
    };
    let margin = |m: Margin| match m {
        Margin::Percent(p) => format!("{p}%"),
        Margin::Absolute(a) => format!("{a}"),
    };
    let threshold = match rule.threshold {
        Threshold::Above(limit) => format!("above {limit}"),
        Threshold::AboveBaseline(m) => format!("above baseline + {}", margin(m)),
        Threshold::BelowBaseline(m) => format!("below baseline - {}", margin(m)),
    };
    format!("{} {threshold} {hold}", rule.metric)
}

/// A metric's value in a window: a query's when the monitor has one of that name, else
/// the probes' figure.
fn value(metric: &str, f: &Figures) -> Option<f64> {
    if let Some(v) = f.queries.get(metric) {
        return *v;
    }
    match metric {
        "error_rate" => f.error_rate,
        "p50_ms" => f.p50_ms,
        "p95_ms" => f.p95_ms,
        "p99_ms" => f.p99_ms,
        _ => None,
    }
}

/// Applies one window to every rule; returns the readings to journal and the verdict. The
/// first rule that holds (in runbook order) is the one reported.
pub(super) fn judge(
    rules: &mut [RuleState],
    window: u32,
    figures: &Figures,
    on_no_data: OnNoData,
    baselines: Option<&BTreeMap<String, Option<f64>>>,
) -> (Vec<RuleReading>, Judgement) {
    let mut readings = Vec::with_capacity(rules.len());
    let mut judgement = Judgement::Fine;
    for state in rules.iter_mut() {
        let threshold = state.rule.threshold;
        let baseline = baselines.and_then(|b| b.get(&state.rule.metric).copied().flatten());
        let Some(limit) = threshold.limit(baseline) else {
            // A baseline rule before its baseline is known: not judged yet. A baseline
            // measured without data is no data for every window.
            if baselines.is_none() {
                continue;
            }
            let breach = match on_no_data {
                OnNoData::Fail => Some(true),
                _ => None,
            };
            if on_no_data == OnNoData::Pause && matches!(judgement, Judgement::Fine) {
                judgement = Judgement::NoData {
                    rule: state.text.clone(),
                };
            }
            advance(state, window, breach);
            hold(state, &mut judgement);
            readings.push(reading(state, value(&state.rule.metric, figures), 0.0, breach, None));
            continue;
        };
        let value = value(&state.rule.metric, figures);
        let breach = match (value, on_no_data) {
            (Some(v), _) => Some(threshold.breached(v, limit)),
            (None, OnNoData::Fail) => Some(true),
            (None, OnNoData::Ignore) => None,
            (None, OnNoData::Pause) => {
                if matches!(judgement, Judgement::Fine) {
                    judgement = Judgement::NoData {
                        rule: state.text.clone(),
                    };
                }
                None
            }
        };
        advance(state, window, breach);
        hold(state, &mut judgement);
        readings.push(reading(state, value, limit, breach, baseline));
    }
    (readings, judgement)
}

/// Grows or breaks the streak with this window's breach (`None`: left out).
fn advance(state: &mut RuleState, window: u32, breach: Option<bool>) {
    match breach {
        Some(true) => {
            state.streak_len = state.streak_len.saturating_add(1);
            state.streak.push_back(window);
            while state.streak.len() > state.needed as usize {
                state.streak.pop_front();
            }
        }
        Some(false) => {
            state.streak_len = 0;
            state.streak.clear();
        }
        None => {}
    }
}

/// The first rule (in runbook order) whose streak is long enough is the one that holds.
fn hold(state: &RuleState, judgement: &mut Judgement) {
    if state.streak_len >= state.needed && !matches!(judgement, Judgement::Holds { .. }) {
        *judgement = Judgement::Holds {
            rule: state.text.clone(),
            windows: state.streak.iter().copied().collect(),
        };
    }
}

fn reading(
    state: &RuleState,
    value: Option<f64>,
    limit: f64,
    breach: Option<bool>,
    baseline: Option<f64>,
) -> RuleReading {
    RuleReading {
        rule: state.text.clone(),
        value,
        above: limit,
        baseline,
        below: matches!(state.rule.threshold, Threshold::BelowBaseline(_)),
        breach: breach == Some(true),
        streak: state.streak_len,
        needed: state.needed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(error_rate: Option<f64>, p99: Option<f64>) -> Figures {
        Figures {
            count: u32::from(error_rate.is_some()),
            errors: 0,
            error_rate,
            p50_ms: p99,
            p95_ms: p99,
            p99_ms: p99,
            first_error: None,
            queries: BTreeMap::new(),
        }
    }

    fn rule(metric: &str, above: f64, hold: Hold) -> Rule {
        Rule {
            metric: metric.to_string(),
            threshold: Threshold::Above(above),
            hold,
        }
    }

    fn run(rule: Rule, interval: Duration, windows: &[Figures], on_no_data: OnNoData) -> Option<(u32, Vec<u32>)> {
        let mut rules = vec![RuleState::new(&rule, interval)];
        for (n, f) in (1u32..).zip(windows) {
            if let (_, Judgement::Holds { windows, .. }) = judge(&mut rules, n, f, on_no_data, None) {
                return Some((n, windows));
            }
        }
        None
    }

    #[test]
    fn a_span_needs_every_window_in_it() {
        let r = rule("error_rate", 0.05, Hold::For(Duration::from_secs(30)));
        let bad = window(Some(0.5), Some(1.0));
        let good = window(Some(0.0), Some(1.0));
        let ten = Duration::from_secs(10);
        assert_eq!(
            run(
                r.clone(),
                ten,
                &[bad.clone(), bad.clone(), good.clone(), bad.clone()],
                OnNoData::Fail
            ),
            None
        );
        assert_eq!(
            run(r, ten, &[good, bad.clone(), bad.clone(), bad], OnNoData::Fail),
            Some((4, vec![2, 3, 4]))
        );
    }

    #[test]
    fn at_the_threshold_is_not_above_it() {
        let r = rule("p99_ms", 1000.0, Hold::Consecutive(1));
        assert_eq!(
            run(
                r.clone(),
                Duration::from_secs(1),
                &[window(Some(0.0), Some(1000.0))],
                OnNoData::Fail
            ),
            None
        );
        assert_eq!(
            run(
                r,
                Duration::from_secs(1),
                &[window(Some(0.0), Some(1000.5))],
                OnNoData::Fail
            ),
            Some((1, vec![1]))
        );
    }

    #[test]
    fn no_data_fails_closed_or_is_ignored() {
        let r = rule("p99_ms", 1000.0, Hold::Consecutive(2));
        let none = window(Some(1.0), None);
        let good = window(Some(0.0), Some(5.0));
        let one = Duration::from_secs(1);
        assert_eq!(
            run(r.clone(), one, &[none.clone(), none.clone()], OnNoData::Fail),
            Some((2, vec![1, 2]))
        );
        assert_eq!(
            run(
                r.clone(),
                one,
                &[none.clone(), none.clone(), none.clone()],
                OnNoData::Ignore
            ),
            None
        );
        let slow = window(Some(0.0), Some(2000.0));
        // Ignored windows neither extend nor break a streak.
        assert_eq!(
            run(r.clone(), one, &[slow.clone(), none, slow], OnNoData::Ignore),
            Some((3, vec![1, 3]))
        );
        let mut rules = vec![RuleState::new(&r, one)];
        let (_, j) = judge(&mut rules, 1, &window(None, None), OnNoData::Pause, None);
        assert!(matches!(j, Judgement::NoData { .. }));
        let (_, j) = judge(&mut rules, 2, &good, OnNoData::Pause, None);
        assert!(matches!(j, Judgement::Fine));
    }

    #[test]
    fn rules_read_as_written() {
        let r = rule("error_rate", 0.05, Hold::For(Duration::from_secs(300)));
        assert_eq!(describe(&r), "error_rate above 0.05 for 5m");
        assert_eq!(RuleState::new(&r, Duration::from_secs(10)).needed, 30);
        let r = rule("p99_ms", 1000.0, Hold::Consecutive(3));
        assert_eq!(describe(&r), "p99_ms above 1000 for 3 windows in a row");
    }

    #[test]
    fn a_baseline_rule_waits_for_its_baseline_then_compares_with_it() {
        let r = Rule {
            metric: "p99".into(),
            threshold: Threshold::AboveBaseline(Margin::Percent(10.0)),
            hold: Hold::Consecutive(1),
        };
        assert_eq!(describe(&r), "p99 above baseline + 10% in 1 window");
        let mut rules = vec![RuleState::new(&r, Duration::from_secs(1))];
        let mut f = window(Some(0.0), None);
        f.queries.insert("p99".into(), Some(105.0));
        let (readings, j) = judge(&mut rules, 1, &f, OnNoData::Fail, None);
        assert!(
            readings.is_empty() && matches!(j, Judgement::Fine),
            "no baseline yet: not judged"
        );
        let baselines: BTreeMap<String, Option<f64>> = [("p99".to_string(), Some(100.0))].into();
        let (readings, j) = judge(&mut rules, 2, &f, OnNoData::Fail, Some(&baselines));
        assert!(matches!(j, Judgement::Fine));
        assert_eq!((readings[0].above, readings[0].baseline), (110.0, Some(100.0)));
        f.queries.insert("p99".into(), Some(111.0));
        let (_, j) = judge(&mut rules, 3, &f, OnNoData::Fail, Some(&baselines));
        assert!(matches!(j, Judgement::Holds { .. }));
    }
}
