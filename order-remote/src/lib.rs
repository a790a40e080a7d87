//! # order-remote
//!
//! HTTP adapters for the ports of `order-core` that a microservice
//! deployment answers elsewhere: a product service ([`RemoteCatalog`]), an
//! inventory service ([`RemoteInventory`]), a user service
//! ([`RemoteCustomers`]) and a payment service ([`RemotePayments`]). The
//! wire formats they expect are in `docs/integrations.md`, one OpenAPI file
//! per contract under `docs/integrations/`.
//!
//! Every call goes through one [`ServiceClient`] per service: a timeout per
//! attempt, bounded retries with exponential back-off only where a repeat
//! is safe (reads, and writes carrying an `Idempotency-Key`), a circuit
//! breaker that fails fast while the service is down and lets one probe
//! through after a cool-down, the W3C `traceparent` of the request being
//! served, and the seed metrics `external_service_requests_total` and
//! `external_service_duration_seconds` per service and outcome.
//!
//! # Layout
//! - `client`: [`ServiceClient`], one HTTP call with all of the above
//! - `retry`: [`RetryPolicy`], which calls are retried and how long to wait
//! - `breaker`: [`Breaker`], the circuit breaker
//! - `metrics`: [`Observer`] and [`Outcome`], what each attempt reports
//! - `trace`: [`TraceParent`], W3C trace context carried to outgoing calls
//! - `error`: [`RemoteError`] and its one mapping onto the ports' errors
//! - `catalog`, `inventory`, `customers`, `payments`: one adapter per
//!   service, translating its wire format to the port

mod body;
pub mod breaker;
pub mod catalog;
pub mod client;
pub mod customers;
pub mod error;
pub mod inventory;
pub mod metrics;
pub mod payments;
pub mod retry;
pub mod trace;

pub use breaker::{Breaker, BreakerSettings};
pub use catalog::RemoteCatalog;
pub use client::{ServiceClient, ServiceSettings};
pub use customers::RemoteCustomers;
pub use error::RemoteError;
pub use inventory::RemoteInventory;
pub use metrics::{GlobalMetrics, Observer, Outcome};
pub use payments::RemotePayments;
pub use retry::RetryPolicy;
pub use trace::TraceParent;
