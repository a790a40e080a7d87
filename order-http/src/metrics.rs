//! [`Metrics`]: counters and histograms in the Prometheus text format, with
//! the seeds' metric names: `http_request_duration_seconds`,
//! `http_requests_total`, `orders_created_total`, `orders_status_total`,
//! `order_processing_duration_seconds`, `external_service_requests_total`,
//! `external_service_duration_seconds`, `database_query_duration_seconds`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (bound, count) in BUCKETS.iter().zip(self.counts.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
        self.sum += seconds;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, count) in BUCKETS.iter().zip(self.counts) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

#[derive(Debug, Default)]
struct Families {
    http_requests: BTreeMap<(String, String, u16), u64>,
    http_durations: BTreeMap<(String, String), Histogram>,
    orders_created: u64,
    orders_status: BTreeMap<String, u64>,
    processing: BTreeMap<String, Histogram>,
    external_requests: BTreeMap<(String, String), u64>,
    external_durations: BTreeMap<String, Histogram>,
    database: BTreeMap<String, Histogram>,
}

/// The service's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    /// A std mutex: never held across an `.await`, and each update is a map
    /// lookup and an add.
    families: Mutex<Families>,
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    fn with<R>(&self, f: impl FnOnce(&mut Families) -> R) -> R {
        f(&mut self.families.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// One HTTP request: its method, matched route and status, and how long.
    pub fn http_request(&self, method: &str, route: &str, status: u16, took: Duration) {
        self.with(|f| {
            *f.http_requests
                .entry((method.to_owned(), route.to_owned(), status))
                .or_default() += 1;
            f.http_durations
                .entry((method.to_owned(), route.to_owned()))
                .or_default()
                .observe(took.as_secs_f64());
        });
    }

    /// An order was placed.
    pub fn order_created(&self) {
        self.with(|f| f.orders_created += 1);
    }

    /// An order reached `status`.
    pub fn order_status(&self, status: &str) {
        self.with(|f| *f.orders_status.entry(status.to_owned()).or_default() += 1);
    }

    /// An engine operation (`place`, `pay`, …) took `took`.
    pub fn order_processing(&self, operation: &str, took: Duration) {
        self.with(|f| {
            f.processing
                .entry(operation.to_owned())
                .or_default()
                .observe(took.as_secs_f64())
        });
    }

    /// A call to an external service (`payment_gateway`, `catalog`, …).
    pub fn external_call(&self, service: &str, outcome: &str, took: Duration) {
        self.with(|f| {
            *f.external_requests
                .entry((service.to_owned(), outcome.to_owned()))
                .or_default() += 1;
            f.external_durations
                .entry(service.to_owned())
                .or_default()
                .observe(took.as_secs_f64());
        });
    }

    /// A store operation (`get`, `commit`, …).
    pub fn database_query(&self, operation: &str, took: Duration) {
        self.with(|f| {
            f.database
                .entry(operation.to_owned())
                .or_default()
                .observe(took.as_secs_f64())
        });
    }

    /// Everything, in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        self.with(|f| {
            let mut out = String::new();
            out.push_str("# HELP http_requests_total HTTP requests by method, route and status.\n# TYPE http_requests_total counter\n");
            for ((method, route, status), n) in &f.http_requests {
                let _ = writeln!(
                    out,
                    "http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                    escape(method),
                    escape(route)
                );
            }
            out.push_str("# HELP http_request_duration_seconds HTTP request latency.\n# TYPE http_request_duration_seconds histogram\n");
            for ((method, route), h) in &f.http_durations {
                h.render(&mut out, "http_request_duration_seconds", &format!("method=\"{}\",route=\"{}\"", escape(method), escape(route)));
            }
            out.push_str("# HELP orders_created_total Orders placed.\n# TYPE orders_created_total counter\n");
            let _ = writeln!(out, "orders_created_total {}", f.orders_created);
            out.push_str("# HELP orders_status_total Orders reaching a status.\n# TYPE orders_status_total counter\n");
            for (status, n) in &f.orders_status {
                let _ = writeln!(out, "orders_status_total{{status=\"{}\"}} {n}", escape(status));
            }
            out.push_str("# HELP order_processing_duration_seconds Engine operations.\n# TYPE order_processing_duration_seconds histogram\n");
            for (operation, h) in &f.processing {
                h.render(&mut out, "order_processing_duration_seconds", &format!("operation=\"{}\"", escape(operation)));
            }
            out.push_str("# HELP external_service_requests_total Calls to external services.\n# TYPE external_service_requests_total counter\n");
            for ((service, outcome), n) in &f.external_requests {
                let _ = writeln!(
                    out,
                    "external_service_requests_total{{service=\"{}\",outcome=\"{}\"}} {n}",
                    escape(service),
                    escape(outcome)
                );
            }
            out.push_str("# HELP external_service_duration_seconds External service latency.\n# TYPE external_service_duration_seconds histogram\n");
            for (service, h) in &f.external_durations {
                h.render(&mut out, "external_service_duration_seconds", &format!("service=\"{}\"", escape(service)));
            }
            out.push_str("# HELP database_query_duration_seconds Store operation latency.\n# TYPE database_query_duration_seconds histogram\n");
            for (operation, h) in &f.database {
                h.render(&mut out, "database_query_duration_seconds", &format!("operation=\"{}\"", escape(operation)));
            }
            out
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_counted_and_timed() {
        let metrics = Metrics::default();
        metrics.http_request("GET", "/api/v1/orders/{id}", 200, Duration::from_millis(3));
        let text = metrics.render();
        assert!(text.contains(
            "http_requests_total{method=\"GET\",route=\"/api/v1/orders/{id}\",status=\"200\"} 1"
        ));
        assert!(text.contains("http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/orders/{id}\",le=\"0.005\"} 1"));
        assert!(text.contains("http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/orders/{id}\",le=\"0.0025\"} 0"));
    }
}
