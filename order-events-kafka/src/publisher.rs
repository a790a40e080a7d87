//! The outbox's publisher on Kafka: each batch of stored events becomes its
//! CloudEvents messages (`order_events::Wire`), keyed by order id so one
//! order's messages share a partition and keep their order, sent by an
//! idempotent producer with `acks=all`. The batch is published only when
//! the brokers acknowledged every message; otherwise the relay keeps it and
//! publishes it again later, so nothing is lost and a consumer may see an
//! event twice (it deduplicates by `ce_id`).

use async_trait::async_trait;
use order_core::ports::EventPublisher;
use order_core::{PortError, StoredEvent};
use order_events::{Wire, WireMessage};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::FutureRecord;

use crate::delivery::Sender;
use crate::error::KafkaEventsError;
use crate::settings::{EventTopics, KafkaSettings};

/// Publishes outbox events to Kafka (see the module docs).
#[derive(Debug)]
pub struct KafkaPublisher {
    sender: Sender,
    wire: Wire,
    topics: EventTopics,
}

impl KafkaPublisher {
    /// A publisher to `settings`' brokers and event topics, mapping events
    /// with `wire`. No broker is contacted until the first publication.
    ///
    /// # Errors
    /// [`KafkaEventsError::Client`] when the producer cannot be created (a
    /// bad property).
    pub fn new(settings: &KafkaSettings, wire: Wire) -> Result<Self, KafkaEventsError> {
        Ok(Self {
            sender: Sender::new(settings)?,
            wire,
            topics: settings.event_topic_layout().clone(),
        })
    }

    async fn send(&self, messages: &[WireMessage]) -> Result<(), KafkaEventsError> {
        let topics: Vec<String> = messages
            .iter()
            .map(|message| self.topics.topic_of(message.event_type))
            .collect();
        let records = messages
            .iter()
            .zip(&topics)
            .map(|(message, topic)| {
                let headers = message.headers.iter().fold(
                    OwnedHeaders::new_with_capacity(message.headers.len()),
                    |headers, (key, value)| {
                        headers.insert(Header {
                            key,
                            value: Some(value.as_str()),
                        })
                    },
                );
                FutureRecord::to(topic)
                    .key(message.key.as_bytes())
                    .payload(message.body.as_slice())
                    .headers(headers)
            })
            .collect();
        self.sender.deliver(records).await
    }
}

#[async_trait]
impl EventPublisher for KafkaPublisher {
    async fn publish(&self, events: &[StoredEvent]) -> Result<(), PortError> {
        let messages = self
            .wire
            .messages(events)
            .await
            .map_err(|err| PortError::Unavailable(format!("events not mapped: {err}")))?;
        self.send(&messages).await.map_err(|err| match err {
            KafkaEventsError::NotAcknowledged { .. } => PortError::Timeout,
            KafkaEventsError::Refused { .. } => PortError::Refused(err.to_string()),
            other => PortError::Unavailable(other.to_string()),
        })
    }
}
