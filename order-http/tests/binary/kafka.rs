//! The binary on Kafka: started with `--events kafka` against a real
//! Kafka-protocol broker (Tansu, embedded), it publishes an order's events
//! as CloudEvents a seed consumer reads, and the payment service's
//! documented `payment.processed` body on the payment topic confirms the
//! order.

use std::time::{Duration, Instant};

use order_events_kafka::testing::{Broker, header, unique};
use order_http::auth::{AuthConfig, Role};
use rdkafka::Message;
use serde_json::{Value, json};

use crate::process::{Scratch, Server, http, place_order, repository, stock_product};

const SECRET: &str = "kafka-secret";
const CUSTOMER_ID: &str = "0193e6d2-6c1e-7b4e-9a3a-0000000ca5ca";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_binary_publishes_to_kafka_and_a_seed_payment_event_from_kafka_confirms_the_order() {
    let broker = Broker::start().await;
    let (events, payments, dead) = (
        unique("order-events"),
        unique("payment-events"),
        unique("dlq"),
    );
    broker.create_topics(&[&events, &payments, &dead], 1).await;
    let data = Scratch::new("kafka");
    let config = repository().join("config/sample.toml");
    let (config, data_dir) = (
        config.to_string_lossy().into_owned(),
        data.path().to_string_lossy().into_owned(),
    );
    let (brokers, group) = (broker.address(), unique("order-service"));
    let env = (events.clone(), payments.clone());
    let server = tokio::task::spawn_blocking(move || {
        let (events, payments) = env;
        Server::start(&[
            ("ORDER_JWT_SECRET", SECRET),
            ("ORDER_PAYMENTS", "simulated"),
            ("ORDER_CONFIG", &config),
            ("ORDER_DATA_DIR", &data_dir),
            ("ORDER_EVENTS", "kafka"),
            ("ORDER_KAFKA_BROKERS", &brokers),
            ("ORDER_KAFKA_TOPIC", &events),
            ("ORDER_KAFKA_PAYMENT_TOPICS", &payments),
            ("ORDER_KAFKA_GROUP", &group),
            ("ORDER_KAFKA_DEAD_LETTER_TOPIC", &dead),
            // Tansu 0.6.0 mis-serves batches of several records.
            ("ORDER_KAFKA_PROPERTIES", "linger.ms=0,batch.num.messages=1"),
        ])
    })
    .await
    .expect("the binary starts");
    let base = server.base.clone();
    let auth = AuthConfig::hs256(SECRET.as_bytes());
    let admin = auth.mint("admin", Role::Admin, 600).expect("a token");
    let customer = auth
        .mint(CUSTOMER_ID, Role::Customer, 600)
        .expect("a token");

    let order = tokio::task::spawn_blocking(move || {
        let product = "0193e6d2-0000-7000-8000-0000000000cc";
        stock_product(&base, &admin, (product, "TEAPOT", "25.00"), 5);
        place_order(&base, &customer, product, 1)
    })
    .await
    .expect("placed");
    let id = order["id"].as_str().expect("an id").to_owned();

    // The seed's consumer reads order.created by its field names.
    let created = broker
        .read(&events, |read| {
            read.iter()
                .any(|m| header(m, "ce_type").as_deref() == Some("order.created"))
        })
        .await;
    let created: Value = created
        .iter()
        .find(|m| header(m, "ce_type").as_deref() == Some("order.created"))
        .and_then(|m| m.payload())
        .map(|body| serde_json::from_slice(body).expect("JSON"))
        .expect("order.created arrived");
    assert_eq!(created["orderId"], id.as_str());
    assert_eq!(created["userId"], CUSTOMER_ID);
    assert_eq!(created["status"], "pending");
    assert_eq!(created["totalAmount"], order["totals"]["total"]);

    // The payment service's documented body, typed by its CloudEvents
    // header, confirms the order.
    let total: f64 = order["totals"]["total"]
        .as_str()
        .expect("a total")
        .parse()
        .expect("a number");
    let processed = json!({"paymentId": "pay-42", "orderId": id, "userId": CUSTOMER_ID, "amount": total,
        "currency": "USD", "paymentMethod": "credit_card", "transactionId": "ext-12345",
        "processedAt": "2024-01-31T10:05:00Z"});
    broker
        .produce(
            &payments,
            &id,
            &[("ce_type", "payment.processed")],
            &processed.to_string(),
        )
        .await;
    let (base, customer) = (
        server.base.clone(),
        auth.mint(CUSTOMER_ID, Role::Customer, 600)
            .expect("a token"),
    );
    let confirmed = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (status, body) = http(
                "GET",
                &format!("{base}/api/v1/orders/{id}"),
                &customer,
                None,
            );
            assert_eq!(status, 200, "{body}");
            let order: Value = serde_json::from_str(&body).expect("JSON");
            if order["status"] == "confirmed" || Instant::now() > deadline {
                return order;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    })
    .await
    .expect("read");
    assert_eq!(confirmed["status"], "confirmed", "{confirmed}");
    assert_eq!(confirmed["payments"]["captured"], order["totals"]["total"]);

    // Confirmed, and the status change published beside it.
    let status_changed = |m: &rdkafka::message::OwnedMessage| {
        header(m, "ce_type").as_deref() == Some("order.status_changed")
    };
    let read = broker
        .read(&events, |read| read.iter().any(status_changed))
        .await;
    let change: Value = read
        .iter()
        .find(|m| status_changed(m))
        .and_then(|m| m.payload())
        .map(|body| serde_json::from_slice(body).expect("JSON"))
        .expect("order.status_changed arrived");
    assert_eq!(
        (
            change["previousStatus"].as_str(),
            change["newStatus"].as_str()
        ),
        (Some("pending"), Some("confirmed"))
    );
    assert!(
        read.iter()
            .any(|m| header(m, "ce_type").as_deref() == Some("order.confirmed"))
    );
    tokio::task::spawn_blocking(move || server.stop())
        .await
        .expect("stopped");
}
