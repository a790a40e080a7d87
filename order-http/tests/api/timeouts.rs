//! A placement cut off by the request timeout still finishes on its own
//! task, so its idempotency key is completed (or released) at once instead
//! of blocking the client's retry for the whole lease.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use order_core::PortError;
use order_core::ports::{Catalog, Product, ProductKey};
use order_testkit::Harness;
use order_testkit::fakes::FakePaymentGateway;

use crate::common::{Setup, TestApp, build};

/// The demo catalog, whose first answer takes longer than a request may.
struct SlowFirstAnswer {
    demo: Harness,
    answered: AtomicBool,
}

#[async_trait]
impl Catalog for SlowFirstAnswer {
    async fn products(&self, keys: &[ProductKey]) -> Result<Vec<Product>, PortError> {
        if !self.answered.swap(true, Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(400)).await;
        }
        self.demo.catalog.products(keys).await
    }
}

#[tokio::test]
async fn a_placement_cut_off_by_the_request_timeout_is_found_by_its_retry_at_once() {
    let app = TestApp::with(Setup {
        timeout: Duration::from_millis(100),
        catalog: Some(Arc::new(SlowFirstAnswer {
            demo: Harness::default(),
            answered: AtomicBool::new(false),
        })),
        // A real gateway setting puts the engine on Tokio's timer, so the
        // slow answer takes real time.
        gateway: Some(Arc::new(FakePaymentGateway::default())),
        ..Setup::default()
    });
    let body = app.order_body(&[("MUG", 1)]);
    let alice = app.alice();
    let headers = [("idempotency-key", "cut-off-1")];
    let first = app
        .send_raw(build(
            axum::http::Method::POST,
            "/api/v1/orders",
            Some(&alice),
            Some(&body),
            &headers,
        ))
        .await;
    assert!(
        first.status.is_server_error() || first.status.as_u16() == 408,
        "the first answer is cut off: {} {}",
        first.status,
        first.text
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    let started = std::time::Instant::now();
    let retry = app
        .send(build(
            axum::http::Method::POST,
            "/api/v1/orders",
            Some(&alice),
            Some(&body),
            &headers,
        ))
        .await;
    retry.expect(201);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the retry did not wait for the key's lease"
    );
    let orders = app.get("/api/v1/orders", &app.admin()).await;
    assert_eq!(
        orders.expect(200)["orders"].as_array().map(Vec::len),
        Some(1)
    );
}
