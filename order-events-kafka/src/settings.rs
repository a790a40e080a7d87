//! What the Kafka clients are told: brokers, topics, the consumer group,
//! the dead-letter topic and delivery bounds, turned into librdkafka
//! properties in one place.

use std::time::Duration;

use rdkafka::ClientConfig;

/// Where outbox events are published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventTopics {
    /// Every event on this one topic (the default, `order-events`): one
    /// order's events share a partition, so they arrive in sequence order.
    Single(String),
    /// One topic per event type, named `<prefix><type>` (`order.created`,
    /// `order.payment_successful`…). Each topic keeps one order's events of
    /// that type in order; across types, consumers order by `ce_sequence`.
    PerType {
        /// Prepended to each event type (may be empty).
        prefix: String,
    },
}

impl EventTopics {
    /// The topic of an event of type `event_type`.
    pub fn topic_of(&self, event_type: &str) -> String {
        match self {
            Self::Single(topic) => topic.clone(),
            Self::PerType { prefix } => format!("{prefix}{event_type}"),
        }
    }
}

/// The settings of the Kafka publisher and the payment-event consumer.
///
/// Production defaults keep librdkafka's batching; [`Self::test_profile`]
/// sends one record per batch instead (see its docs).
#[derive(Debug, Clone)]
pub struct KafkaSettings {
    brokers: String,
    client_id: String,
    event_topics: EventTopics,
    payment_topics: Vec<String>,
    group_id: String,
    dead_letter_topic: String,
    delivery_timeout: Duration,
    retry_backoff: (Duration, Duration),
    properties: Vec<(String, String)>,
}

impl KafkaSettings {
    /// Settings for the brokers `brokers` (`host:port[,host:port…]`, the
    /// bootstrap list) with the defaults: client id `order-engine`, events
    /// on `order-events`, payment events from `payment-events` in group
    /// `order-engine`, dead letters to `payment-events-dlq`, a delivery
    /// bound of 30 s and handler retries backing off from 100 ms to 30 s.
    pub fn new(brokers: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            client_id: "order-engine".to_owned(),
            event_topics: EventTopics::Single("order-events".to_owned()),
            payment_topics: vec!["payment-events".to_owned()],
            group_id: "order-engine".to_owned(),
            dead_letter_topic: "payment-events-dlq".to_owned(),
            delivery_timeout: Duration::from_secs(30),
            retry_backoff: (Duration::from_millis(100), Duration::from_secs(30)),
            properties: Vec::new(),
        }
    }

    /// The client id the brokers see (logs, quotas).
    #[must_use]
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = client_id.into();
        self
    }

    /// Where outbox events are published.
    #[must_use]
    pub fn event_topics(mut self, topics: EventTopics) -> Self {
        self.event_topics = topics;
        self
    }

    /// The topics payment events are consumed from. Without a `ce_type`
    /// header, a message's topic name is its event type, so one topic per
    /// type (`payment.processed`, `payment.failed`, `payment.refunded`)
    /// works for bodies that carry no type.
    #[must_use]
    pub fn payment_topics<I, T>(mut self, topics: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.payment_topics = topics.into_iter().map(Into::into).collect();
        self
    }

    /// The consumer group of the payment-event consumer.
    #[must_use]
    pub fn group_id(mut self, group_id: impl Into<String>) -> Self {
        self.group_id = group_id.into();
        self
    }

    /// Where messages that can never apply go, with the reason.
    #[must_use]
    pub fn dead_letter_topic(mut self, topic: impl Into<String>) -> Self {
        self.dead_letter_topic = topic.into();
        self
    }

    /// How long a publication (or a dead letter) waits for the brokers'
    /// acknowledgements before it fails and leaves the rest to a retry.
    #[must_use]
    pub fn delivery_timeout(mut self, timeout: Duration) -> Self {
        self.delivery_timeout = timeout;
        self
    }

    /// The first and the longest pause between attempts at a message whose
    /// failure is transient (the store is down); the pause doubles between.
    #[must_use]
    pub fn retry_backoff(mut self, first: Duration, longest: Duration) -> Self {
        self.retry_backoff = (first, longest.max(first));
        self
    }

    /// Any other librdkafka property (`security.protocol`,
    /// `sasl.mechanism`…), given to every client; it overrides this type's
    /// own choices, so use it with care.
    #[must_use]
    pub fn property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.push((key.into(), value.into()));
        self
    }

    /// The profile of tests against Tansu 0.6.0's memory storage: one
    /// record per batch and no lingering, since that broker misreads
    /// offsets inside a batch of several records; short reconnect and
    /// retry pauses, so a restarted broker is found quickly. Production
    /// brokers do not need it: keep the batching there.
    #[must_use]
    pub fn test_profile(self) -> Self {
        self.property("linger.ms", "0")
            .property("batch.num.messages", "1")
            .property("reconnect.backoff.ms", "50")
            .property("reconnect.backoff.max.ms", "500")
            .property("retry.backoff.ms", "50")
            .property("retry.backoff.max.ms", "500")
    }

    pub(crate) fn event_topic_layout(&self) -> &EventTopics {
        &self.event_topics
    }

    pub(crate) fn payment_topic_names(&self) -> &[String] {
        &self.payment_topics
    }

    pub(crate) fn dead_letters(&self) -> &str {
        &self.dead_letter_topic
    }

    pub(crate) fn delivery_bound(&self) -> Duration {
        self.delivery_timeout
    }

    pub(crate) fn backoff(&self) -> (Duration, Duration) {
        self.retry_backoff
    }

    /// The producer's properties: idempotent (so retries neither duplicate
    /// nor reorder), every in-sync replica acknowledges, and librdkafka
    /// never expires a message by itself (`message.timeout.ms=0`): what is
    /// in flight when a delivery bound passes is retried until the broker
    /// answers, and what is still queued is purged and published again by
    /// the caller, so no timed-out message leaves a gap before a later one.
    pub(crate) fn producer_config(&self) -> ClientConfig {
        let mut config = self.common();
        config
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("message.timeout.ms", "0");
        self.overridden(config)
    }

    /// The consumer's properties: offsets are committed by hand after each
    /// message is done, and a new group starts at the earliest offset so
    /// payment events published before its first start are not skipped.
    pub(crate) fn consumer_config(&self) -> ClientConfig {
        let mut config = self.common();
        config
            .set("group.id", &self.group_id)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest");
        self.overridden(config)
    }

    fn common(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("client.id", &self.client_id);
        config
    }

    fn overridden(&self, mut config: ClientConfig) -> ClientConfig {
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_topic_holds_every_event_by_default() {
        let settings = KafkaSettings::new("127.0.0.1:9092");
        assert_eq!(
            settings.event_topic_layout().topic_of("order.created"),
            "order-events"
        );
    }

    #[test]
    fn a_topic_per_type_is_the_prefixed_type() {
        let topics = EventTopics::PerType {
            prefix: "shop.".to_owned(),
        };
        assert_eq!(topics.topic_of("order.created"), "shop.order.created");
    }

    #[test]
    fn the_producer_is_idempotent_and_waits_for_every_replica() {
        let config = KafkaSettings::new("b:9092").producer_config();
        assert_eq!(config.get("enable.idempotence"), Some("true"));
        assert_eq!(config.get("acks"), Some("all"));
        assert_eq!(config.get("bootstrap.servers"), Some("b:9092"));
    }

    #[test]
    fn the_consumer_commits_by_hand_from_the_earliest_offset() {
        let config = KafkaSettings::new("b:9092")
            .group_id("payments")
            .consumer_config();
        assert_eq!(config.get("group.id"), Some("payments"));
        assert_eq!(config.get("enable.auto.commit"), Some("false"));
        assert_eq!(config.get("auto.offset.reset"), Some("earliest"));
    }

    #[test]
    fn the_test_profile_sends_one_record_per_batch_and_production_batches() {
        let production = KafkaSettings::new("b:9092").producer_config();
        assert_eq!(production.get("batch.num.messages"), None);
        let test = KafkaSettings::new("b:9092")
            .test_profile()
            .producer_config();
        assert_eq!(test.get("batch.num.messages"), Some("1"));
        assert_eq!(test.get("linger.ms"), Some("0"));
    }

    #[test]
    fn extra_properties_reach_every_client() {
        let settings = KafkaSettings::new("b:9092").property("security.protocol", "sasl_plaintext");
        assert_eq!(
            settings.producer_config().get("security.protocol"),
            Some("sasl_plaintext")
        );
        assert_eq!(
            settings.consumer_config().get("security.protocol"),
            Some("sasl_plaintext")
        );
    }
}
