//! Monitor windows at a glance: one compact line per window, and sparklines of a series
//! against its rule threshold, shared by the live display and `status`.

use crate::event::{RuleReading, Sample};

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
/// The widest sparkline drawn; longer series are bucketed (each bar the worst of its bucket).
pub const SPARK_WIDTH: usize = 60;

/// A sparkline scaled so the threshold sits at the top bar but one: anything drawn as `█`
/// is over it, and a window with no data is drawn as `·`.
pub fn sparkline(values: &[Option<f64>], threshold: f64) -> String {
    if values.is_empty() {
        return String::new();
    }
    let bucket = values.len().div_ceil(SPARK_WIDTH);
    values
        .chunks(bucket)
        .map(|chunk| {
            let worst = chunk
                .iter()
                .flatten()
                .copied()
                .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
            match worst {
                None => '·',
                Some(v) if v > threshold => BARS[7],
                Some(v) => {
                    let scale = if threshold > 0.0 { v / threshold } else { 0.0 };
                    BARS[((scale * 6.0).round() as usize).min(6)]
                }
            }
        })
        .collect()
}

/// `w12  13 probes, 1 error  err 7.7% > 5%  p99 12.0ms ≤ 1000ms (3/30)`: the window's
/// figures with each rule's metric against its threshold and the streak towards holding.
pub fn window_line(sample: &Sample) -> String {
    let errors = match sample.errors {
        1 => "1 error".to_string(),
        n => format!("{n} errors"),
    };
    let mut line = if sample.count == 0 && !sample.queries.is_empty() {
        let values: Vec<String> = sample
            .queries
            .iter()
            .map(|(name, v)| match v {
                Some(v) => format!("{name}={}", show_value(name, *v, 0)),
                None => format!("{name}=no data"),
            })
            .collect();
        format!("w{}  {}", sample.window, values.join(" "))
    } else {
        format!("w{}  {} probes, {errors}", sample.window, sample.count)
    };
    for reading in &sample.rules {
        line.push_str("  ");
        line.push_str(&reading_text(reading));
    }
    line
}

/// One rule's reading: `p99 1200.0ms > 1000ms (2/3)`; a baseline rule also shows the
/// baseline: `p99 130.0ms > 110ms (baseline 100ms)`.
pub fn reading_text(reading: &RuleReading) -> String {
    let metric = reading.rule.split_whitespace().next().unwrap_or_default();
    let show = |v: f64| show_value(metric, v, 1);
    let limit = show_value(metric, reading.above, 0);
    let label = metric.trim_end_matches("_ms").replace("error_rate", "err");
    let (over, within) = if reading.below { ("<", "≥") } else { (">", "≤") };
    let value = match reading.value {
        Some(v) => format!("{} {} {limit}", show(v), if reading.breach { over } else { within }),
        None if reading.breach => format!("no data (counts as past {limit})"),
        None => "no data".to_string(),
    };
    let baseline = reading
        .baseline
        .map_or_else(String::new, |b| format!(" (baseline {})", show_value(metric, b, 0)));
    let streak = if reading.streak > 0 {
        format!(" ({}/{})", reading.streak, reading.needed)
    } else {
        String::new()
    };
    format!("{label} {value}{baseline}{streak}")
}

/// A metric's value in its unit, read from its name: an `error_rate` as a percentage,
/// `*_ms` in milliseconds, anything else as a number. `digits` 0 trims float noise.
pub fn show_value(metric: &str, v: f64, digits: usize) -> String {
    if metric.contains("error_rate") {
        if digits == 0 {
            format!("{}%", short(v * 100.0))
        } else {
            format!("{:.digits$}%", v * 100.0)
        }
    } else if metric.ends_with("_ms") {
        if digits == 0 {
            format!("{}ms", short(v))
        } else {
            format!("{v:.digits$}ms")
        }
    } else if digits == 0 {
        short(v)
    } else {
        format!("{v:.3}")
    }
}

/// `baseline of `watch` (30m before `migrate`): error_rate 0.2%, p99_ms 120ms` (without
/// ` of `watch`` when no step is given).
pub fn baseline_line(step: Option<&str>, baseline: &crate::event::Baseline) -> String {
    let minutes = (baseline.to - baseline.from).num_seconds();
    let span = crate::runbook::duration::format(std::time::Duration::from_secs(minutes.max(0) as u64));
    let values: Vec<String> = baseline
        .values
        .iter()
        .map(|(name, v)| match v {
            Some(v) => format!("{name} {}", show_value(name, *v, 0)),
            None => format!("{name} no data"),
        })
        .collect();
    let of = step.map_or_else(String::new, |s| format!(" of `{s}`"));
    format!(
        "baseline{of} ({span} before `{}`): {}",
        baseline.before,
        values.join(", ")
    )
}

/// A threshold without float noise: `5`, not `5.000000000000001`.
fn short(v: f64) -> String {
    let text = format!("{v:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The most windows a live sparkline shows: the latest, so the line keeps its width.
const LIVE_WINDOWS: usize = 20;

/// `  err ▁▁▂█  p99 ▁▁▁▁` over a monitor's latest windows (from the second window on), each
/// scaled to its rule's threshold, so `█` means over it. `series` is each window's error
/// rate and p99.
pub fn live_trend(series: &[(Option<f64>, Option<f64>)], sample: &crate::event::Sample) -> String {
    if series.len() < 2 {
        return String::new();
    }
    let series = &series[series.len().saturating_sub(LIVE_WINDOWS)..];
    let limit = |metric: &str| {
        sample
            .rules
            .iter()
            .find(|r| r.rule.starts_with(metric))
            .map(|r| r.above)
    };
    let errors: Vec<Option<f64>> = series.iter().map(|(e, _)| *e).collect();
    let p99: Vec<Option<f64>> = series.iter().map(|(_, p)| *p).collect();
    let p99_limit = limit("p99_ms").unwrap_or_else(|| p99.iter().flatten().copied().fold(1.0, f64::max));
    format!(
        "  err {}  p99 {}",
        sparkline(&errors, limit("error_rate").unwrap_or(1.0)),
        sparkline(&p99, p99_limit)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_threshold() {
        let line = sparkline(&[Some(0.0), Some(0.5), Some(1.0), Some(2.0), None], 1.0);
        assert_eq!(line, "▁▄▇█·");
    }

    #[test]
    fn long_series_keep_the_worst_of_each_bucket() {
        let mut values = vec![Some(0.0); 120];
        values[61] = Some(5.0);
        let line = sparkline(&values, 1.0);
        assert_eq!(line.chars().count(), 60);
        assert_eq!(line.chars().nth(30), Some('█'));
    }

    #[test]
    fn a_window_reads_against_its_rules() {
        let sample = Sample {
            window: 3,
            count: 4,
            errors: 1,
            error_rate: Some(0.25),
            p50_ms: Some(1.0),
            p95_ms: Some(2.0),
            p99_ms: Some(2.0),
            rules: vec![
                RuleReading {
                    rule: "error_rate above 0.05 for 30s".into(),
                    value: Some(0.25),
                    above: 0.05,
                    breach: true,
                    streak: 2,
                    needed: 3,
                    baseline: None,
                    below: false,
                },
                RuleReading {
                    rule: "p99_ms above 1000 for 3 windows in a row".into(),
                    value: Some(2.0),
                    above: 1000.0,
                    breach: false,
                    streak: 0,
                    needed: 3,
                    baseline: None,
                    below: false,
                },
            ],
            first_error: None,
            queries: Default::default(),
        };
        assert_eq!(
            window_line(&sample),
            "w3  4 probes, 1 error  err 25.0% > 5% (2/3)  p99 2.0ms ≤ 1000ms"
        );
    }
}
