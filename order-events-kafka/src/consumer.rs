//! The consumer loop: one member of a consumer group that hands each
//! message to a [`Handler`] and commits its offset only once the handler
//! is done with it. A message that can never apply goes to the dead-letter
//! topic with its reason and is committed, so it never blocks its
//! partition; a transient failure is tried again with a growing pause, the
//! offset uncommitted, until it applies or the loop is told to stop. (A
//! retry that outlasts `max.poll.interval.ms`, five minutes by default,
//! makes librdkafka leave the group: the partition moves to another member,
//! or back to this one, from the last committed offset, and the message
//! comes again — safe, since handlers apply a message once.)

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::Message;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Header, Headers, OwnedHeaders};
use rdkafka::producer::FutureRecord;
use tracing::{info, warn};

use crate::delivery::Sender;
use crate::error::KafkaEventsError;
use crate::settings::KafkaSettings;

/// The dead letter's header with the reason the message can never apply
/// (as docs/asyncapi.yaml names it).
pub const DEAD_LETTER_REASON: &str = "x-dead-letter-reason";
/// The dead letter's header with the topic the message came from.
pub const DEAD_LETTER_TOPIC: &str = "x-dead-letter-topic";
/// The dead letter's header with the partition the message came from.
pub const DEAD_LETTER_PARTITION: &str = "x-dead-letter-partition";
/// The dead letter's header with the message's offset there.
pub const DEAD_LETTER_OFFSET: &str = "x-dead-letter-offset";

/// What the consumer does with each message.
#[async_trait]
pub trait Handler: Send + Sync {
    /// Applies `message`, durably, before returning `Ok` (its offset is
    /// committed then). Applying a message twice must change nothing the
    /// second time: after a crash or a rebalance it comes again.
    ///
    /// # Errors
    /// MUST return [`KafkaEventsError::Unapplicable`] when the message can
    /// never apply (it is dead-lettered and skipped); any other error means
    /// "not now", and the message is tried again.
    async fn handle(&self, message: &Received<'_>) -> Result<(), KafkaEventsError>;
}

/// A consumed message, as a [`Handler`] sees it.
#[derive(Debug)]
pub struct Received<'a> {
    message: &'a BorrowedMessage<'a>,
}

impl Received<'_> {
    /// The topic it came from.
    pub fn topic(&self) -> &str {
        self.message.topic()
    }

    /// The value of the first header named `name`, when it is UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.message
            .headers()?
            .iter()
            .find(|header| header.key == name)
            .and_then(|header| std::str::from_utf8(header.value?).ok())
    }

    /// The body (empty for a tombstone).
    pub fn body(&self) -> &[u8] {
        self.message.payload().unwrap_or_default()
    }
}

/// A member of the consumer group of [`KafkaSettings`], subscribed to its
/// payment topics, with a producer for dead letters.
pub struct KafkaConsumer<H> {
    consumer: StreamConsumer,
    dead_letters: Sender,
    dead_letter_topic: String,
    backoff: (Duration, Duration),
    handler: H,
}

impl<H> std::fmt::Debug for KafkaConsumer<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaConsumer")
            .field("dead_letter_topic", &self.dead_letter_topic)
            .finish_non_exhaustive()
    }
}

impl<H: Handler> KafkaConsumer<H> {
    /// Creates the consumer and its dead-letter producer and subscribes to
    /// the payment topics; nothing is fetched until [`Self::run`].
    ///
    /// # Errors
    /// [`KafkaEventsError::Client`] when a client cannot be created (a bad
    /// property) or the subscription is refused.
    pub fn new(settings: &KafkaSettings, handler: H) -> Result<Self, KafkaEventsError> {
        let consumer: StreamConsumer = settings
            .consumer_config()
            .create()
            .map_err(KafkaEventsError::Client)?;
        let topics: Vec<&str> = settings
            .payment_topic_names()
            .iter()
            .map(String::as_str)
            .collect();
        consumer
            .subscribe(&topics)
            .map_err(KafkaEventsError::Client)?;
        Ok(Self {
            consumer,
            dead_letters: Sender::new(settings)?,
            dead_letter_topic: settings.dead_letters().to_owned(),
            backoff: settings.backoff(),
            handler,
        })
    }

    /// Consumes until `shutdown` completes, then leaves the group (the
    /// offsets of handled messages are committed first). A message being
    /// retried when `shutdown` completes stays uncommitted, for the next
    /// member to take.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let received = tokio::select! {
                () = &mut shutdown => break,
                received = self.consumer.recv() => received,
            };
            match received {
                Ok(message) => {
                    if !self.settle(&message, shutdown.as_mut()).await {
                        break;
                    }
                }
                // librdkafka reconnects by itself; these are its reports.
                Err(error) => warn!(%error, "kafka consumer"),
            }
        }
        // Leaving the group waits for the outstanding commits and the
        // coordinator: a blocking call, kept off the runtime's workers.
        let consumer = self.consumer;
        if tokio::task::spawn_blocking(move || drop(consumer))
            .await
            .is_err()
        {
            warn!("kafka consumer did not close cleanly");
        }
    }

    /// Handles `message` until it is done, then commits it; false when
    /// `shutdown` came first.
    async fn settle(
        &self,
        message: &BorrowedMessage<'_>,
        mut shutdown: std::pin::Pin<&mut impl Future<Output = ()>>,
    ) -> bool {
        let (first, longest) = self.backoff;
        let mut pause = first;
        while let Err(error) = self.process(message).await {
            warn!(
                topic = message.topic(),
                partition = message.partition(),
                offset = message.offset(),
                %error,
                retry_in = ?pause,
                "message not handled; retrying",
            );
            tokio::select! {
                () = &mut shutdown => return false,
                () = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(longest);
        }
        // Async: the next message need not wait for the coordinator. A
        // commit lost to a crash or a rebalance means one redelivery, which
        // the handler ignores.
        if let Err(error) = self.consumer.commit_message(message, CommitMode::Async) {
            warn!(%error, offset = message.offset(), "kafka offset not committed");
        }
        true
    }

    async fn process(&self, message: &BorrowedMessage<'_>) -> Result<(), KafkaEventsError> {
        match self.handler.handle(&Received { message }).await {
            Err(KafkaEventsError::Unapplicable { reason }) => {
                self.dead_letter(message, &reason).await
            }
            outcome => outcome,
        }
    }

    /// Copies `message` (key, body, headers) to the dead-letter topic with
    /// where it came from and why it can never apply.
    async fn dead_letter(
        &self,
        message: &BorrowedMessage<'_>,
        reason: &str,
    ) -> Result<(), KafkaEventsError> {
        let partition = message.partition().to_string();
        let offset = message.offset().to_string();
        let mut headers = message
            .headers()
            .map_or_else(OwnedHeaders::new, |h| h.detach());
        for (key, value) in [
            (DEAD_LETTER_REASON, reason),
            (DEAD_LETTER_TOPIC, message.topic()),
            (DEAD_LETTER_PARTITION, &partition),
            (DEAD_LETTER_OFFSET, &offset),
        ] {
            headers = headers.insert(Header {
                key,
                value: Some(value),
            });
        }
        let mut record = FutureRecord::to(&self.dead_letter_topic)
            .payload(message.payload().unwrap_or_default())
            .headers(headers);
        if let Some(key) = message.key() {
            record = record.key(key);
        }
        self.dead_letters.deliver(vec![record]).await?;
        info!(
            topic = message.topic(),
            partition = message.partition(),
            offset = message.offset(),
            reason,
            dead_letter_topic = %self.dead_letter_topic,
            "message dead-lettered",
        );
        Ok(())
    }
}
