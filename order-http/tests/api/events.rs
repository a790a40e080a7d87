//! The payment webhook and the event feed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use axum::http::Method;
use order_core::ports::{PaymentGateway, PaymentRequest};
use order_core::{GatewayReference, Money, PaymentError};
use order_http::auth::{AuthConfig, sign};
use order_testkit::Fault;
use order_testkit::fakes::FakePaymentGateway;
use serde_json::{Value, json};
use tokio::sync::{Notify, Semaphore};

use crate::common::{SECRET, Setup, TestApp, WEBHOOK_SECRET, build, id_of, path, pay_path, raw};

const WEBHOOK: &str = "/api/v1/payments/events";

fn processed(order: &Value, event_id: &str) -> Value {
    json!({
        "id": event_id,
        "type": "payment.processed",
        "order_id": order["id"],
        "amount": order["totals"]["total"],
        "reference": format!("ch_{event_id}"),
    })
}

/// Posts `event` signed with `secret` and no token.
async fn signed(app: &TestApp, secret: &[u8], event: &Value) -> crate::common::Reply {
    let body = serde_json::to_vec(event).expect("JSON");
    let signature = sign(secret, &body);
    app.send(
        axum::http::Request::builder()
            .method(Method::POST)
            .uri(WEBHOOK)
            .header("content-type", "application/json")
            .header("x-signature", signature)
            .body(axum::body::Body::from(body))
            .expect("a request"),
    )
    .await
}

#[tokio::test]
async fn a_payment_processed_event_confirms_a_pending_order() {
    let app = TestApp::new();
    let order = app.place().await;
    let reply = app
        .post(WEBHOOK, &app.service(), &processed(&order, "evt_1"))
        .await;
    let paid = reply.expect(200);
    assert_eq!(paid["status"], "confirmed");
    assert_eq!(paid["payment_status"], "paid");
    assert_eq!(paid["payments"]["captured"], order["totals"]["total"]);
    let entries = paid["payments"]["entries"].as_array().expect("entries");
    assert!(
        entries
            .iter()
            .any(|e| e["kind"] == "capture" && e["reference"] == "ch_evt_1"),
        "{paid}"
    );
    let history = app.get(&path(&order, "history"), &app.admin()).await;
    let history = history.expect(200);
    let last = history["events"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["type"] == "order.payment_succeeded"))
        .expect("a payment event");
    assert_eq!(last["actor"], "service:fulfilment");
}

#[tokio::test]
async fn a_payment_refunded_event_records_the_refund() {
    let app = TestApp::new();
    let order = app.paid().await;
    let event = json!({
        "id": "evt_refund_1", "type": "payment.refunded", "order_id": order["id"],
        "amount": "5.00", "reference": "re_1",
    });
    let reply = app.post(WEBHOOK, &app.service(), &event).await;
    let refunded = reply.expect(200);
    assert_eq!(refunded["payment_status"], "partially_refunded");
    assert_eq!(refunded["payments"]["refunded"], "5.00");
    assert_eq!(refunded["status"], "confirmed");
}

#[tokio::test]
async fn a_repeated_event_id_is_applied_once() {
    let app = TestApp::new();
    let order = app.place().await;
    let service = app.service();
    let event = processed(&order, "evt_dup");
    let first = app.post(WEBHOOK, &service, &event).await;
    first.expect(200);
    let second = app.post(WEBHOOK, &service, &event).await;
    second.expect(200);
    assert_eq!(second.body, first.body, "the same answer");

    let refund = json!({
        "id": "evt_refund_dup", "type": "payment.refunded", "order_id": order["id"],
        "amount": "1.00", "reference": "re_dup",
    });
    for _ in 0..3 {
        app.post(WEBHOOK, &service, &refund).await.expect(200);
    }
    let now = app.fetch(&order).await;
    assert_eq!(now["payments"]["refunded"], "1.00", "refunded once");
    let kinds: Vec<&Value> = now["payments"]["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| &e["kind"])
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "capture").count(),
        1,
        "{kinds:?}"
    );
    let feed = app.get("/api/v1/events?limit=500", &app.admin()).await;
    let refunds = feed.expect(200)["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["type"] == "order.refunded")
        .count();
    assert_eq!(refunds, 1);
}

#[tokio::test]
async fn a_webhook_with_a_valid_hmac_signature_needs_no_token() {
    let app = TestApp::new();
    let order = app.place().await;
    let reply = signed(&app, WEBHOOK_SECRET, &processed(&order, "evt_signed")).await;
    let paid = reply.expect(200);
    assert_eq!(paid["status"], "confirmed");
    let history = app.get(&path(&order, "history"), &app.admin()).await;
    assert!(
        history.expect(200)["events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["actor"] == "service:payment-webhook"),
        "{}",
        history.text
    );
}

#[tokio::test]
async fn a_webhook_with_a_bad_signature_or_none_is_401() {
    let app = TestApp::new();
    let order = app.place().await;
    let event = processed(&order, "evt_forged");
    let body = serde_json::to_vec(&event).expect("JSON");
    let other_body = serde_json::to_vec(&processed(&order, "evt_other")).expect("JSON");
    let tampered = sign(WEBHOOK_SECRET, &other_body);
    let wrong_secret = sign(b"someone else's secret", &body);
    let md5 = format!("md5={}", "0".repeat(32));
    for signature in [
        Some(tampered.as_str()),
        Some(wrong_secret.as_str()),
        Some("sha256=not-hex"),
        Some(md5.as_str()),
        Some("sha256="),
        None,
    ] {
        let mut headers = vec![("content-type", "application/json")];
        if let Some(signature) = signature {
            headers.push(("x-signature", signature));
        }
        let mut request = raw(Method::POST, WEBHOOK, None, None, body.clone());
        for (name, value) in headers {
            request
                .headers_mut()
                .insert(name, value.parse().expect("a header value"));
        }
        let reply = app.send(request).await;
        assert_eq!(reply.status, 401, "{signature:?}: {}", reply.text);
        reply.problem(401, "unauthorized");
    }
    assert_eq!(
        app.fetch(&order).await["status"],
        "pending",
        "nothing applied"
    );
}

#[tokio::test]
async fn without_a_webhook_secret_only_a_service_token_is_accepted() {
    let app = TestApp::with(Setup {
        auth: AuthConfig::hs256(SECRET),
        ..Setup::default()
    });
    let order = app.place().await;
    let event = processed(&order, "evt_no_secret");
    let reply = signed(&app, WEBHOOK_SECRET, &event).await;
    reply.problem(401, "unauthorized");
    app.post(WEBHOOK, &app.service(), &event).await.expect(200);
}

#[tokio::test]
async fn a_webhook_event_that_does_not_fit_is_a_client_error() {
    let app = TestApp::new();
    let order = app.place().await;
    let service = app.service();
    let mut wrong_amount = processed(&order, "evt_amount");
    wrong_amount["amount"] = json!("0.01");
    app.post(WEBHOOK, &service, &wrong_amount)
        .await
        .problem(422, "amount_rejected");

    let mut bad_money = processed(&order, "evt_money");
    bad_money["amount"] = json!("lots");
    let problem = app.post(WEBHOOK, &service, &bad_money).await;
    assert_eq!(problem.problem(422, "validation_failed")["field"], "amount");

    let mut no_amount = processed(&order, "evt_no_amount");
    no_amount.as_object_mut().expect("object").remove("amount");
    let problem = app.post(WEBHOOK, &service, &no_amount).await;
    assert_eq!(problem.problem(422, "validation_failed")["field"], "amount");

    let mut kind = processed(&order, "evt_kind");
    kind["type"] = json!("payment.teleported");
    let problem = app.post(WEBHOOK, &service, &kind).await;
    assert_eq!(problem.problem(422, "validation_failed")["field"], "type");

    let mut unknown = processed(&order, "evt_unknown");
    unknown["order_id"] = json!("0190aaaa-0000-7000-8000-000000000001");
    app.post(WEBHOOK, &service, &unknown)
        .await
        .problem(404, "order_not_found");

    app.send(
        axum::http::Request::builder()
            .method(Method::POST)
            .uri(WEBHOOK)
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {service}"))
            .body(axum::body::Body::from("{\"type\": "))
            .expect("a request"),
    )
    .await
    .problem(400, "malformed_request");

    // None of these changed the order; the right event still applies, and
    // fields the engine does not know are ignored.
    assert_eq!(app.fetch(&order).await["version"], order["version"]);
    let mut extra = processed(&order, "evt_amount");
    extra["surprise"] = json!(true);
    app.post(WEBHOOK, &service, &extra).await.expect(200);
}

/// Posts `body` as a CloudEvents binary-mode event of `event_type`, with a
/// service token.
async fn cloud_event(app: &TestApp, event_type: &str, body: &Value) -> crate::common::Reply {
    app.send(
        axum::http::Request::builder()
            .method(Method::POST)
            .uri(WEBHOOK)
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {}", app.service()))
            .header("ce-specversion", "1.0")
            .header("ce-type", event_type)
            .header("ce-source", "/payment-service")
            .body(axum::body::Body::from(
                serde_json::to_vec(body).expect("JSON"),
            ))
            .expect("a request"),
    )
    .await
}

/// The payment service's documented body (order-management-domain-contracts),
/// its amount a JSON number.
fn seed_body(order: &Value, payment_id: &str, transaction_id: &str) -> Value {
    let total: f64 = order["totals"]["total"]
        .as_str()
        .expect("a decimal string")
        .parse()
        .expect("a number");
    json!({
        "paymentId": payment_id,
        "orderId": order["id"],
        "userId": order["customer_id"],
        "amount": total,
        "currency": order["currency"],
        "paymentMethod": "credit_card",
        "transactionId": transaction_id,
        "processedAt": "2024-01-31T10:05:00Z",
    })
}

#[tokio::test]
async fn the_payment_services_documented_bodies_confirm_and_refund_an_order() {
    let app = TestApp::new();
    let order = app.place().await;
    let reply = cloud_event(
        &app,
        "payment.processed",
        &seed_body(&order, "pay-1", "ext-12345"),
    )
    .await;
    let confirmed = reply.expect(200);
    assert_eq!(confirmed["status"], "confirmed");
    assert_eq!(confirmed["payments"]["captured"], order["totals"]["total"]);

    // The same transaction reported again under another payment id is not
    // captured twice.
    let reply = cloud_event(
        &app,
        "payment.processed",
        &seed_body(&order, "pay-1-retry", "ext-12345"),
    )
    .await;
    let again = reply.expect(200);
    assert_eq!(again["version"], confirmed["version"]);

    let mut refund = seed_body(&order, "pay-1", "ext-refund-1");
    refund["amount"] = json!(1);
    let reply = cloud_event(&app, "payment.refunded", &refund).await;
    let refunded = reply.expect(200);
    assert_eq!(refunded["payments"]["refunded"], "1.00");

    let mut wrong_currency = seed_body(&order, "pay-2", "ext-2");
    wrong_currency["currency"] = json!("EUR");
    let problem = cloud_event(&app, "payment.refunded", &wrong_currency).await;
    assert_eq!(
        problem.problem(422, "validation_failed")["field"],
        "currency"
    );
}

#[tokio::test]
async fn the_payment_services_failure_body_fails_the_order_and_needs_its_type() {
    let app = TestApp::new();
    let order = app.place().await;
    let failure = json!({
        "paymentId": "pay-9",
        "orderId": order["id"],
        "userId": order["customer_id"],
        "amount": 99.99,
        "currency": order["currency"],
        "failureReason": "Insufficient funds",
        "failureCode": "INSUFFICIENT_FUNDS",
        "failedAt": "2024-01-31T10:05:00Z",
    });
    let untyped = app.post(WEBHOOK, &app.service(), &failure).await;
    assert_eq!(untyped.problem(422, "validation_failed")["field"], "type");
    let reply = cloud_event(&app, "payment.failed", &failure).await;
    let failed = reply.expect(200);
    assert_eq!(failed["payment_status"], "failed");
}

/// `payment.failed` for an order whose payment never started is recorded
/// like `payment.processed` for it would be: as the provider's attempt, here
/// a failed one. (Before: 409 for the failure, 200 for the capture.)
#[tokio::test]
async fn a_payment_failed_event_for_an_unpaid_order_records_the_failure() {
    let app = TestApp::new();
    let order = app.place().await;
    let failed = json!({
        "id": "evt_failed_unpaid", "type": "payment.failed", "order_id": order["id"],
        "code": "card_declined", "reason": "declined by the issuer",
    });
    let reply = app.post(WEBHOOK, &app.service(), &failed).await;
    let recorded = reply.expect(200);
    assert_eq!(recorded["status"], "pending");
    assert_eq!(recorded["payment_status"], "failed");
    let again = app.post(WEBHOOK, &app.service(), &failed).await;
    assert_eq!(again.expect(200)["version"], recorded["version"]);

    let paid = app
        .post(&pay_path(&order), &app.alice(), &Value::Null)
        .await;
    assert_eq!(paid.expect(200)["payment_status"], "paid");
}

/// `payment.refunded` echoing a refund the engine made (the same gateway
/// reference, another event id) books nothing. (Before: refunded 8.00 for
/// one 4.00 refund.)
#[tokio::test]
async fn a_refund_event_echoing_the_engines_own_refund_books_nothing() {
    let app = TestApp::new();
    let order = app.paid().await;
    let refunded = app
        .post(
            &path(&order, "refunds"),
            &app.admin(),
            &json!({"amount": "4.00", "reason": "goodwill"}),
        )
        .await;
    let refunded = refunded.expect(201).clone();
    assert_eq!(refunded["payments"]["refunded"], "4.00");
    let reference = refunded["payments"]["entries"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["kind"] == "refund"))
        .map(|e| e["reference"].clone())
        .expect("the refund's reference");
    let echo = json!({
        "id": "evt_refund_echo", "type": "payment.refunded", "order_id": order["id"],
        "amount": "4.00", "reference": reference,
    });
    let reply = app.post(WEBHOOK, &app.service(), &echo).await;
    let answered = reply.expect(200);
    assert_eq!(answered["payments"]["refunded"], "4.00", "{answered}");
    assert_eq!(answered["version"], refunded["version"]);
}

/// `payment.processed` echoing the engine's own capture of a paid order
/// answers the order. (Before: 409.)
#[tokio::test]
async fn a_processed_event_echoing_the_engines_own_capture_answers_the_order() {
    let app = TestApp::new();
    let order = app.paid().await;
    let capture = order["payments"]["entries"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["kind"] == "capture"))
        .map(|e| e["reference"].clone())
        .expect("the capture's reference");
    let echo = json!({
        "id": "evt_capture_echo", "type": "payment.processed", "order_id": order["id"],
        "amount": order["totals"]["total"], "reference": capture,
    });
    let reply = app.post(WEBHOOK, &app.service(), &echo).await;
    let answered = reply.expect(200);
    assert_eq!(answered["version"], order["version"]);
    assert_eq!(answered["payments"]["captured"], order["totals"]["total"]);
}

/// A gateway whose authorizations can be held until released.
pub(crate) struct GatedGateway {
    inner: FakePaymentGateway,
    armed: AtomicBool,
    entered: Notify,
    release: Semaphore,
}

impl GatedGateway {
    /// Holds the next authorization until [`GatedGateway::release`] has a
    /// permit.
    pub(crate) fn hold(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }
}

impl Default for GatedGateway {
    fn default() -> Self {
        Self {
            inner: FakePaymentGateway::default(),
            armed: AtomicBool::new(false),
            entered: Notify::new(),
            release: Semaphore::new(0),
        }
    }
}

#[async_trait]
impl PaymentGateway for GatedGateway {
    async fn authorize(&self, request: &PaymentRequest) -> Result<GatewayReference, PaymentError> {
        if self.armed.swap(false, Ordering::SeqCst) {
            self.entered.notify_one();
            self.release
                .acquire()
                .await
                .map_err(|_| PaymentError::Port(order_core::PortError::Timeout))?
                .forget();
        }
        self.inner.authorize(request).await
    }
    async fn capture(
        &self,
        authorization: &GatewayReference,
        amount: Money,
        idempotency_key: &str,
    ) -> Result<GatewayReference, PaymentError> {
        self.inner
            .capture(authorization, amount, idempotency_key)
            .await
    }
    async fn void(
        &self,
        authorization: &GatewayReference,
        idempotency_key: &str,
    ) -> Result<GatewayReference, PaymentError> {
        self.inner.void(authorization, idempotency_key).await
    }
    async fn refund(
        &self,
        capture: &GatewayReference,
        amount: Money,
        idempotency_key: &str,
    ) -> Result<GatewayReference, PaymentError> {
        self.inner.refund(capture, amount, idempotency_key).await
    }
}

#[tokio::test]
async fn a_payment_failed_event_fails_the_attempt_in_flight() {
    let gateway = Arc::new(GatedGateway::default());
    let app = TestApp::with(Setup {
        gateway: Some(gateway.clone()),
        ..Setup::default()
    });
    let order = app.place().await;
    // A first, declined attempt releases the stock, so the retry records
    // its start before calling the gateway.
    gateway.inner.faults().next("authorize", Fault::Decline, 1);
    app.post(&pay_path(&order), &app.alice(), &Value::Null)
        .await
        .problem(402, "payment_declined");

    gateway.hold();
    let paying = app.spawn(build(
        Method::POST,
        &pay_path(&order),
        Some(&app.alice()),
        None,
        &[],
    ));
    tokio::time::timeout(Duration::from_secs(5), gateway.entered.notified())
        .await
        .expect("the attempt reached the gateway");
    assert_eq!(app.fetch(&order).await["payment_status"], "pending");

    let event = json!({
        "id": "evt_failed_1", "type": "payment.failed", "order_id": order["id"],
        "code": "insufficient_funds", "reason": "the card has no funds",
    });
    let reply = app.post(WEBHOOK, &app.service(), &event).await;
    let failed = reply.expect(200);
    assert_eq!(failed["status"], "pending");
    assert_eq!(failed["payment_status"], "failed");

    gateway.release.add_permits(1);
    let paid = tokio::time::timeout(Duration::from_secs(5), paying)
        .await
        .expect("the payment finished")
        .expect("the task ran");
    assert!(
        !paid.status.is_server_error(),
        "the late answer is not a server error: {} {}",
        paid.status,
        paid.text
    );
    let now = app.fetch(&order).await;
    assert_eq!(now["status"], "pending", "{now}");
    assert_eq!(now["payment_status"], "failed");
    let kept = gateway.inner.net_captured().is_none_or(|m| m.is_zero());
    assert!(kept, "no money kept for a failed attempt");
}

/// Every event of the feed, read `limit` at a time.
async fn read_feed(app: &TestApp, token: &str, limit: usize) -> (Vec<Value>, usize) {
    let mut after = 0u64;
    let mut events = Vec::new();
    let mut pages = 0;
    loop {
        let reply = app
            .get(
                &format!("/api/v1/events?after={after}&limit={limit}"),
                token,
            )
            .await;
        let page = reply.expect(200);
        let batch = page["events"].as_array().expect("events").clone();
        let next = page["next_after"].as_u64().expect("next_after");
        pages += 1;
        if batch.is_empty() {
            assert_eq!(next, after, "an empty page keeps the position");
            return (events, pages);
        }
        assert!(batch.len() <= limit);
        assert_eq!(
            batch.last().and_then(|e| e["position"].as_u64()),
            Some(next)
        );
        after = next;
        events.extend(batch);
    }
}

#[tokio::test]
async fn the_event_feed_pages_in_commit_order_after_a_position() {
    let app = TestApp::new();
    let first = app.paid().await;
    let second = app.place().await;
    let admin = app.admin();

    let (events, pages) = read_feed(&app, &admin, 2).await;
    assert!(pages > 2, "{pages} pages");
    let positions: Vec<u64> = events
        .iter()
        .map(|e| e["position"].as_u64().expect("position"))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    let ids: std::collections::HashSet<&str> = events
        .iter()
        .map(|e| e["id"].as_str().expect("event id"))
        .collect();
    assert_eq!(ids.len(), events.len(), "each event once");
    let of = |order: &Value| {
        events
            .iter()
            .filter(|e| e["order_id"].as_str() == Some(id_of(order)))
            .count()
    };
    for order in [&first, &second] {
        let history = app.get(&path(order, "history"), &admin).await;
        assert_eq!(
            history.expect(200)["events"].as_array().map(Vec::len),
            Some(of(order)),
            "the feed holds every event of the order's timeline"
        );
    }
    assert_eq!(events[0]["type"], "order.created");
    assert!(events.iter().any(|e| e["type"] == "order.confirmed"));

    let (all_at_once, pages) = read_feed(&app, &app.service(), 500).await;
    assert_eq!(pages, 2);
    assert_eq!(all_at_once, events);

    let last = *positions.last().expect("events");
    let tail = app
        .get(&format!("/api/v1/events?after={}", last - 1), &admin)
        .await;
    let tail = tail.expect(200);
    assert_eq!(tail["events"].as_array().map(Vec::len), Some(1));
    assert_eq!(tail["next_after"], last);

    for (query, status) in [
        ("limit=0", 422),
        ("limit=501", 422),
        ("after=-1", 400),
        ("after=x", 400),
    ] {
        let reply = app.get(&format!("/api/v1/events?{query}"), &admin).await;
        assert_eq!(reply.status, status, "{query}: {}", reply.text);
    }
}
