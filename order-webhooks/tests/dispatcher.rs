//! The dispatcher against a real HTTP receiver, on the SQLite store: the
//! messages arrive signed per Standard Webhooks in CloudEvents binary mode,
//! a failing receiver is retried with back-off until it answers, a receiver
//! that never answers leaves the delivery failed, and an admin's redelivery
//! sends it again.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::{DateTime, Utc};
use order_core::ports::{OrderStore, RelayLease, WebhookStore};
use order_core::webhook::{DeliveryState, RetryPolicy, Subscription};
use order_core::{Actor, EventTypeName, SubscriptionId, WebhookUrl};
use order_events::relay::SoleRelay;
use order_store_sqlite::{SqliteOrderStore, SqliteWebhookStore, connect};
use order_testkit::Harness;
use order_testkit::builder::{PlaceOrderBuilder, customer};
use order_webhooks::signature::{new_secret, verify};
use order_webhooks::{Dispatcher, DispatcherSettings};
use serde_json::Value;
use uuid::Uuid;

/// What the receiver saw: each request's headers and body.
#[derive(Default)]
struct Receiver {
    seen: Mutex<Vec<(HeaderMap, Bytes)>>,
    /// Requests to answer 503 before answering 204.
    failures_left: AtomicUsize,
}

async fn receive(
    State(receiver): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    receiver.seen.lock().unwrap().push((headers, body));
    let failing = receiver
        .failures_left
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::NO_CONTENT
    }
}

/// A receiver on an ephemeral port; its URL.
async fn serve(receiver: Arc<Receiver>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/hooks", post(receive))
        .with_state(receiver);
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}/hooks")
}

struct World {
    harness: Harness,
    webhooks: Arc<SqliteWebhookStore>,
}

async fn world() -> World {
    let pool = connect("sqlite::memory:", 4).await.unwrap();
    let orders: Arc<dyn OrderStore> = Arc::new(SqliteOrderStore::new(pool.clone()));
    World {
        harness: Harness::with_store(orders),
        webhooks: Arc::new(SqliteWebhookStore::new(pool)),
    }
}

/// A subscription made at `created_at`.
async fn subscribe_at(
    world: &World,
    url: &str,
    types: &[&str],
    created_at: DateTime<Utc>,
) -> Subscription {
    let subscription = Subscription {
        id: SubscriptionId::new(Uuid::now_v7()).unwrap(),
        url: WebhookUrl::parse(url).unwrap(),
        event_types: types
            .iter()
            .map(|t| EventTypeName::parse(t).unwrap())
            .collect(),
        secret: new_secret(),
        created_at,
    };
    world
        .webhooks
        .add_subscription(&subscription)
        .await
        .unwrap();
    subscription
}

/// A subscription made before the harness's clock, so it receives what
/// the tests place.
async fn subscribe(world: &World, url: &str, types: &[&str]) -> Subscription {
    subscribe_at(world, url, types, DateTime::UNIX_EPOCH).await
}

async fn place_and_pay(world: &World) {
    let service = world.harness.service();
    let shirt = world.harness.product("TSHIRT");
    world.harness.inventory.set_on_hand(&shirt.sku, 10);
    let order = service
        .place(
            PlaceOrderBuilder::new(customer(3)).line(&shirt, 1).build(),
            None,
            &Actor::system(),
        )
        .await
        .unwrap();
    service.pay(order.id(), &Actor::system()).await.unwrap();
}

fn dispatcher(world: &World, retry: RetryPolicy) -> Dispatcher {
    let lease: Arc<dyn RelayLease> = Arc::new(SoleRelay);
    Dispatcher::new(
        Arc::clone(&world.harness.store),
        world.webhooks.clone(),
        lease,
        "/order-service",
        DispatcherSettings {
            poll: Duration::from_millis(10),
            timeout: Duration::from_secs(2),
            retry,
            ..DispatcherSettings::default()
        },
    )
    .unwrap()
}

fn quick_retries(window: Duration) -> RetryPolicy {
    RetryPolicy {
        first_wait: chrono::Duration::milliseconds(20),
        max_wait: chrono::Duration::milliseconds(80),
        window: chrono::Duration::from_std(window).unwrap(),
    }
}

/// Runs passes until `done` holds, for at most 5 s.
async fn until(dispatcher: &Dispatcher, done: impl Fn() -> bool) {
    for _ in 0..500 {
        dispatcher.pass().await.unwrap();
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("not done within 5 s");
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn subscribed_messages_arrive_signed_in_cloudevents_binary_mode() {
    let world = world().await;
    let receiver = Arc::new(Receiver::default());
    let url = serve(receiver.clone()).await;
    let subscription = subscribe(&world, &url, &["order.created", "order.confirmed"]).await;
    place_and_pay(&world).await;
    let dispatcher = dispatcher(&world, RetryPolicy::default());
    until(&dispatcher, || receiver.seen.lock().unwrap().len() >= 2).await;

    let seen = receiver.seen.lock().unwrap().clone();
    let types: Vec<&str> = seen.iter().map(|(h, _)| header(h, "ce-type")).collect();
    assert_eq!(
        types,
        ["order.created", "order.confirmed"],
        "only the subscribed types, in order"
    );
    for (headers, body) in &seen {
        let id = header(headers, "webhook-id");
        let timestamp: i64 = header(headers, "webhook-timestamp").parse().unwrap();
        assert!((Utc::now().timestamp() - timestamp).abs() < 60);
        assert!(
            verify(
                &subscription.secret,
                id,
                timestamp,
                body,
                header(headers, "webhook-signature")
            ),
            "the signature verifies"
        );
        assert_eq!(
            header(headers, "ce-id"),
            id,
            "webhook-id is the CloudEvents id"
        );
        assert_eq!(header(headers, "ce-specversion"), "1.0");
        let json: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(json["orderId"], header(headers, "ce-subject"));
    }
    let delivered = world
        .webhooks
        .deliveries(subscription.id, Some(DeliveryState::Delivered), 10)
        .await
        .unwrap();
    assert_eq!(delivered.len(), 2);
}

#[tokio::test]
async fn a_failing_receiver_is_retried_until_it_answers() {
    let world = world().await;
    let receiver = Arc::new(Receiver {
        failures_left: AtomicUsize::new(2),
        ..Receiver::default()
    });
    let url = serve(receiver.clone()).await;
    let subscription = subscribe(&world, &url, &["order.created"]).await;
    place_and_pay(&world).await;
    let dispatcher = dispatcher(&world, quick_retries(Duration::from_secs(60)));
    let webhooks = world.webhooks.clone();
    let delivered = || receiver.seen.lock().unwrap().len() >= 3;
    until(&dispatcher, delivered).await;
    dispatcher.pass().await.unwrap();

    let list = webhooks
        .deliveries(subscription.id, None, 10)
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    let (delivery, attempts) = webhooks.delivery(list[0].id).await.unwrap().unwrap();
    assert_eq!(delivery.state, DeliveryState::Delivered);
    let statuses: Vec<Option<u16>> = attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [Some(503), Some(503), Some(204)]);
    let ids: Vec<String> = receiver
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|(h, _)| header(h, "webhook-id").to_owned())
        .collect();
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "every attempt is the same message"
    );
}

#[tokio::test]
async fn a_receiver_that_keeps_failing_leaves_the_delivery_failed_until_an_admin_sends_it_again() {
    let world = world().await;
    let receiver = Arc::new(Receiver {
        failures_left: AtomicUsize::new(usize::MAX),
        ..Receiver::default()
    });
    let url = serve(receiver.clone()).await;
    let subscription = subscribe(&world, &url, &["order.created"]).await;
    place_and_pay(&world).await;
    let dispatcher = dispatcher(&world, quick_retries(Duration::from_millis(300)));
    let webhooks = world.webhooks.clone();
    for _ in 0..60 {
        dispatcher.pass().await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let failed = webhooks
        .deliveries(subscription.id, Some(DeliveryState::Failed), 10)
        .await
        .unwrap();
    assert_eq!(failed.len(), 1, "given up after its window");
    let (_, attempts) = webhooks.delivery(failed[0].id).await.unwrap().unwrap();
    assert!(
        attempts.len() >= 2,
        "retried before giving up: {attempts:?}"
    );
    assert!(attempts.iter().all(|a| a.status == Some(503)));
    let tried = receiver.seen.lock().unwrap().len();
    for _ in 0..10 {
        dispatcher.pass().await.unwrap();
    }
    assert_eq!(
        receiver.seen.lock().unwrap().len(),
        tried,
        "a failed delivery is not retried"
    );

    // The receiver is fixed; an admin sends the delivery again.
    receiver.failures_left.store(0, Ordering::SeqCst);
    let again = failed[0].redelivered(Utc::now(), &RetryPolicy::default());
    webhooks.update_delivery(&again).await.unwrap();
    until(&dispatcher, || {
        receiver.seen.lock().unwrap().len() == tried + 1
    })
    .await;
    let (delivered, attempts) = webhooks.delivery(failed[0].id).await.unwrap().unwrap();
    assert_eq!(delivered.state, DeliveryState::Delivered);
    assert_eq!(attempts.last().and_then(|a| a.status), Some(204));
}

#[tokio::test]
async fn without_subscriptions_nothing_is_read_and_a_new_one_gets_nothing_older_than_itself() {
    let world = world().await;
    place_and_pay(&world).await;
    let dispatcher = dispatcher(&world, RetryPolicy::default());
    assert_eq!(
        dispatcher.pass().await.unwrap(),
        0,
        "no subscription, no work"
    );
    assert_eq!(world.webhooks.fan_out_position().await.unwrap(), 0);

    let receiver = Arc::new(Receiver::default());
    let url = serve(receiver.clone()).await;
    // Made after the order's events (the harness's clock is in the past).
    let subscription = subscribe_at(&world, &url, &["*"], Utc::now()).await;
    while dispatcher.pass().await.unwrap() > 0 {}
    assert!(
        world.webhooks.fan_out_position().await.unwrap() > 0,
        "caught up"
    );
    assert!(
        world
            .webhooks
            .deliveries(subscription.id, None, 10)
            .await
            .unwrap()
            .is_empty(),
        "nothing older than the subscription is delivered"
    );
    assert!(receiver.seen.lock().unwrap().is_empty());
}
