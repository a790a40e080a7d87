//! Handing records to the brokers and waiting for every acknowledgement of
//! a batch, within a bound. What is still queued when the bound passes, or
//! when one record fails, is purged: only records already in flight may
//! still land, and they precede the purged ones, so a retry of the whole
//! batch never leaves a later record ahead of an earlier one that is lost.

use std::time::Duration;

use rdkafka::producer::{FutureProducer, FutureRecord, Producer, PurgeConfig};
use tokio::time::{Instant, timeout_at};

use crate::error::KafkaEventsError;
use crate::settings::KafkaSettings;

/// An idempotent producer with a delivery bound.
pub(crate) struct Sender {
    producer: FutureProducer,
    timeout: Duration,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Sender {
    /// A producer with `settings`' producer properties.
    pub(crate) fn new(settings: &KafkaSettings) -> Result<Self, KafkaEventsError> {
        let producer = settings
            .producer_config()
            .create()
            .map_err(KafkaEventsError::Client)?;
        Ok(Self {
            producer,
            timeout: settings.delivery_bound(),
        })
    }

    /// Sends `records` in order and returns once the brokers acknowledged
    /// every one.
    ///
    /// # Errors
    /// [`KafkaEventsError::Refused`] at the first record refused,
    /// [`KafkaEventsError::NotAcknowledged`] when the bound passes first.
    pub(crate) async fn deliver(
        &self,
        records: Vec<FutureRecord<'_, [u8], [u8]>>,
    ) -> Result<(), KafkaEventsError> {
        let deadline = Instant::now() + self.timeout;
        let mut pending = Vec::with_capacity(records.len());
        for record in records {
            let topic = record.topic;
            match self.producer.send_result(record) {
                Ok(delivery) => pending.push((topic, delivery)),
                Err((source, _)) => return Err(self.abandon(refused(topic, source))),
            }
        }
        let total = pending.len();
        for (acknowledged, (topic, delivery)) in pending.into_iter().enumerate() {
            let unacknowledged = KafkaEventsError::NotAcknowledged {
                pending: total - acknowledged,
                timeout: self.timeout,
            };
            match timeout_at(deadline, delivery).await {
                Ok(Ok(Ok(_))) => {}
                Ok(Ok(Err((source, _)))) => return Err(self.abandon(refused(topic, source))),
                // The delivery report was dropped unanswered, or the bound
                // passed: either way the rest is not known to have landed.
                Ok(Err(_)) | Err(_) => return Err(self.abandon(unacknowledged)),
            }
        }
        Ok(())
    }

    /// Purges what is still queued (not what is in flight) and returns
    /// `error`.
    fn abandon(&self, error: KafkaEventsError) -> KafkaEventsError {
        self.producer.purge(PurgeConfig::default().queue());
        error
    }
}

fn refused(topic: &str, source: rdkafka::error::KafkaError) -> KafkaEventsError {
    KafkaEventsError::Refused {
        topic: topic.to_owned(),
        source,
    }
}
