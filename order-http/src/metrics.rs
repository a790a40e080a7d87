//! [`Metrics`]: the service's Prometheus metrics, recorded with the
//! `metrics` crate into a Prometheus recorder of the app's own and rendered
//! by `/metrics`. The names are the seeds':
//!
//! | metric | type | labels | what is counted or observed |
//! |---|---|---|---|
//! | `http_requests_total` | counter | `method`, `route`, `status` | every answered request, by route template |
//! | `http_request_duration_seconds` | histogram | `method`, `route` | the time to answer it |
//! | `orders_created_total` | counter | — | orders a placement created (an idempotent replay creates none) |
//! | `orders_status_total` | counter | `status` | status changes committed, by the status reached (`pending` at placement) |
//! | `order_processing_duration_seconds` | histogram | — | per order, from placement to confirmation (paid, stock committed), in the engine's clock |
//! | `external_service_requests_total` | counter | `service`, `outcome` | calls to the payment gateway, catalog and inventory ports (`payment_gateway`, `catalog`, `inventory`: `ok`, `error`), and each HTTP attempt to a remote service (`payment-service`, `product-service`, `inventory-service`, `user-service`: `success`, `client_error`, `server_error`, `timeout`, `connection_error`, `circuit_open`) |
//! | `external_service_duration_seconds` | histogram | `service` (and `outcome` for the remote services) | their latency |
//! | `database_query_duration_seconds` | histogram | `operation` | store operations' latency |
//! | `order_events_delivery_seconds` | histogram | — | per event, from its change to the publisher's acknowledgement (the relay's delivery latency; the seeds' SLA is 5 s at p99) |
//!
//! The order metrics are taken where a change is committed (`metered`), so
//! they count what was written: a replay, a refused command or a lost race
//! counts nothing, and changes made by the background sweeps count too.
//!
//! Each [`Metrics`] has a recorder of its own, never the process-global
//! one, so that apps built side by side (as the tests build them) count
//! apart. Every recording runs with it as the thread's local recorder.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use metrics::{Counter, Histogram, counter, describe_counter, describe_histogram, histogram};
use metrics_exporter_prometheus::{
    BuildError, Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use order_core::OrderStatus;

/// `http_requests_total`.
pub const HTTP_REQUESTS: &str = "http_requests_total";
/// `http_request_duration_seconds`.
pub const HTTP_REQUEST_DURATION: &str = "http_request_duration_seconds";
/// `orders_created_total`.
pub const ORDERS_CREATED: &str = "orders_created_total";
/// `orders_status_total`.
pub const ORDERS_STATUS: &str = "orders_status_total";
/// `order_processing_duration_seconds`.
pub const ORDER_PROCESSING_DURATION: &str = "order_processing_duration_seconds";
/// `external_service_requests_total`.
pub const EXTERNAL_REQUESTS: &str = "external_service_requests_total";
/// `external_service_duration_seconds`.
pub const EXTERNAL_DURATION: &str = "external_service_duration_seconds";
/// `database_query_duration_seconds`.
pub const DATABASE_QUERY_DURATION: &str = "database_query_duration_seconds";
/// `order_events_delivery_seconds`.
pub const EVENT_DELIVERY: &str = "order_events_delivery_seconds";

/// Upper bounds of the latency buckets (requests, external calls, store
/// operations), in seconds.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Upper bounds of the placement-to-confirmation buckets, in seconds: an
/// immediate checkout takes seconds, an external payment minutes, and an
/// unpaid order expires after the pending TTL (30 minutes by default).
const PROCESSING_BUCKETS: [f64; 11] = [
    1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0,
];

fn builder() -> Result<PrometheusBuilder, BuildError> {
    PrometheusBuilder::new()
        .set_buckets(&LATENCY_BUCKETS)?
        .set_buckets_for_metric(
            Matcher::Full(ORDER_PROCESSING_DURATION.to_owned()),
            &PROCESSING_BUCKETS,
        )
}

/// The service's metrics: a Prometheus recorder and its handle.
#[derive(Debug)]
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    orders_created: Counter,
    order_processing: Histogram,
    event_delivery: Histogram,
    /// The labelled metrics' handles, registered on first use: registering
    /// builds the metric's key (allocating its labels) and looks it up in
    /// the registry, on every call; a kept handle records with an atomic
    /// add.
    handles: Mutex<Handles>,
}

/// A labelled metric whose label values are static: its name and up to
/// two values.
type StaticKey = (&'static str, &'static str, &'static str);

#[derive(Debug, Default)]
struct Handles {
    /// Per matched route, per method and status: `http_requests_total` and
    /// `http_request_duration_seconds`. Routes are the router's templates,
    /// so there are few.
    requests: HashMap<Box<str>, Vec<RequestHandles>>,
    counters: HashMap<StaticKey, Counter>,
    histograms: HashMap<StaticKey, Histogram>,
}

#[derive(Debug)]
struct RequestHandles {
    method: Box<str>,
    status: u16,
    count: Counter,
    latency: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A recorder of its own, with every metric described and
    /// `orders_created_total` at 0.
    pub fn new() -> Self {
        // The buckets are constants; the fallback (summaries) is unreachable.
        let recorder = builder()
            .unwrap_or_else(|_| PrometheusBuilder::new())
            .build_recorder();
        let handle = recorder.handle();
        let (orders_created, order_processing, event_delivery) =
            metrics::with_local_recorder(&recorder, || {
                (
                    counter!(ORDERS_CREATED),
                    histogram!(ORDER_PROCESSING_DURATION),
                    histogram!(EVENT_DELIVERY),
                )
            });
        let metrics = Self {
            recorder,
            handle,
            orders_created,
            order_processing,
            event_delivery,
            handles: Mutex::default(),
        };
        metrics.record(|| {
            describe_counter!(HTTP_REQUESTS, "HTTP requests by method, route and status.");
            describe_histogram!(HTTP_REQUEST_DURATION, "HTTP request latency.");
            describe_counter!(
                ORDERS_CREATED,
                "Orders created by a placement (idempotent replays excluded)."
            );
            describe_counter!(
                ORDERS_STATUS,
                "Status changes committed, by the status reached."
            );
            describe_histogram!(
                ORDER_PROCESSING_DURATION,
                "Time from an order's placement to its confirmation (paid, stock committed)."
            );
            describe_counter!(EXTERNAL_REQUESTS, "Calls to external services.");
            describe_histogram!(EXTERNAL_DURATION, "External service latency.");
            describe_histogram!(DATABASE_QUERY_DURATION, "Store operation latency.");
            describe_histogram!(
                EVENT_DELIVERY,
                "Time from an event's change to the publisher's acknowledgement."
            );
        });
        metrics.orders_created.absolute(0);
        metrics
    }

    /// Runs `f` with this app's recorder as the thread's recorder: the
    /// `metrics` macros inside record here.
    fn record<T>(&self, f: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(&self.recorder, f)
    }

    fn handles(&self) -> MutexGuard<'_, Handles> {
        self.handles.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds 1 to the counter `key` names, registered by `register` on first
    /// use.
    fn count(&self, key: StaticKey, register: impl FnOnce() -> Counter) {
        let mut handles = self.handles();
        handles
            .counters
            .entry(key)
            .or_insert_with(|| self.record(register))
            .increment(1);
    }

    /// Records `took` in the histogram `key` names, registered by
    /// `register` on first use.
    fn time(&self, key: StaticKey, took: Duration, register: impl FnOnce() -> Histogram) {
        let mut handles = self.handles();
        handles
            .histograms
            .entry(key)
            .or_insert_with(|| self.record(register))
            .record(took);
    }

    /// One HTTP request: its method, matched route and status, and how long.
    pub fn http_request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let mut handles = self.handles();
        if let Some(known) = handles.requests.get(route).and_then(|of_route| {
            of_route
                .iter()
                .find(|h| h.status == status && &*h.method == method)
        }) {
            known.count.increment(1);
            known.latency.record(took);
            return;
        }
        let (count, latency) = self.record(|| {
            (
                counter!(
                    HTTP_REQUESTS,
                    "method" => method.to_owned(),
                    "route" => route.to_owned(),
                    "status" => status.to_string()
                ),
                histogram!(
                    HTTP_REQUEST_DURATION,
                    "method" => method.to_owned(),
                    "route" => route.to_owned()
                ),
            )
        });
        count.increment(1);
        latency.record(took);
        handles
            .requests
            .entry(route.into())
            .or_default()
            .push(RequestHandles {
                method: method.into(),
                status,
                count,
                latency,
            });
    }

    /// A placement created an order.
    pub fn order_created(&self) {
        self.orders_created.increment(1);
    }

    /// An order's status changed to `status`.
    pub fn order_status(&self, status: OrderStatus) {
        let status = status.as_str();
        self.count(
            (ORDERS_STATUS, status, ""),
            || counter!(ORDERS_STATUS, "status" => status),
        );
    }

    /// An order was confirmed `took` after it was placed.
    pub fn order_processed(&self, took: Duration) {
        self.order_processing.record(took);
    }

    /// A call to an external service (`payment_gateway`, `catalog`, …) and
    /// its outcome (`ok`, `error`).
    pub fn external_call(&self, service: &'static str, outcome: &'static str, took: Duration) {
        self.count(
            (EXTERNAL_REQUESTS, service, outcome),
            || counter!(EXTERNAL_REQUESTS, "service" => service, "outcome" => outcome),
        );
        self.time(
            (EXTERNAL_DURATION, service, ""),
            took,
            || histogram!(EXTERNAL_DURATION, "service" => service),
        );
    }

    /// One attempt of an HTTP call to a remote service (`payment-service`,
    /// `product-service`, …) and how it ended (`success`, `timeout`,
    /// `circuit_open`, …): counted and timed per service and outcome.
    pub fn remote_call(&self, service: &'static str, outcome: &'static str, took: Duration) {
        self.count(
            (EXTERNAL_REQUESTS, service, outcome),
            || counter!(EXTERNAL_REQUESTS, "service" => service, "outcome" => outcome),
        );
        self.time(
            (EXTERNAL_DURATION, service, outcome),
            took,
            || histogram!(EXTERNAL_DURATION, "service" => service, "outcome" => outcome),
        );
    }

    /// A store operation (`get`, `commit`, …).
    pub fn database_query(&self, operation: &'static str, took: Duration) {
        self.time(
            (DATABASE_QUERY_DURATION, operation, ""),
            took,
            || histogram!(DATABASE_QUERY_DURATION, "operation" => operation),
        );
    }

    /// Observes one event's delivery: from its change to the publisher's
    /// acknowledgement.
    pub fn event_delivered(&self, took: Duration) {
        self.event_delivery.record(took);
    }

    /// Folds the recorded histogram samples into their buckets; without it,
    /// samples wait for the next render. The binary calls it every few
    /// seconds.
    pub fn run_upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// Everything, in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        self.handle.render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_buckets_are_valid() {
        assert!(builder().is_ok());
    }

    #[test]
    fn a_request_is_counted_and_timed() {
        let metrics = Metrics::default();
        metrics.http_request("GET", "/api/v1/orders/{id}", 200, Duration::from_millis(3));
        let text = metrics.render();
        assert!(
            text.contains(
                "http_requests_total{method=\"GET\",route=\"/api/v1/orders/{id}\",status=\"200\"} 1"
            ),
            "{text}"
        );
        assert!(text.contains("http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/orders/{id}\",le=\"0.005\"} 1"), "{text}");
        assert!(text.contains("http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/orders/{id}\",le=\"0.0025\"} 0"), "{text}");
    }

    #[test]
    fn kept_handles_count_each_series_apart() {
        let metrics = Metrics::default();
        let route = "/api/v1/orders";
        for status in [201, 201, 422] {
            metrics.http_request("POST", route, status, Duration::from_millis(3));
        }
        metrics.http_request("GET", route, 200, Duration::from_millis(3));
        metrics.database_query("commit", Duration::from_millis(1));
        metrics.database_query("commit", Duration::from_millis(1));
        metrics.order_status(OrderStatus::Pending);
        let text = metrics.render();
        for line in [
            "http_requests_total{method=\"POST\",route=\"/api/v1/orders\",status=\"201\"} 2",
            "http_requests_total{method=\"POST\",route=\"/api/v1/orders\",status=\"422\"} 1",
            "http_requests_total{method=\"GET\",route=\"/api/v1/orders\",status=\"200\"} 1",
            "http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/orders\"} 3",
            "database_query_duration_seconds_count{operation=\"commit\"} 2",
            "orders_status_total{status=\"pending\"} 1",
        ] {
            assert!(text.contains(line), "{line} missing from {text}");
        }
    }

    #[test]
    fn two_apps_count_apart() {
        let (one, two) = (Metrics::default(), Metrics::default());
        one.order_created();
        one.order_created();
        two.order_created();
        assert!(one.render().contains("orders_created_total 2"));
        assert!(two.render().contains("orders_created_total 1"));
    }

    #[test]
    fn the_processing_duration_has_its_own_buckets() {
        let metrics = Metrics::default();
        metrics.order_processed(Duration::from_secs(90));
        let text = metrics.render();
        assert!(
            text.contains("order_processing_duration_seconds_bucket{le=\"60\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("order_processing_duration_seconds_bucket{le=\"120\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("order_processing_duration_seconds_sum 90"),
            "{text}"
        );
    }
}
