//! Behaviour every [`WebhookStore`] must exhibit, one function per clause;
//! adapters run them all through
//! [`webhook_store_contract!`](crate::webhook_store_contract!), each on a
//! fresh, empty store.
//!
//! The cases panic (assert) on a broken clause: they are test code.

use chrono::{DateTime, Duration, TimeZone, Utc};
use order_core::ports::WebhookStore;
use order_core::webhook::{Attempt, Delivery, DeliveryState, Subscription};
use order_core::{DeliveryId, EventTypeName, SubscriptionId, WebhookSecret, WebhookUrl};
use uuid::Uuid;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

fn subscription(url: &str, types: &[&str], at: DateTime<Utc>) -> Subscription {
    Subscription {
        id: SubscriptionId::new(Uuid::now_v7()).expect("a v7"),
        url: WebhookUrl::parse(url).expect("a URL"),
        event_types: types
            .iter()
            .map(|t| EventTypeName::parse(t).expect("a type"))
            .collect(),
        secret: WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("a secret"),
        created_at: at,
    }
}

fn delivery(subscription: &Subscription, position: u64, due: DateTime<Utc>) -> Delivery {
    Delivery {
        id: DeliveryId::new(Uuid::now_v7()).expect("a v7"),
        subscription_id: subscription.id,
        message_id: format!("message-{position}"),
        event_type: "order.created".into(),
        position,
        headers: vec![
            ("ce-type".into(), "order.created".into()),
            ("ce-subject".into(), "ünïcödé ✓".into()),
        ],
        body: format!(r#"{{"position":{position},"note":"ünïcödé ✓"}}"#),
        state: DeliveryState::Pending,
        attempts: 0,
        next_attempt_at: due,
        give_up_at: due + Duration::hours(24),
        last_status: None,
        last_error: None,
        created_at: t0(),
    }
}

async fn added(store: &dyn WebhookStore, url: &str, at: DateTime<Utc>) -> Subscription {
    let s = subscription(url, &["order.created", "order.shipped"], at);
    store.add_subscription(&s).await.expect("adding works");
    s
}

/// Subscriptions read back as added, oldest first, and go when removed.
pub async fn subscriptions_round_trip_and_are_removed(store: &dyn WebhookStore) {
    let first = added(store, "https://one.example/hooks", t0()).await;
    let second = added(store, "http://127.0.0.1:9/x", t0() + Duration::seconds(1)).await;
    assert_eq!(
        store.subscriptions().await.expect("a list"),
        vec![first.clone(), second.clone()]
    );
    assert!(store.remove_subscription(first.id).await.expect("removal"));
    assert!(!store.remove_subscription(first.id).await.expect("removal"));
    assert_eq!(store.subscriptions().await.expect("a list"), vec![second]);
}

/// Deliveries and the fan-out position move together, and only from the
/// position the caller read.
pub async fn enqueue_moves_the_position_with_its_deliveries(store: &dyn WebhookStore) {
    let s = added(store, "https://one.example/hooks", t0()).await;
    assert_eq!(store.fan_out_position().await.expect("a position"), 0);
    let batch = [delivery(&s, 3, t0()), delivery(&s, 5, t0())];
    assert!(store.enqueue(&batch, 0, 5).await.expect("enqueue"));
    assert_eq!(store.fan_out_position().await.expect("a position"), 5);
    let stale = [delivery(&s, 4, t0())];
    assert!(
        !store.enqueue(&stale, 0, 4).await.expect("enqueue"),
        "a stale position is refused"
    );
    assert_eq!(store.fan_out_position().await.expect("a position"), 5);
    let due = store.due(t0(), 10).await.expect("due");
    assert_eq!(
        due.iter().map(|d| d.position).collect::<Vec<_>>(),
        vec![3, 5]
    );
    assert_eq!(
        due[0], batch[0],
        "a delivery reads back exactly, headers and body included"
    );
    assert!(
        store.enqueue(&[], 5, 9).await.expect("enqueue"),
        "nothing to deliver still moves on"
    );
    assert_eq!(store.fan_out_position().await.expect("a position"), 9);
}

/// Only pending deliveries whose time came are due, oldest position first.
pub async fn only_pending_deliveries_whose_time_came_are_due(store: &dyn WebhookStore) {
    let s = added(store, "https://one.example/hooks", t0()).await;
    let now = delivery(&s, 1, t0());
    let later = delivery(&s, 2, t0() + Duration::minutes(5));
    let mut delivered = delivery(&s, 3, t0());
    delivered.state = DeliveryState::Delivered;
    let also_now = delivery(&s, 4, t0() - Duration::seconds(1));
    store
        .enqueue(&[now.clone(), later, delivered, also_now.clone()], 0, 4)
        .await
        .expect("enqueue");
    let due = store.due(t0(), 10).await.expect("due");
    assert_eq!(due, vec![now.clone(), also_now]);
    assert_eq!(store.due(t0(), 1).await.expect("due"), vec![now]);
}

/// An attempt is recorded with the delivery as it stands after it.
pub async fn attempts_are_recorded_with_their_delivery(store: &dyn WebhookStore) {
    let s = added(store, "https://one.example/hooks", t0()).await;
    let d = delivery(&s, 1, t0());
    store
        .enqueue(std::slice::from_ref(&d), 0, 1)
        .await
        .expect("enqueue");
    let mut failed = d.clone();
    failed.attempts = 1;
    failed.last_status = Some(503);
    failed.last_error = Some("answered 503".into());
    failed.next_attempt_at = t0() + Duration::seconds(5);
    let first = Attempt {
        delivery_id: d.id,
        number: 1,
        at: t0(),
        status: Some(503),
        error: Some("answered 503".into()),
        took_ms: 12,
    };
    store
        .record_attempt(&failed, &first)
        .await
        .expect("recorded");
    assert!(
        store.due(t0(), 10).await.expect("due").is_empty(),
        "not due before its time"
    );
    let mut done = failed.clone();
    done.attempts = 2;
    done.state = DeliveryState::Delivered;
    done.last_status = Some(200);
    done.last_error = None;
    let second = Attempt {
        delivery_id: d.id,
        number: 2,
        at: t0() + Duration::seconds(5),
        status: Some(200),
        error: None,
        took_ms: 3,
    };
    store
        .record_attempt(&done, &second)
        .await
        .expect("recorded");
    let (read, attempts) = store
        .delivery(d.id)
        .await
        .expect("a read")
        .expect("the delivery");
    assert_eq!(read, done);
    assert_eq!(attempts, vec![first, second]);
    assert!(
        store
            .due(t0() + Duration::hours(1), 10)
            .await
            .expect("due")
            .is_empty()
    );
    let unknown = DeliveryId::new(Uuid::now_v7()).expect("a v7");
    assert!(store.delivery(unknown).await.expect("a read").is_none());
}

/// A failed delivery an admin sends again is due again.
pub async fn an_updated_delivery_is_due_again(store: &dyn WebhookStore) {
    let s = added(store, "https://one.example/hooks", t0()).await;
    let mut d = delivery(&s, 1, t0());
    d.state = DeliveryState::Failed;
    store
        .enqueue(std::slice::from_ref(&d), 0, 1)
        .await
        .expect("enqueue");
    assert!(store.due(t0(), 10).await.expect("due").is_empty());
    let again = Delivery {
        state: DeliveryState::Pending,
        next_attempt_at: t0() + Duration::hours(1),
        give_up_at: t0() + Duration::hours(25),
        ..d
    };
    store.update_delivery(&again).await.expect("updated");
    assert_eq!(
        store.due(t0() + Duration::hours(1), 10).await.expect("due"),
        vec![again]
    );
}

/// A subscription's deliveries, newest first, by state.
pub async fn deliveries_list_newest_first_by_state(store: &dyn WebhookStore) {
    let s = added(store, "https://one.example/hooks", t0()).await;
    let other = added(store, "https://two.example/hooks", t0()).await;
    let mut failed = delivery(&s, 2, t0());
    failed.state = DeliveryState::Failed;
    let pending = delivery(&s, 1, t0());
    let elsewhere = delivery(&other, 3, t0());
    store
        .enqueue(&[pending.clone(), failed.clone(), elsewhere], 0, 3)
        .await
        .expect("enqueue");
    let all = store.deliveries(s.id, None, 10).await.expect("a list");
    assert_eq!(all, vec![failed.clone(), pending]);
    let only_failed = store
        .deliveries(s.id, Some(DeliveryState::Failed), 10)
        .await
        .expect("a list");
    assert_eq!(only_failed, vec![failed]);
    assert_eq!(
        store.deliveries(s.id, None, 1).await.expect("a list").len(),
        1
    );
}

/// Removing a subscription removes its deliveries.
pub async fn a_removed_subscriptions_deliveries_go_with_it(store: &dyn WebhookStore) {
    let s = added(store, "https://one.example/hooks", t0()).await;
    let d = delivery(&s, 1, t0());
    store
        .enqueue(std::slice::from_ref(&d), 0, 1)
        .await
        .expect("enqueue");
    assert!(store.remove_subscription(s.id).await.expect("removal"));
    assert!(store.due(t0(), 10).await.expect("due").is_empty());
    assert!(store.delivery(d.id).await.expect("a read").is_none());
}

/// Stamps the webhook store conformance suite into the calling test file:
/// one test per clause, each on the store `$make` builds (`return` from it
/// to skip, as the PostgreSQL tests do without a server).
#[macro_export]
macro_rules! webhook_store_contract {
    (#[$attr:meta] || $make:expr) => {
        $crate::webhook_store_contract!(@cases #[$attr] $make;
            subscriptions_round_trip_and_are_removed,
            enqueue_moves_the_position_with_its_deliveries,
            only_pending_deliveries_whose_time_came_are_due,
            attempts_are_recorded_with_their_delivery,
            an_updated_delivery_is_due_again,
            deliveries_list_newest_first_by_state,
            a_removed_subscriptions_deliveries_go_with_it
        );
    };
    (@cases #[$attr:meta] $make:expr; $($case:ident),+) => {
        $(
            #[$attr]
            async fn $case() {
                let store = $make;
                $crate::webhook_contract::$case(&store).await;
            }
        )+
    };
}
