//! The Kafka adapters against a real Kafka-protocol broker (Tansu, embedded
//! by `support`): nothing to set up before `cargo test`.

mod consumer;
mod payments;
mod publisher;
mod support;
