//! The one error type of the Kafka adapters: what failed in a client, in a
//! delivery, or in the handling of a consumed message.

use std::time::Duration;

/// Why a Kafka client, a publication or a consumed message failed.
#[derive(Debug, thiserror::Error)]
pub enum KafkaEventsError {
    /// A client could not be created or subscribed (a bad property, an
    /// unknown topic pattern).
    #[error("kafka client: {0}")]
    Client(#[source] rdkafka::error::KafkaError),
    /// A message was refused, by the local queue or by a broker (too
    /// large, unknown topic, not authorized…).
    #[error("kafka refused a message for {topic}: {source}")]
    Refused {
        /// The topic of the message.
        topic: String,
        /// What librdkafka said.
        source: rdkafka::error::KafkaError,
    },
    /// Some messages were not acknowledged within the delivery bound (the
    /// brokers are down or unreachable); they are left to a retry.
    #[error("{pending} message(s) not acknowledged within {timeout:?}")]
    NotAcknowledged {
        /// How many of the batch were still waiting.
        pending: usize,
        /// The delivery bound.
        timeout: Duration,
    },
    /// The handler can never apply this message (unknown order, wrong
    /// currency, a malformed body): it goes to the dead-letter topic with
    /// this reason.
    #[error("cannot apply: {reason}")]
    Unapplicable {
        /// Why, as the dead letter's reason header says it.
        reason: String,
    },
    /// The handler cannot apply this message now (the store is down): it
    /// is tried again, and its offset is not committed until it applies.
    #[error("cannot apply now: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}
