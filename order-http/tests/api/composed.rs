//! The service as the binary composes it (`compose::build`): SQLite, the
//! sample policy file, the demo catalog file, and each payment mode.

use axum::http::Method;
use clap::Parser as _;
use order_http::auth::sign;
use order_http::compose;
use order_http::config::Config;
use serde_json::{Value, json};

use crate::common::{Client, Reply, SECRET, WEBHOOK_SECRET, raw};

fn repository(file: &str) -> String {
    format!("{}/../{file}", env!("CARGO_MANIFEST_DIR"))
}

/// The service composed from `args` beside a throwaway SQLite database,
/// the sample policies, the demo catalog and the test secrets.
async fn composed(args: &[&str]) -> Client {
    let secret = String::from_utf8(SECRET.to_vec()).expect("a text secret");
    let webhook = String::from_utf8(WEBHOOK_SECRET.to_vec()).expect("a text secret");
    let (config, catalog) = (
        repository("config/sample.toml"),
        repository("config/demo-catalog.toml"),
    );
    let mut argv = vec![
        "order-http",
        "--database-url",
        "sqlite::memory:",
        "--config",
        &config,
        "--seed-catalog",
        &catalog,
        "--jwt-secret",
        &secret,
        "--webhook-secret",
        &webhook,
    ];
    argv.extend_from_slice(args);
    let app = compose::build(&Config::parse_from(argv))
        .await
        .expect("the service composes");
    Client::new(order_http::router(app.state))
}

const TASSE: &str = "0193e6d2-0000-7000-8000-000000000005";
const YUNOMI: &str = "0193e6d2-0000-7000-8000-000000000006";
const MUG: &str = "0193e6d2-0000-7000-8000-000000000002";

fn order(currency: &str, product: &str, quantity: u32, country: &str) -> Value {
    json!({
        "currency": currency,
        "lines": [{"product_id": product, "quantity": quantity}],
        "shipping_address": {"name": "Kim", "line1": "1 Hauptstraße", "city": "Berlin",
                             "postal_code": "10115", "country": country},
        "shipping_method": "standard",
    })
}

async fn place(client: &Client, body: &Value) -> Value {
    let reply = client.post("/api/v1/orders", &client.alice(), body).await;
    reply.expect(201).clone()
}

async fn pay(client: &Client, order: &Value) -> Reply {
    let id = order["id"].as_str().expect("an id");
    client
        .post(
            &format!("/api/v1/orders/{id}/pay"),
            &client.alice(),
            &Value::Null,
        )
        .await
}

#[tokio::test]
async fn an_eur_order_is_placed_and_paid_with_the_sample_config() {
    let client = composed(&["--payments", "simulated"]).await;
    let placed = place(&client, &order("EUR", TASSE, 2, "DE")).await;
    // 2 × 11.90 = 23.80; German standard VAT 19 % = 4.522 → 4.52; shipping 4.99.
    assert_eq!(placed["totals"]["subtotal"], "23.80");
    assert_eq!(placed["totals"]["tax"], "4.52");
    assert_eq!(placed["totals"]["shipping"], "4.99");
    assert_eq!(placed["totals"]["total"], "33.31");
    let paid = pay(&client, &placed).await;
    let paid = paid.expect(200);
    assert_eq!(paid["status"], "confirmed");
    assert_eq!(paid["payment_status"], "paid");
}

#[tokio::test]
async fn a_jpy_order_is_placed_and_paid_with_the_sample_config() {
    let client = composed(&["--payments", "simulated"]).await;
    let placed = place(&client, &order("JPY", YUNOMI, 2, "JP")).await;
    // 2 × 1800 = 3600; Japanese consumption tax 10 % = 360; shipping 800.
    assert_eq!(placed["totals"]["subtotal"], "3600");
    assert_eq!(placed["totals"]["tax"], "360");
    assert_eq!(placed["totals"]["shipping"], "800");
    assert_eq!(placed["totals"]["total"], "4760");
    let paid = pay(&client, &placed).await;
    assert_eq!(paid.expect(200)["status"], "confirmed");
}

#[tokio::test]
async fn a_usd_product_cannot_be_ordered_in_eur() {
    let client = composed(&["--payments", "simulated"]).await;
    let reply = client
        .post(
            "/api/v1/orders",
            &client.alice(),
            &order("EUR", MUG, 1, "DE"),
        )
        .await;
    assert!(reply.status.is_client_error(), "{}", reply.text);
}

async fn webhook(client: &Client, event: &Value) -> Reply {
    let body = serde_json::to_vec(event).expect("JSON");
    let signature = sign(WEBHOOK_SECRET, &body);
    let mut request = raw(
        Method::POST,
        "/api/v1/payments/events",
        None,
        Some("application/json"),
        body,
    );
    request
        .headers_mut()
        .insert("x-signature", signature.parse().expect("a header value"));
    client.send(request).await
}

#[tokio::test]
async fn with_an_external_payment_service_checkout_answers_202_and_the_payment_event_confirms() {
    let client = composed(&["--payments", "external"]).await;
    let placed = place(&client, &order("EUR", TASSE, 1, "DE")).await;
    let started = pay(&client, &placed).await;
    let started = started.expect(202);
    assert_eq!(started["status"], "pending");
    assert_eq!(started["payment_status"], "pending");

    let processed = json!({
        "id": "evt-ext-1",
        "type": "payment.processed",
        "order_id": placed["id"],
        "amount": placed["totals"]["total"],
        "reference": "pay_8c41",
    });
    let confirmed = webhook(&client, &processed).await;
    let confirmed = confirmed.expect(200);
    assert_eq!(confirmed["status"], "confirmed");
    assert_eq!(confirmed["payment_status"], "paid");
}

#[tokio::test]
async fn with_an_external_payment_service_a_refund_is_refused_saying_who_makes_it() {
    let client = composed(&["--payments", "external"]).await;
    let placed = place(&client, &order("EUR", TASSE, 1, "DE")).await;
    pay(&client, &placed).await.expect(202);
    let processed = json!({
        "id": "evt-ext-2",
        "type": "payment.processed",
        "order_id": placed["id"],
        "amount": placed["totals"]["total"],
        "reference": "pay_9d52",
    });
    webhook(&client, &processed).await.expect(200);
    let id = placed["id"].as_str().expect("an id");
    let refund = client
        .send_raw(crate::common::build(
            Method::POST,
            &format!("/api/v1/orders/{id}/refunds"),
            Some(&client.admin()),
            Some(&json!({"amount": "1.00", "reason": "goodwill"})),
            &[],
        ))
        .await;
    refund.problem(503, "dependency_unavailable");
    assert!(
        refund.text.contains("payment service"),
        "the answer says who refunds: {}",
        refund.text
    );
    let order = client
        .get(&format!("/api/v1/orders/{id}"), &client.admin())
        .await;
    assert_eq!(
        order.expect(200)["payment_status"],
        "paid",
        "nothing changed"
    );
}

#[tokio::test]
async fn with_the_simulator_an_order_paid_through_the_webhook_can_be_refunded_and_cancelled() {
    let client = composed(&["--payments", "simulated"]).await;
    let placed = place(&client, &order("EUR", TASSE, 1, "DE")).await;
    let processed = json!({
        "id": "evt-sim-1",
        "type": "payment.processed",
        "order_id": placed["id"],
        "amount": placed["totals"]["total"],
        "reference": "pay_made_elsewhere",
    });
    webhook(&client, &processed).await.expect(200);
    let id = placed["id"].as_str().expect("an id");
    let refunded = client
        .post(
            &format!("/api/v1/orders/{id}/refunds"),
            &client.admin(),
            &json!({"amount": "1.00", "reason": "goodwill"}),
        )
        .await;
    assert_eq!(refunded.expect(201)["payment_status"], "partially_refunded");
    let cancelled = client
        .post(
            &format!("/api/v1/orders/{id}/cancel"),
            &client.admin(),
            &json!({"reason": "out of stock at the warehouse"}),
        )
        .await;
    let cancelled = cancelled.expect(200);
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["payment_status"], "refunded");
}
