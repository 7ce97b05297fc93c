//! Reading Prometheus API answers: the envelope (`status`, `data`, `error`), instant
//! vectors and scalars, range matrices, and rule groups.

use std::collections::BTreeMap;

use serde_json::Value;

use super::quote;

/// One series of an answer: its labels and value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Series {
    /// Labels (`__name__` included when Prometheus sends it).
    pub labels: BTreeMap<String, String>,
    /// The value (`NaN` as Prometheus wrote it).
    pub value: f64,
}

impl Series {
    /// `{job="a", instance="b"}`, for messages.
    pub(crate) fn shown(&self) -> String {
        let labels: Vec<String> = self
            .labels
            .iter()
            .filter(|(k, _)| *k != "__name__")
            .map(|(k, v)| format!("{k}=\"{v}\""))
            .collect();
        let name = self.labels.get("__name__").map_or("", String::as_str);
        format!("{name}{{{}}}", labels.join(", "))
    }
}

/// The `data` of a successful answer, or what Prometheus said went wrong.
pub(super) fn data(status: u16, body: &[u8]) -> Result<Value, String> {
    let parsed: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => {
            return Err(format!(
                "answered {status} with a body that is not the API's JSON: {}",
                quote(body)
            ));
        }
    };
    match parsed.get("status").and_then(Value::as_str) {
        Some("success") => parsed
            .get("data")
            .cloned()
            .ok_or_else(|| format!("answered {status} without `data`")),
        _ => {
            let kind = parsed.get("errorType").and_then(Value::as_str).unwrap_or("error");
            let error = parsed.get("error").and_then(Value::as_str).unwrap_or("no reason given");
            Err(format!("answered {status}: {kind}: {error}"))
        }
    }
}

/// An instant query's series (a scalar as one unlabelled series).
pub(super) fn instant(data: &Value) -> Result<Vec<Series>, String> {
    let result = data.get("result").ok_or("the answer has no `result`")?;
    match data.get("resultType").and_then(Value::as_str) {
        Some("vector") => result
            .as_array()
            .ok_or("a vector answer whose `result` is not a list")?
            .iter()
            .map(|s| {
                Ok(Series {
                    labels: labels(s),
                    value: sample(s.get("value"))?,
                })
            })
            .collect(),
        Some("scalar") => Ok(vec![Series {
            labels: BTreeMap::new(),
            value: sample(Some(result))?,
        }]),
        Some(other) => Err(format!(
            "the query returned a {other}, expected an instant vector or a scalar"
        )),
        None => Err("the answer has no `resultType`".to_string()),
    }
}

/// The average over a range answer of one series; `None` when no sample is a number.
pub(super) fn average(data: &Value) -> Result<Option<f64>, String> {
    let series = data
        .get("result")
        .and_then(Value::as_array)
        .ok_or("a range answer without a `result` list")?;
    if series.len() > 1 {
        return Err(format!(
            "the query returned {} series over the baseline window; a baseline needs one value (aggregate it, e.g. with sum())",
            series.len()
        ));
    }
    let Some(values) = series.first().and_then(|s| s.get("values")).and_then(Value::as_array) else {
        return Ok(None);
    };
    let mut numbers = Vec::with_capacity(values.len());
    for v in values {
        let n = sample(Some(v))?;
        if n.is_finite() {
            numbers.push(n);
        }
    }
    Ok((!numbers.is_empty()).then(|| numbers.iter().sum::<f64>() / numbers.len() as f64))
}

/// The names of the loaded alerting rules.
pub(super) fn alert_rules(data: &Value) -> Result<Vec<String>, String> {
    let groups = data
        .get("groups")
        .and_then(Value::as_array)
        .ok_or("a rules answer without `groups`")?;
    Ok(groups
        .iter()
        .filter_map(|g| g.get("rules").and_then(Value::as_array))
        .flatten()
        .filter(|r| r.get("type").and_then(Value::as_str) == Some("alerting"))
        .filter_map(|r| r.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect())
}

fn labels(series: &Value) -> BTreeMap<String, String> {
    series
        .get("metric")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// `[timestamp, "value"]` → the value (`NaN`, `+Inf` as Prometheus writes them).
fn sample(pair: Option<&Value>) -> Result<f64, String> {
    let text = pair
        .and_then(Value::as_array)
        .and_then(|p| p.get(1))
        .and_then(Value::as_str)
        .ok_or("a sample that is not `[time, \"value\"]`")?;
    text.parse::<f64>()
        .map_err(|_| format!("a sample value `{}` that is not a number", quote(text.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_scalars_and_errors_are_read() {
        let body = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a"},"value":[1.5,"1"]},{"metric":{"job":"b"},"value":[1.5,"NaN"]}]}}"#;
        let series = instant(&data(200, body).unwrap_or_default()).unwrap_or_default();
        assert_eq!(series.len(), 2);
        assert_eq!(series[0].value, 1.0);
        assert_eq!(series[0].shown(), "up{job=\"a\"}");
        assert!(series[1].value.is_nan());
        let scalar = br#"{"status":"success","data":{"resultType":"scalar","result":[1.5,"+Inf"]}}"#;
        let series = instant(&data(200, scalar).unwrap_or_default()).unwrap_or_default();
        assert_eq!(series.len(), 1);
        assert!(series[0].value.is_infinite());
        let error = br#"{"status":"error","errorType":"bad_data","error":"parse error at char 3"}"#;
        assert_eq!(
            data(400, error),
            Err("answered 400: bad_data: parse error at char 3".to_string())
        );
        assert!(data(502, b"<html>bad gateway</html>").is_err_and(|e| e.contains("bad gateway")));
    }

    #[test]
    fn a_range_averages_its_numbers() {
        let body = br#"{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"],[2,"NaN"],[3,"3"]]}]}"#;
        let parsed: Value = serde_json::from_slice(body).unwrap_or_default();
        assert_eq!(average(&parsed), Ok(Some(2.0)));
        let empty: Value = serde_json::from_str(r#"{"resultType":"matrix","result":[]}"#).unwrap_or_default();
        assert_eq!(average(&empty), Ok(None));
    }
}
