//! # order-events-kafka
//!
//! Kafka adapters for the order engine, on librdkafka (`rdkafka`):
//! - [`KafkaPublisher`]: the outbox relay's `EventPublisher` — each batch
//!   of events as CloudEvents messages (`order_events::Wire`), keyed by
//!   order id, from an idempotent producer with `acks=all`; `Ok` only once
//!   every message was acknowledged, so the relay marks them published only
//!   then, and publishes them again after a broker outage.
//! - [`PaymentEvents`]: the payment service's `payment.processed`,
//!   `payment.failed` and `payment.refunded` (the seed's bodies or the
//!   engine's own), applied as the HTTP webhook applies them.
//! - [`KafkaConsumer`]: a member of a consumer group that hands each
//!   message to a [`Handler`], commits its offset only after the handler is
//!   done, dead-letters what can never apply (with the reason as a header)
//!   and retries what fails for now.
//! - [`KafkaSettings`]: brokers, topics, the group, the dead-letter topic,
//!   delivery bounds, and the profile of tests against Tansu.
//!
//! # Layout
//! `settings` (properties), `delivery` (a batch sent and acknowledged
//! within a bound), `publisher`, `consumer` (the loop and its dead
//! letters), `payments` (the handler of payment events), `error`, and
//! `testing` (feature `testing`: an embedded Tansu broker for tests).
//!
//! # Building
//! librdkafka is compiled from its bundled source by its own `configure`
//! and `make` with the machine's C compiler: no cmake, no curl, no system
//! zlib or zstd (both compiled in from their `-sys` crates), no
//! pkg-config. TLS and SASL/GSSAPI are not compiled in.
//!
//! ```no_run
//! # async fn run(service: order_core::OrderService, store: std::sync::Arc<dyn order_core::ports::OrderStore>)
//! # -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use order_events::Wire;
//! use order_events_kafka::{KafkaConsumer, KafkaPublisher, KafkaSettings, PaymentEvents};
//!
//! let settings = KafkaSettings::new("kafka-1:9092,kafka-2:9092").group_id("orders");
//! let publisher = Arc::new(KafkaPublisher::new(&settings, Wire::new(store, "/order-service"))?);
//! let actor = order_core::Actor::parse("service:payments")?;
//! let consumer = KafkaConsumer::new(&settings, PaymentEvents::new(service, actor))?;
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! tokio::spawn(consumer.run(async { let _ = stopped.await; }));
//! // … at shutdown: `stop.send(())`, and the consumer leaves its group.
//! # Ok(()) }
//! ```

mod consumer;
mod delivery;
mod error;
mod payments;
mod publisher;
mod settings;
#[cfg(feature = "testing")]
pub mod testing;

pub use consumer::{
    DEAD_LETTER_OFFSET, DEAD_LETTER_PARTITION, DEAD_LETTER_REASON, DEAD_LETTER_TOPIC, Handler,
    KafkaConsumer, Received,
};
pub use error::KafkaEventsError;
pub use payments::PaymentEvents;
pub use publisher::KafkaPublisher;
pub use settings::{EventTopics, KafkaSettings};
