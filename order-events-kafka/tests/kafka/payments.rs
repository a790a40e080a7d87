//! Payment events from Kafka, as the payment service's seed writes them:
//! they confirm, fail and refund orders through the engine's use case; a
//! duplicate applies once; what can never apply is dead-lettered with its
//! reason while later events still apply.

use std::time::Duration;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use order_core::{
    Actor, Order, OrderService, OrderStatus, PaymentFlow, PaymentKind, PaymentStatus,
    ServiceConfig, StoreError,
};
use order_events_kafka::{DEAD_LETTER_REASON, KafkaConsumer, KafkaSettings, PaymentEvents};
use order_testkit::Harness;
use order_testkit::builder::{PlaceOrderBuilder, customer};
use order_testkit::mock::MockOrderStore;
use rdkafka::Message;
use serde_json::json;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use order_events_kafka::testing::{Broker, PATIENCE, header, unique};

/// An engine whose payments are taken by an external payment service.
struct Engine {
    harness: Harness,
    service: OrderService,
}

impl Engine {
    fn new() -> Self {
        let harness = Harness::default();
        let service = harness.service_with(ServiceConfig {
            payments: PaymentFlow::External,
            ..ServiceConfig::default()
        });
        Self { harness, service }
    }

    /// An order placed and checked out: its payment is pending.
    async fn pending_order(&self, n: u64) -> Order {
        let mug = self.harness.product("MUG");
        self.harness.inventory.set_on_hand(&mug.sku, 100);
        let actor = Actor::parse("admin:ops").expect("an actor");
        let order = self
            .service
            .place(
                PlaceOrderBuilder::new(customer(n)).line(&mug, 1).build(),
                None,
                &actor,
            )
            .await
            .expect("placed");
        self.service
            .pay(order.id(), &actor)
            .await
            .expect("checked out")
    }

    async fn order(&self, order: &Order) -> Order {
        self.service.get(order.id()).await.expect("the order")
    }

    /// Waits until `holds` is true of `order`.
    async fn until(&self, order: &Order, what: &str, holds: impl Fn(&Order) -> bool) -> Order {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let now = self.order(order).await;
            if holds(&now) {
                return now;
            }
            assert!(tokio::time::Instant::now() < deadline, "never: {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn consume(&self, settings: &KafkaSettings) -> Consuming {
        consume(self.service.clone(), settings)
    }
}

/// Applies payment events with `service` until stopped.
fn consume(service: OrderService, settings: &KafkaSettings) -> Consuming {
    let handler = PaymentEvents::new(service, Actor::parse("service:payments").expect("an actor"));
    let consumer = KafkaConsumer::new(settings, handler).expect("a consumer");
    let (stop, stopped) = oneshot::channel::<()>();
    Consuming {
        stop,
        task: tokio::spawn(consumer.run(stopped_signal(stopped))),
    }
}

/// A service whose store is down: every read fails, and is counted.
fn store_down(reads: Arc<AtomicUsize>) -> OrderService {
    let mut store = MockOrderStore::new();
    store.expect_get().returning(move |_| {
        reads.fetch_add(1, Ordering::SeqCst);
        Err(StoreError::Unavailable("the database is down".into()))
    });
    Harness::with_store(Arc::new(store)).service_with(ServiceConfig {
        payments: PaymentFlow::External,
        ..ServiceConfig::default()
    })
}

async fn stopped_signal(stopped: oneshot::Receiver<()>) {
    let _ = stopped.await;
}

struct Consuming {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Consuming {
    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.expect("the consumer stops cleanly");
    }
}

/// The seed's `payment.processed` (and `payment.refunded`) body.
fn processed(order: &Order, payment: &str, amount: &str, currency: &str) -> String {
    let amount: serde_json::Number = amount.parse().expect("a JSON number");
    json!({
        "paymentId": payment,
        "orderId": order.id().to_string(),
        "userId": order.customer_id().to_string(),
        "amount": amount,
        "currency": currency,
        "paymentMethod": "credit_card",
        "transactionId": format!("ext-{payment}"),
        "processedAt": "2024-01-31T10:05:00Z",
    })
    .to_string()
}

/// The seed's `payment.failed` body.
fn failed(order: &Order, payment: &str) -> String {
    json!({
        "paymentId": payment,
        "orderId": order.id().to_string(),
        "userId": order.customer_id().to_string(),
        "amount": 13.75,
        "currency": "USD",
        "failureReason": "Insufficient funds",
        "failureCode": "INSUFFICIENT_FUNDS",
        "failedAt": "2024-01-31T10:05:00Z",
    })
    .to_string()
}

fn total(order: &Order) -> String {
    order.totals().total.amount().to_string()
}

struct Topics {
    payments: String,
    failures: String,
    dead_letters: String,
}

async fn topics(broker: &Broker) -> Topics {
    let topics = Topics {
        payments: unique("payment-events"),
        // Named after the type: its bodies need no `ce_type` header.
        failures: format!("{}.payment.failed", unique("payments")),
        dead_letters: unique("payment-events-dlq"),
    };
    broker
        .create_topics(
            &[&topics.payments, &topics.failures, &topics.dead_letters],
            1,
        )
        .await;
    topics
}

fn settings(broker: &Broker, topics: &Topics) -> KafkaSettings {
    broker
        .settings()
        .payment_topics([topics.payments.as_str(), topics.failures.as_str()])
        .dead_letter_topic(topics.dead_letters.as_str())
        .group_id(unique("orders"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeds_payment_bodies_confirm_fail_and_refund_orders() {
    let broker = Broker::start().await;
    let topics = topics(&broker).await;
    let engine = Engine::new();
    let confirmed = engine.pending_order(1).await;
    let declined = engine.pending_order(2).await;
    let refunded = engine.pending_order(3).await;
    let consuming = engine.consume(&settings(&broker, &topics));

    let key = |order: &Order| order.id().to_string();
    broker
        .produce(
            &topics.payments,
            &key(&confirmed),
            &[("ce_type", "payment.processed")],
            &processed(&confirmed, "pay-1", &total(&confirmed), "USD"),
        )
        .await;
    broker
        .produce(
            &topics.failures,
            &key(&declined),
            &[],
            &failed(&declined, "pay-2"),
        )
        .await;
    // The engine's own shape: its type, id and decimal-string amount inside.
    let own = json!({
        "id": "evt-3",
        "type": "payment.processed",
        "order_id": key(&refunded),
        "amount": total(&refunded),
        "reference": "ref-3",
    });
    broker
        .produce(&topics.payments, &key(&refunded), &[], &own.to_string())
        .await;
    broker
        .produce(
            &topics.payments,
            &key(&refunded),
            &[("ce_type", "payment.refunded"), ("ce_id", "refund-3")],
            &processed(&refunded, "refund-3", "2.50", "USD"),
        )
        .await;

    let after = engine
        .until(&confirmed, "payment.processed confirms", |order| {
            order.status() == OrderStatus::Confirmed
        })
        .await;
    assert_eq!(after.payment_status(), PaymentStatus::Paid);
    assert_eq!(after.payments().captured(), confirmed.totals().total);
    engine
        .until(&declined, "payment.failed fails the payment", |order| {
            order.payment_status() == PaymentStatus::Failed
        })
        .await;
    let after = engine
        .until(&refunded, "payment.refunded refunds", |order| {
            !order.payments().refunded().is_zero()
        })
        .await;
    assert_eq!(after.payments().captured(), refunded.totals().total);
    assert_eq!(after.payments().refunded().amount().to_string(), "2.50");
    consuming.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicated_payment_event_applies_once() {
    let broker = Broker::start().await;
    let topics = topics(&broker).await;
    let engine = Engine::new();
    let order = engine.pending_order(1).await;
    let marker = engine.pending_order(2).await;
    let consuming = engine.consume(&settings(&broker, &topics));

    let body = processed(&order, "pay-1", &total(&order), "USD");
    for _ in 0..2 {
        broker
            .produce(
                &topics.payments,
                &order.id().to_string(),
                &[("ce_type", "payment.processed")],
                &body,
            )
            .await;
    }
    // Behind both copies on the same partition: once it applied, so did they.
    broker
        .produce(
            &topics.payments,
            &order.id().to_string(),
            &[("ce_type", "payment.processed")],
            &processed(&marker, "pay-2", &total(&marker), "USD"),
        )
        .await;
    engine
        .until(&marker, "the marker applies", |order| {
            order.status() == OrderStatus::Confirmed
        })
        .await;
    consuming.stop().await;

    let after = engine.order(&order).await;
    assert_eq!(after.status(), OrderStatus::Confirmed);
    assert_eq!(after.payments().captured(), order.totals().total);
    let captures = after
        .payments()
        .entries()
        .iter()
        .filter(|entry| entry.kind == PaymentKind::Capture)
        .count();
    assert_eq!(captures, 1, "the duplicate booked nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_payment_event_is_dead_lettered_while_later_events_still_apply() {
    let broker = Broker::start().await;
    let topics = topics(&broker).await;
    let engine = Engine::new();
    let order = engine.pending_order(1).await;
    let nobody = engine.pending_order(2).await;
    let consuming = engine.consume(&settings(&broker, &topics));

    let key = order.id().to_string();
    let processed_header = [("ce_type", "payment.processed")];
    let unknown_order = processed(&nobody, "pay-x", "1.00", "USD").replace(
        &nobody.id().to_string(),
        "0190a0a0-0000-7000-8000-00000000dead",
    );
    for poison in [
        unknown_order,
        "{not json".to_owned(),
        processed(&order, "pay-eur", &total(&order), "EUR"),
    ] {
        broker
            .produce(&topics.payments, &key, &processed_header, &poison)
            .await;
    }
    broker
        .produce(
            &topics.payments,
            &key,
            &processed_header,
            &processed(&order, "pay-1", &total(&order), "USD"),
        )
        .await;

    engine
        .until(&order, "the good event applies after the poison", |order| {
            order.status() == OrderStatus::Confirmed
        })
        .await;
    let dead = broker
        .read(&topics.dead_letters, |read| read.len() >= 3)
        .await;
    consuming.stop().await;

    let reasons: Vec<String> = dead
        .iter()
        .map(|letter| header(letter, DEAD_LETTER_REASON).expect("a reason"))
        .collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons[1].starts_with("body"), "{reasons:?}");
    assert!(reasons[2].contains("currency"), "{reasons:?}");
    assert_eq!(dead[1].payload(), Some(&b"{not json"[..]));
    assert_eq!(engine.order(&nobody).await.status(), OrderStatus::Pending);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_event_is_retried_uncommitted_while_the_store_is_down_and_applies_once_it_is_back()
 {
    let broker = Broker::start().await;
    let topics = topics(&broker).await;
    let engine = Engine::new();
    let order = engine.pending_order(1).await;
    let settings = settings(&broker, &topics);
    broker
        .produce(
            &topics.payments,
            &order.id().to_string(),
            &[("ce_type", "payment.processed")],
            &processed(&order, "pay-1", &total(&order), "USD"),
        )
        .await;

    let reads = Arc::new(AtomicUsize::new(0));
    let down = consume(store_down(Arc::clone(&reads)), &settings);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while reads.load(Ordering::SeqCst) < 3 {
        assert!(tokio::time::Instant::now() < deadline, "never retried");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    down.stop().await;

    // The same group, the store back: the event was neither committed nor
    // dead-lettered, so it comes again and applies.
    let back = engine.consume(&settings);
    engine
        .until(
            &order,
            "the event applies once the store is back",
            |order| order.status() == OrderStatus::Confirmed,
        )
        .await;
    back.stop().await;
}
