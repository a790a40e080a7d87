//! Every error class answers an RFC 9457 problem document with the right
//! status and code, and no client mistake yields a 5xx.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use axum::http::{Method, StatusCode};
use chrono::{DateTime, Utc};
use order_core::order::Compensation;
use order_core::ports::{
    Change, FigureGroup, IdempotencyClaim, IdempotencyKey, OrderFigures, OrderPage, OrderQuery,
    OrderStore,
};
use order_core::{EventRecord, Order, OrderId, OrderNumber, PortError, StoreError, StoredEvent};
use order_testkit::mock::{MockCatalog, MockOrderStore};
use order_testkit::{Fault, InMemoryOrderStore};
use serde_json::{Value, json};

use crate::common::{Setup, TestApp, build, order_path, path, pay_path, raw};

#[tokio::test]
async fn malformed_json_is_a_400_problem() {
    let app = TestApp::new();
    for body in [r#"{"currency": "#, "not json", r#"{"currency": "USD",}"#] {
        let reply = app
            .send(raw(
                Method::POST,
                "/api/v1/orders",
                Some(&app.alice()),
                Some("application/json"),
                body,
            ))
            .await;
        reply.problem(400, "malformed_request");
    }
}

#[tokio::test]
async fn an_unknown_field_is_a_400_problem_naming_it() {
    let app = TestApp::new();
    let mut body = app.order_body(&[("MUG", 1)]);
    body["colour"] = json!("red");
    let reply = app.post("/api/v1/orders", &app.alice(), &body).await;
    let problem = reply.problem(400, "malformed_request");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("colour")),
        "{problem}"
    );
    let nested = app
        .patch(
            &order_path(&json!({"id": "0190aaaa-0000-7000-8000-000000000001"})),
            &app.alice(),
            &json!({"shipping_address": {"name": "A", "line1": "B", "city": "C", "postal_code": "1", "country": "US", "planet": "Mars"}}),
        )
        .await;
    let problem = nested.problem(400, "malformed_request");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("planet")),
        "{problem}"
    );
}

#[tokio::test]
async fn a_value_of_the_wrong_type_is_a_400_problem_naming_the_field() {
    let app = TestApp::new();
    let mut body = app.order_body(&[("MUG", 1)]);
    body["lines"][0]["quantity"] = json!("two");
    let reply = app.post("/api/v1/orders", &app.alice(), &body).await;
    let problem = reply.problem(400, "malformed_request");
    assert_eq!(problem["field"], "lines[0].quantity", "{problem}");

    let mut body = app.order_body(&[("MUG", 1)]);
    body["lines"][0]["product_id"] = json!("not-a-uuid");
    let reply = app.post("/api/v1/orders", &app.alice(), &body).await;
    let problem = reply.problem(400, "malformed_request");
    assert_eq!(problem["field"], "lines[0].product_id", "{problem}");

    let order = app.paid().await;
    let reply = app
        .post(
            &path(&order, "refunds"),
            &app.admin(),
            &json!({"amount": 5, "reason": "number"}),
        )
        .await;
    let problem = reply.problem(400, "malformed_request");
    assert_eq!(problem["field"], "amount", "{problem}");

    let reply = app
        .post(
            &path(&order, "returns"),
            &app.alice(),
            &json!({"lines": [{"line_id": order["lines"][0]["id"], "quantity": -1}], "reason": "x"}),
        )
        .await;
    let problem = reply.problem(400, "malformed_request");
    assert_eq!(problem["field"], "lines[0].quantity", "{problem}");
}

#[tokio::test]
async fn a_bad_uuid_in_the_path_is_a_400_problem_naming_the_segment() {
    let app = TestApp::new();
    let order = app.paid().await;
    let admin = app.admin();
    let cases = [
        (
            Method::GET,
            "/api/v1/orders/not-a-uuid".to_owned(),
            None,
            "id",
        ),
        (
            Method::GET,
            "/api/v1/orders/12345/history".to_owned(),
            None,
            "id",
        ),
        (
            Method::POST,
            "/api/v1/orders/00000000-0000-0000-0000-000000000000/pay".to_owned(),
            None,
            "id",
        ),
        (
            Method::PATCH,
            path(&order, "items/not-a-line"),
            Some(json!({"quantity": 1})),
            "line_id",
        ),
        (
            Method::DELETE,
            path(&order, "items/not-a-line"),
            None,
            "line_id",
        ),
        (
            Method::POST,
            path(&order, "shipments/nope/deliver"),
            None,
            "shipment_id",
        ),
        (
            Method::POST,
            path(&order, "returns/nope/receive"),
            Some(json!({})),
            "return_id",
        ),
        (
            Method::GET,
            "/api/v1/orders/by-number/not-a-number".to_owned(),
            None,
            "number",
        ),
    ];
    for (method, uri, body, field) in cases {
        let reply = app
            .send(build(
                method.clone(),
                &uri,
                Some(&admin),
                body.as_ref(),
                &[],
            ))
            .await;
        assert_eq!(reply.status, 400, "{method} {uri}: {}", reply.text);
        let problem = reply.problem(400, "malformed_request");
        assert_eq!(problem["field"], field, "{method} {uri}");
    }
}

#[tokio::test]
async fn a_bad_money_string_is_a_422_problem_naming_the_field() {
    let app = TestApp::new();
    let order = app.paid().await;
    for amount in ["12.345", "abc", "1,00", "", "1e3", "NaN"] {
        let reply = app
            .post(
                &path(&order, "refunds"),
                &app.admin(),
                &json!({"amount": amount, "reason": "bad money"}),
            )
            .await;
        assert_eq!(reply.status, 422, "{amount:?}: {}", reply.text);
        let problem = reply.problem(422, "validation_failed");
        assert_eq!(problem["field"], "amount", "{amount:?}");
    }

    let mut body = app.order_body(&[("MUG", 1)]);
    body["lines"][0]["expected_unit_price"] = json!("twelve fifty");
    let reply = app.post("/api/v1/orders", &app.alice(), &body).await;
    let problem = reply.problem(422, "validation_failed");
    assert_eq!(problem["field"], "lines[0].expected_unit_price");

    let mut body = app.order_body(&[("MUG", 1)]);
    body["currency"] = json!("DOLLARS");
    let reply = app.post("/api/v1/orders", &app.alice(), &body).await;
    let problem = reply.problem(422, "validation_failed");
    assert_eq!(problem["field"], "currency");

    let product = json!({
        "product_id": "0190aaaa-0000-7000-8000-0000000000aa", "sku": "HAT", "name": "Hat",
        "unit_price": "free", "currency": "USD", "tax_class": "standard", "kind": "physical"
    });
    let reply = app.post("/api/v1/products", &app.admin(), &product).await;
    let problem = reply.problem(422, "validation_failed");
    assert_eq!(problem["field"], "unit_price");
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_problem() {
    let app = TestApp::with(Setup {
        body_limit: 512,
        ..Setup::default()
    });
    let mut body = app.order_body(&[("MUG", 1)]);
    body["notes"] = json!("x".repeat(2000));
    let reply = app.post("/api/v1/orders", &app.alice(), &body).await;
    reply.problem(413, "payload_too_large");

    let big = json!({"id": "evt_big", "type": "payment.failed", "order_id": "0190aaaa-0000-7000-8000-000000000001", "reason": "y".repeat(2000)});
    let reply = app
        .post("/api/v1/payments/events", &app.service(), &big)
        .await;
    reply.problem(413, "payload_too_large");

    // Under the limit the same request is fine.
    app.place_with(&app.alice(), &app.order_body(&[("MUG", 1)]))
        .await;
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_415_problem() {
    let app = TestApp::new();
    let body = serde_json::to_string(&app.order_body(&[("MUG", 1)])).expect("JSON");
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let reply = app
            .send(raw(
                Method::POST,
                "/api/v1/orders",
                Some(&app.alice()),
                content_type,
                body.clone(),
            ))
            .await;
        assert_eq!(reply.status, 415, "{content_type:?}: {}", reply.text);
        reply.problem(415, "unsupported_media_type");
    }
}

#[tokio::test]
async fn an_invalid_transition_is_a_409_naming_the_state_and_the_action() {
    let app = TestApp::new();
    let order = app.place().await;
    let reply = app
        .post(&path(&order, "processing"), &app.admin(), &Value::Null)
        .await;
    let problem = reply.problem(409, "invalid_transition");
    assert_eq!(problem["current_status"], "pending");
    assert_eq!(problem["payment_status"], "unpaid");
    assert_eq!(problem["action"], "start_processing");

    let paid = app.paid().await;
    let reply = app.post(&pay_path(&paid), &app.alice(), &Value::Null).await;
    let problem = reply.problem(409, "invalid_transition");
    assert_eq!(problem["current_status"], "confirmed");
    assert_eq!(problem["payment_status"], "paid");
}

/// The in-memory store, whose commits can be made to lose every race.
#[derive(Default)]
struct RacingStore {
    inner: InMemoryOrderStore,
    lose: AtomicBool,
}

#[async_trait]
impl OrderFigures for RacingStore {
    async fn figures(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<FigureGroup>, StoreError> {
        self.inner.figures(from, to).await
    }
}

#[async_trait]
impl OrderStore for RacingStore {
    async fn get(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        self.inner.get(id).await
    }
    async fn get_by_number(&self, number: &OrderNumber) -> Result<Option<Order>, StoreError> {
        self.inner.get_by_number(number).await
    }
    async fn commit(&self, change: Change<'_>) -> Result<(), StoreError> {
        if self.lose.load(Ordering::SeqCst) {
            return Err(StoreError::VersionConflict {
                id: change.order.id(),
                expected: change.expected_version,
                actual: change.expected_version + 1,
            });
        }
        self.inner.commit(change).await
    }
    async fn list(&self, query: &OrderQuery) -> Result<OrderPage, StoreError> {
        self.inner.list(query).await
    }
    async fn events(&self, id: OrderId) -> Result<Vec<EventRecord>, StoreError> {
        self.inner.events(id).await
    }
    async fn feed(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.feed(after, limit).await
    }
    async fn unpublished(&self, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.unpublished(limit).await
    }
    async fn mark_published(&self, positions: &[u64]) -> Result<(), StoreError> {
        self.inner.mark_published(positions).await
    }
    async fn claim_idempotency_key(
        &self,
        key: &IdempotencyKey,
        fingerprint: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<IdempotencyClaim, StoreError> {
        self.inner
            .claim_idempotency_key(key, fingerprint, now, lease)
            .await
    }
    async fn release_idempotency_key(&self, key: &IdempotencyKey) -> Result<(), StoreError> {
        self.inner.release_idempotency_key(key).await
    }
    async fn inbound_event_processed(&self, event_id: &str) -> Result<bool, StoreError> {
        self.inner.inbound_event_processed(event_id).await
    }
    async fn record_compensation(&self, compensation: &Compensation) -> Result<(), StoreError> {
        self.inner.record_compensation(compensation).await
    }
    async fn compensations(&self) -> Result<Vec<Compensation>, StoreError> {
        self.inner.compensations().await
    }
    async fn resolve_compensation(
        &self,
        id: order_core::CompensationId,
        resolution: &order_core::order::Resolution,
    ) -> Result<Option<Compensation>, StoreError> {
        self.inner.resolve_compensation(id, resolution).await
    }
}

#[tokio::test]
async fn a_lost_version_race_is_409_and_a_stale_if_match_is_412() {
    let store = Arc::new(RacingStore::default());
    let app = TestApp::with(Setup {
        store: Some(store.clone()),
        ..Setup::default()
    });
    let order = app.paid().await;
    let version = order["version"].as_u64().expect("version");
    let admin = app.admin();

    store.lose.store(true, Ordering::SeqCst);
    let lost = app
        .post(&path(&order, "processing"), &admin, &Value::Null)
        .await;
    let problem = lost.problem(409, "version_conflict");
    assert!(problem["detail"].is_string());
    let conditional = app
        .send(build(
            Method::POST,
            &path(&order, "processing"),
            Some(&admin),
            None,
            &[("if-match", &format!("\"{version}\""))],
        ))
        .await;
    conditional.problem(412, "version_mismatch");
    store.lose.store(false, Ordering::SeqCst);

    let stale = app
        .send(build(
            Method::POST,
            &path(&order, "processing"),
            Some(&admin),
            None,
            &[("if-match", &format!("\"{}\"", version - 1))],
        ))
        .await;
    stale.problem(412, "version_mismatch");
    let weak = app
        .send(build(
            Method::POST,
            &path(&order, "processing"),
            Some(&admin),
            None,
            &[("if-match", &format!("W/\"{version}\""))],
        ))
        .await;
    assert_eq!(weak.expect(200)["status"], "processing");

    let garbage = app
        .send(build(
            Method::POST,
            &path(&order, "cancel"),
            Some(&admin),
            Some(&json!({"reason": "x"})),
            &[("if-match", "yesterday")],
        ))
        .await;
    let problem = garbage.problem(400, "malformed_request");
    assert_eq!(problem["field"], "If-Match");
}

#[tokio::test]
async fn reusing_an_idempotency_key_with_a_different_body_is_a_422_problem() {
    let app = TestApp::new();
    let token = app.alice();
    let key = [("idempotency-key", "checkout-reused")];
    let first = app
        .send(build(
            Method::POST,
            "/api/v1/orders",
            Some(&token),
            Some(&app.order_body(&[("MUG", 1)])),
            &key,
        ))
        .await;
    first.expect(201);
    let other = app
        .send(build(
            Method::POST,
            "/api/v1/orders",
            Some(&token),
            Some(&app.order_body(&[("MUG", 2)])),
            &key,
        ))
        .await;
    other.problem(422, "idempotency_key_reused");

    let too_long = "k".repeat(300);
    for bad in ["", too_long.as_str()] {
        let reply = app
            .send(build(
                Method::POST,
                "/api/v1/orders",
                Some(&token),
                Some(&app.order_body(&[("MUG", 1)])),
                &[("idempotency-key", bad)],
            ))
            .await;
        let problem = reply.problem(400, "malformed_request");
        assert_eq!(problem["field"], "Idempotency-Key");
    }
}

#[tokio::test]
async fn ordering_more_than_is_in_stock_is_a_409_problem() {
    let app = TestApp::new();
    app.request(
        Method::PUT,
        "/api/v1/stock/MUG",
        Some(&app.admin()),
        Some(&json!({"on_hand": 1})),
    )
    .await
    .expect(200);
    let reply = app
        .post(
            "/api/v1/orders",
            &app.alice(),
            &app.order_body(&[("MUG", 2)]),
        )
        .await;
    reply.problem(409, "out_of_stock");

    let order = app
        .place_with(&app.alice(), &app.order_body(&[("MUG", 1)]))
        .await;
    let more = app
        .patch(
            &path(
                &order,
                &format!("items/{}", order["lines"][0]["id"].as_str().expect("line")),
            ),
            &app.alice(),
            &json!({"quantity": 2}),
        )
        .await;
    more.problem(409, "out_of_stock");
}

#[tokio::test]
async fn an_unknown_route_is_a_404_problem() {
    let app = TestApp::new();
    for uri in [
        "/nope",
        "/api/v1/nope",
        "/api/v2/orders",
        "/api/v1/orders/x/y/z/w",
    ] {
        let reply = app
            .send(build(Method::GET, uri, Some(&app.admin()), None, &[]))
            .await;
        assert_eq!(reply.status, 404, "{uri}: {}", reply.text);
        reply.problem(404, "not_found");
    }
}

#[tokio::test]
async fn a_wrong_method_is_a_405_problem() {
    let app = TestApp::new();
    for (method, uri) in [
        (Method::DELETE, "/api/v1/orders"),
        (
            Method::PUT,
            "/api/v1/orders/0190aaaa-0000-7000-8000-000000000001",
        ),
        (
            Method::GET,
            "/api/v1/orders/0190aaaa-0000-7000-8000-000000000001/pay",
        ),
        (Method::POST, "/health"),
        (Method::DELETE, "/api/v1/stock/MUG"),
        (Method::GET, "/api/v1/payments/events"),
    ] {
        let reply = app
            .send(build(method.clone(), uri, Some(&app.admin()), None, &[]))
            .await;
        assert_eq!(reply.status, 405, "{method} {uri}: {}", reply.text);
        reply.problem(405, "method_not_allowed");
    }
}

#[tokio::test]
async fn bad_list_parameters_are_client_errors() {
    let app = TestApp::new();
    let admin = app.admin();
    for (query, status, code, field) in [
        ("colour=red", 400, "malformed_request", None),
        ("limit=abc", 400, "malformed_request", None),
        ("created_from=yesterday", 400, "malformed_request", None),
        ("sort=sideways", 400, "malformed_request", Some("sort")),
        ("cursor=bm9wZQ", 400, "malformed_request", Some("cursor")),
        ("cursor=%%%", 400, "malformed_request", None),
        (
            "customer_id=bob",
            400,
            "malformed_request",
            Some("customer_id"),
        ),
        ("status=lost", 422, "validation_failed", Some("status")),
        ("limit=0", 422, "validation_failed", Some("limit")),
        ("limit=201", 422, "validation_failed", Some("limit")),
    ] {
        let reply = app.get(&format!("/api/v1/orders?{query}"), &admin).await;
        assert_eq!(reply.status, status, "{query}: {}", reply.text);
        let problem = reply.problem(status, code);
        if let Some(field) = field {
            assert_eq!(problem["field"], field, "{query}");
        }
    }
}

#[tokio::test]
async fn invalid_requests_are_422_problems_naming_the_field() {
    let app = TestApp::new();
    let token = app.alice();
    let mut zero = app.order_body(&[("MUG", 1)]);
    zero["lines"][0]["quantity"] = json!(0);
    let mut none = app.order_body(&[("MUG", 1)]);
    none["lines"] = json!([]);
    let mut no_address = app.order_body(&[("MUG", 1)]);
    no_address
        .as_object_mut()
        .expect("object")
        .remove("shipping_address");
    let mut bad_country = app.order_body(&[("MUG", 1)]);
    bad_country["shipping_address"]["country"] = json!("Narnia");
    for body in [zero, none, no_address, bad_country] {
        let reply = app.post("/api/v1/orders", &token, &body).await;
        assert_eq!(reply.status, 422, "{body}: {}", reply.text);
        let problem = reply.problem(422, "validation_failed");
        assert!(problem["field"].is_string(), "{problem}");
    }
    let mut unknown = app.order_body(&[("MUG", 1)]);
    unknown["lines"][0]["product_id"] = json!("0190aaaa-0000-7000-8000-0000000000ee");
    app.post("/api/v1/orders", &token, &unknown)
        .await
        .problem(422, "unknown_reference");
    let mut changed = app.order_body(&[("MUG", 1)]);
    changed["lines"][0]["expected_unit_price"] = json!("9.99");
    app.post("/api/v1/orders", &token, &changed)
        .await
        .problem(409, "price_changed");
}

#[tokio::test]
async fn a_failing_store_is_a_500_that_does_not_leak_the_cause() {
    let mut mock = MockOrderStore::new();
    mock.expect_get().returning(|_| {
        Err(StoreError::Backend(
            "FATAL: password authentication failed for user \"orders\" at db-secret.internal:5432"
                .into(),
        ))
    });
    mock.expect_list().returning(|_| {
        Err(StoreError::Backend(
            "relation \"orders_secret_table\" does not exist".into(),
        ))
    });
    let app = TestApp::with(Setup {
        store: Some(Arc::new(mock)),
        ..Setup::default()
    });
    for uri in [
        "/api/v1/orders/0190aaaa-0000-7000-8000-000000000001",
        "/api/v1/orders",
    ] {
        let reply = app
            .send_raw(build(Method::GET, uri, Some(&app.admin()), None, &[]))
            .await;
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR, "{uri}");
        let problem = reply.problem(500, "internal");
        assert_eq!(problem["detail"], "the server failed; the cause is logged");
        for secret in [
            "password",
            "db-secret",
            "5432",
            "orders_secret_table",
            "backend",
        ] {
            assert!(
                !reply.text.contains(secret),
                "{uri} leaks {secret}: {}",
                reply.text
            );
        }
        assert!(
            reply.header("x-request-id").is_some(),
            "a request id to find the log line"
        );
    }
}

/// Log output, captured.
#[derive(Clone, Default)]
pub(crate) struct Logs(Arc<std::sync::Mutex<Vec<u8>>>);

impl Logs {
    /// Runs `work` with a JSON log subscriber writing here; its output and
    /// what was logged while it ran.
    pub(crate) async fn capture<F: std::future::Future>(work: F) -> (F::Output, String) {
        use tracing::instrument::WithSubscriber as _;
        let logs = Self::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(move || writer.clone())
            .finish();
        let out = work.with_subscriber(subscriber).await;
        let text =
            String::from_utf8_lossy(&logs.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned();
        (out, text)
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_database_failure_never_reaches_a_body_and_every_5xx_logs_its_cause() {
    const MARKER: &str = "db-marker-5c1e: FATAL: terminating connection at db-secret.internal";
    // The store and the catalog (in the binary, the same database) fail
    // with the database's text; the store has no answer for listing, so
    // listing panics.
    let mut store = MockOrderStore::new();
    store
        .expect_get()
        .returning(|_| Err(StoreError::Unavailable(MARKER.into())));
    let mut catalog = MockCatalog::new();
    catalog
        .expect_products()
        .returning(|_| Err(PortError::Unavailable(MARKER.into())));
    let app = TestApp::with(Setup {
        store: Some(Arc::new(store)),
        catalog: Some(Arc::new(catalog)),
        ..Setup::default()
    });
    let (admin, alice) = (app.admin(), app.alice());
    let body = app.order_body(&[("MUG", 1)]);
    let (replies, logs) = Logs::capture(async {
        let get = app
            .send_raw(build(
                Method::GET,
                "/api/v1/orders/0190aaaa-0000-7000-8000-000000000001",
                Some(&admin),
                None,
                &[],
            ))
            .await;
        let place = app
            .send_raw(build(
                Method::POST,
                "/api/v1/orders",
                Some(&alice),
                Some(&body),
                &[],
            ))
            .await;
        let ready = app
            .send_raw(build(Method::GET, "/health/ready", None, None, &[]))
            .await;
        let list = app
            .send_raw(build(
                Method::GET,
                "/api/v1/orders",
                Some(&admin),
                None,
                &[],
            ))
            .await;
        [get, place, ready, list]
    })
    .await;
    let [get, place, ready, list] = &replies;
    get.problem(503, "store_unavailable");
    place.problem(503, "dependency_unavailable");
    assert_eq!(ready.status, 503);
    list.problem(500, "internal");
    for reply in &replies {
        assert!(
            !reply.text.contains("db-marker") && !reply.text.contains("db-secret"),
            "the database's text leaked: {}",
            reply.text
        );
    }
    let failures: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("\"status\":503") || l.contains("\"status\":500"))
        .filter(|l| !l.contains("request served"))
        .collect();
    assert_eq!(failures.len(), 4, "one failure line per 5xx:\n{logs}");
    for line in &failures[..3] {
        assert!(
            line.contains("db-marker-5c1e"),
            "the cause is logged: {line}"
        );
    }
    assert!(
        failures[3].contains("MockOrderStore::list"),
        "the panic's message is logged: {}",
        failures[3]
    );
}

#[tokio::test]
async fn a_body_that_stops_arriving_is_a_408_problem_closing_the_connection() {
    let app = TestApp::with(Setup {
        body_timeout: Duration::from_millis(200),
        ..Setup::default()
    });
    // Part of the body, then nothing: the sender stays, so the rest never
    // comes and never ends.
    let (mut sender, body) = http_body_util::channel::Channel::<bytes::Bytes, Infallible>::new(1);
    sender
        .send_data(bytes::Bytes::from_static(b"{\"currency\": "))
        .await
        .expect("the first part is taken");
    let started = std::time::Instant::now();
    let reply = app
        .send(raw(
            Method::POST,
            "/api/v1/orders",
            Some(&app.alice()),
            Some("application/json"),
            axum::body::Body::new(body),
        ))
        .await;
    let took = started.elapsed();
    reply.problem(408, "request_timeout");
    assert_eq!(reply.header("connection"), Some("close"));
    assert!(took < Duration::from_secs(2), "answered after {took:?}");
    drop(sender);
}

#[tokio::test]
async fn an_unavailable_payment_gateway_is_a_503_problem() {
    let app = TestApp::new();
    let order = app.place().await;
    app.harness
        .gateway
        .faults()
        .always("authorize", Some(Fault::Fail));
    let reply = app
        .send_raw(build(
            Method::POST,
            &pay_path(&order),
            Some(&app.alice()),
            None,
            &[],
        ))
        .await;
    reply.problem(503, "dependency_unavailable");
    app.harness.gateway.faults().clear();
    let now = app.fetch(&order).await;
    assert_eq!(now["status"], "pending");
}

/// Route templates with `{id}` for an order id and `{sub}` for a sub-id.
const ROUTES: &[&str] = &[
    "/api/v1/orders",
    "/api/v1/orders/{id}",
    "/api/v1/orders/by-number/{id}",
    "/api/v1/orders/{id}/items",
    "/api/v1/orders/{id}/items/{sub}",
    "/api/v1/orders/{id}/pay",
    "/api/v1/orders/{id}/cancel",
    "/api/v1/orders/{id}/processing",
    "/api/v1/orders/{id}/shipments",
    "/api/v1/orders/{id}/shipments/{sub}/deliver",
    "/api/v1/orders/{id}/complete",
    "/api/v1/orders/{id}/returns",
    "/api/v1/orders/{id}/returns/{sub}/receive",
    "/api/v1/orders/{id}/refunds",
    "/api/v1/orders/{id}/history",
    "/api/v1/orders/{id}/invoice",
    "/api/v1/orders/{id}/tracking",
    "/api/v1/orders/{id}/dry-run",
    "/api/v1/events?after={id}",
    "/api/v1/payments/events",
    "/api/v1/products?after={id}",
    "/api/v1/stock/{id}",
    "/api/v1/reports?from={id}&to={sub}",
];

#[tokio::test]
async fn no_client_mistake_on_any_route_yields_a_server_error() {
    let app = TestApp::new();
    let order = app.paid().await;
    let real = order["id"].as_str().expect("id").to_owned();
    let line = order["lines"][0]["id"].as_str().expect("line").to_owned();
    let tokens = [app.admin(), app.alice(), app.service()];
    let ids = [
        (real.as_str(), line.as_str()),
        (
            "0190aaaa-0000-7000-8000-000000000001",
            "0190aaaa-0000-7000-8000-000000000002",
        ),
        ("not-a-uuid", "%20"),
        ("-1", "99999999999999999999999"),
    ];
    let bodies: [Option<&str>; 5] = [
        None,
        Some("{"),
        Some("[]"),
        Some(
            r#"{"quantity": -1, "amount": "-1.00", "reason": "", "lines": [{}], "action": "ship", "on_hand": -5, "refund": "yes"}"#,
        ),
        Some(
            r#"{"id": "", "type": "payment.processed", "order_id": "0190aaaa-0000-7000-8000-000000000001", "amount": "1e999"}"#,
        ),
    ];
    let mut requests = 0;
    for template in ROUTES {
        for (id, sub) in ids {
            let uri = template.replace("{id}", id).replace("{sub}", sub);
            for method in [
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ] {
                for body in bodies {
                    for token in &tokens {
                        let request = raw(
                            method.clone(),
                            &uri,
                            Some(token),
                            body.map(|_| "application/json"),
                            body.unwrap_or_default().to_owned(),
                        );
                        let reply = app.send(request).await;
                        requests += 1;
                        if reply.status.is_client_error() {
                            assert!(
                                reply
                                    .header("content-type")
                                    .is_some_and(|c| c.starts_with("application/problem+json")),
                                "{method} {uri} {body:?}: {} {}",
                                reply.status,
                                reply.text
                            );
                        }
                    }
                }
            }
        }
    }
    assert!(requests > 5000, "{requests} requests");
}
