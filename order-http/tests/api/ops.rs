//! Health, metrics, the OpenAPI document, the docs and request ids.

use std::sync::Arc;

use axum::http::Method;
use order_core::StoreError;
use order_testkit::mock::MockOrderStore;
use serde_json::{Value, json};

use crate::common::{Setup, TestApp, build};

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
