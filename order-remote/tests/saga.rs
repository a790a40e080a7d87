//! The saga end to end over HTTP: the `order-http` application, composed
//! from its settings with the four service URLs exactly as the binary is,
//! against in-process fakes of the product, inventory, user and payment
//! services, with faults injected. Each test shows one compensation: the
//! reservation released when payment fails, the payment refunded when the
//! stock cannot be committed, nothing half-done when the user service is
//! down, and what cannot be undone logged for an operator, who resolves it.

mod support;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use clap::Parser as _;
use http_body_util::BodyExt as _;
use order_http::auth::Role;
use order_http::config::Config;
use serde_json::{Value, json};
use support::Fault;
use support::inventory::Inventory;
use support::payments::Payments;
use support::products::Products;
use support::users::Users;
use tower::ServiceExt as _;
use uuid::Uuid;

const SECRET: &str = "order-remote saga tests: a secret of 32+ bytes";
const TRACE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// The app and the services it calls.
struct World {
    app: Router,
    customer: Uuid,
    customer_token: String,
    admin_token: String,
    product: Uuid,
    products: Arc<Products>,
    inventory: Arc<Inventory>,
    users: Arc<Users>,
    payments: Arc<Payments>,
    servers: Vec<support::Server>,
}

struct Reply {
    status: StatusCode,
    body: Value,
}

impl World {
    async fn new() -> Self {
        let products = Arc::new(Products::default());
        let inventory = Arc::new(Inventory::default());
        let users = Arc::new(Users::default());
        let payments = Arc::new(Payments::default());
        let servers = vec![
            support::products::start(products.clone()).await,
            support::inventory::start(inventory.clone()).await,
            support::users::start(users.clone()).await,
            support::payments::start(payments.clone()).await,
        ];
        let config = Config::try_parse_from([
            "order-http",
            "--database-url",
            "sqlite::memory:",
            "--config",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../config/sample.toml"),
            "--jwt-secret",
            SECRET,
            "--payments",
            "http",
            "--product-service-url",
            &servers[0].url(),
            "--inventory-service-url",
            &servers[1].url(),
            "--user-service-url",
            &servers[2].url(),
            "--payment-service-url",
            &servers[3].url(),
            "--remote-timeout-ms",
            "500",
            "--remote-attempts",
            "2",
            "--remote-backoff-ms",
            "10",
        ])
        .expect("settings");
        let app = order_http::compose::build(&config).await.expect("the app");
        let customer = Uuid::now_v7();
        users.add(&customer, true);
        let product = Uuid::new_v4();
        products.add(&product, "MUG", "12.00", "physical");
        inventory.set("MUG", 5);
        let auth = app.state.auth.clone();
        Self {
            customer_token: auth
                .mint(&customer.to_string(), Role::Customer, 600)
                .unwrap(),
            admin_token: auth.mint("ops", Role::Admin, 600).unwrap(),
            app: order_http::router(app.state),
            customer,
            product,
            products,
            inventory,
            users,
            payments,
            servers,
        }
    }

    async fn call(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> Reply {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {token}"))
            .header("traceparent", TRACE);
        let body = match body {
            Some(body) => {
                request = request.header("content-type", "application/json");
                Body::from(body.to_string())
            }
            None => Body::empty(),
        };
        let response = self
            .app
            .clone()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply { status, body }
    }

    async fn place(&self, units: u32) -> Reply {
        let body = json!({
            "customer_id": self.customer,
            "currency": "USD",
            "lines": [{ "product_id": self.product, "quantity": units }],
            "shipping_address": {
                "name": "Alice Example",
                "line1": "1 Main Street",
                "city": "Springfield",
                "region": "IL",
                "postal_code": "62701",
                "country": "US",
            },
            "shipping_method": "standard",
        });
        self.call(
            Method::POST,
            "/api/v1/orders",
            &self.customer_token,
            Some(body),
        )
        .await
    }

    async fn placed(&self, units: u32) -> String {
        let reply = self.place(units).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.body["id"].as_str().unwrap().to_owned()
    }

    async fn pay(&self, order: &str) -> Reply {
        self.call(
            Method::POST,
            &format!("/api/v1/orders/{order}/pay"),
            &self.customer_token,
            None,
        )
        .await
    }

    async fn pay_with(&self, order: &str, body: Value) -> Reply {
        self.call(
            Method::POST,
            &format!("/api/v1/orders/{order}/pay"),
            &self.customer_token,
            Some(body),
        )
        .await
    }

    async fn order(&self, order: &str) -> Value {
        let reply = self
            .call(
                Method::GET,
                &format!("/api/v1/orders/{order}"),
                &self.admin_token,
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body
    }

    async fn compensations(&self, query: &str) -> Vec<Value> {
        let reply = self
            .call(
                Method::GET,
                &format!("/api/v1/admin/compensations{query}"),
                &self.admin_token,
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body.as_array().unwrap().clone()
    }

    fn payments_server(&self) -> &support::Server {
        &self.servers[3]
    }
}

#[tokio::test]
async fn an_order_is_placed_paid_cancelled_and_refunded_against_the_four_services() {
    let world = World::new().await;
    let order = world.placed(2).await;
    assert!(
        world.inventory.holds(&order),
        "placement reserved the stock"
    );
    assert_eq!(world.inventory.level("MUG"), (5, 2));

    let paid = world.pay(&order).await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.body);
    assert_eq!(paid.body["status"], "confirmed");
    assert_eq!(paid.body["payment_status"], "paid");
    assert!(world.inventory.sold(&order), "payment committed the stock");
    assert_eq!(world.inventory.level("MUG"), (3, 0));
    let charged = world.payments.of(&order);
    assert_eq!(charged.len(), 1);
    assert_eq!(charged[0].status, "processed");
    assert_eq!(
        charged[0].amount.to_string(),
        paid.body["totals"]["total"].as_str().unwrap()
    );

    let cancelled = world
        .call(
            Method::POST,
            &format!("/api/v1/orders/{order}/cancel"),
            &world.customer_token,
            Some(json!({ "reason": "changed my mind" })),
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(cancelled.body["payment_status"], "refunded");
    assert_eq!(world.payments.of(&order)[0].status, "refunded");
    assert_eq!(
        world.inventory.level("MUG"),
        (5, 0),
        "the sold units are back"
    );
    assert!(world.compensations("").await.is_empty());
}

#[tokio::test]
async fn a_declined_payment_releases_the_reservation() {
    let world = World::new().await;
    let order = world.placed(2).await;
    world
        .payments_server()
        .faults
        .next("POST /payments", Fault::Decline("INSUFFICIENT_FUNDS"), 1);
    let reply = world.pay(&order).await;
    assert_eq!(reply.status, StatusCode::PAYMENT_REQUIRED, "{}", reply.body);
    let after = world.order(&order).await;
    assert_eq!(after["status"], "pending");
    assert_eq!(after["payment_status"], "failed");
    assert!(
        !world.inventory.holds(&order),
        "the reservation is released"
    );
    assert_eq!(world.inventory.level("MUG"), (5, 0));

    // A retry holds the stock again and pays.
    let retried = world.pay(&order).await;
    assert_eq!(retried.status, StatusCode::OK, "{}", retried.body);
    assert_eq!(world.inventory.level("MUG"), (3, 0));
}

#[tokio::test]
async fn a_payment_service_that_is_down_releases_the_reservation_and_tells_an_operator() {
    let world = World::new().await;
    let order = world.placed(1).await;
    world.payments_server().stop();
    let reply = world.pay(&order).await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.body
    );
    assert!(
        !world.inventory.holds(&order),
        "the reservation is released"
    );
    let log = world.compensations("?status=open").await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0]["order_id"], order.as_str());
    assert_eq!(log[0]["step"], "check for an orphaned authorization");
    assert_eq!(log[0]["status"], "open");

    let id = log[0]["id"].as_str().unwrap();
    let resolved = world
        .call(
            Method::POST,
            &format!("/api/v1/admin/compensations/{id}/resolve"),
            &world.admin_token,
            Some(json!({ "note": "no payment found at the provider" })),
        )
        .await;
    assert_eq!(resolved.status, StatusCode::OK, "{}", resolved.body);
    assert_eq!(resolved.body["status"], "resolved");
    assert_eq!(resolved.body["resolution"]["by"], "admin:ops");
    assert_eq!(
        resolved.body["resolution"]["note"],
        "no payment found at the provider"
    );
    assert!(world.compensations("?status=open").await.is_empty());
    assert_eq!(world.compensations("?status=resolved").await.len(), 1);
}

#[tokio::test]
async fn a_stock_commit_the_inventory_refuses_refunds_the_payment_and_cancels_the_order() {
    let world = World::new().await;
    let order = world.placed(2).await;
    world.servers[1]
        .faults
        .next("POST /reservations/commit", Fault::Lapsed, 1);
    let reply = world.pay(&order).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["status"], "cancelled");
    assert_eq!(reply.body["payment_status"], "refunded");
    let charged = world.payments.of(&order);
    assert_eq!(charged.len(), 1);
    assert_eq!(charged[0].status, "refunded", "the money went back");
    assert_eq!(charged[0].refunded, charged[0].amount);
    assert_eq!(
        world.inventory.level("MUG"),
        (5, 0),
        "no units were sold, none are invented"
    );
    assert!(world.compensations("").await.is_empty());
}

#[tokio::test]
async fn a_stock_commit_that_gets_no_answer_is_logged_for_an_operator() {
    let world = World::new().await;
    let order = world.placed(1).await;
    world.servers[1]
        .faults
        .always("POST /reservations/commit", Fault::Status(503));
    let reply = world.pay(&order).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["status"], "confirmed", "the customer paid");
    let log = world.compensations("").await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0]["step"], "commit stock reservation");
    assert_eq!(log[0]["order_id"], order.as_str());
    assert!(
        log[0]["detail"]
            .as_str()
            .unwrap()
            .contains("inventory-service"),
        "{}",
        log[0]
    );
}

#[tokio::test]
async fn nothing_is_half_done_when_the_user_service_is_down() {
    let world = World::new().await;
    world.servers[2].stop();
    let reply = world.place(1).await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.body
    );
    assert_eq!(world.inventory.level("MUG"), (5, 0), "nothing reserved");
    assert_eq!(world.servers[1].faults.count("PUT", "/reservations/"), 0);
    assert!(world.payments_server().faults.seen().is_empty());
    let orders = world
        .call(Method::GET, "/api/v1/orders", &world.admin_token, None)
        .await;
    assert_eq!(orders.body["orders"], json!([]), "{}", orders.body);
}

#[tokio::test]
async fn an_unknown_customer_is_refused_before_anything_is_reserved() {
    let world = World::new().await;
    world.users.users.lock().unwrap().clear();
    let reply = world.place(1).await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    assert_eq!(world.servers[1].faults.count("PUT", "/reservations/"), 0);
}

#[tokio::test]
async fn a_product_service_answering_garbage_places_nothing() {
    let world = World::new().await;
    world.servers[0]
        .faults
        .always("GET /products", Fault::Malformed);
    let reply = world.place(1).await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.body
    );
    assert_eq!(world.inventory.level("MUG"), (5, 0));
    assert!(world.products.products.lock().unwrap().len() == 1);
}

#[tokio::test]
async fn every_call_to_a_service_carries_the_requests_trace() {
    let world = World::new().await;
    let order = world.placed(1).await;
    let paid = world.pay(&order).await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.body);
    let trace_id = &TRACE[3..35];
    for server in &world.servers {
        for seen in server.faults.seen() {
            let sent = seen.traceparent.as_deref().unwrap_or_default();
            assert_eq!(sent.get(3..35), Some(trace_id), "{seen:?}");
            assert_ne!(sent, TRACE, "each call has a parent id of its own");
        }
    }
}

#[tokio::test]
async fn the_compensation_routes_are_for_admins_and_name_what_is_wrong() {
    let world = World::new().await;
    let listed = world
        .call(
            Method::GET,
            "/api/v1/admin/compensations",
            &world.customer_token,
            None,
        )
        .await;
    assert_eq!(listed.status, StatusCode::FORBIDDEN);
    let unknown = world
        .call(
            Method::POST,
            &format!("/api/v1/admin/compensations/{}/resolve", Uuid::now_v7()),
            &world.admin_token,
            Some(json!({})),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.body);
    let bad = world
        .call(
            Method::POST,
            "/api/v1/admin/compensations/not-an-id/resolve",
            &world.admin_token,
            Some(json!({})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    let filter = world
        .call(
            Method::GET,
            "/api/v1/admin/compensations?status=maybe",
            &world.admin_token,
            None,
        )
        .await;
    assert!(filter.status.is_client_error(), "{}", filter.body);
}

#[tokio::test]
async fn every_attempt_is_counted_and_timed_per_service_and_outcome() {
    let world = World::new().await;
    world.servers[2]
        .faults
        .next("GET /users", Fault::Status(503), 1);
    let order = world.placed(1).await;
    assert_eq!(world.pay(&order).await.status, StatusCode::OK);
    let response = world
        .app
        .clone()
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let text = String::from_utf8(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    for line in [
        "external_service_requests_total{service=\"user-service\",outcome=\"server_error\"} 1",
        "external_service_requests_total{service=\"user-service\",outcome=\"success\"} 1",
        "external_service_requests_total{service=\"product-service\",outcome=\"success\"} 1",
        "external_service_requests_total{service=\"inventory-service\",outcome=\"success\"} 2",
        "external_service_requests_total{service=\"payment-service\",outcome=\"success\"} 2",
        "external_service_duration_seconds_count{service=\"payment-service\",outcome=\"success\"} 2",
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
}

#[tokio::test]
async fn the_payment_method_and_token_of_the_checkout_reach_the_payment_service() {
    let world = World::new().await;
    let order = world.placed(1).await;
    let paid = world
        .pay_with(
            &order,
            json!({ "payment_method": "paypal", "payment_token": "tok_from_the_client" }),
        )
        .await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.body);
    assert_eq!(paid.body["payment_method"], "paypal");
    let charged = world.payments.of(&order);
    assert_eq!(charged[0].method.as_deref(), Some("paypal"));
    assert_eq!(charged[0].token.as_deref(), Some("tok_from_the_client"));
    assert!(
        !world
            .order(&order)
            .await
            .to_string()
            .contains("tok_from_the_client"),
        "the token is never kept"
    );
}

#[tokio::test]
async fn a_checkout_body_that_is_wrong_is_refused_naming_the_field_before_any_charge() {
    let world = World::new().await;
    let order = world.placed(1).await;
    let bad = world
        .pay_with(&order, json!({ "payment_method": "" }))
        .await;
    assert!(bad.status.is_client_error(), "{}", bad.body);
    assert!(
        bad.body.to_string().contains("payment_method"),
        "{}",
        bad.body
    );
    let unknown = world.pay_with(&order, json!({ "card": "4242" })).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.body);
    assert!(world.payments_server().faults.seen().is_empty());
}
