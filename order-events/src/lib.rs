//! The order engine's events on the wire, in the contracts the seeds'
//! neighbours already speak.
//!
//! - [`wire`]: each outbox event becomes one or more CloudEvents 1.0
//!   messages ([`WireMessage`]): the engine's own type, the seeds' names for
//!   the same fact (`order.payment_successful`), and `order.status_changed`
//!   whenever the status moved; bodies carry the seeds' camelCase fields
//!   beside the engine's own `data`.
//! - [`context`]: the order as it stood before and after each event, folded
//!   by the core, which the messages' fields are read from.
//! - [`headers`]: CloudEvents binary mode, as Kafka headers (`ce_…`) and HTTP
//!   headers (`ce-…`).
//! - [`inbound`]: the payment service's events (the seed's bodies or the
//!   engine's own), decoded and applied through the core's use case.
//! - [`relay`]: the continuous outbox relay, one leader across replicas.

pub mod context;
pub mod headers;
pub mod inbound;
pub mod payload;
pub mod relay;
pub mod types;
pub mod wire;

pub use wire::{Wire, WireMessage};
