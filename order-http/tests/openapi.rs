//! `docs/openapi.json` is the document the service serves, byte for byte.
//! After changing the API, regenerate it with
//! `UPDATE_OPENAPI=1 cargo test -p order-http --test openapi`.

use order_http::openapi::ApiDoc;

#[test]
fn the_committed_openapi_document_matches_the_generated_one() {
    let generated = ApiDoc::json() + "\n";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(path, &generated).expect("writing docs/openapi.json");
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json is stale: run UPDATE_OPENAPI=1 cargo test -p order-http --test openapi"
    );
}

#[test]
fn the_document_is_openapi_3_1_with_every_route() {
    let doc: serde_json::Value = serde_json::from_str(&ApiDoc::json()).expect("valid JSON");
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().expect("paths");
    for path in [
        "/api/v1/orders",
        "/api/v1/orders/{id}",
        "/api/v1/orders/by-number/{number}",
        "/api/v1/orders/{id}/items",
        "/api/v1/orders/{id}/items/{line_id}",
        "/api/v1/orders/{id}/pay",
        "/api/v1/orders/{id}/cancel",
        "/api/v1/orders/{id}/processing",
        "/api/v1/orders/{id}/shipments",
        "/api/v1/orders/{id}/shipments/{shipment_id}/deliver",
        "/api/v1/orders/{id}/complete",
        "/api/v1/orders/{id}/returns",
        "/api/v1/orders/{id}/returns/{return_id}/receive",
        "/api/v1/orders/{id}/refunds",
        "/api/v1/orders/{id}/history",
        "/api/v1/orders/{id}/invoice",
        "/api/v1/orders/{id}/tracking",
        "/api/v1/orders/{id}/dry-run",
        "/api/v1/payments/events",
        "/api/v1/events",
        "/api/v1/reports",
        "/api/v1/products",
        "/api/v1/stock/{sku}",
        "/health",
        "/health/live",
        "/health/ready",
        "/metrics",
    ] {
        assert!(paths.contains_key(path), "missing {path}");
    }
}
