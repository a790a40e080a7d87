//! The engine's bounds on money and stock (ADR 0006) at the API, in every
//! store: over the in-memory store and the fakes, and as the binary composes
//! the service over SQLite and over PostgreSQL (when a server can be had).
//! A price, an order or a stock level beyond them is a 422 naming the field,
//! never a 5xx, and writes nothing; the largest valid values are kept.

use std::ops::Deref;

use clap::Parser as _;
use order_http::compose;
use order_http::config::Config;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{Client, SECRET, TestApp, WEBHOOK_SECRET, address};

/// A client of one store's service, and the store's name for messages.
struct Store {
    name: &'static str,
    client: Box<dyn Deref<Target = Client>>,
}

fn repository(file: &str) -> String {
    format!("{}/../{file}", env!("CARGO_MANIFEST_DIR"))
}

/// The service as the binary composes it over `database_url`, with the
/// sample policies and the simulated gateway.
async fn composed(database_url: &str) -> Client {
    let secret = String::from_utf8(SECRET.to_vec()).expect("a text secret");
    let webhook = String::from_utf8(WEBHOOK_SECRET.to_vec()).expect("a text secret");
    let config = repository("config/sample.toml");
    let argv = [
        "order-http",
        "--database-url",
        database_url,
        "--config",
        &config,
        "--jwt-secret",
        &secret,
        "--webhook-secret",
        &webhook,
        "--payments",
        "simulated",
    ];
    let app = compose::build(&Config::parse_from(argv))
        .await
        .unwrap_or_else(|e| panic!("the service composes over {database_url}: {e:#}"));
    Client::new(order_http::router(app.state))
}

/// The in-memory store, SQLite, and PostgreSQL when a server can be had
/// (`order_store_postgres::testing`: required when `ORDER_REQUIRE_POSTGRES`
/// is set).
async fn stores() -> Vec<Store> {
    let mut stores = vec![
        Store {
            name: "memory",
            client: Box::new(TestApp::new()),
        },
        Store {
            name: "sqlite",
            client: Box::new(Box::new(composed("sqlite::memory:").await)),
        },
    ];
    if let Some(url) = order_store_postgres::testing::fresh_database_url().await {
        stores.push(Store {
            name: "postgres",
            client: Box::new(Box::new(composed(&url).await)),
        });
    }
    stores
}

/// A digital product taxed at 0 %: its orders cost exactly units × price.
fn product(id: Uuid, sku: &str, price: &str) -> Value {
    json!({
        "product_id": id,
        "sku": sku,
        "name": format!("Product {sku}"),
        "unit_price": price,
        "currency": "USD",
        "tax_class": "zero",
        "kind": "digital",
    })
}

async fn skus(client: &Client) -> Vec<String> {
    let reply = client
        .get("/api/v1/products?limit=200", &client.admin())
        .await;
    reply
        .expect(200)
        .as_array()
        .expect("products")
        .iter()
        .map(|p| p["sku"].as_str().expect("a sku").to_owned())
        .collect()
}

async fn order_count(client: &Client) -> usize {
    let reply = client
        .get("/api/v1/orders?limit=100", &client.admin())
        .await;
    reply.expect(200)["orders"]
        .as_array()
        .expect("orders")
        .len()
}

fn order(product: Uuid, quantity: u32) -> Value {
    json!({
        "currency": "USD",
        "lines": [{"product_id": product, "quantity": quantity}],
        "billing_address": address("Alice Example"),
    })
}

#[tokio::test]
async fn a_price_of_zero_or_less_or_beyond_the_bound_is_refused_naming_unit_price() {
    for store in stores().await {
        let client = &*store.client;
        let name = store.name;
        for (i, price) in [
            "99999999999999999999.99",
            "999999999999999999999.99",
            "7922816251426433759354395033.5",
            "9999999999999999.99",
            "1000000000000.01",
            "-1.00",
            "-40.00",
            "0",
            "0.00",
        ]
        .into_iter()
        .enumerate()
        {
            let sku = format!("BAD-{i}");
            let reply = client
                .post(
                    "/api/v1/products",
                    &client.admin(),
                    &product(Uuid::now_v7(), &sku, price),
                )
                .await;
            let problem = reply.problem(422, "validation_failed");
            assert_eq!(problem["field"], "unit_price", "{name} {price}: {problem}");
            assert!(
                !skus(client).await.contains(&sku),
                "{name} {price}: the product was kept"
            );
        }
    }
}

#[tokio::test]
async fn the_largest_price_is_kept_and_its_largest_order_placed_and_paid() {
    for store in stores().await {
        let client = &*store.client;
        let name = store.name;
        let id = Uuid::now_v7();
        let reply = client
            .post(
                "/api/v1/products",
                &client.admin(),
                &product(id, "DEAREST", "1000000000000.00"),
            )
            .await;
        assert_eq!(
            reply.expect(200)["unit_price"],
            "1000000000000.00",
            "{name}"
        );

        // 10^12 × 100 = 10^14, the largest total.
        let reply = client
            .post("/api/v1/orders", &client.alice(), &order(id, 100))
            .await;
        let placed = reply.expect(201).clone();
        assert_eq!(placed["totals"]["total"], "100000000000000.00", "{name}");
        let order_id = placed["id"].as_str().expect("an id");
        let reply = client
            .post(
                &format!("/api/v1/orders/{order_id}/pay"),
                &client.alice(),
                &Value::Null,
            )
            .await;
        let paid = reply.expect(200);
        // A digital-only order is handed over when it is paid.
        assert_eq!(paid["status"], "delivered", "{name}: {paid}");
        let reply = client
            .get(&format!("/api/v1/orders/{order_id}"), &client.admin())
            .await;
        let stored = reply.expect(200);
        assert_eq!(stored["totals"]["total"], "100000000000000.00", "{name}");
        assert_eq!(
            stored["lines"][0]["unit_price"], "1000000000000.00",
            "{name}"
        );
    }
}

#[tokio::test]
async fn an_order_beyond_the_largest_amount_is_refused_naming_the_line_and_writes_nothing() {
    for store in stores().await {
        let client = &*store.client;
        let name = store.name;
        let id = Uuid::now_v7();
        client
            .post(
                "/api/v1/products",
                &client.admin(),
                &product(id, "DEAR", "1000000000000.00"),
            )
            .await
            .expect(200);
        let before = order_count(client).await;
        // One unit past the largest total, and the largest quantity
        // (10^12 × 10^4 = 10^16).
        for quantity in [101, 10_000] {
            let reply = client
                .post("/api/v1/orders", &client.alice(), &order(id, quantity))
                .await;
            let problem = reply.problem(422, "validation_failed");
            assert_eq!(
                problem["field"], "lines[0].subtotal",
                "{name} × {quantity}: {problem}"
            );
        }
        assert_eq!(
            order_count(client).await,
            before,
            "{name}: an order was kept"
        );
    }
}

#[tokio::test]
async fn more_units_on_hand_than_every_store_holds_is_refused_naming_on_hand() {
    for store in stores().await {
        let client = &*store.client;
        let name = store.name;
        let reply = client
            .request(
                axum::http::Method::PUT,
                "/api/v1/stock/HUGE-STOCK",
                Some(&client.admin()),
                Some(&json!({"on_hand": 2_147_483_648_u64})),
            )
            .await;
        let problem = reply.problem(422, "validation_failed");
        assert_eq!(problem["field"], "on_hand", "{name}: {problem}");
        client
            .get("/api/v1/stock/HUGE-STOCK", &client.admin())
            .await
            .problem(404, "not_found");

        // The largest level is kept.
        let reply = client
            .request(
                axum::http::Method::PUT,
                "/api/v1/stock/HUGE-STOCK",
                Some(&client.admin()),
                Some(&json!({"on_hand": 2_147_483_647_u64})),
            )
            .await;
        assert_eq!(reply.expect(200)["on_hand"], 2_147_483_647_u64, "{name}");
        let reply = client
            .get("/api/v1/stock/HUGE-STOCK", &client.admin())
            .await;
        assert_eq!(reply.expect(200)["on_hand"], 2_147_483_647_u64, "{name}");
    }
}
