//! The seeds' REST routes (docs/seed-compat.md): each seed's documented
//! example requests, answered in the seed's shape, and each seed's routes
//! driven through the lifecycle, the state machine deciding every move.

use axum::http::Method;
use serde_json::{Value, json};

use crate::common::{ALICE, BOB, Reply, TestApp, id_of, raw};

/// A digital product at the contracts seed's example price.
const PROD: &str = "0193e6d2-6c1e-7b4e-9a3a-0000000c0123";

/// Stocks the contracts example's product: digital (its example order has
/// no address), 49.99 USD.
async fn stock_example_product(app: &TestApp) {
    let product = json!({
        "product_id": PROD, "sku": "PROD-123", "name": "Contract example product",
        "unit_price": "49.99", "currency": "USD", "tax_class": "standard", "kind": "digital",
    });
    app.post("/api/v1/products", &app.admin(), &product)
        .await
        .expect(200);
}

/// The contracts seed's documented `POST /orders` body, its placeholders
/// (`user-uuid`, `prod-123`) replaced by real ids.
fn contracts_example() -> Value {
    json!({
        "userId": ALICE,
        "items": [{"productId": PROD, "quantity": 2, "price": 49.99}],
        "currency": "USD"
    })
}

/// A kubestock create body (its data model's names), physical goods, no
/// shipping method.
fn kubestock_body(app: &TestApp) -> Value {
    json!({
        "customer_id": ALICE,
        "items": [{"product_id": app.product_id("TSHIRT"), "quantity": 2, "unit_price": 19.99}],
        "currency": "USD",
        "shipping_address": {
            "first_name": "Alice", "last_name": "Example", "address_line1": "1 Main Street",
            "city": "Springfield", "state": "IL", "postal_code": "62701", "country": "US"
        }
    })
}

/// `method path` with `token` and a JSON body.
async fn send(app: &TestApp, method: Method, path: &str, token: &str, body: &Value) -> Reply {
    app.request(method, path, Some(token), Some(body)).await
}

fn number(value: &Value) -> String {
    assert!(value.is_number(), "an amount is a JSON number: {value}");
    value.to_string()
}

#[tokio::test]
async fn the_contracts_example_order_is_created_in_the_contracts_shape() {
    let app = TestApp::new();
    stock_example_product(&app).await;
    let reply = app
        .post("/orders", &app.alice(), &contracts_example())
        .await;
    let order = reply.expect(201);
    assert_eq!(order["userId"], ALICE);
    assert_eq!(order["status"], "pending");
    assert_eq!(order["currency"], "USD");
    let item = &order["items"][0];
    assert_eq!(item["productId"], PROD);
    assert_eq!(item["productName"], "Contract example product");
    assert_eq!(item["quantity"], 2);
    assert_eq!(number(&item["price"]), "49.99");
    assert_eq!(number(&item["subtotal"]), "99.98");
    assert_eq!(item["orderId"], order["id"]);
    number(&order["totalAmount"]);
    for field in ["id", "createdAt", "updatedAt"] {
        assert!(order[field].is_string(), "{field} in {order}");
    }
    assert!(
        order.get("customer_id").is_none(),
        "camelCase only: {order}"
    );
}

#[tokio::test]
async fn the_contracts_body_places_orders_on_every_seeds_create_route() {
    let app = TestApp::new();
    stock_example_product(&app).await;
    let node = app
        .post("/api/v1/orders", &app.alice(), &contracts_example())
        .await;
    let node = node.expect(201);
    assert_eq!(node["user_id"], ALICE, "the node seed's snake_case: {node}");
    assert_eq!(node["status"], "pending");
    assert_eq!(number(&node["items"][0]["unit_price"]), "49.99");

    let saga = app
        .post("/api/orders", &app.alice(), &contracts_example())
        .await;
    let saga = saga.expect(201);
    // The saga's creation takes the payment; a digital order is handed
    // over once paid.
    assert_eq!(saga["status"], "delivered", "{saga}");
    assert_eq!(number(&saga["items"][0]["price"]), "49.99");
}

#[tokio::test]
async fn a_price_the_catalog_does_not_have_is_refused_naming_the_change() {
    let app = TestApp::new();
    stock_example_product(&app).await;
    let mut body = contracts_example();
    body["items"][0]["price"] = json!(45.00);
    let reply = app.post("/orders", &app.alice(), &body).await;
    reply.problem(409, "price_changed");
}

#[tokio::test]
async fn a_seed_body_that_is_wrong_gets_a_problem_naming_the_field() {
    let app = TestApp::new();
    let mut body = contracts_example();
    body["items"][0]["productId"] = json!("prod-123");
    let reply = app.post("/orders", &app.alice(), &body).await;
    let problem = reply.problem(400, "malformed_request");
    assert_eq!(problem["field"], "items[0].productId");

    let reply = app
        .post(
            "/orders",
            &app.alice(),
            &json!({"userId": ALICE, "items": [], "colour": "red"}),
        )
        .await;
    reply.problem(400, "malformed_request");
}

#[tokio::test]
async fn the_kubestock_examples_answer_as_the_seed_documents() {
    let app = TestApp::new();
    let admin = app.admin();
    // `curl -X POST http://localhost:8080/orders -d "{...}"`: curl labels
    // the JSON a form.
    let create = raw(
        Method::POST,
        "/orders",
        Some(&admin),
        Some("application/x-www-form-urlencoded"),
        kubestock_body(&app).to_string(),
    );
    let reply = app.send(create).await;
    let order = reply.expect(201).clone();
    assert_eq!(order["status"], "PENDING");
    assert_eq!(order["customer_id"], ALICE);
    assert!(
        order["order_number"]
            .as_str()
            .is_some_and(|n| n.starts_with("ORD-"))
    );
    assert_eq!(
        number(&order["shipping_cost"]),
        "5.99",
        "the default shipping method applied"
    );
    for field in ["total_amount", "subtotal", "tax"] {
        number(&order[field]);
    }
    let item = &order["items"][0];
    assert_eq!(item["order_id"], order["id"]);
    assert_eq!(number(&item["unit_price"]), "19.99");
    assert_eq!(number(&item["subtotal"]), "39.98");

    // `curl http://localhost:8080/orders/{order_id}`
    let shown = app.get(&format!("/orders/{}", id_of(&order)), &admin).await;
    assert_eq!(shown.expect(200)["id"], order["id"]);

    // `curl http://localhost:8080/orders/status/PENDING`
    let pending = app.get("/orders/status/PENDING", &admin).await;
    let pending = pending.expect(200);
    assert_eq!(pending["orders"][0]["id"], order["id"]);
    assert!(
        pending["orders"]
            .as_array()
            .expect("orders")
            .iter()
            .all(|o| o["status"] == "PENDING")
    );
}

#[tokio::test]
async fn kubestock_routes_move_an_order_through_its_lifecycle() {
    let app = TestApp::new();
    let admin = app.admin();
    let order = app
        .post("/orders", &app.alice(), &kubestock_body(&app))
        .await;
    let id = id_of(order.expect(201)).to_owned();
    let at = |rest: &str| format!("/orders/{id}/{rest}");

    let paid = app
        .request(Method::POST, &at("checkout"), Some(&app.alice()), None)
        .await;
    assert_eq!(paid.expect(200)["status"], "PAID");

    // PAID → SHIPPED skips PROCESSING: the state machine refuses, naming
    // where the order is.
    let refused = send(
        &app,
        Method::POST,
        &at("ship"),
        &admin,
        &json!({"carrier": "UPS"}),
    )
    .await;
    let problem = refused.problem(409, "invalid_transition");
    assert_eq!(problem["current_status"], "confirmed");
    assert_eq!(problem["action"], "ship");

    let processing = send(
        &app,
        Method::PUT,
        &format!("/orders/{id}"),
        &admin,
        &json!({"status": "PROCESSING"}),
    )
    .await;
    assert_eq!(processing.expect(200)["status"], "PROCESSING");

    let no_carrier = app
        .request(Method::POST, &at("ship"), Some(&admin), None)
        .await;
    assert_eq!(
        no_carrier.problem(422, "validation_failed")["field"],
        "carrier"
    );

    let shipped = send(
        &app,
        Method::POST,
        &at("ship"),
        &admin,
        &json!({"carrier": "UPS", "tracking_number": "1Z999"}),
    )
    .await;
    assert_eq!(shipped.expect(200)["status"], "SHIPPED");

    let tracking = app.get(&at("tracking"), &app.alice()).await;
    let tracking = tracking.expect(200);
    assert_eq!(tracking["status"], "SHIPPED");
    assert_eq!(tracking["shipments"][0]["carrier"], "UPS");
    assert_eq!(tracking["shipments"][0]["tracking_number"], "1Z999");
    assert!(tracking["shipments"][0]["delivered_at"].is_null());

    let delivered = app
        .request(Method::POST, &at("deliver"), Some(&admin), None)
        .await;
    assert_eq!(delivered.expect(200)["status"], "DELIVERED");
    let again = app
        .request(Method::POST, &at("deliver"), Some(&admin), None)
        .await;
    assert_eq!(
        again.problem(409, "invalid_transition")["current_status"],
        "delivered"
    );

    let returned = send(
        &app,
        Method::POST,
        &at("return"),
        &app.alice(),
        &json!({"reason": "too small"}),
    )
    .await;
    let returned = returned.expect(200);
    assert_eq!(
        returned["status"], "DELIVERED",
        "the return is open until the units arrive"
    );

    let invoice = app.get(&at("invoice"), &app.alice()).await;
    assert_eq!(invoice.expect(200)["order_id"], id.as_str());

    let mine = app.get("/orders", &app.bob()).await;
    assert_eq!(
        mine.expect(200)["orders"],
        json!([]),
        "Bob sees only his own orders"
    );
}

#[tokio::test]
async fn delete_cancels_and_a_customer_cannot_ship() {
    let app = TestApp::new();
    let order = app
        .post("/orders", &app.alice(), &kubestock_body(&app))
        .await;
    let id = id_of(order.expect(201)).to_owned();
    let ship = app
        .request(
            Method::POST,
            &format!("/orders/{id}/ship"),
            Some(&app.alice()),
            None,
        )
        .await;
    ship.problem(403, "forbidden");
    let other = app
        .request(
            Method::DELETE,
            &format!("/orders/{id}"),
            Some(&app.bob()),
            None,
        )
        .await;
    other.problem(404, "order_not_found");
    let cancelled = app
        .request(
            Method::DELETE,
            &format!("/orders/{id}"),
            Some(&app.alice()),
            None,
        )
        .await;
    assert_eq!(cancelled.expect(200)["status"], "CANCELLED");
}

#[tokio::test]
async fn the_node_create_route_keeps_the_clean_api_for_clean_bodies() {
    let app = TestApp::new();
    let clean = app
        .post(
            "/api/v1/orders",
            &app.alice(),
            &app.order_body(&[("MUG", 1)]),
        )
        .await;
    let clean = clean.expect(201);
    assert_eq!(clean["customer_id"], ALICE);
    assert!(clean["lines"].is_array(), "the clean shape: {clean}");
    assert_eq!(
        clean["totals"]["subtotal"], "12.50",
        "money as decimal strings"
    );

    let seed = app
        .post("/api/v1/orders", &app.alice(), &kubestock_body(&app))
        .await;
    let seed = seed.expect(201);
    assert_eq!(seed["user_id"], ALICE);
    assert!(seed["items"].is_array(), "the node seed's shape: {seed}");
    assert_eq!(seed["shipping_method"], "standard");
    assert_eq!(seed["shipping_address"]["name"], "Alice Example");
}

#[tokio::test]
async fn node_routes_pay_set_statuses_and_list_a_users_orders() {
    let app = TestApp::new();
    let admin = app.admin();
    let order = app
        .post("/api/v1/orders", &app.alice(), &kubestock_body(&app))
        .await;
    let id = id_of(order.expect(201)).to_owned();

    let failed = send(
        &app,
        Method::PUT,
        &format!("/api/v1/orders/{id}/status"),
        &admin,
        &json!({"status": "payment_failed"}),
    )
    .await;
    let problem = failed.problem(422, "validation_failed");
    assert_eq!(problem["field"], "status");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("the order is pending")),
        "{problem}"
    );

    let paid = send(
        &app,
        Method::POST,
        &format!("/api/v1/orders/{id}/payment"),
        &app.alice(),
        &json!({"paymentMethod": "credit_card"}),
    )
    .await;
    let paid = paid.expect(200);
    assert_eq!(paid["status"], "confirmed");
    assert_eq!(paid["payment_status"], "paid");

    let skip = send(
        &app,
        Method::PUT,
        &format!("/api/v1/orders/{id}/status"),
        &admin,
        &json!({"status": "shipped", "carrier": "UPS"}),
    )
    .await;
    assert_eq!(
        skip.problem(409, "invalid_transition")["current_status"],
        "confirmed"
    );

    let by_customer = send(
        &app,
        Method::PUT,
        &format!("/api/v1/orders/{id}/status"),
        &app.alice(),
        &json!({"status": "processing"}),
    )
    .await;
    by_customer.problem(403, "forbidden");

    let refunded = send(
        &app,
        Method::PUT,
        &format!("/api/v1/orders/{id}/status"),
        &admin,
        &json!({"status": "refunded", "reason": "goodwill"}),
    )
    .await;
    let refunded = refunded.expect(200);
    assert_eq!(refunded["status"], "refunded");
    assert_eq!(refunded["payment_status"], "refunded");

    let theirs = app
        .get(&format!("/api/v1/orders/user/{ALICE}"), &admin)
        .await;
    assert_eq!(theirs.expect(200)["orders"][0]["id"], id.as_str());
    let others = app
        .get(&format!("/api/v1/orders/user/{ALICE}"), &app.bob())
        .await;
    others.problem(403, "forbidden");
    let own = app
        .get(&format!("/api/v1/orders/user/{BOB}"), &app.bob())
        .await;
    assert_eq!(own.expect(200)["orders"], json!([]));

    // The node seed's cancel is the clean API's route.
    let cancel = send(
        &app,
        Method::POST,
        &format!("/api/v1/orders/{id}/cancel"),
        &app.alice(),
        &json!({"reason": "changed my mind"}),
    )
    .await;
    assert_eq!(cancel.expect(200)["status"], "cancelled");
}

#[tokio::test]
async fn saga_routes_place_and_pay_page_and_set_statuses() {
    let app = TestApp::new();
    let admin = app.admin();
    let mut body = kubestock_body(&app);
    body["shipping_method"] = json!("express");
    let first = app.post("/api/orders", &app.alice(), &body).await;
    let first = first.expect(201).clone();
    assert_eq!(first["status"], "paid");
    assert_eq!(first["user_id"], ALICE);
    assert_eq!(first["shipping_address"]["address_line1"], "1 Main Street");
    let second = app
        .post("/api/orders", &app.alice(), &kubestock_body(&app))
        .await;
    let second = second.expect(201).clone();

    let page1 = app.get("/api/orders?page=1&limit=1", &app.alice()).await;
    let page1 = page1.expect(200);
    assert_eq!(page1["orders"][0]["id"], second["id"], "newest first");
    assert_eq!(page1["has_more"], true);
    let page2 = app.get("/api/orders?page=2&limit=1", &app.alice()).await;
    let page2 = page2.expect(200);
    assert_eq!(page2["orders"][0]["id"], first["id"]);
    assert_eq!(page2["has_more"], false);
    let page9 = app.get("/api/orders?page=9&limit=1", &app.alice()).await;
    assert_eq!(page9.expect(200)["orders"], json!([]));

    let id = id_of(&first).to_owned();
    let status = format!("/api/orders/{id}/status");
    let customer = app
        .patch(&status, &app.alice(), &json!({"status": "processing"}))
        .await;
    customer.problem(403, "forbidden");
    let processing = app
        .patch(&status, &admin, &json!({"status": "processing"}))
        .await;
    assert_eq!(processing.expect(200)["status"], "processing");
    let unknown = app
        .patch(&status, &admin, &json!({"status": "teleported"}))
        .await;
    assert_eq!(unknown.problem(422, "validation_failed")["field"], "status");

    let cancelled = app
        .request(
            Method::POST,
            &format!("/api/orders/{id}/cancel"),
            Some(&app.alice()),
            None,
        )
        .await;
    assert_eq!(cancelled.expect(200)["status"], "cancelled");
    let shown = app.get(&format!("/api/orders/{id}"), &app.alice()).await;
    assert_eq!(shown.expect(200)["status"], "cancelled");
}

#[tokio::test]
async fn the_contracts_status_update_and_items_routes_answer_in_camel_case() {
    let app = TestApp::new();
    stock_example_product(&app).await;
    let order = app
        .post("/orders", &app.alice(), &contracts_example())
        .await;
    let id = id_of(order.expect(201)).to_owned();
    let confirmed = app
        .patch(
            &format!("/orders/{id}"),
            &app.admin(),
            &json!({"status": "confirmed"}),
        )
        .await;
    let confirmed = confirmed.expect(200);
    assert_eq!(
        confirmed["status"], "delivered",
        "a digital order is handed over once paid: {confirmed}"
    );
    let items = app.get(&format!("/orders/{id}/items"), &app.alice()).await;
    let items = items.expect(200);
    assert_eq!(items[0]["productId"], PROD);
}
