//! The catalog, stock and reports.

use std::str::FromStr as _;

use axum::http::Method;
use order_testkit::Fault;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::common::{TestApp, address, all_units, path, pay_path};

const HAT: &str = "0190aaaa-0000-7000-8000-0000000000aa";

fn hat(price: &str) -> Value {
    json!({
        "product_id": HAT, "sku": "HAT", "name": "Sun hat", "unit_price": price,
        "currency": "USD", "tax_class": "standard", "kind": "physical",
    })
}

fn skus(reply: &Value) -> Vec<&str> {
    reply
        .as_array()
        .expect("products")
        .iter()
        .map(|p| p["sku"].as_str().expect("sku"))
        .collect()
}

async fn set_stock(app: &TestApp, sku: &str, on_hand: u32) -> crate::common::Reply {
    app.request(
        Method::PUT,
        &format!("/api/v1/stock/{sku}"),
        Some(&app.admin()),
        Some(&json!({"on_hand": on_hand})),
    )
    .await
}

#[tokio::test]
async fn products_are_upserted_and_listed_by_sku_in_pages() {
    let app = TestApp::new();
    let admin = app.admin();
    let created = app.post("/api/v1/products", &admin, &hat("9.00")).await;
    let created = created.expect(200);
    assert_eq!(created["sku"], "HAT");
    assert_eq!(created["unit_price"], "9.00");
    assert_eq!(created["active"], true, "active by default");

    let all = app.get("/api/v1/products", &app.alice()).await;
    assert_eq!(
        skus(all.expect(200)),
        vec!["BOOK", "EBOOK", "HAT", "MUG", "TSHIRT"]
    );
    let first = app.get("/api/v1/products?limit=2", &admin).await;
    assert_eq!(skus(first.expect(200)), vec!["BOOK", "EBOOK"]);
    let next = app
        .get("/api/v1/products?after=EBOOK&limit=2", &admin)
        .await;
    assert_eq!(skus(next.expect(200)), vec!["HAT", "MUG"]);

    let repriced = app.post("/api/v1/products", &admin, &hat("11.50")).await;
    assert_eq!(repriced.expect(200)["unit_price"], "11.50");
    let all = app.get("/api/v1/products", &admin).await;
    let hats: Vec<&Value> = all
        .expect(200)
        .as_array()
        .expect("products")
        .iter()
        .filter(|p| p["sku"] == "HAT")
        .collect();
    assert_eq!(hats.len(), 1, "replaced, not added");
    assert_eq!(hats[0]["unit_price"], "11.50");

    let order = app
        .place_with(
            &app.alice(),
            &json!({
                "currency": "USD",
                "lines": [{"product_id": HAT, "quantity": 2, "expected_unit_price": "11.50"}],
                "shipping_address": address("Alice"),
                "shipping_method": "standard",
            }),
        )
        .await;
    assert_eq!(order["lines"][0]["sku"], "HAT");
    assert_eq!(order["totals"]["subtotal"], "23.00");

    let mut retired = hat("11.50");
    retired["active"] = json!(false);
    app.post("/api/v1/products", &admin, &retired)
        .await
        .expect(200);
    let refused = app
        .post(
            "/api/v1/orders",
            &app.alice(),
            &json!({
                "currency": "USD",
                "lines": [{"product_id": HAT, "quantity": 1}],
                "shipping_address": address("Alice"),
                "shipping_method": "standard",
            }),
        )
        .await;
    refused.problem(422, "unknown_reference");
}

#[tokio::test]
async fn a_product_that_does_not_validate_is_a_422_problem() {
    let app = TestApp::new();
    let admin = app.admin();
    let mut taken = hat("9.00");
    taken["sku"] = json!("MUG");
    let reply = app.post("/api/v1/products", &admin, &taken).await;
    assert_eq!(reply.problem(422, "validation_failed")["field"], "sku");

    for (field, value) in [
        ("kind", json!("liquid")),
        ("sku", json!("HAS SPACE")),
        ("currency", json!("usd dollars")),
        ("name", json!("")),
    ] {
        let mut body = hat("9.00");
        body[field] = value;
        let reply = app.post("/api/v1/products", &admin, &body).await;
        assert_eq!(reply.status, 422, "{field}: {}", reply.text);
        let problem = reply.problem(422, "validation_failed");
        assert_eq!(problem["field"], field, "{problem}");
    }
    for query in ["limit=0", "limit=201"] {
        let reply = app.get(&format!("/api/v1/products?{query}"), &admin).await;
        reply.problem(422, "validation_failed");
    }
}

#[tokio::test]
async fn stock_levels_are_read_and_set_and_never_drop_below_what_is_held() {
    let app = TestApp::new();
    let admin = app.admin();
    let level = app.get("/api/v1/stock/TSHIRT", &admin).await;
    assert_eq!(
        level.expect(200),
        &json!({"sku": "TSHIRT", "on_hand": 100, "reserved": 0, "available": 100})
    );
    let set = set_stock(&app, "TSHIRT", 50).await;
    assert_eq!(set.expect(200)["on_hand"], 50);

    app.place().await;
    let level = app.get("/api/v1/stock/TSHIRT", &admin).await;
    assert_eq!(
        level.expect(200),
        &json!({"sku": "TSHIRT", "on_hand": 50, "reserved": 2, "available": 48})
    );
    let below = set_stock(&app, "TSHIRT", 1).await;
    assert_eq!(below.problem(422, "validation_failed")["field"], "sku");
    assert_eq!(
        app.get("/api/v1/stock/TSHIRT", &admin).await.body["on_hand"],
        50
    );

    app.get("/api/v1/stock/NOPE", &admin)
        .await
        .problem(404, "not_found");
    let tracked = set_stock(&app, "NOPE", 3).await;
    assert_eq!(tracked.expect(200)["available"], 3);
    app.get("/api/v1/stock/NOPE", &admin).await.expect(200);

    let negative = app
        .request(
            Method::PUT,
            "/api/v1/stock/MUG",
            Some(&admin),
            Some(&json!({"on_hand": -1})),
        )
        .await;
    negative.problem(400, "malformed_request");
    let bad_sku = app.get("/api/v1/stock/HAS%20SPACE", &admin).await;
    assert_eq!(bad_sku.problem(400, "malformed_request")["field"], "sku");
}

fn dec(value: &Value) -> Decimal {
    Decimal::from_str(value.as_str().expect("a decimal string")).expect("a decimal")
}

#[tokio::test]
async fn a_report_counts_orders_by_status_revenue_failures_and_fulfilment_time() {
    let app = TestApp::new();
    let admin = app.admin();
    // Paid; pending; declined once then paid; delivered two hours after payment.
    let a = app.paid().await;
    app.place().await;
    let c = app.place().await;
    app.harness
        .gateway
        .faults()
        .next("authorize", Fault::Decline, 1);
    app.post(&pay_path(&c), &app.alice(), &serde_json::Value::Null)
        .await
        .problem(402, "payment_declined");
    app.post(&pay_path(&c), &app.alice(), &serde_json::Value::Null)
        .await
        .expect(200);
    let d = app.paid().await;
    app.post(&path(&d, "processing"), &admin, &Value::Null)
        .await
        .expect(200);
    let shipped = app
        .post(
            &path(&d, "shipments"),
            &admin,
            &json!({"lines": all_units(&d), "carrier": "UPS"}),
        )
        .await;
    let shipment = shipped.expect(201)["shipments"][0]["id"]
        .as_str()
        .expect("shipment")
        .to_owned();
    app.harness.clock.advance(chrono::Duration::hours(2));
    app.post(
        &path(&d, &format!("shipments/{shipment}/deliver")),
        &admin,
        &Value::Null,
    )
    .await
    .expect(200);

    let reply = app
        .get(
            "/api/v1/reports?from=2026-01-15T00:00:00Z&to=2026-01-16T00:00:00Z",
            &admin,
        )
        .await;
    let report = reply.expect(200);
    assert_eq!(report["orders"], 4);
    assert_eq!(
        report["by_status"],
        json!({"confirmed": 2, "pending": 1, "delivered": 1})
    );
    assert_eq!(report["payment_attempts"], 4);
    assert_eq!(report["failed_payment_attempts"], 1);
    assert_eq!(dec(&report["payment_failure_rate"]), Decimal::new(25, 2));
    assert_eq!(report["average_seconds_to_fulfilment"], 7200);
    let usd = &report["currencies"][0];
    assert_eq!(usd["currency"], "USD");
    assert_eq!(usd["paid_orders"], 3);
    let total = dec(&a["totals"]["total"]);
    assert_eq!(dec(&usd["revenue"]), total * Decimal::from(3));
    assert_eq!(dec(&usd["average_order_value"]), total);

    let empty = app
        .get(
            "/api/v1/reports?from=2026-01-16T00:00:00Z&to=2026-01-17T00:00:00Z",
            &admin,
        )
        .await;
    let empty = empty.expect(200);
    assert_eq!(empty["orders"], 0);
    assert_eq!(dec(&empty["payment_failure_rate"]), Decimal::ZERO);
    assert!(empty["average_seconds_to_fulfilment"].is_null());
    assert_eq!(empty["currencies"], json!([]));
}

#[tokio::test]
async fn a_report_needs_a_valid_period() {
    let app = TestApp::new();
    let admin = app.admin();
    let backwards = app
        .get(
            "/api/v1/reports?from=2026-01-16T00:00:00Z&to=2026-01-15T00:00:00Z",
            &admin,
        )
        .await;
    assert_eq!(backwards.problem(422, "validation_failed")["field"], "to");
    for query in [
        "",
        "?from=2026-01-15T00:00:00Z",
        "?from=yesterday&to=today",
        "?from=2026-01-15T00:00:00Z&to=2026-01-16T00:00:00Z&currency=USD",
    ] {
        let reply = app.get(&format!("/api/v1/reports{query}"), &admin).await;
        assert_eq!(reply.status, 400, "{query}: {}", reply.text);
        reply.problem(400, "malformed_request");
    }
}
