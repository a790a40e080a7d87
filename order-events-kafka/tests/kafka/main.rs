//! The Kafka adapters against a real Kafka-protocol broker (Tansu, embedded
//! by `order_events_kafka::testing`): nothing to set up before `cargo test`.

mod consumer;
mod contracts;
mod payments;
mod publisher;
