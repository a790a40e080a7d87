//! The consumer loop with a scripted handler: offsets committed only after
//! the handler, dead letters with their reason, transient failures retried.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use order_events_kafka::{
    DEAD_LETTER_OFFSET, DEAD_LETTER_REASON, DEAD_LETTER_TOPIC, Handler, KafkaConsumer,
    KafkaEventsError, KafkaSettings, Received,
};
use rdkafka::Message;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use order_events_kafka::testing::{Broker, PATIENCE, header, unique};

/// Applies bodies by recording them; `poison…` can never apply; `flaky…`
/// fails for now as many times as `failures` says; `stuck…` always fails
/// for now.
#[derive(Clone, Default)]
struct Script {
    applied: Arc<Mutex<Vec<String>>>,
    attempts: Arc<AtomicU32>,
    failures: Arc<AtomicU32>,
}

impl Script {
    fn failing(times: u32) -> Self {
        let script = Self::default();
        script.failures.store(times, Ordering::SeqCst);
        script
    }

    fn applied(&self) -> Vec<String> {
        self.applied.lock().expect("not poisoned").clone()
    }
}

#[async_trait]
impl Handler for Script {
    async fn handle(&self, message: &Received<'_>) -> Result<(), KafkaEventsError> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        let body = String::from_utf8_lossy(message.body()).into_owned();
        let unavailable = || KafkaEventsError::Unavailable("the store is down".into());
        if body.starts_with("poison") {
            return Err(KafkaEventsError::Unapplicable {
                reason: format!("{body} can never apply"),
            });
        }
        if body.starts_with("stuck") {
            return Err(unavailable());
        }
        if body.starts_with("flaky")
            && self
                .failures
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                    left.checked_sub(1)
                })
                .is_ok()
        {
            return Err(unavailable());
        }
        self.applied.lock().expect("not poisoned").push(body);
        Ok(())
    }
}

/// A consumer running in the background until the sender is dropped or
/// fired.
struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Running {
    fn start(settings: &KafkaSettings, handler: impl Handler + 'static) -> Self {
        let consumer = KafkaConsumer::new(settings, handler).expect("a consumer");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(consumer.run(async {
            let _ = stopped.await;
        }));
        Self { stop, task }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.expect("the consumer stops cleanly");
    }
}

async fn eventually(what: &str, holds: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !holds() {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

struct Topics {
    payments: String,
    dead_letters: String,
}

async fn topics(broker: &Broker) -> Topics {
    let topics = Topics {
        payments: unique("payments"),
        dead_letters: unique("dlq"),
    };
    broker
        .create_topics(&[&topics.payments, &topics.dead_letters], 1)
        .await;
    topics
}

fn settings(broker: &Broker, topics: &Topics, group: &str) -> KafkaSettings {
    broker
        .settings()
        .payment_topics([topics.payments.as_str()])
        .dead_letter_topic(topics.dead_letters.as_str())
        .group_id(group)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_is_dead_lettered_with_its_reason_and_later_messages_still_apply() {
    let broker = Broker::start().await;
    let topics = topics(&broker).await;
    for body in ["first", "poison-1", "second"] {
        broker
            .produce(&topics.payments, "order-1", &[("ce_id", body)], body)
            .await;
    }
    let script = Script::default();
    let running = Running::start(&settings(&broker, &topics, &unique("g")), script.clone());

    eventually("both good messages apply", || script.applied().len() == 2).await;
    assert_eq!(script.applied(), ["first", "second"]);
    let dead = broker
        .read(&topics.dead_letters, |read| !read.is_empty())
        .await;
    running.stop().await;

    assert_eq!(dead.len(), 1);
    let letter = &dead[0];
    assert_eq!(letter.payload(), Some(&b"poison-1"[..]));
    assert_eq!(letter.key(), Some(&b"order-1"[..]));
    assert_eq!(
        header(letter, DEAD_LETTER_REASON).as_deref(),
        Some("poison-1 can never apply")
    );
    assert_eq!(
        header(letter, DEAD_LETTER_TOPIC).as_deref(),
        Some(topics.payments.as_str())
    );
    assert_eq!(header(letter, DEAD_LETTER_OFFSET).as_deref(), Some("1"));
    assert_eq!(header(letter, "ce_id").as_deref(), Some("poison-1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transient_failure_is_retried_until_the_message_applies_in_order() {
    let broker = Broker::start().await;
    let topics = topics(&broker).await;
    for body in ["flaky-1", "after"] {
        broker.produce(&topics.payments, "order-1", &[], body).await;
    }
    let script = Script::failing(3);
    let running = Running::start(&settings(&broker, &topics, &unique("g")), script.clone());

    eventually("both messages apply", || script.applied().len() == 2).await;
    running.stop().await;

    assert_eq!(script.applied(), ["flaky-1", "after"]);
    assert_eq!(script.attempts.load(Ordering::SeqCst), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offset_is_committed_only_once_its_message_applied() {
    let broker = Broker::start().await;
    let topics = topics(&broker).await;
    for body in ["done", "stuck-1"] {
        broker.produce(&topics.payments, "order-1", &[], body).await;
    }
    let group = unique("g");
    let first = Script::default();
    let running = Running::start(&settings(&broker, &topics, &group), first.clone());
    eventually("the stuck message is tried twice", || {
        first.attempts.load(Ordering::SeqCst) >= 3
    })
    .await;
    running.stop().await;
    assert_eq!(first.applied(), ["done"]);

    // The next member of the group starts after the last applied message.
    let next = Script::default();
    let running = Running::start(
        &settings(&broker, &topics, &group),
        HealedStore(next.clone()),
    );
    eventually("the stuck message applies", || next.applied().len() == 1).await;
    running.stop().await;
    assert_eq!(next.applied(), ["stuck-1"]);
}

/// The same script once the store is back: nothing is stuck any more.
struct HealedStore(Script);

#[async_trait]
impl Handler for HealedStore {
    async fn handle(&self, message: &Received<'_>) -> Result<(), KafkaEventsError> {
        let body = String::from_utf8_lossy(message.body()).into_owned();
        self.0.applied.lock().expect("not poisoned").push(body);
        Ok(())
    }
}
