//! What other services see: a consumer written from the seeds' schemas —
//! field names only — reads the published `order.created` and
//! `order.confirmed`; and two relays on one PostgreSQL database, each with
//! the database's relay lease, publish every event while the leader dies.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use order_core::Actor;
use order_core::ports::{OrderStore, RelayLease};
use order_events::Wire;
use order_events::relay::{Relay, RelaySettings, SoleRelay};
use order_events_kafka::{EventTopics, KafkaPublisher, KafkaSettings};
use order_store_postgres::testing::fresh_pool;
use order_store_postgres::{PgOrderStore, PgRelayLease};
use order_testkit::Harness;
use order_testkit::builder::{PlaceOrderBuilder, customer};
use rdkafka::Message;
use serde::Deserialize;
use tokio::sync::watch;

use order_events_kafka::testing::{Broker, header, unique};

/// `order.created` as the domain-contracts seed documents it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderCreated {
    order_id: String,
    user_id: String,
    status: String,
    total_amount: serde_json::Value,
    currency: String,
    item_count: u32,
    created_at: String,
}

/// `order.confirmed` as the seed documents it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderConfirmed {
    order_id: String,
    user_id: String,
    status: String,
    payment_id: String,
    confirmed_at: String,
}

fn relay(
    settings: &KafkaSettings,
    store: &Arc<dyn OrderStore>,
    lease: Arc<dyn RelayLease>,
) -> Relay {
    let publisher = KafkaPublisher::new(settings, Wire::new(Arc::clone(store), "/order-service"))
        .expect("a publisher");
    Relay::new(
        Arc::clone(store),
        Arc::new(publisher),
        lease,
        RelaySettings {
            batch: 5,
            idle_poll: Duration::from_millis(20),
            max_backoff: Duration::from_millis(200),
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_written_from_the_seeds_schemas_reads_the_published_events() {
    let broker = Broker::start().await;
    let topic = unique("order-events");
    broker.create_topics(&[&topic], 1).await;
    let settings = broker
        .settings()
        .event_topics(EventTopics::Single(topic.clone()));
    let h = Harness::default();
    let service = h.service();
    let shirt = h.product("TSHIRT");
    h.inventory.set_on_hand(&shirt.sku, 5);
    let order = service
        .place(
            PlaceOrderBuilder::new(customer(4)).line(&shirt, 2).build(),
            None,
            &Actor::system(),
        )
        .await
        .expect("placed");
    service
        .pay(order.id(), &Actor::system())
        .await
        .expect("paid");
    let (stop, stopped) = watch::channel(false);
    let running = tokio::spawn(relay(&settings, &h.store, Arc::new(SoleRelay)).run(stopped));

    let of_type = |t: &'static str| {
        move |m: &rdkafka::message::OwnedMessage| header(m, "ce_type").as_deref() == Some(t)
    };
    let read = broker
        .read(&topic, |read| read.iter().any(of_type("order.confirmed")))
        .await;
    let _ = stop.send(true);
    running.await.expect("the relay stops");

    let body = |t: &'static str| {
        read.iter()
            .find(|m| of_type(t)(m))
            .and_then(|m| m.payload())
            .unwrap_or_else(|| panic!("no {t}"))
    };
    let created: OrderCreated =
        serde_json::from_slice(body("order.created")).expect("order.created reads");
    let confirmed: OrderConfirmed =
        serde_json::from_slice(body("order.confirmed")).expect("order.confirmed reads");
    assert_eq!(created.order_id, order.id().to_string());
    assert_eq!(created.user_id, order.customer_id().to_string());
    assert_eq!(
        (created.status.as_str(), created.item_count),
        ("pending", 1)
    );
    assert_eq!(
        created.total_amount,
        serde_json::json!(order.totals().total.amount().to_string())
    );
    assert_eq!(created.currency, "USD");
    assert!(!created.created_at.is_empty());
    assert_eq!(confirmed.order_id, created.order_id);
    assert_eq!(confirmed.user_id, created.user_id);
    assert_eq!(confirmed.status, "confirmed");
    assert!(!confirmed.payment_id.is_empty() && !confirmed.confirmed_at.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_relays_on_one_database_publish_every_event_while_the_leader_dies() {
    let Some(pool) = fresh_pool().await else {
        return;
    };
    let broker = Broker::start().await;
    let topic = unique("order-events");
    broker.create_topics(&[&topic], 2).await;
    let settings = broker
        .settings()
        .event_topics(EventTopics::Single(topic.clone()));
    let store: Arc<dyn OrderStore> = Arc::new(PgOrderStore::new(pool.clone()));
    let h = Harness::with_store(Arc::clone(&store));
    let service = h.service();
    let shirt = h.product("TSHIRT");
    h.inventory.set_on_hand(&shirt.sku, 1_000);

    let (stop, stopped) = watch::channel(false);
    let first = tokio::spawn(
        relay(&settings, &store, Arc::new(PgRelayLease::new(pool.clone()))).run(stopped.clone()),
    );
    let second = tokio::spawn(
        relay(&settings, &store, Arc::new(PgRelayLease::new(pool.clone()))).run(stopped),
    );
    let mut orders = Vec::new();
    for n in 0..30 {
        let order = service
            .place(
                PlaceOrderBuilder::new(customer(n + 1))
                    .line(&shirt, 1)
                    .build(),
                None,
                &Actor::system(),
            )
            .await
            .expect("placed");
        service
            .pay(order.id(), &Actor::system())
            .await
            .expect("paid");
        orders.push(order.id());
        if n == 10 {
            // The leader's session dies: its lock goes, the other relay
            // takes over.
            sqlx::query(
                "select pg_terminate_backend(pid) from pg_locks
                  where locktype = 'advisory' and granted
                    and database = (select oid from pg_database where datname = current_database())",
            )
            .execute(&pool)
            .await
            .expect("the leader's session is terminated");
        }
    }
    let stored: BTreeSet<String> = store
        .feed(0, 10_000)
        .await
        .expect("the feed")
        .iter()
        .map(|e| e.record.id.to_string())
        .collect();
    let read = broker
        .read(&topic, |read| {
            let ids: BTreeSet<String> = read.iter().filter_map(|m| header(m, "ce_id")).collect();
            stored.is_subset(&ids)
        })
        .await;
    let _ = stop.send(true);
    first.await.expect("a relay stops");
    second.await.expect("a relay stops");
    let ids: BTreeSet<String> = read.iter().filter_map(|m| header(m, "ce_id")).collect();
    assert!(
        stored.is_subset(&ids),
        "{} of {} events arrived",
        stored.intersection(&ids).count(),
        stored.len()
    );
    for order in orders {
        let key = order.to_string();
        let sequences: Vec<u64> = read
            .iter()
            .filter(|m| m.key() == Some(key.as_bytes()))
            .filter_map(|m| header(m, "ce_sequence")?.parse().ok())
            .collect();
        let mut highest = 0;
        for sequence in sequences {
            assert!(
                sequence <= highest + 1,
                "order {key}: a gap before {sequence}"
            );
            highest = highest.max(sequence);
        }
    }
}
