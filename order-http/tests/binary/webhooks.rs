//! Webhooks end to end through the binary on its default SQLite file: an
//! admin subscribes a receiver; an order placed and paid reaches it signed
//! per Standard Webhooks; a delivery the receiver refused until its window
//! closed is failed, visible with its attempts through the API, and an
//! admin's redelivery brings it home.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use order_core::WebhookSecret;
use order_http::auth::{AuthConfig, Role};
use order_webhooks::signature::verify;
use serde_json::{Value, json};

use crate::process::{Scratch, Server, http, place_order, repository, stock_product};

const SECRET: &str = "webhooks-secret";
const CUSTOMER_ID: &str = "0193e6d2-6c1e-7b4e-9a3a-00000000beef";

/// One request a receiver got: lower-cased headers and the body.
type Received = (HashMap<String, String>, Vec<u8>);

/// An HTTP receiver on a thread: it records every request and answers 204,
/// or 500 while `refusing`.
struct Receiver {
    url: String,
    seen: Arc<Mutex<Vec<Received>>>,
    refusing: Arc<AtomicBool>,
}

impl Receiver {
    fn start(refusing: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
        let url = format!(
            "http://{}/hooks",
            listener.local_addr().expect("an address")
        );
        let seen = Arc::new(Mutex::new(Vec::new()));
        let refusing = Arc::new(AtomicBool::new(refusing));
        let (log, refuse) = (seen.clone(), refusing.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream);
                let mut headers = HashMap::new();
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':') {
                        headers.insert(name.trim().to_lowercase(), value.trim().to_owned());
                    }
                }
                let length = headers
                    .get("content-length")
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                log.lock().expect("the log").push((headers, body));
                let status = if refuse.load(Ordering::SeqCst) {
                    "500 Internal Server Error"
                } else {
                    "204 No Content"
                };
                let mut stream = reader.into_inner();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        Self {
            url,
            seen,
            refusing,
        }
    }

    /// The requests so far, once `count` arrived (within 15 s).
    fn wait_for(&self, count: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let seen = self.seen.lock().expect("the log").clone();
            if seen.len() >= count {
                return seen;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {count} requests arrived",
                seen.len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn json_of(status: u16, body: &str, expected: u16) -> Value {
    assert_eq!(status, expected, "{body}");
    serde_json::from_str(body).expect("a JSON body")
}

#[test]
fn a_subscribed_receiver_gets_signed_messages_and_a_failed_delivery_is_sent_again() {
    let data = Scratch::new("webhooks");
    let config = repository().join("config/sample.toml");
    let (config, data_dir) = (config.to_string_lossy(), data.path().to_string_lossy());
    // A one-second window: a refused delivery fails after its first attempt.
    let server = Server::start(&[
        ("ORDER_JWT_SECRET", SECRET),
        ("ORDER_PAYMENTS", "simulated"),
        ("ORDER_CONFIG", &config),
        ("ORDER_DATA_DIR", &data_dir),
        ("ORDER_WEBHOOK_RETRY_WINDOW_SECS", "1"),
    ]);
    let base = server.base.clone();
    let auth = AuthConfig::hs256(SECRET.as_bytes());
    let admin = auth.mint("admin", Role::Admin, 600).expect("a token");
    let customer = auth
        .mint(CUSTOMER_ID, Role::Customer, 600)
        .expect("a token");

    let happy = Receiver::start(false);
    let grumpy = Receiver::start(true);
    let subscribe = |url: &str, types: Value| {
        let (status, body) = http(
            "POST",
            &format!("{base}/api/v1/webhooks"),
            &admin,
            Some(&json!({"url": url, "event_types": types}).to_string()),
        );
        json_of(status, &body, 201)
    };
    let happy_subscription = subscribe(&happy.url, json!(["order.created", "order.confirmed"]));
    let grumpy_subscription = subscribe(&grumpy.url, json!(["order.created"]));

    let product = "0193e6d2-0000-7000-8000-0000000000bb";
    stock_product(&base, &admin, (product, "KETTLE", "40.00"), 5);
    let placed = place_order(&base, &customer, product, 1);
    let id = placed["id"].as_str().expect("an id").to_owned();
    let (status, body) = http(
        "POST",
        &format!("{base}/api/v1/orders/{id}/pay"),
        &customer,
        None,
    );
    json_of(status, &body, 200);

    let secret = WebhookSecret::parse(happy_subscription["secret"].as_str().expect("a secret"))
        .expect("a valid secret");
    let received = happy.wait_for(2);
    let types: Vec<&str> = received
        .iter()
        .map(|(h, _)| h["ce-type"].as_str())
        .collect();
    assert_eq!(types, ["order.created", "order.confirmed"]);
    for (headers, body) in &received {
        let timestamp: i64 = headers["webhook-timestamp"].parse().expect("a timestamp");
        assert!(verify(
            &secret,
            &headers["webhook-id"],
            timestamp,
            body,
            &headers["webhook-signature"]
        ));
        let message: Value = serde_json::from_slice(body).expect("JSON");
        assert_eq!(message["orderId"], id.as_str());
        assert_eq!(message["userId"], CUSTOMER_ID);
    }

    // The grumpy receiver refused its one delivery; its window closed.
    grumpy.wait_for(1);
    let grumpy_id = grumpy_subscription["id"].as_str().expect("an id");
    let deadline = Instant::now() + Duration::from_secs(15);
    let failed = loop {
        let (status, body) = http(
            "GET",
            &format!("{base}/api/v1/webhooks/{grumpy_id}/deliveries?state=failed"),
            &admin,
            None,
        );
        let list = json_of(status, &body, 200);
        if let Some(delivery) = list["deliveries"].get(0) {
            break delivery.clone();
        }
        assert!(Instant::now() < deadline, "the delivery never failed");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(failed["last_status"], 500);
    let delivery_id = failed["id"].as_str().expect("an id");
    let (status, body) = http(
        "GET",
        &format!("{base}/api/v1/webhook-deliveries/{delivery_id}"),
        &admin,
        None,
    );
    let detail = json_of(status, &body, 200);
    assert_eq!(detail["attempts"][0]["status"], 500);
    assert_eq!(detail["body"]["orderId"], id.as_str());

    grumpy.refusing.store(false, Ordering::SeqCst);
    let (status, body) = http(
        "POST",
        &format!("{base}/api/v1/webhook-deliveries/{delivery_id}/redeliver"),
        &admin,
        None,
    );
    assert_eq!(json_of(status, &body, 200)["delivery"]["state"], "pending");
    let again = grumpy.wait_for(2);
    assert_eq!(
        again[1].0["webhook-id"], again[0].0["webhook-id"],
        "the same message"
    );
    server.stop();
}
