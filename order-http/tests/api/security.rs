//! Browser-facing protections: every response carries the security headers
//! (a strict Content-Security-Policy for the API, one that lets Swagger UI
//! run for /docs), and CORS answers only the configured origins.

use axum::body::Body;
use axum::http::{HeaderValue, Method, Request};

use crate::common::{Setup, TestApp};

const HEADERS: [(&str, &str); 5] = [
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-opener-policy", "same-origin"),
    ("x-permitted-cross-domain-policies", "none"),
];

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::new();
    let admin = app.admin();
    for path in [
        "/api/v1/products",
        "/health",
        "/api/v1/nowhere",
        "/openapi.json",
    ] {
        let reply = app.get(path, &admin).await;
        for (name, value) in HEADERS {
            assert_eq!(reply.header(name), Some(value), "{path}: {name}");
        }
        let policy = reply.header("content-security-policy").unwrap_or_default();
        assert!(policy.starts_with("default-src 'none'"), "{path}: {policy}");
    }
    let docs = app.get("/docs", &admin).await;
    let policy = docs.header("content-security-policy").unwrap_or_default();
    assert!(
        policy.contains("script-src 'self'") && !policy.contains("'unsafe-eval'"),
        "/docs runs its own scripts only: {policy}"
    );
}

fn preflight(origin: &str) -> Request<Body> {
    Request::builder()
        .method(Method::OPTIONS)
        .uri("/api/v1/orders")
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type, idempotency-key",
        )
        .body(Body::empty())
        .expect("a request")
}

#[tokio::test]
async fn cors_answers_the_configured_origins_only() {
    let app = TestApp::with(Setup {
        cors_origins: vec![HeaderValue::from_static("https://shop.example")],
        ..Setup::default()
    });
    let allowed = app.send_raw(preflight("https://shop.example")).await;
    assert!(allowed.status.as_u16() < 300, "{}", allowed.status);
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("https://shop.example")
    );
    let methods = allowed
        .header("access-control-allow-methods")
        .unwrap_or_default();
    assert!(methods.contains("POST"), "{methods}");

    let refused = app.send_raw(preflight("https://evil.example")).await;
    assert!(refused.header("access-control-allow-origin").is_none());

    let simple = app
        .send_raw(
            Request::builder()
                .uri("/health")
                .header("origin", "https://shop.example")
                .body(Body::empty())
                .expect("a request"),
        )
        .await;
    assert_eq!(
        simple.header("access-control-allow-origin"),
        Some("https://shop.example")
    );
}

#[tokio::test]
async fn without_configured_origins_no_cors_headers_are_sent() {
    let app = TestApp::new();
    let reply = app.send_raw(preflight("https://shop.example")).await;
    assert!(reply.header("access-control-allow-origin").is_none());
}
