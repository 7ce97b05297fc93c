//! Durations as runbooks write them: `500ms`, `30s`, `5m`, `4h`, or sums like `1h30m`.
//!
//! Strict on purpose: `10min` or `5 minutes` are rejected rather than guessed at, so a
//! timeout means the same thing to every reader of the runbook.

use std::time::Duration;

/// The longest duration a runbook may write: 366 days. Long enough for anything a
/// deployment waits on (a leap year of watching), and so far below every limit of the clocks
/// and sums it feeds (deadlines as `now + timeout`, timeouts times 101 attempts, window
/// estimates in chrono) that none of them can overflow.
pub const MAX: Duration = Duration::from_secs(366 * 24 * 3600);

/// Parses a duration; the error says what was wrong.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("it is empty".into());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("expected a number at `{rest}`"));
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("`{}` is too large", &rest[..digits]))?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let part = match &rest[..unit_len] {
            "ms" => Duration::from_millis(number),
            "s" => Duration::from_secs(number),
            "m" => Duration::from_secs(number.saturating_mul(60)),
            "h" => Duration::from_secs(number.saturating_mul(3600)),
            "" => return Err(format!("`{number}` has no unit")),
            other => return Err(format!("unknown unit `{other}`")),
        };
        total = total.checked_add(part).ok_or("it is too large")?;
        rest = &rest[unit_len..];
    }
    Ok(total)
}

/// Formats a duration the way runbooks write them (`1h30m`, `500ms`).
pub fn format(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    if !ms.is_multiple_of(1000) {
        return if ms >= 1000 {
            format!("{:.1}s", d.as_secs_f64())
        } else {
            format!("{ms}ms")
        };
    }
    let mut secs = d.as_secs();
    let mut out = String::new();
    for (unit, size) in [("h", 3600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse("4h"), Ok(Duration::from_secs(14400)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
    }

    #[test]
    fn rejects_the_rest() {
        for bad in ["", "5", "10min", "-5m", "5 m", "m", "1.5h", "99999999999999999999s"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_round_trip() {
        for text in ["500ms", "30s", "5m", "4h", "1h30m", "1h0m1s"] {
            let d = parse(text).unwrap();
            assert_eq!(parse(&format(d)), Ok(d));
        }
        assert_eq!(format(Duration::from_millis(1500)), "1.5s");
    }
}
