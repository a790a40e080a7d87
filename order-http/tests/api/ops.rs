//! Health, metrics, the OpenAPI document, the docs and request ids.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::http::Method;
use chrono::{DateTime, Utc};
use order_core::order::Compensation;
use order_core::ports::{
    Change, FigureGroup, IdempotencyClaim, IdempotencyKey, OrderFigures, OrderPage, OrderQuery,
    OrderStore,
};
use order_core::{EventRecord, Order, OrderId, OrderNumber, StoreError, StoredEvent};
use order_testkit::mock::MockOrderStore;
use serde_json::{Value, json};

use crate::common::{Setup, TestApp, build, path, pay_path};

async fn open(app: &TestApp, uri: &str) -> crate::common::Reply {
    app.send(build(Method::GET, uri, None, None, &[])).await
}

#[tokio::test]
async fn the_health_endpoints_answer_without_a_token() {
    let app = TestApp::new();
    let health = open(&app, "/health").await;
    assert_eq!(health.expect(200), &json!({"status": "ok", "store": "ok"}));
    let live = open(&app, "/health/live").await;
    assert_eq!(live.expect(200), &json!({"status": "ok"}));
    let ready = open(&app, "/health/ready").await;
    assert_eq!(ready.expect(200), &json!({"status": "ok", "store": "ok"}));
}

#[tokio::test]
async fn readiness_fails_while_the_store_does_not_answer_but_liveness_holds() {
    let mut store = MockOrderStore::new();
    store
        .expect_get()
        .returning(|_| Err(StoreError::Unavailable("connection refused".into())));
    let app = TestApp::with(Setup {
        store: Some(Arc::new(store)),
        ..Setup::default()
    });
    for uri in ["/health/ready", "/health"] {
        let reply = app.send_raw(build(Method::GET, uri, None, None, &[])).await;
        assert_eq!(reply.status, 503, "{uri}: {}", reply.text);
        assert_eq!(
            reply.body,
            json!({"status": "unavailable", "store": "unavailable"})
        );
        assert!(!reply.text.contains("refused"), "{}", reply.text);
    }
    let live = open(&app, "/health/live").await;
    assert_eq!(live.expect(200)["status"], "ok");
}

/// A store whose every call waits forever, as a pool does while the
/// database is down and its acquire timeout has not fired yet.
struct HangingStore;

async fn hang<T>() -> T {
    std::future::pending().await
}

#[async_trait]
impl OrderFigures for HangingStore {
    async fn figures(
        &self,
        _: DateTime<Utc>,
        _: DateTime<Utc>,
    ) -> Result<Vec<FigureGroup>, StoreError> {
        hang().await
    }
}

#[async_trait]
impl OrderStore for HangingStore {
    async fn get(&self, _: OrderId) -> Result<Option<Order>, StoreError> {
        hang().await
    }
    async fn get_by_number(&self, _: &OrderNumber) -> Result<Option<Order>, StoreError> {
        hang().await
    }
    async fn commit(&self, _: Change<'_>) -> Result<(), StoreError> {
        hang().await
    }
    async fn list(&self, _: &OrderQuery) -> Result<OrderPage, StoreError> {
        hang().await
    }
    async fn events(&self, _: OrderId) -> Result<Vec<EventRecord>, StoreError> {
        hang().await
    }
    async fn feed(&self, _: u64, _: usize) -> Result<Vec<StoredEvent>, StoreError> {
        hang().await
    }
    async fn unpublished(&self, _: usize) -> Result<Vec<StoredEvent>, StoreError> {
        hang().await
    }
    async fn mark_published(&self, _: &[u64]) -> Result<(), StoreError> {
        hang().await
    }
    async fn claim_idempotency_key(
        &self,
        _: &IdempotencyKey,
        _: &str,
        _: DateTime<Utc>,
        _: Duration,
    ) -> Result<IdempotencyClaim, StoreError> {
        hang().await
    }
    async fn release_idempotency_key(&self, _: &IdempotencyKey) -> Result<(), StoreError> {
        hang().await
    }
    async fn inbound_event_processed(&self, _: &str) -> Result<bool, StoreError> {
        hang().await
    }
    async fn record_compensation(&self, _: &Compensation) -> Result<(), StoreError> {
        hang().await
    }
    async fn compensations(&self) -> Result<Vec<Compensation>, StoreError> {
        hang().await
    }
    async fn resolve_compensation(
        &self,
        _: order_core::CompensationId,
        _: &order_core::order::Resolution,
    ) -> Result<Option<Compensation>, StoreError> {
        hang().await
    }
}

#[tokio::test]
async fn readiness_answers_503_within_a_second_while_the_store_hangs() {
    let app = TestApp::with(Setup {
        store: Some(Arc::new(HangingStore)),
        ..Setup::default()
    });
    for uri in ["/health/ready", "/health"] {
        let started = Instant::now();
        let reply = tokio::time::timeout(
            Duration::from_secs(3),
            app.send_raw(build(Method::GET, uri, None, None, &[])),
        )
        .await
        .unwrap_or_else(|_| panic!("{uri} did not answer within 3 s"));
        let took = started.elapsed();
        assert_eq!(reply.status, 503, "{uri}: {}", reply.text);
        assert_eq!(
            reply.body,
            json!({"status": "unavailable", "store": "unavailable"})
        );
        assert!(
            took < Duration::from_secs(1),
            "{uri} answered after {took:?}"
        );
    }
}

const METRICS: [&str; 8] = [
    "http_request_duration_seconds",
    "http_requests_total",
    "orders_created_total",
    "orders_status_total",
    "order_processing_duration_seconds",
    "external_service_requests_total",
    "external_service_duration_seconds",
    "database_query_duration_seconds",
];

#[tokio::test]
async fn metrics_are_served_in_the_prometheus_format_with_every_metric_name() {
    let app = TestApp::new();
    let order = app.paid().await;
    app.get(
        &format!(
            "/api/v1/orders/{}",
            order["id"].as_str().unwrap_or_default()
        ),
        &app.admin(),
    )
    .await
    .expect(200);
    let reply = open(&app, "/metrics").await;
    reply.expect(200);
    assert!(
        reply
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/plain")),
        "{:?}",
        reply.header("content-type")
    );
    let text = &reply.text;
    for name in METRICS {
        assert!(
            text.contains(&format!("# TYPE {name} ")),
            "{name} missing from\n{text}"
        );
    }
    assert!(
        text.contains(
            "http_requests_total{method=\"POST\",route=\"/api/v1/orders\",status=\"201\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "http_requests_total{method=\"GET\",route=\"/api/v1/orders/{id}\",status=\"200\"}"
        ),
        "labelled by the route template, not the path: {text}"
    );
    assert!(text.contains("orders_created_total 1"), "{text}");
    assert!(
        text.contains("orders_status_total{status=\"confirmed\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("http_request_duration_seconds_bucket{method=\"POST\",route=\"/api/v1/orders\",le=\"+Inf\"} 1"),
        "{text}"
    );
}

/// The value of the series `series` (name and labels, as rendered).
#[track_caller]
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{series} is not a number in\n{text}"))
}

#[tokio::test]
async fn each_seed_metric_counts_exactly_what_happened() {
    let app = TestApp::new();
    let (alice, admin) = (app.alice(), app.admin());
    let body = app.order_body(&[("TSHIRT", 1)]);
    let keyed = || {
        build(
            Method::POST,
            "/api/v1/orders",
            Some(&alice),
            Some(&body),
            &[("idempotency-key", "metrics-1")],
        )
    };
    // A placed with a key, and replayed: one order.
    let a = app.send(keyed()).await.expect(201).clone();
    app.send(keyed()).await.expect(201);
    // A paid 90 s (engine time) after placement; paying again is refused.
    app.harness.clock.advance(chrono::Duration::seconds(90));
    app.post(&pay_path(&a), &alice, &Value::Null)
        .await
        .expect(200);
    app.post(&pay_path(&a), &alice, &Value::Null)
        .await
        .problem(409, "invalid_transition");
    // B placed and paid at once, then cancelled (refunded).
    let b = app.place_with(&alice, &body).await;
    app.post(&pay_path(&b), &alice, &Value::Null)
        .await
        .expect(200);
    app.post(
        &path(&b, "cancel"),
        &admin,
        &json!({"reason": "changed mind"}),
    )
    .await
    .expect(200);
    // C placed, then edited: a change without a status change.
    let c = app.place_with(&alice, &body).await;
    app.post(
        &path(&c, "items"),
        &alice,
        &json!({"product_id": app.product_id("MUG"), "quantity": 1}),
    )
    .await
    .expect(200);

    let text = open(&app, "/metrics").await.text;
    let expected = [
        // A, B, C; the replay created nothing.
        ("orders_created_total", 3.0),
        ("orders_status_total{status=\"pending\"}", 3.0),
        // A and B; the refused second payment confirmed nothing.
        ("orders_status_total{status=\"confirmed\"}", 2.0),
        ("orders_status_total{status=\"cancelled\"}", 1.0),
        // Placement to confirmation: 90 s for A, 0 s for B.
        ("order_processing_duration_seconds_count", 2.0),
        ("order_processing_duration_seconds_sum", 90.0),
        ("order_processing_duration_seconds_bucket{le=\"1\"}", 1.0),
        ("order_processing_duration_seconds_bucket{le=\"60\"}", 1.0),
        ("order_processing_duration_seconds_bucket{le=\"120\"}", 2.0),
        (
            "http_requests_total{method=\"POST\",route=\"/api/v1/orders\",status=\"201\"}",
            4.0,
        ),
        (
            "http_requests_total{method=\"POST\",route=\"/api/v1/orders/{id}/pay\",status=\"200\"}",
            2.0,
        ),
        (
            "http_requests_total{method=\"POST\",route=\"/api/v1/orders/{id}/pay\",status=\"409\"}",
            1.0,
        ),
        (
            "http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/orders\"}",
            4.0,
        ),
        (
            "http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/orders/{id}/pay\"}",
            3.0,
        ),
        // Authorize and capture for A and B, the refund for B.
        (
            "external_service_requests_total{service=\"payment_gateway\",outcome=\"ok\"}",
            5.0,
        ),
        (
            "external_service_duration_seconds_count{service=\"payment_gateway\"}",
            5.0,
        ),
        // Pricing the three placements and C's edit.
        (
            "external_service_requests_total{service=\"catalog\",outcome=\"ok\"}",
            4.0,
        ),
        // Three placements, two per checkout (its start, then the
        // confirmation), the cancellation and the edit.
        (
            "database_query_duration_seconds_count{operation=\"commit\"}",
            9.0,
        ),
    ];
    for (series, expected) in expected {
        assert_eq!(value(&text, series), expected, "{series} in\n{text}");
    }
}

#[tokio::test]
async fn apps_side_by_side_count_apart() {
    let (one, two) = (TestApp::new(), TestApp::new());
    one.place().await;
    one.place().await;
    two.place().await;
    let text = open(&one, "/metrics").await.text;
    assert_eq!(value(&text, "orders_created_total"), 2.0);
    let text = open(&two, "/metrics").await.text;
    assert_eq!(value(&text, "orders_created_total"), 1.0);
}

#[tokio::test]
async fn protected_metrics_need_an_admin_or_service_token() {
    let app = TestApp::with(Setup {
        open_metrics: false,
        ..Setup::default()
    });
    open(&app, "/metrics").await.problem(401, "unauthorized");
    app.get("/metrics", &app.alice())
        .await
        .problem(403, "forbidden");
    for token in [app.admin(), app.service()] {
        let reply = app.get("/metrics", &token).await;
        reply.expect(200);
        assert!(reply.text.contains("http_requests_total"));
    }
}

#[tokio::test]
async fn the_openapi_document_is_openapi_3_1_with_every_path() {
    let app = TestApp::new();
    let reply = open(&app, "/openapi.json").await;
    reply.expect(200);
    assert!(
        reply
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json"))
    );
    let doc: Value = serde_json::from_str(&reply.text).expect("valid JSON");
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1.")),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().expect("paths");
    for (path, method) in [
        ("/api/v1/orders", "post"),
        ("/api/v1/orders", "get"),
        ("/api/v1/orders/{id}", "get"),
        ("/api/v1/orders/{id}", "patch"),
        ("/api/v1/orders/by-number/{number}", "get"),
        ("/api/v1/orders/{id}/items", "get"),
        ("/api/v1/orders/{id}/items", "post"),
        ("/api/v1/orders/{id}/items/{line_id}", "patch"),
        ("/api/v1/orders/{id}/items/{line_id}", "delete"),
        ("/api/v1/orders/{id}/pay", "post"),
        ("/api/v1/orders/{id}/cancel", "post"),
        ("/api/v1/orders/{id}/processing", "post"),
        ("/api/v1/orders/{id}/shipments", "post"),
        (
            "/api/v1/orders/{id}/shipments/{shipment_id}/deliver",
            "post",
        ),
        ("/api/v1/orders/{id}/complete", "post"),
        ("/api/v1/orders/{id}/returns", "post"),
        ("/api/v1/orders/{id}/returns/{return_id}/receive", "post"),
        ("/api/v1/orders/{id}/refunds", "post"),
        ("/api/v1/orders/{id}/history", "get"),
        ("/api/v1/orders/{id}/invoice", "get"),
        ("/api/v1/orders/{id}/tracking", "get"),
        ("/api/v1/orders/{id}/dry-run", "post"),
        ("/api/v1/payments/events", "post"),
        ("/api/v1/events", "get"),
        ("/api/v1/reports", "get"),
        ("/api/v1/products", "post"),
        ("/api/v1/products", "get"),
        ("/api/v1/stock/{sku}", "get"),
        ("/api/v1/stock/{sku}", "put"),
        ("/health", "get"),
        ("/health/live", "get"),
        ("/health/ready", "get"),
        ("/metrics", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is not documented"
        );
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert!(doc["components"]["schemas"]["Problem"].is_object());
}

#[tokio::test]
async fn the_interactive_docs_are_served_from_vendored_assets() {
    let app = TestApp::new();
    for uri in ["/docs", "/docs/"] {
        let page = open(&app, uri).await;
        page.expect(200);
        assert!(
            page.header("content-type")
                .is_some_and(|c| c.starts_with("text/html"))
        );
        assert!(page.text.contains("swagger-ui"), "{}", page.text);
        assert!(
            !page.text.contains("http://") && !page.text.contains("https://"),
            "nothing is fetched from elsewhere: {}",
            page.text
        );
    }
    let init = open(&app, "/docs/init.js").await;
    init.expect(200);
    assert!(init.text.contains("/openapi.json"));
    for (uri, kind) in [
        ("/docs/swagger-ui-bundle.js", "javascript"),
        ("/docs/swagger-ui.css", "css"),
    ] {
        let asset = open(&app, uri).await;
        asset.expect(200);
        assert!(
            asset
                .header("content-type")
                .is_some_and(|c| c.contains(kind)),
            "{uri}"
        );
        assert!(asset.text.len() > 10_000, "{uri} is the real asset");
    }
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_a_given_one_is_kept() {
    let app = TestApp::new();
    let made = open(&app, "/health/live").await;
    let id = made.header("x-request-id").expect("a request id");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    let kept = app
        .send(build(
            Method::GET,
            "/api/v1/orders/nope",
            Some(&app.admin()),
            None,
            &[("x-request-id", "trace-abc-123")],
        ))
        .await;
    kept.problem(400, "malformed_request");
    assert_eq!(kept.header("x-request-id"), Some("trace-abc-123"));
    let unknown = app
        .send(build(
            Method::GET,
            "/nowhere",
            None,
            None,
            &[("x-request-id", "trace-404")],
        ))
        .await;
    unknown.problem(404, "not_found");
    assert_eq!(unknown.header("x-request-id"), Some("trace-404"));
}

#[tokio::test]
async fn a_request_over_the_time_limit_is_a_503_problem() {
    let gateway = Arc::new(crate::events::GatedGateway::default());
    let app = TestApp::with(Setup {
        gateway: Some(gateway.clone()),
        timeout: std::time::Duration::from_millis(200),
        ..Setup::default()
    });
    let order = app.place().await;
    gateway.hold();
    let reply = app
        .send_raw(build(
            Method::POST,
            &format!(
                "/api/v1/orders/{}/pay",
                order["id"].as_str().unwrap_or_default()
            ),
            Some(&app.alice()),
            None,
            &[],
        ))
        .await;
    reply.problem(503, "dependency_unavailable");
    assert!(reply.header("x-request-id").is_some());
}
