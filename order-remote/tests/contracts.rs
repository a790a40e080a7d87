//! Each hand-written contract under docs/integrations/ against the fake
//! server the tests run: every operation of the file reaches a route of the
//! fake (not the router's own 404 or 405), and the fake serves no route the
//! file does not describe. A contract and its fake cannot drift apart
//! unnoticed.

mod support;

use std::sync::Arc;

use support::Server;

/// The `METHOD /path` operations of an OpenAPI file, read from its
/// `paths:` block (two-space indented paths, four-space indented methods).
fn operations(file: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(format!(
        "{}/../docs/integrations/{file}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut in_paths = false;
    let mut path = None;
    let mut found = Vec::new();
    for line in text.lines() {
        if !line.starts_with(' ') {
            in_paths = line == "paths:";
            continue;
        }
        if !in_paths {
            continue;
        }
        if let Some(p) = line.strip_prefix("  /") {
            path = Some(format!("/{}", p.trim_end_matches(':')));
        } else if let Some(method) = line
            .strip_prefix("    ")
            .and_then(|m| m.strip_suffix(':'))
            .filter(|m| ["get", "put", "post", "delete", "patch"].contains(m))
        {
            found.push((method.to_uppercase(), path.clone().unwrap()));
        }
    }
    found
}

/// The path with sample values for its parameters.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                match segment {
                    "{sku}" => "MUG".to_owned(),
                    _ => uuid::Uuid::now_v7().to_string(),
                }
            } else {
                segment.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn reaches_every_operation(file: &str, server: &Server, routes: &[&str]) {
    let operations = operations(file);
    assert_eq!(
        operations.len(),
        routes.len(),
        "{file} describes {operations:?}, the fake serves {routes:?}"
    );
    let client = reqwest::Client::new();
    for (method, path) in &operations {
        let response = client
            .request(
                method.parse().unwrap(),
                format!("{}{}", server.url(), concrete(path)),
            )
            .header("content-type", "application/json")
            .header("idempotency-key", "contract-test")
            .body("{}")
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.bytes().await.unwrap();
        let route_miss = status == 405 || (status == 404 && body.is_empty());
        assert!(
            !route_miss,
            "{file}: {method} {path} is not a route of the fake ({status})"
        );
    }
}

#[tokio::test]
async fn the_product_service_contract_matches_its_fake() {
    let server = support::products::start(Arc::default()).await;
    reaches_every_operation("product-service.yaml", &server, support::products::ROUTES).await;
}

#[tokio::test]
async fn the_user_service_contract_matches_its_fake() {
    let server = support::users::start(Arc::default()).await;
    reaches_every_operation("user-service.yaml", &server, support::users::ROUTES).await;
}

#[tokio::test]
async fn the_inventory_service_contract_matches_its_fake() {
    let server = support::inventory::start(Arc::default()).await;
    reaches_every_operation(
        "inventory-service.yaml",
        &server,
        support::inventory::ROUTES,
    )
    .await;
}

#[tokio::test]
async fn the_payment_service_contract_matches_its_fake() {
    let server = support::payments::start(Arc::default()).await;
    reaches_every_operation("payment-service.yaml", &server, support::payments::ROUTES).await;
}

#[test]
fn a_contract_file_is_read_operation_by_operation() {
    assert_eq!(
        operations("inventory-service.yaml")
            .iter()
            .map(|(m, p)| format!("{m} {p}"))
            .collect::<Vec<_>>(),
        [
            "PUT /reservations/{orderId}",
            "DELETE /reservations/{orderId}",
            "POST /reservations/{orderId}/commit",
            "POST /reservations/{orderId}/restock",
            "GET /inventory/{sku}",
            "PUT /inventory/{sku}",
        ]
    );
}
