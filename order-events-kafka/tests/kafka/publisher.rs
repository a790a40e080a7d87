//! The outbox on Kafka: the relay publishes through `KafkaPublisher`, and a
//! whole order life arrives, each event once or more, in per-order sequence
//! order with no gap, across a broker restart and a relay restart.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use order_core::ports::{EventPublisher, OrderStore};
use order_core::{Actor, Carrier, LineQuantity, Money, OrderId, Quantity, Reason, TrackingNumber};
use order_events::Wire;
use order_events::relay::{Relay, RelaySettings, SoleRelay};
use order_events_kafka::{EventTopics, KafkaPublisher, KafkaSettings};
use order_testkit::Harness;
use order_testkit::builder::{PlaceOrderBuilder, customer};
use rdkafka::Message;
use rdkafka::message::OwnedMessage;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use order_events_kafka::testing::{Broker, PATIENCE, header, unique};

fn actor() -> Actor {
    Actor::parse("admin:ops").expect("an actor")
}

/// A relay to Kafka running in the background.
struct RunningRelay {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RunningRelay {
    fn start(settings: &KafkaSettings, store: &Arc<dyn OrderStore>) -> Self {
        let wire = Wire::new(Arc::clone(store), "/order-service");
        let publisher = KafkaPublisher::new(settings, wire).expect("a publisher");
        let relay = Relay::new(
            Arc::clone(store),
            Arc::new(publisher),
            Arc::new(SoleRelay),
            RelaySettings {
                batch: 4,
                idle_poll: Duration::from_millis(20),
                max_backoff: Duration::from_millis(200),
            },
        );
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(relay.run(stopped));
        Self { stop, task }
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        self.task.await.expect("the relay stops");
    }
}

/// The stored events of `order`, in sequence order.
async fn stored(store: &Arc<dyn OrderStore>, order: OrderId) -> Vec<u64> {
    store
        .feed(0, 10_000)
        .await
        .expect("the feed")
        .into_iter()
        .filter(|event| event.record.order_id == order)
        .map(|event| event.record.sequence)
        .collect()
}

/// The sequence numbers of `order`'s messages in the order they arrived.
fn arrived(messages: &[OwnedMessage], order: OrderId) -> Vec<u64> {
    let key = order.to_string();
    messages
        .iter()
        .filter(|message| message.key() == Some(key.as_bytes()))
        .map(|message| {
            header(message, "ce_sequence")
                .and_then(|sequence| sequence.parse().ok())
                .expect("every message carries its sequence")
        })
        .collect()
}

/// True when the first arrival of each sequence number is 1, 2, 3… with
/// no gap up to `last` (repeats of earlier numbers are allowed anywhere).
fn in_order_without_gaps(arrivals: &[u64], last: u64) -> bool {
    let mut highest = 0;
    for &sequence in arrivals {
        if sequence > highest + 1 {
            return false;
        }
        highest = highest.max(sequence);
    }
    highest == last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_order_life_arrives_in_sequence_across_a_broker_restart_and_a_relay_restart() {
    let mut broker = Broker::start().await;
    let topic = unique("order-events");
    broker.create_topics(&[&topic], 3).await;
    let settings = broker
        .settings()
        .event_topics(EventTopics::Single(topic.clone()))
        .delivery_timeout(Duration::from_secs(1));
    let h = Harness::default();
    let service = h.service();
    let shirt = h.product("TSHIRT");
    h.inventory.set_on_hand(&shirt.sku, 20);
    let relay = RunningRelay::start(&settings, &h.store);

    // Placed and paid with the broker up.
    let order = service
        .place(
            PlaceOrderBuilder::new(customer(7)).line(&shirt, 2).build(),
            None,
            &actor(),
        )
        .await
        .expect("placed");
    let id = order.id();
    service.pay(id, &actor()).await.expect("paid");
    let paid = stored(&h.store, id).await;
    broker
        .read(&topic, |read| {
            in_order_without_gaps(&arrived(read, id), *paid.last().unwrap_or(&0))
        })
        .await;

    // Processed and shipped while the broker is down: nothing is marked
    // published until it is back.
    broker.stop().await;
    service
        .start_processing(id, None, &actor())
        .await
        .expect("processing");
    let shipped = service
        .ship(
            id,
            None,
            vec![LineQuantity {
                line_id: order.lines()[0].id,
                quantity: Quantity::new(2).expect("a quantity"),
            }],
            Some(Carrier::parse("DHL").expect("a carrier")),
            Some(TrackingNumber::parse("JD0146").expect("a tracking number")),
            &actor(),
        )
        .await
        .expect("shipped");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(
        !h.store
            .unpublished(100)
            .await
            .expect("the outbox")
            .is_empty(),
        "events were marked published while the broker was down"
    );
    broker.resume().await;

    // Delivered and refunded while no relay runs; a new relay takes over.
    relay.stop().await;
    service
        .deliver(id, None, shipped.shipments()[0].id, &actor())
        .await
        .expect("delivered");
    let refund = Money::parse("1.00", order.currency()).expect("an amount");
    service
        .refund(
            id,
            refund,
            Reason::parse("goodwill").expect("a reason"),
            &actor(),
        )
        .await
        .expect("refunded");
    let relay = RunningRelay::start(&settings, &h.store);

    let every = stored(&h.store, id).await;
    let last = *every.last().expect("events");
    let read = broker
        .read(&topic, |read| {
            in_order_without_gaps(&arrived(read, id), last)
        })
        .await;
    relay.stop().await;

    let arrivals = arrived(&read, id);
    assert!(
        in_order_without_gaps(&arrivals, last),
        "arrivals {arrivals:?} are not 1..={last} in order"
    );
    assert_eq!(
        arrivals.iter().copied().collect::<BTreeSet<_>>(),
        every.iter().copied().collect::<BTreeSet<_>>(),
        "every stored event arrived"
    );
    assert!(
        h.store
            .unpublished(100)
            .await
            .expect("the outbox")
            .is_empty(),
        "every event is marked published"
    );
    let key = id.to_string();
    let partitions: BTreeSet<i32> = read
        .iter()
        .filter(|message| message.key() == Some(key.as_bytes()))
        .map(Message::partition)
        .collect();
    assert_eq!(partitions.len(), 1, "one order, one partition");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publication_to_a_broker_that_is_down_fails_within_the_delivery_bound() {
    let mut broker = Broker::start().await;
    let topic = unique("order-events");
    broker.create_topics(&[&topic], 1).await;
    let settings = broker
        .settings()
        .event_topics(EventTopics::Single(topic.clone()))
        .delivery_timeout(Duration::from_millis(500));
    let h = Harness::default();
    let shirt = h.product("TSHIRT");
    h.inventory.set_on_hand(&shirt.sku, 5);
    h.service()
        .place(
            PlaceOrderBuilder::new(customer(1)).line(&shirt, 1).build(),
            None,
            &actor(),
        )
        .await
        .expect("placed");
    let events = h.store.unpublished(10).await.expect("the outbox");
    let publisher =
        KafkaPublisher::new(&settings, Wire::new(Arc::clone(&h.store), "/order-service"))
            .expect("a publisher");
    broker.stop().await;

    let started = tokio::time::Instant::now();
    let failed = publisher.publish(&events).await;
    assert!(
        failed.is_err(),
        "a publication nobody acknowledged succeeded"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the 500 ms bound took {:?}",
        started.elapsed()
    );

    // As the relay does: try again until the broker is back.
    broker.resume().await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while let Err(error) = publisher.publish(&events).await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never published once the broker was back: {error}"
        );
    }
    let key = events[0].record.order_id.to_string();
    let read = broker.read(&topic, |read| !read.is_empty()).await;
    assert_eq!(read[0].key(), Some(key.as_bytes()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_topic_per_event_type_each_topic_holds_its_type() {
    let broker = Broker::start().await;
    let prefix = format!("{}.", unique("t"));
    let topics: Vec<String> = order_events::types::ALL
        .iter()
        .map(|event_type| format!("{prefix}{event_type}"))
        .collect();
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    broker.create_topics(&names, 1).await;
    let settings = broker.settings().event_topics(EventTopics::PerType {
        prefix: prefix.clone(),
    });
    let h = Harness::default();
    let shirt = h.product("TSHIRT");
    h.inventory.set_on_hand(&shirt.sku, 5);
    let service = h.service();
    let order = service
        .place(
            PlaceOrderBuilder::new(customer(1)).line(&shirt, 1).build(),
            None,
            &actor(),
        )
        .await
        .expect("placed");
    service.pay(order.id(), &actor()).await.expect("paid");
    let events = h.store.unpublished(100).await.expect("the outbox");
    let publisher =
        KafkaPublisher::new(&settings, Wire::new(Arc::clone(&h.store), "/order-service"))
            .expect("a publisher");
    publisher.publish(&events).await.expect("published");

    for event_type in ["order.created", "order.payment_successful"] {
        let read = broker
            .read(&format!("{prefix}{event_type}"), |read| !read.is_empty())
            .await;
        for message in &read {
            assert_eq!(header(message, "ce_type").as_deref(), Some(event_type));
            assert_eq!(message.key(), Some(order.id().to_string().as_bytes()));
        }
    }
}
