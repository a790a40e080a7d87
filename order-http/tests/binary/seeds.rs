//! The seeds' routes on the real binary: kubestock's documented `curl`
//! examples, as written (a JSON body sent with `-d`, which curl labels a
//! form), with the configured default shipping method applied to a body
//! that names none (docs/seed-compat.md).

use std::process::Command;

use order_http::auth::{AuthConfig, Role};

use crate::process::{Scratch, Server, http, stock_product};

const SECRET: &str = "seed-routes-secret";
const CUSTOMER_ID: &str = "0193e6d2-6c1e-7b4e-9a3a-00000000c0de";
const PRODUCT_ID: &str = "0193e6d2-6c1e-7b4e-9a3a-00000000babe";

/// `curl -X POST <url> -d <body>` with a bearer token, as the seed writes
/// it: no content type of its own. (status, body).
fn curl_post_form(url: &str, token: &str, body: &str) -> (u16, String) {
    let output = Command::new("curl")
        .args(["-s", "-o", "-", "-w", "\n%{http_code}", "-X", "POST", url])
        .args(["-H", &format!("Authorization: Bearer {token}"), "-d", body])
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').expect("a status line");
    (
        status.trim().parse().expect("a status code"),
        body.to_owned(),
    )
}

#[test]
fn the_kubestock_examples_run_against_the_binary_with_the_configured_shipping_method() {
    let data = Scratch::new("seed-routes");
    let data_dir = data.path().to_string_lossy().into_owned();
    let server = Server::start(&[
        ("ORDER_DEV", "true"),
        ("ORDER_JWT_SECRET", SECRET),
        ("ORDER_DATA_DIR", data_dir.as_str()),
        ("ORDER_DEFAULT_SHIPPING_METHOD", "express"),
    ]);
    let auth = AuthConfig::hs256(SECRET.as_bytes());
    let admin = auth.mint("admin", Role::Admin, 600).expect("admin token");
    let base = server.base.clone();
    stock_product(&base, &admin, (PRODUCT_ID, "SEED-TEE", "20.00"), 10);

    let body = serde_json::json!({
        "customer_id": CUSTOMER_ID,
        "items": [{"product_id": PRODUCT_ID, "quantity": 1}],
        "shipping_address": {"first_name": "Jo", "last_name": "Doe", "address_line1": "1 Elm St",
            "city": "Portland", "state": "OR", "postal_code": "97201", "country": "US"}
    });
    let (status, created) = curl_post_form(&format!("{base}/orders"), &admin, &body.to_string());
    assert_eq!(status, 201, "{created}");
    let created: serde_json::Value = serde_json::from_str(&created).expect("JSON");
    assert_eq!(created["status"], "PENDING");
    assert_eq!(
        created["shipping_cost"].to_string(),
        "14.99",
        "express, the configured default: {created}"
    );
    let id = created["id"].as_str().expect("an id");

    let (status, shown) = http("GET", &format!("{base}/orders/{id}"), &admin, None);
    assert_eq!(status, 200, "{shown}");
    let (status, pending) = http(
        "GET",
        &format!("{base}/orders/status/PENDING"),
        &admin,
        None,
    );
    assert_eq!(status, 200, "{pending}");
    let pending: serde_json::Value = serde_json::from_str(&pending).expect("JSON");
    assert_eq!(pending["orders"][0]["id"], id);
    server.stop();
}
