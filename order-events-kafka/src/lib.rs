//! # order-events-kafka
//!
//! Kafka adapters for the order engine, on librdkafka (`rdkafka`):
//! - [`KafkaConsumer`]: a member of a consumer group that hands each
//!   message to a [`Handler`], commits its offset only after the handler is
//!   done, dead-letters what can never apply (with the reason as a header)
//!   and retries what fails for now.
//! - [`KafkaSettings`]: brokers, topics, the group, the dead-letter topic,
//!   delivery bounds, and the profile of tests against Tansu.
//!
//! # Layout
//! `settings` (properties), `delivery` (a batch sent and acknowledged
//! within a bound), `consumer` (the loop and its dead letters), `error`.

mod consumer;
mod delivery;
mod error;
mod settings;

pub use consumer::{
    DEAD_LETTER_OFFSET, DEAD_LETTER_PARTITION, DEAD_LETTER_REASON, DEAD_LETTER_TOPIC, Handler,
    KafkaConsumer, Received,
};
pub use error::KafkaEventsError;
pub use settings::{EventTopics, KafkaSettings};
