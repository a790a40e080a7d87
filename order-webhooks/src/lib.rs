//! Signed outbound webhooks, for integrators without Kafka.
//!
//! - [`signature`]: the Standard Webhooks convention: `webhook-id`,
//!   `webhook-timestamp` and `webhook-signature` (`v1,` and the base64
//!   HMAC-SHA256 of `id.timestamp.body` under the subscription's secret).
//! - [`fan_out`]: the outbox feed, after the position the store keeps,
//!   becomes deliveries — one per published message (the same CloudEvents
//!   messages as on Kafka, `order_events::Wire`) and subscription that wants
//!   its type — written with the position in one transaction.
//! - [`sender`]: one attempt: an HTTP POST of the message in CloudEvents
//!   binary mode (`ce-*` headers, JSON body) with the signature headers.
//! - [`dispatcher`]: the loop, led by one process per store: fan out, send
//!   what is due, record each attempt; the core's
//!   [`Delivery::attempted`](order_core::webhook::Delivery::attempted) says
//!   when to try again and when to give up.

pub mod dispatcher;
pub mod fan_out;
pub mod sender;
pub mod signature;

pub use dispatcher::{Dispatcher, DispatcherSettings};
