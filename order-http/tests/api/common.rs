//! The test application: the router of `order_http` over the in-memory
//! store and the testkit's fakes (so faults can be injected and the clock
//! moved), tokens for each role, and request helpers that check every
//! answer the suite gets.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use order_core::ports::{Catalog, OrderStore, PaymentGateway};
use order_core::webhook::RetryPolicy;
use order_core::{OrderService, ServiceConfig, ShippingMethod, Sku, StockKeeping};
use order_http::auth::{AuthConfig, Role};
use order_http::metered::meter;
use order_http::metrics::Metrics;
use order_http::{AppContext, AppState, Limits, router};
use order_store_postgres::TokioTimer;
use order_testkit::{Harness, InMemoryOrderStore, InMemoryWebhookStore};
use serde_json::{Value, json};
use tower::ServiceExt as _;
use uuid::Uuid;

/// The HS256 secret of the default set-up.
pub(crate) const SECRET: &[u8] = b"order-http api tests: a secret of 32+ bytes";
/// The webhook's HMAC secret.
pub(crate) const WEBHOOK_SECRET: &[u8] = b"webhook secret for the api tests";
/// The customer the default customer token names.
pub(crate) const ALICE: &str = "0193e6d2-6c1e-7b4e-9a3a-000000000a11";
/// Another customer.
pub(crate) const BOB: &str = "0193e6d2-6c1e-7b4e-9a3a-000000000b0b";

/// How a [`TestApp`] is built.
pub(crate) struct Setup {
    /// Who may call; HS256 with [`SECRET`] and [`WEBHOOK_SECRET`] by default.
    pub(crate) auth: AuthConfig,
    /// The body limit.
    pub(crate) body_limit: usize,
    /// The request time limit.
    pub(crate) timeout: Duration,
    /// The time a body may take to arrive.
    pub(crate) body_timeout: Duration,
    /// Whether `/metrics` is open.
    pub(crate) open_metrics: bool,
    /// The engine's policies (stock is always kept by the store, as in the
    /// binary).
    pub(crate) config: ServiceConfig,
    /// A store to use instead of the in-memory one (sabotage).
    pub(crate) store: Option<Arc<dyn OrderStore>>,
    /// A payment gateway to use instead of the harness's fake; it runs on
    /// Tokio's timer, so a call may take real time.
    pub(crate) gateway: Option<Arc<dyn PaymentGateway>>,
    /// A catalog to use for pricing instead of the harness's fake (the
    /// catalog administration stays the fake).
    pub(crate) catalog: Option<Arc<dyn Catalog>>,
    /// The origins CORS allows.
    pub(crate) cors_origins: Vec<axum::http::HeaderValue>,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            auth: AuthConfig::hs256(SECRET).with_webhook_secret(WEBHOOK_SECRET.to_vec()),
            body_limit: 64 * 1024,
            timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(5),
            open_metrics: true,
            config: ServiceConfig::default(),
            store: None,
            gateway: None,
            catalog: None,
            cors_origins: Vec::new(),
        }
    }
}

/// An answer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    /// The body as JSON (`Null` when empty, a string when not JSON).
    pub(crate) body: Value,
    /// The body as text.
    pub(crate) text: String,
}

impl Reply {
    /// A header's value as text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub(crate) fn expect(&self, status: u16) -> &Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        &self.body
    }

    /// Asserts an RFC 9457 problem document with `status` and `code`.
    #[track_caller]
    pub(crate) fn problem(&self, status: u16, code: &str) -> &Value {
        self.expect(status);
        let content_type = self.header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with("application/problem+json"),
            "content type {content_type:?} of {}",
            self.text
        );
        let body = &self.body;
        assert_eq!(body["status"], json!(status), "{body}");
        assert_eq!(body["code"], json!(code), "{body}");
        assert_eq!(body["type"], json!(format!("/problems/{code}")), "{body}");
        assert!(
            body["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{body}"
        );
        assert!(body["detail"].is_string(), "{body}");
        body
    }
}

/// A router to send requests to, and tokens signed with [`SECRET`].
pub(crate) struct Client {
    router: Router,
    minter: AuthConfig,
}

impl Client {
    /// A client of `router`, whose tokens are checked against [`SECRET`].
    pub(crate) fn new(router: Router) -> Self {
        Self {
            router,
            minter: AuthConfig::hs256(SECRET),
        }
    }
}

/// The router over the fakes, with handles to them.
pub(crate) struct TestApp {
    client: Client,
    /// The fakes: fault plans, the manual clock, the catalog.
    pub(crate) harness: Harness,
}

impl std::ops::Deref for TestApp {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl TestApp {
    /// The default set-up.
    pub(crate) fn new() -> Self {
        Self::with(Setup::default())
    }

    /// Built the way `app::build` wires the in-memory adapters, but from a
    /// [`Harness`]: the store keeps the stock (100 of each physical demo
    /// product), the demo catalog, tax, shipping and coupons.
    pub(crate) fn with(setup: Setup) -> Self {
        let memory = Arc::new(InMemoryOrderStore::default());
        let store: Arc<dyn OrderStore> = setup.store.unwrap_or_else(|| memory.clone());
        let harness = Harness::with_store(store.clone());
        for sku in ["TSHIRT", "MUG", "BOOK"] {
            memory.set_on_hand(&Sku::parse(sku).expect("sku"), 100);
        }
        let mut ports = harness.ports();
        if let Some(gateway) = setup.gateway {
            ports.payments = gateway;
            ports.timer = Arc::new(TokioTimer);
        }
        if let Some(catalog) = setup.catalog {
            ports.catalog = catalog;
        }
        // Metered as the binary meters them.
        let metrics = Arc::new(Metrics::new());
        let ports = meter(ports, &metrics);
        let store = ports.store.clone();
        let orders = OrderService::new(
            ports,
            ServiceConfig {
                stock: StockKeeping::Store,
                ..setup.config
            },
        );
        let state = AppState::new(AppContext {
            orders,
            store,
            catalog: harness.catalog.clone(),
            stock: memory.clone(),
            auth: Arc::new(setup.auth),
            metrics,
            limits: Limits {
                body_bytes: setup.body_limit,
                timeout: setup.timeout,
                body_timeout: setup.body_timeout,
            },
            cors_origins: setup.cors_origins,
            open_metrics: setup.open_metrics,
            webhooks: Arc::new(InMemoryWebhookStore::default()),
            webhook_retry: RetryPolicy::default(),
            seed_shipping_method: Some(ShippingMethod::parse("standard").expect("a method")),
        });
        Self {
            client: Client::new(router(state)),
            harness,
        }
    }
}

impl Client {
    /// A token signed with [`SECRET`] for `subject` in `role`.
    pub(crate) fn token(&self, subject: &str, role: Role) -> String {
        self.minter
            .mint(subject, role, 3600)
            .expect("an HS256 token")
    }

    /// An admin token.
    pub(crate) fn admin(&self) -> String {
        self.token("ops-alice", Role::Admin)
    }

    /// A service token.
    pub(crate) fn service(&self) -> String {
        self.token("fulfilment", Role::Service)
    }

    /// A token of the customer [`ALICE`].
    pub(crate) fn alice(&self) -> String {
        self.token(ALICE, Role::Customer)
    }

    /// A token of the customer [`BOB`].
    pub(crate) fn bob(&self) -> String {
        self.token(BOB, Role::Customer)
    }

    /// Sends a request; a 5xx answer fails the test (use [`TestApp::send_raw`]
    /// where a dependency is sabotaged on purpose).
    pub(crate) async fn send(&self, request: Request<Body>) -> Reply {
        let what = format!("{} {}", request.method(), request.uri());
        let reply = self.send_raw(request).await;
        assert!(
            !reply.status.is_server_error(),
            "{what} answered {}: {}",
            reply.status,
            reply.text
        );
        reply
    }

    /// Sends a request, whatever it answers.
    pub(crate) async fn send_raw(&self, request: Request<Body>) -> Reply {
        call(self.router.clone(), request).await
    }

    /// Sends a request on a task of its own (to run while others are
    /// served), whatever it answers.
    pub(crate) fn spawn(&self, request: Request<Body>) -> tokio::task::JoinHandle<Reply> {
        tokio::spawn(call(self.router.clone(), request))
    }

    /// `method path` with an optional bearer token and JSON body.
    pub(crate) async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        json: Option<&Value>,
    ) -> Reply {
        self.send(build(method, path, token, json, &[])).await
    }

    /// `GET path`.
    pub(crate) async fn get(&self, path: &str, token: &str) -> Reply {
        self.request(Method::GET, path, Some(token), None).await
    }

    /// `POST path` with a JSON body.
    pub(crate) async fn post(&self, path: &str, token: &str, json: &Value) -> Reply {
        self.request(Method::POST, path, Some(token), Some(json))
            .await
    }

    /// `PATCH path` with a JSON body.
    pub(crate) async fn patch(&self, path: &str, token: &str, json: &Value) -> Reply {
        self.request(Method::PATCH, path, Some(token), Some(json))
            .await
    }
}

impl TestApp {
    /// The product id of a demo SKU.
    pub(crate) fn product_id(&self, sku: &str) -> Uuid {
        self.harness.product(sku).product_id.as_uuid()
    }

    /// A placement body for `lines` (SKU, units), shipped to the US by
    /// standard shipping.
    pub(crate) fn order_body(&self, lines: &[(&str, u32)]) -> Value {
        let lines: Vec<Value> = lines
            .iter()
            .map(
                |(sku, quantity)| json!({"product_id": self.product_id(sku), "quantity": quantity}),
            )
            .collect();
        json!({
            "currency": "USD",
            "lines": lines,
            "shipping_address": address("Alice Example"),
            "shipping_method": "standard",
        })
    }

    /// Places `body` as `token`; the order.
    pub(crate) async fn place_with(&self, token: &str, body: &Value) -> Value {
        let reply = self.post("/api/v1/orders", token, body).await;
        reply.expect(201);
        reply.body
    }

    /// Alice orders two T-shirts and a mug; the pending order.
    pub(crate) async fn place(&self) -> Value {
        let body = self.order_body(&[("TSHIRT", 2), ("MUG", 1)]);
        self.place_with(&self.alice(), &body).await
    }

    /// A placed and paid order (confirmed).
    pub(crate) async fn paid(&self) -> Value {
        let order = self.place().await;
        let reply = self
            .post(&pay_path(&order), &self.alice(), &Value::Null)
            .await;
        reply.expect(200);
        assert_eq!(reply.body["status"], "confirmed", "{}", reply.text);
        reply.body
    }

    /// A paid order moved to processing and shipped in full; the order.
    pub(crate) async fn shipped(&self) -> Value {
        let order = self.paid().await;
        let admin = self.admin();
        self.post(&path(&order, "processing"), &admin, &Value::Null)
            .await
            .expect(200);
        let reply = self
            .post(
                &path(&order, "shipments"),
                &admin,
                &json!({"lines": all_units(&order), "carrier": "UPS", "tracking_number": "1Z999"}),
            )
            .await;
        reply.expect(201);
        reply.body
    }

    /// A shipped order whose only shipment was delivered; the order.
    pub(crate) async fn delivered(&self) -> Value {
        let order = self.shipped().await;
        let shipment = order["shipments"][0]["id"].as_str().expect("a shipment");
        let reply = self
            .post(
                &path(&order, &format!("shipments/{shipment}/deliver")),
                &self.admin(),
                &Value::Null,
            )
            .await;
        reply.expect(200);
        assert_eq!(reply.body["status"], "delivered");
        reply.body
    }

    /// Reads an order as admin.
    pub(crate) async fn fetch(&self, order: &Value) -> Value {
        let reply = self.get(&order_path(order), &self.admin()).await;
        reply.expect(200);
        reply.body
    }
}

async fn call(router: Router, request: Request<Body>) -> Reply {
    let response = router
        .oneshot(request)
        .await
        .expect("the router is infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("a readable body");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(text.clone()))
    };
    Reply {
        status,
        headers,
        body,
        text,
    }
}

/// A request; `json` `Null` sends no body but a JSON content type.
pub(crate) fn build(
    method: Method,
    path: &str,
    token: Option<&str>,
    json: Option<&Value>,
    headers: &[(&str, &str)],
) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let body = match json {
        None => Body::empty(),
        Some(Value::Null) => {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
            Body::empty()
        }
        Some(value) => {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
            Body::from(serde_json::to_vec(value).expect("JSON"))
        }
    };
    builder.body(body).expect("a valid request")
}

/// A request with a raw body and content type.
pub(crate) fn raw(
    method: Method,
    path: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: impl Into<Body>,
) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Some(content_type) = content_type {
        builder = builder.header(header::CONTENT_TYPE, content_type);
    }
    builder.body(body.into()).expect("a valid request")
}

/// A US address.
pub(crate) fn address(name: &str) -> Value {
    json!({
        "name": name,
        "line1": "1 Main Street",
        "city": "Springfield",
        "region": "IL",
        "postal_code": "62701",
        "country": "US",
    })
}

/// An order's id.
pub(crate) fn id_of(order: &Value) -> &str {
    order["id"].as_str().expect("an order id")
}

/// `/api/v1/orders/{id}`.
pub(crate) fn order_path(order: &Value) -> String {
    format!("/api/v1/orders/{}", id_of(order))
}

/// `/api/v1/orders/{id}/{rest}`.
pub(crate) fn path(order: &Value, rest: &str) -> String {
    format!("/api/v1/orders/{}/{rest}", id_of(order))
}

/// `/api/v1/orders/{id}/pay`.
pub(crate) fn pay_path(order: &Value) -> String {
    path(order, "pay")
}

/// Every ordered unit of every line, as shipment or return lines.
pub(crate) fn all_units(order: &Value) -> Vec<Value> {
    order["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| json!({"line_id": l["id"], "quantity": l["quantity"]}))
        .collect()
}

/// A JWT over arbitrary claims, signed with HS256 and `secret`.
pub(crate) fn hs256(secret: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .expect("a token")
}

/// An unsigned token: header `{"alg":"none"}`, the claims, no signature.
pub(crate) fn unsigned(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims"));
    format!("{header}.{body}.")
}

/// Seconds since the epoch.
pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Claims for `sub` in `role`, valid for an hour.
pub(crate) fn claims(sub: &str, role: &str) -> Value {
    json!({"sub": sub, "role": role, "exp": now_secs() + 3600})
}
