//! The messages of a whole order life, as a consumer written from the
//! seeds' schemas reads them: every event published, the seeds' names
//! beside the engine's, `order.status_changed` on every status change, the
//! seeds' fields in every body, ids stable across a restart of the mapper.

use std::sync::Arc;

use order_core::{Actor, LineQuantity, Money, OrderStatus, Reason, StoredEvent};
use order_events::Wire;
use order_testkit::Harness;
use order_testkit::builder::{PlaceOrderBuilder, customer};
use serde_json::Value;

fn actor() -> Actor {
    Actor::parse("admin:ops").unwrap()
}

/// One order placed, paid, processed, shipped, delivered and partly
/// refunded; another placed and cancelled. Every stored event, in feed
/// order.
async fn a_whole_life(h: &Harness) -> Vec<StoredEvent> {
    let service = h.service();
    let shirt = h.product("TSHIRT");
    h.inventory.set_on_hand(&shirt.sku, 20);
    let order = service
        .place(
            PlaceOrderBuilder::new(customer(7)).line(&shirt, 2).build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    let id = order.id();
    service.pay(id, &actor()).await.unwrap();
    service.start_processing(id, None, &actor()).await.unwrap();
    let line = order.lines()[0].id;
    let shipped = service
        .ship(
            id,
            None,
            vec![LineQuantity {
                line_id: line,
                quantity: order_core::Quantity::new(2).unwrap(),
            }],
            Some(order_core::Carrier::parse("DHL").unwrap()),
            Some(order_core::TrackingNumber::parse("JD0146").unwrap()),
            &actor(),
        )
        .await
        .unwrap();
    service
        .deliver(id, None, shipped.shipments()[0].id, &actor())
        .await
        .unwrap();
    let refund = Money::parse("1.00", order.currency()).unwrap();
    service
        .refund(id, refund, Reason::parse("goodwill").unwrap(), &actor())
        .await
        .unwrap();
    let other = service
        .place(
            PlaceOrderBuilder::new(customer(8)).line(&shirt, 1).build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    service
        .cancel(
            other.id(),
            None,
            Reason::parse("changed my mind").unwrap(),
            &actor(),
        )
        .await
        .unwrap();
    h.store.feed(0, 1_000).await.unwrap()
}

fn json(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap()
}

#[tokio::test]
async fn every_seed_event_name_is_published_with_the_seeds_fields() {
    let h = Harness::default();
    let events = a_whole_life(&h).await;
    let wire = Wire::new(Arc::clone(&h.store), "/order-service");
    let messages = wire.messages(&events).await.unwrap();
    let of_type = |t: &str| {
        messages
            .iter()
            .filter(|m| m.event_type == t)
            .collect::<Vec<_>>()
    };
    for seed_name in [
        "order.created",
        "order.confirmed",
        "order.status_changed",
        "order.payment_successful",
        "order.cancelled",
        "order.shipped",
        "order.delivered",
    ] {
        assert!(!of_type(seed_name).is_empty(), "no {seed_name}");
    }

    let created = json(&of_type("order.created")[0].body);
    for field in [
        "orderId",
        "userId",
        "status",
        "totalAmount",
        "currency",
        "itemCount",
        "createdAt",
    ] {
        assert!(
            created.get(field).is_some_and(|v| !v.is_null()),
            "order.created lacks {field}: {created}"
        );
    }
    assert_eq!(created["status"], "pending");
    assert_eq!(created["itemCount"], 1);
    assert!(
        created["totalAmount"].is_string(),
        "money is a decimal string"
    );

    let confirmed = json(&of_type("order.confirmed")[0].body);
    for field in ["orderId", "userId", "status", "paymentId", "confirmedAt"] {
        assert!(
            confirmed.get(field).is_some_and(|v| !v.is_null()),
            "order.confirmed lacks {field}: {confirmed}"
        );
    }
    assert_eq!(confirmed["status"], "confirmed");
    assert_eq!(confirmed["userId"], created["userId"]);
    let successful = json(&of_type("order.payment_successful")[0].body);
    assert_eq!(successful["paymentId"], confirmed["paymentId"]);
}

#[tokio::test]
async fn each_status_change_is_published_once_with_where_it_came_from() {
    let h = Harness::default();
    let events = a_whole_life(&h).await;
    let messages = Wire::new(Arc::clone(&h.store), "/order-service")
        .messages(&events)
        .await
        .unwrap();
    let moves: Vec<(String, String)> = messages
        .iter()
        .filter(|m| m.event_type == "order.status_changed")
        .map(|m| json(&m.body))
        .map(|b| {
            (
                b["previousStatus"].as_str().unwrap().to_owned(),
                b["newStatus"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        (OrderStatus::Pending, OrderStatus::Confirmed),
        (OrderStatus::Confirmed, OrderStatus::Processing),
        (OrderStatus::Processing, OrderStatus::Shipped),
        (OrderStatus::Shipped, OrderStatus::Delivered),
        (OrderStatus::Pending, OrderStatus::Cancelled),
    ]
    .map(|(from, to)| (from.as_str().to_owned(), to.as_str().to_owned()));
    assert_eq!(moves, expected);
}

#[tokio::test]
async fn messages_keep_each_orders_sequence_and_their_ids_across_a_restart() {
    let h = Harness::default();
    let events = a_whole_life(&h).await;
    let first = Wire::new(Arc::clone(&h.store), "/order-service")
        .messages(&events)
        .await
        .unwrap();
    // A new mapper starting mid-stream folds the orders from the store.
    let restarted = Wire::new(Arc::clone(&h.store), "/order-service");
    let tail = restarted.messages(&events[3..]).await.unwrap();
    let first_tail: Vec<_> = first
        .iter()
        .filter(|m| m.position >= events[3].position)
        .collect();
    assert_eq!(tail.len(), first_tail.len());
    for (a, b) in tail.iter().zip(first_tail) {
        assert_eq!((&a.id, &a.body), (&b.id, &b.body));
    }

    let mut ids: Vec<_> = first.iter().map(|m| m.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), first.len(), "every message has its own id");
    for order in [
        &events[0].record.order_id,
        &events.last().unwrap().record.order_id,
    ] {
        let sequences: Vec<u64> = first
            .iter()
            .filter(|m| m.key == order.to_string())
            .map(|m| m.sequence)
            .collect();
        assert!(
            sequences
                .windows(2)
                .all(|w| w[1] == w[0] || w[1] == w[0] + 1),
            "{sequences:?}"
        );
        assert_eq!(sequences[0], 1);
    }
    let header = |name: &str| {
        first[0]
            .headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(header("ce_type"), "order.created");
    assert_eq!(header("ce_subject"), first[0].key);
    assert_eq!(header("ce_source"), "/order-service");
}
