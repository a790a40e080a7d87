//! The order endpoints, one behaviour at a time.

use std::str::FromStr as _;

use axum::http::Method;
use order_testkit::Fault;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::common::{
    ALICE, BOB, TestApp, address, all_units, build, id_of, order_path, path, pay_path,
};

fn dec(value: &Value) -> Decimal {
    Decimal::from_str(value.as_str().expect("money is a decimal string")).expect("a decimal amount")
}

async fn stock(app: &TestApp, sku: &str) -> Value {
    let reply = app.get(&format!("/api/v1/stock/{sku}"), &app.admin()).await;
    reply.expect(200);
    reply.body
}

#[tokio::test]
async fn placing_an_order_answers_201_with_location_etag_and_money_as_decimal_strings() {
    let app = TestApp::new();
    let reply = app
        .post(
            "/api/v1/orders",
            &app.alice(),
            &app.order_body(&[("TSHIRT", 2), ("MUG", 1)]),
        )
        .await;
    let order = reply.expect(201);
    assert_eq!(
        reply.header("location"),
        Some(order_path(order).as_str()),
        "Location names the new order"
    );
    assert_eq!(reply.header("etag"), Some("\"1\""));
    assert_eq!(order["version"], 1);
    assert_eq!(order["customer_id"], ALICE);
    assert_eq!(order["status"], "pending");
    assert_eq!(order["payment_status"], "unpaid");
    assert_eq!(order["currency"], "USD");
    assert!(
        order["number"]
            .as_str()
            .is_some_and(|n| n.starts_with("ORD-"))
    );
    assert_eq!(order["lines"].as_array().map(Vec::len), Some(2));
    assert_eq!(order["lines"][0]["unit_price"], "19.99");
    let totals = &order["totals"];
    assert_eq!(totals["subtotal"], "52.48");
    assert_eq!(totals["shipping"], "5.99");
    assert_eq!(
        dec(&totals["total"]),
        dec(&totals["subtotal"]) - dec(&totals["discount"])
            + dec(&totals["tax"])
            + dec(&totals["shipping"])
    );
    assert_eq!(
        stock(&app, "TSHIRT").await["reserved"],
        2,
        "placing reserves stock"
    );
}

#[tokio::test]
async fn the_payment_method_and_an_addresss_first_and_last_name_and_email_round_trip() {
    let app = TestApp::new();
    let mut body = app.order_body(&[("TSHIRT", 1)]);
    body["payment_method"] = json!("paypal");
    body["shipping_address"]["first_name"] = json!("Jane");
    body["shipping_address"]["last_name"] = json!("Doe");
    body["shipping_address"]["email"] = json!("jane@example.com");
    let reply = app.post("/api/v1/orders", &app.alice(), &body).await;
    let order = reply.expect(201);
    assert_eq!(order["payment_method"], "paypal");
    assert_eq!(order["shipping_address"]["first_name"], "Jane");
    assert_eq!(order["shipping_address"]["email"], "jane@example.com");
    let again = app.get(&order_path(order), &app.alice()).await;
    assert_eq!(
        again.expect(200)["shipping_address"],
        order["shipping_address"]
    );

    body["shipping_address"]["email"] = json!("jane at example");
    let refused = app.post("/api/v1/orders", &app.alice(), &body).await;
    assert_eq!(refused.expect(422)["field"], "shipping_address.email");
}

#[tokio::test]
async fn replaying_a_placement_with_the_same_idempotency_key_returns_the_first_order() {
    let app = TestApp::new();
    let token = app.alice();
    let body = app.order_body(&[("TSHIRT", 1)]);
    let first = app
        .send(build(
            Method::POST,
            "/api/v1/orders",
            Some(&token),
            Some(&body),
            &[("idempotency-key", "checkout-7f3a")],
        ))
        .await;
    first.expect(201);
    let again = app
        .send(build(
            Method::POST,
            "/api/v1/orders",
            Some(&token),
            Some(&body),
            &[("idempotency-key", "checkout-7f3a")],
        ))
        .await;
    again.expect(201);
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(again.body["number"], first.body["number"]);
    let list = app.get("/api/v1/orders", &token).await;
    assert_eq!(
        list.expect(200)["orders"].as_array().map(Vec::len),
        Some(1),
        "the retry placed nothing new"
    );
    assert_eq!(stock(&app, "TSHIRT").await["reserved"], 1);

    // The first answer, even after the order moved on.
    app.post(&pay_path(&first.body), &token, &Value::Null)
        .await
        .expect(200);
    let later = app
        .send(build(
            Method::POST,
            "/api/v1/orders",
            Some(&token),
            Some(&body),
            &[("idempotency-key", "checkout-7f3a")],
        ))
        .await;
    later.expect(201);
    assert_eq!(later.body["id"], first.body["id"]);
    assert_eq!(later.body["status"], "pending");
    assert_eq!(later.body["version"], 1);
}

/// Idempotency keys are each customer's own: another customer sending the
/// same key places an order of its own. (Before: 422, which let one
/// customer probe or squat another's keys.)
#[tokio::test]
async fn two_customers_sending_the_same_idempotency_key_each_place_their_own_order() {
    let app = TestApp::new();
    let key = [("idempotency-key", "checkout-shared")];
    let body = app.order_body(&[("TSHIRT", 1)]);
    let alice = app
        .send(build(
            Method::POST,
            "/api/v1/orders",
            Some(&app.alice()),
            Some(&body),
            &key,
        ))
        .await;
    let bob = app
        .send(build(
            Method::POST,
            "/api/v1/orders",
            Some(&app.bob()),
            Some(&body),
            &key,
        ))
        .await;
    assert_eq!(alice.expect(201)["customer_id"], ALICE);
    assert_eq!(bob.expect(201)["customer_id"], BOB);
    assert_ne!(alice.body["id"], bob.body["id"]);
    let bob_again = app
        .send(build(
            Method::POST,
            "/api/v1/orders",
            Some(&app.bob()),
            Some(&body),
            &key,
        ))
        .await;
    assert_eq!(bob_again.expect(201)["id"], bob.body["id"]);
}

/// A placement answered 503 because a port was unreachable wrote nothing:
/// the client's retry with the same key runs at once.
#[tokio::test]
async fn a_placement_answered_503_frees_its_idempotency_key_for_the_retry() {
    let app = TestApp::new();
    let key = [("idempotency-key", "checkout-503")];
    let body = app.order_body(&[("TSHIRT", 1)]);
    app.harness
        .customers
        .faults()
        .always("exists", Some(Fault::Fail));
    let failed = app
        .send_raw(build(
            Method::POST,
            "/api/v1/orders",
            Some(&app.alice()),
            Some(&body),
            &key,
        ))
        .await;
    failed.problem(503, "dependency_unavailable");
    app.harness.customers.faults().clear();
    let retried = app
        .send(build(
            Method::POST,
            "/api/v1/orders",
            Some(&app.alice()),
            Some(&body),
            &key,
        ))
        .await;
    retried.expect(201);
}

#[tokio::test]
async fn an_order_is_found_by_id_and_by_number() {
    let app = TestApp::new();
    let order = app.place().await;
    let by_id = app.get(&order_path(&order), &app.alice()).await;
    by_id.expect(200);
    assert_eq!(by_id.body["id"], order["id"]);
    assert_eq!(by_id.header("etag"), Some("\"1\""));
    let number = order["number"].as_str().expect("number");
    let by_number = app
        .get(&format!("/api/v1/orders/by-number/{number}"), &app.alice())
        .await;
    by_number.expect(200);
    assert_eq!(by_number.body["id"], order["id"]);
    let missing = app
        .get("/api/v1/orders/by-number/ORD-2026-999999", &app.admin())
        .await;
    missing.problem(404, "order_not_found");
    let unknown = app
        .get(
            "/api/v1/orders/0190aaaa-0000-7000-8000-000000000001",
            &app.admin(),
        )
        .await;
    unknown.problem(404, "order_not_found");
}

/// Alice places three orders an hour apart (the second is paid), Bob one.
async fn four_orders(app: &TestApp) -> Vec<Value> {
    let mut orders = Vec::new();
    for (i, token) in [app.alice(), app.alice(), app.alice(), app.bob()]
        .iter()
        .enumerate()
    {
        if i > 0 {
            app.harness.clock.advance(chrono::Duration::hours(1));
        }
        let body = app.order_body(&[("MUG", 1)]);
        orders.push(app.place_with(token, &body).await);
    }
    app.post(&pay_path(&orders[1]), &app.alice(), &Value::Null)
        .await
        .expect(200);
    orders
}

fn ids(reply: &Value) -> Vec<String> {
    reply["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .map(|o| id_of(o).to_owned())
        .collect()
}

fn id(order: &Value) -> String {
    id_of(order).to_owned()
}

#[tokio::test]
async fn listing_filters_by_customer_status_payment_status_and_created_range() {
    let app = TestApp::new();
    let orders = four_orders(&app).await;
    let admin = app.admin();

    let all = app.get("/api/v1/orders", &admin).await;
    assert_eq!(
        ids(all.expect(200)),
        vec![
            id(&orders[3]),
            id(&orders[2]),
            id(&orders[1]),
            id(&orders[0])
        ],
        "newest first by default"
    );

    let bobs = app
        .get(&format!("/api/v1/orders?customer_id={BOB}"), &admin)
        .await;
    assert_eq!(ids(bobs.expect(200)), vec![id(&orders[3])]);

    let confirmed = app.get("/api/v1/orders?status=confirmed", &admin).await;
    assert_eq!(ids(confirmed.expect(200)), vec![id(&orders[1])]);

    let paid = app.get("/api/v1/orders?payment_status=paid", &admin).await;
    assert_eq!(ids(paid.expect(200)), vec![id(&orders[1])]);
    let unpaid_alice = app
        .get(
            &format!("/api/v1/orders?customer_id={ALICE}&payment_status=unpaid"),
            &admin,
        )
        .await;
    assert_eq!(
        ids(unpaid_alice.expect(200)),
        vec![id(&orders[2]), id(&orders[0])]
    );
    let unknown = app
        .get("/api/v1/orders?payment_status=settled", &admin)
        .await;
    unknown.expect(422);

    let pending_alice = app
        .get(
            &format!("/api/v1/orders?customer_id={ALICE}&status=pending"),
            &admin,
        )
        .await;
    assert_eq!(
        ids(pending_alice.expect(200)),
        vec![id(&orders[2]), id(&orders[0])]
    );

    // Placed at 09:00, 10:00, 11:00 and 12:00 on the harness clock.
    let range = app
        .get(
            "/api/v1/orders?created_from=2026-01-15T09:30:00Z&created_to=2026-01-15T11:30:00Z",
            &admin,
        )
        .await;
    assert_eq!(ids(range.expect(200)), vec![id(&orders[2]), id(&orders[1])]);
    let from_inclusive = app
        .get("/api/v1/orders?created_from=2026-01-15T12:00:00Z", &admin)
        .await;
    assert_eq!(ids(from_inclusive.expect(200)), vec![id(&orders[3])]);
}

#[tokio::test]
async fn listing_pages_with_a_keyset_cursor_in_either_sort_order() {
    let app = TestApp::new();
    let orders = four_orders(&app).await;
    let admin = app.admin();

    let first = app.get("/api/v1/orders?limit=3", &admin).await;
    let first = first.expect(200);
    assert_eq!(
        ids(first),
        vec![id(&orders[3]), id(&orders[2]), id(&orders[1])]
    );
    let cursor = first["next_cursor"].as_str().expect("a next cursor");
    let second = app
        .get(&format!("/api/v1/orders?limit=3&cursor={cursor}"), &admin)
        .await;
    let second = second.expect(200);
    assert_eq!(ids(second), vec![id(&orders[0])]);
    assert!(
        second["next_cursor"].is_null(),
        "the last page has no cursor"
    );

    let oldest = app.get("/api/v1/orders?sort=oldest&limit=2", &admin).await;
    let oldest = oldest.expect(200);
    assert_eq!(ids(oldest), vec![id(&orders[0]), id(&orders[1])]);
    let cursor = oldest["next_cursor"].as_str().expect("a next cursor");
    let rest = app
        .get(
            &format!("/api/v1/orders?sort=oldest&limit=2&cursor={cursor}"),
            &admin,
        )
        .await;
    assert_eq!(ids(rest.expect(200)), vec![id(&orders[2]), id(&orders[3])]);

    let one = app.get("/api/v1/orders?limit=1", &admin).await;
    assert_eq!(ids(one.expect(200)).len(), 1);
}

#[tokio::test]
async fn patching_details_returns_the_new_version_as_the_etag() {
    let app = TestApp::new();
    let order = app.place().await;
    let token = app.alice();
    let reply = app
        .patch(
            &order_path(&order),
            &token,
            &json!({"notes": "leave at the door", "billing_address": address("Alice Billing")}),
        )
        .await;
    reply.expect(200);
    assert_eq!(reply.body["notes"], "leave at the door");
    assert_eq!(reply.body["billing_address"]["name"], "Alice Billing");
    let version = reply.body["version"].as_u64().expect("version");
    assert!(version > 1);
    assert_eq!(
        reply.header("etag"),
        Some(format!("\"{version}\"").as_str())
    );

    let express = app
        .send(build(
            Method::PATCH,
            &order_path(&order),
            Some(&token),
            Some(&json!({"shipping_method": "express", "notes": null})),
            &[("if-match", &format!("\"{version}\""))],
        ))
        .await;
    express.expect(200);
    assert_eq!(express.body["shipping_method"], "express");
    assert_eq!(express.body["totals"]["shipping"], "14.99", "re-priced");
    assert!(express.body["notes"].is_null(), "null clears the notes");

    let stale = app
        .send(build(
            Method::PATCH,
            &order_path(&order),
            Some(&token),
            Some(&json!({"notes": "lost update"})),
            &[("if-match", &format!("\"{version}\""))],
        ))
        .await;
    stale.problem(412, "version_mismatch");
    assert!(app.fetch(&order).await["notes"].is_null());

    // Once paid, the price is settled: notes may change, the shipping method not.
    app.post(&pay_path(&order), &token, &Value::Null)
        .await
        .expect(200);
    let notes = app
        .patch(&order_path(&order), &token, &json!({"notes": "ring twice"}))
        .await;
    assert_eq!(notes.expect(200)["notes"], "ring twice");
    let method = app
        .patch(
            &order_path(&order),
            &token,
            &json!({"shipping_method": "standard"}),
        )
        .await;
    method.problem(409, "conflict");
}

#[tokio::test]
async fn items_are_listed_added_updated_and_removed_while_the_order_is_pending() {
    let app = TestApp::new();
    let order = app.place().await;
    let token = app.alice();

    let items = app.get(&path(&order, "items"), &token).await;
    let items = items.expect(200).as_array().expect("lines").clone();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["sku"], "TSHIRT");

    let added = app
        .post(
            &path(&order, "items"),
            &token,
            &json!({"product_id": app.product_id("BOOK"), "quantity": 1}),
        )
        .await;
    added.expect(200);
    assert_eq!(added.body["lines"].as_array().map(Vec::len), Some(3));
    assert_eq!(stock(&app, "BOOK").await["reserved"], 1);

    let line = items[0]["id"].as_str().expect("line id");
    let updated = app
        .patch(
            &path(&order, &format!("items/{line}")),
            &token,
            &json!({"quantity": 5}),
        )
        .await;
    updated.expect(200);
    assert_eq!(updated.body["lines"][0]["quantity"], 5);
    assert_eq!(stock(&app, "TSHIRT").await["reserved"], 5);

    let removed = app
        .request(
            Method::DELETE,
            &path(&order, &format!("items/{line}")),
            Some(&token),
            None,
        )
        .await;
    removed.expect(200);
    let skus: Vec<&Value> = removed.body["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| &l["sku"])
        .collect();
    assert_eq!(skus, vec!["MUG", "BOOK"]);
    assert_eq!(stock(&app, "TSHIRT").await["reserved"], 0);

    let unknown_line = app
        .patch(
            &path(&order, "items/0190aaaa-0000-7000-8000-0000000000ff"),
            &token,
            &json!({"quantity": 1}),
        )
        .await;
    unknown_line.problem(404, "not_found");

    // Once paid the lines are frozen.
    app.post(&pay_path(&order), &token, &Value::Null)
        .await
        .expect(200);
    let late = app
        .post(
            &path(&order, "items"),
            &token,
            &json!({"product_id": app.product_id("MUG"), "quantity": 1}),
        )
        .await;
    let problem = late.problem(409, "invalid_transition");
    assert_eq!(problem["current_status"], "confirmed");
    assert_eq!(problem["action"], "edit_lines");
}

#[tokio::test]
async fn paying_confirms_the_order_and_captures_the_total() {
    let app = TestApp::new();
    let order = app.place().await;
    let reply = app
        .post(&pay_path(&order), &app.alice(), &Value::Null)
        .await;
    let paid = reply.expect(200);
    assert_eq!(paid["status"], "confirmed");
    assert_eq!(paid["payment_status"], "paid");
    assert_eq!(paid["payments"]["captured"], order["totals"]["total"]);
    assert!(paid["confirmed_at"].is_string());
    let tshirts = stock(&app, "TSHIRT").await;
    assert_eq!(tshirts["on_hand"], 98, "paying commits the reserved stock");
    assert_eq!(tshirts["reserved"], 0);
}

#[tokio::test]
async fn a_declined_payment_is_402_and_leaves_the_order_pending_with_a_failed_payment() {
    let app = TestApp::new();
    let order = app.place().await;
    app.harness
        .gateway
        .faults()
        .next("authorize", Fault::Decline, 1);
    let declined = app
        .post(&pay_path(&order), &app.alice(), &Value::Null)
        .await;
    declined.problem(402, "payment_declined");
    let now = app.fetch(&order).await;
    assert_eq!(now["status"], "pending");
    assert_eq!(now["payment_status"], "failed");
    assert_eq!(
        stock(&app, "TSHIRT").await["reserved"],
        0,
        "a failed payment releases the stock"
    );

    let retry = app
        .post(&pay_path(&order), &app.alice(), &Value::Null)
        .await;
    assert_eq!(retry.expect(200)["status"], "confirmed");
    assert_eq!(
        stock(&app, "TSHIRT").await["on_hand"],
        98,
        "the retry reserved and committed the stock again"
    );
}

#[tokio::test]
async fn cancelling_a_paid_order_refunds_it_and_puts_the_stock_back() {
    let app = TestApp::new();
    let order = app.paid().await;
    let reply = app
        .post(
            &path(&order, "cancel"),
            &app.alice(),
            &json!({"reason": "changed my mind"}),
        )
        .await;
    let cancelled = reply.expect(200);
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["payment_status"], "refunded");
    assert_eq!(cancelled["cancellation"]["reason"], "changed my mind");
    assert_eq!(
        cancelled["cancellation"]["actor"],
        format!("customer:{ALICE}")
    );
    assert_eq!(stock(&app, "TSHIRT").await["on_hand"], 100);

    let again = app
        .post(
            &path(&order, "cancel"),
            &app.alice(),
            &json!({"reason": "twice"}),
        )
        .await;
    let problem = again.problem(409, "invalid_transition");
    assert_eq!(problem["current_status"], "cancelled");
    assert_eq!(problem["action"], "cancel");
}

#[tokio::test]
async fn cancelling_a_pending_order_releases_its_reservation() {
    let app = TestApp::new();
    let order = app.place().await;
    let reply = app
        .post(
            &path(&order, "cancel"),
            &app.admin(),
            &json!({"reason": "fraud check failed"}),
        )
        .await;
    assert_eq!(reply.expect(200)["status"], "cancelled");
    let tshirts = stock(&app, "TSHIRT").await;
    assert_eq!(
        (tshirts["on_hand"].clone(), tshirts["reserved"].clone()),
        (json!(100), json!(0))
    );
}

#[tokio::test]
async fn an_order_goes_through_processing_shipment_and_delivery() {
    let app = TestApp::new();
    let order = app.paid().await;
    let admin = app.admin();
    let processing = app
        .post(&path(&order, "processing"), &admin, &Value::Null)
        .await;
    assert_eq!(processing.expect(200)["status"], "processing");

    let tshirt_line = order["lines"][0]["id"].clone();
    let partial = app
        .post(
            &path(&order, "shipments"),
            &admin,
            &json!({"lines": [{"line_id": tshirt_line, "quantity": 1}], "carrier": "DHL", "tracking_number": "JD0001"}),
        )
        .await;
    let partial = partial.expect(201);
    assert_eq!(partial["status"], "partially_shipped");
    assert_eq!(partial["shipments"][0]["carrier"], "DHL");

    let rest = json!({"lines": [
        {"line_id": tshirt_line, "quantity": 1},
        {"line_id": order["lines"][1]["id"], "quantity": 1},
    ], "carrier": "UPS", "tracking_number": "1Z999"});
    let shipped = app.post(&path(&order, "shipments"), &admin, &rest).await;
    let shipped = shipped.expect(201);
    assert_eq!(shipped["status"], "shipped");
    assert_eq!(shipped["shipments"].as_array().map(Vec::len), Some(2));

    let too_many = app.post(&path(&order, "shipments"), &admin, &rest).await;
    too_many.problem(409, "invalid_transition");

    let tracking = app.get(&path(&order, "tracking"), &app.alice()).await;
    let tracking = tracking.expect(200);
    assert_eq!(tracking["status"], "shipped");
    assert_eq!(tracking["shipments"][1]["tracking_number"], "1Z999");
    assert!(tracking["shipments"][1]["delivered_at"].is_null());

    for shipment in shipped["shipments"].as_array().expect("shipments") {
        let id = shipment["id"].as_str().expect("shipment id");
        let delivered = app
            .post(
                &path(&order, &format!("shipments/{id}/deliver")),
                &admin,
                &Value::Null,
            )
            .await;
        delivered.expect(200);
    }
    let now = app.fetch(&order).await;
    assert_eq!(now["status"], "delivered");
    assert!(now["delivered_at"].is_string());
    let tracking = app.get(&path(&order, "tracking"), &app.alice()).await;
    assert!(tracking.expect(200)["shipments"][0]["delivered_at"].is_string());
}

#[tokio::test]
async fn completing_is_refused_while_the_return_window_is_open_and_allowed_after() {
    let app = TestApp::new();
    let order = app.delivered().await;
    let early = app
        .post(&path(&order, "complete"), &app.admin(), &Value::Null)
        .await;
    early.problem(409, "return_window");
    app.harness.clock.advance(chrono::Duration::days(31));
    let done = app
        .post(&path(&order, "complete"), &app.admin(), &Value::Null)
        .await;
    let done = done.expect(200);
    assert_eq!(done["status"], "completed");
    assert!(done["completed_at"].is_string());
}

#[tokio::test]
async fn a_return_is_requested_then_received_with_a_refund_and_restocked() {
    let app = TestApp::new();
    let order = app.delivered().await;
    let line = order["lines"][0]["id"].clone();
    let requested = app
        .post(
            &path(&order, "returns"),
            &app.alice(),
            &json!({"lines": [{"line_id": line, "quantity": 1}], "reason": "too small"}),
        )
        .await;
    let requested = requested.expect(201);
    let ret = &requested["returns"][0];
    assert_eq!(ret["reason"], "too small");
    assert!(ret["received_at"].is_null());
    assert!(dec(&ret["refund_amount"]) > Decimal::ZERO);
    assert_eq!(requested["lines"][0]["quantities"]["return_requested"], 1);
    let return_id = ret["id"].as_str().expect("return id");

    let on_hand_before = stock(&app, "TSHIRT").await["on_hand"].clone();
    let received = app
        .post(
            &path(&order, &format!("returns/{return_id}/receive")),
            &app.admin(),
            &json!({"refund": true}),
        )
        .await;
    let received = received.expect(200);
    assert!(received["returns"][0]["received_at"].is_string());
    assert_eq!(received["payment_status"], "partially_refunded");
    assert_eq!(
        dec(&received["payments"]["refunded"]),
        dec(&ret["refund_amount"])
    );
    assert_eq!(received["lines"][0]["quantities"]["returned"], 1);
    assert_eq!(
        stock(&app, "TSHIRT").await["on_hand"],
        json!(on_hand_before.as_u64().expect("units") + 1)
    );

    let twice = app
        .post(
            &path(&order, &format!("returns/{return_id}/receive")),
            &app.admin(),
            &json!({"refund": true}),
        )
        .await;
    twice.problem(409, "conflict");
}

#[tokio::test]
async fn refunds_are_recorded_and_never_exceed_what_was_captured() {
    let app = TestApp::new();
    let order = app.paid().await;
    let admin = app.admin();
    let refunded = app
        .post(
            &path(&order, "refunds"),
            &admin,
            &json!({"amount": "5.00", "reason": "goodwill"}),
        )
        .await;
    let refunded = refunded.expect(201);
    assert_eq!(refunded["payment_status"], "partially_refunded");
    assert_eq!(dec(&refunded["payments"]["refunded"]), Decimal::new(500, 2));
    assert_eq!(
        dec(&refunded["payments"]["refundable"]),
        dec(&order["totals"]["total"]) - Decimal::new(500, 2)
    );

    let over = app
        .post(
            &path(&order, "refunds"),
            &admin,
            &json!({"amount": "1000.00", "reason": "too much"}),
        )
        .await;
    over.problem(422, "amount_rejected");
    let zero = app
        .post(
            &path(&order, "refunds"),
            &admin,
            &json!({"amount": "0.00", "reason": "nothing"}),
        )
        .await;
    zero.problem(422, "amount_rejected");
    assert_eq!(
        dec(&app.fetch(&order).await["payments"]["refunded"]),
        Decimal::new(500, 2),
        "refused refunds moved no money"
    );

    let rest = dec(&refunded["payments"]["refundable"]).to_string();
    let full = app
        .post(
            &path(&order, "refunds"),
            &admin,
            &json!({"amount": rest, "reason": "the rest"}),
        )
        .await;
    assert_eq!(full.expect(201)["payment_status"], "refunded");
}

#[tokio::test]
async fn the_history_shows_every_status_change_and_event() {
    let app = TestApp::new();
    let order = app.shipped().await;
    let reply = app.get(&path(&order, "history"), &app.alice()).await;
    let history = reply.expect(200);
    let statuses: Vec<&Value> = history["status_changes"]
        .as_array()
        .expect("status changes")
        .iter()
        .map(|c| &c["to"])
        .collect();
    assert_eq!(
        statuses,
        vec!["pending", "confirmed", "processing", "shipped"]
    );
    assert!(history["status_changes"][0]["from"].is_null());
    let events = history["events"].as_array().expect("events");
    assert!(events.len() >= 4, "{history}");
    let sequences: Vec<u64> = events
        .iter()
        .map(|e| e["sequence"].as_u64().expect("sequence"))
        .collect();
    assert_eq!(sequences, (1..=sequences.len() as u64).collect::<Vec<_>>());
    assert!(events.iter().all(|e| e["order_id"] == order["id"]));
    assert!(events.iter().all(|e| e["position"].is_null()));
    assert_eq!(events[0]["actor"], format!("customer:{ALICE}"));
}

#[tokio::test]
async fn the_invoice_shows_the_lines_totals_and_what_was_paid() {
    let app = TestApp::new();
    let pending = app.place().await;
    let due = app.get(&path(&pending, "invoice"), &app.alice()).await;
    let due = due.expect(200);
    assert_eq!(dec(&due["due"]), dec(&pending["totals"]["total"]));

    let paid = app.paid().await;
    let reply = app.get(&path(&paid, "invoice"), &app.alice()).await;
    let invoice = reply.expect(200);
    assert_eq!(invoice["invoice_number"], paid["number"]);
    assert_eq!(invoice["order_id"], paid["id"]);
    assert_eq!(invoice["currency"], "USD");
    assert_eq!(invoice["bill_to"]["name"], "Alice Example");
    assert_eq!(invoice["lines"].as_array().map(Vec::len), Some(2));
    assert_eq!(invoice["totals"], paid["totals"]);
    assert_eq!(dec(&invoice["paid"]), dec(&paid["totals"]["total"]));
    assert_eq!(dec(&invoice["due"]), Decimal::ZERO);
}

#[tokio::test]
async fn a_dry_run_previews_a_command_and_leaves_the_order_unchanged() {
    let app = TestApp::new();
    let order = app.paid().await;
    let reply = app
        .post(
            &path(&order, "dry-run"),
            &app.alice(),
            &json!({"action": "cancel", "reason": "just looking"}),
        )
        .await;
    let preview = reply.expect(200);
    assert_eq!(preview["order"]["status"], "cancelled");
    assert!(preview["events"].as_array().is_some_and(|e| !e.is_empty()));
    let now = app.fetch(&order).await;
    assert_eq!(now["status"], "confirmed");
    assert_eq!(now["version"], order["version"]);
    assert_eq!(now["payment_status"], "paid");

    let processing = app
        .post(
            &path(&order, "dry-run"),
            &app.admin(),
            &json!({"action": "start_processing"}),
        )
        .await;
    assert_eq!(processing.expect(200)["order"]["status"], "processing");
    let ship = app
        .post(
            &path(&order, "dry-run"),
            &app.admin(),
            &json!({"action": "ship", "lines": all_units(&order), "carrier": "UPS"}),
        )
        .await;
    let problem = ship.problem(409, "invalid_transition");
    assert_eq!(problem["current_status"], "confirmed");
    assert_eq!(problem["action"], "ship");
    assert_eq!(app.fetch(&order).await["version"], order["version"]);
}
