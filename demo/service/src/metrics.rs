//! The service's Prometheus metrics, as the real services export them: a counter of
//! answered requests by status and route (`http_requests_total{status,route}`) and a
//! request-duration histogram by route (`http_request_duration_seconds`), served at
//! `/metrics` in the text format (prometheus-client).
//!
//! Routes are the service's own paths only (anything else is `other`), so a scanner
//! cannot grow the label set; `/metrics` itself is not counted, so scrapes do not dilute
//! the users' error rate.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Labels of the request counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    status: String,
    route: String,
}

/// Labels of the duration histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

/// Bucket bounds in seconds: 5 ms to 10 s.
const BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 7.5, 10.0];

fn histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// The registry and its two families.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram, fn() -> Histogram>,
}

impl Metrics {
    /// Both families, registered.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let durations = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(histogram);
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request",
            durations.clone(),
        );
        Metrics {
            registry,
            requests,
            durations,
        }
    }

    /// Counts one answered request on `route` (one of `known`, else `other`).
    pub fn observe(&self, route: &str, known: &[&str], status: u16, took: Duration) {
        let route = if known.contains(&route) { route } else { "other" }.to_string();
        let labels = RequestLabels {
            status: status.to_string(),
            route: route.clone(),
        };
        self.requests.get_or_create(&labels).inc();
        self.durations
            .get_or_create(&RouteLabels { route })
            .observe(took.as_secs_f64());
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut text = String::new();
        if encode(&mut text, &self.registry).is_err() {
            text.clear();
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_status_and_route() {
        let m = Metrics::new();
        let known = ["/health", "/posts"];
        m.observe("/posts", &known, 200, Duration::from_millis(3));
        m.observe("/posts", &known, 500, Duration::from_millis(30));
        m.observe("/wp-admin", &known, 404, Duration::from_millis(1));
        let text = m.render();
        assert!(
            text.contains("http_requests_total{status=\"200\",route=\"/posts\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("http_requests_total{status=\"500\",route=\"/posts\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("http_requests_total{status=\"404\",route=\"other\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("http_request_duration_seconds_bucket{le=\"0.005\",route=\"/posts\"} 1"),
            "{text}"
        );
    }
}
