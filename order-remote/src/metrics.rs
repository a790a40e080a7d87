//! What each attempt of a remote call reports: an [`Outcome`] and its
//! duration, to an [`Observer`]. [`GlobalMetrics`] records them with the
//! `metrics` crate into the process's recorder as the seed metrics
//! `external_service_requests_total{service,outcome}` (counter) and
//! `external_service_duration_seconds{service,outcome}` (histogram); an
//! application with a recorder of its own passes an observer that records
//! there.

use std::time::Duration;

/// `external_service_requests_total`.
pub const REQUESTS: &str = "external_service_requests_total";
/// `external_service_duration_seconds`.
pub const DURATION: &str = "external_service_duration_seconds";

/// How one attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// A 2xx answer.
    Success,
    /// A 4xx answer (an unknown id, a decline, a refusal): the service works.
    ClientError,
    /// A 5xx or 429 answer.
    ServerError,
    /// No complete answer within the timeout.
    Timeout,
    /// No connection, or it broke before the answer was complete.
    ConnectionError,
    /// Not attempted: the circuit is open.
    CircuitOpen,
}

impl Outcome {
    /// The `outcome` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::ClientError => "client_error",
            Self::ServerError => "server_error",
            Self::Timeout => "timeout",
            Self::ConnectionError => "connection_error",
            Self::CircuitOpen => "circuit_open",
        }
    }
}

/// Receives every attempt's outcome.
pub trait Observer: Send + Sync {
    /// One attempt to `service` ended with `outcome` after `took`.
    fn observe(&self, service: &'static str, outcome: Outcome, took: Duration);
}

/// Records into the `metrics` crate's global recorder.
#[derive(Clone, Copy, Debug, Default)]
pub struct GlobalMetrics;

impl Observer for GlobalMetrics {
    fn observe(&self, service: &'static str, outcome: Outcome, took: Duration) {
        let outcome = outcome.as_str();
        metrics::counter!(REQUESTS, "service" => service, "outcome" => outcome).increment(1);
        metrics::histogram!(DURATION, "service" => service, "outcome" => outcome).record(took);
    }
}
