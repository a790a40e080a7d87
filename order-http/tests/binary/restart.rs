//! Durability of the default store: an order placed and paid, the process
//! stopped with SIGTERM and started again on the same data directory, is
//! still there, with its stock; its events were published at once.

use order_http::auth::{AuthConfig, Role};
use serde_json::Value;
use std::time::{Duration, Instant};

use crate::process::{Scratch, Server, http, place_order, repository, stock_product};

const SECRET: &str = "restart-secret";
const CUSTOMER_ID: &str = "0193e6d2-6c1e-7b4e-9a3a-00000000c0de";

/// A production-like start: explicit settings, no `--dev`, no database URL.
fn start(data: &Scratch) -> Server {
    let config = repository().join("config/sample.toml");
    let config = config.to_string_lossy();
    let data_dir = data.path().to_string_lossy();
    Server::start(&[
        ("ORDER_JWT_SECRET", SECRET),
        ("ORDER_PAYMENTS", "simulated"),
        ("ORDER_CONFIG", &config),
        ("ORDER_DATA_DIR", &data_dir),
    ])
}

/// Whether `/metrics` shows `events` events acknowledged by the publisher
/// within `limit`.
fn delivered_within(base: &str, token: &str, events: u64, limit: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        let (_, metrics) = http("GET", &format!("{base}/metrics"), token, None);
        let delivered = metrics
            .lines()
            .find_map(|line| line.strip_prefix("order_events_delivery_seconds_count "))
            .and_then(|count| count.trim().parse::<u64>().ok())
            .unwrap_or(0);
        if delivered >= events {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn json_of(status: u16, body: &str, expected: u16) -> Value {
    assert_eq!(status, expected, "{body}");
    serde_json::from_str(body).expect("a JSON body")
}

#[test]
fn an_order_survives_sigterm_and_a_restart_on_the_default_sqlite_file() {
    let data = Scratch::new("restart");
    let auth = AuthConfig::hs256(SECRET.as_bytes());
    let admin = auth.mint("admin", Role::Admin, 600).expect("a token");
    let customer = auth
        .mint(CUSTOMER_ID, Role::Customer, 600)
        .expect("a token");

    let server = start(&data);
    let base = server.base.clone();
    let product = "0193e6d2-0000-7000-8000-0000000000aa";
    stock_product(&base, &admin, (product, "LAMP", "30.00"), 5);
    let placed = place_order(&base, &customer, product, 2);
    let id = placed["id"].as_str().expect("an id").to_owned();
    let (status, body) = http(
        "POST",
        &format!("{base}/api/v1/orders/{id}/pay"),
        &customer,
        None,
    );
    let paid = json_of(status, &body, 200);
    assert_eq!(paid["status"], "confirmed");
    let version = paid["version"].as_u64().expect("a version");
    assert!(
        delivered_within(&base, &admin, version, Duration::from_secs(5)),
        "the relay published the order's {version} events within 5 s (it runs continuously, not on the 30 s sweep)"
    );
    server.stop();

    let server = start(&data);
    let base = server.base.clone();
    let (status, body) = http(
        "GET",
        &format!("{base}/api/v1/orders/{id}"),
        &customer,
        None,
    );
    let again = json_of(status, &body, 200);
    assert_eq!(again, paid, "the order reads back exactly as acknowledged");
    let (status, body) = http(
        "GET",
        &format!("{base}/api/v1/orders/{id}/history"),
        &customer,
        None,
    );
    let history = json_of(status, &body, 200);
    assert!(
        history["events"].as_array().is_some_and(|e| e.len() >= 4),
        "{history}"
    );
    let (status, body) = http("GET", &format!("{base}/api/v1/stock/LAMP"), &admin, None);
    let stock = json_of(status, &body, 200);
    assert_eq!(
        stock["on_hand"], 3,
        "two units left with the paid order: {stock}"
    );
    server.stop();
}
