//! Each adapter against an in-process fake of its service, with faults
//! injected: retries where a repeat is safe, timeouts on slow answers,
//! malformed bodies, refused connections, declines and shortages, the
//! circuit breaker, and what every attempt reports and sends.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use order_core::ports::{
    Catalog, Customers, Inventory, PaymentGateway, PaymentRequest, ProductKey, StockItem,
    StockLevels,
};
use order_core::{
    Currency, CustomerId, GatewayReference, InventoryError, Money, OrderId, PaymentError,
    PaymentMethod, PaymentToken, PortError, ProductId, ProductKind, Quantity, Sku,
};
use order_remote::{
    BreakerSettings, Observer, Outcome, RemoteCatalog, RemoteCustomers, RemoteInventory,
    RemotePayments, RetryPolicy, ServiceClient, ServiceSettings, TraceParent, trace,
};
use support::{Fault, Server};
use uuid::Uuid;

/// Every attempt's outcome, in order.
#[derive(Default)]
struct Outcomes(Mutex<Vec<(&'static str, Outcome)>>);

impl Observer for Outcomes {
    fn observe(&self, service: &'static str, outcome: Outcome, _took: Duration) {
        self.0.lock().unwrap().push((service, outcome));
    }
}

impl Outcomes {
    fn all(&self) -> Vec<Outcome> {
        self.0.lock().unwrap().iter().map(|(_, o)| *o).collect()
    }
}

fn settings() -> ServiceSettings {
    ServiceSettings {
        timeout: Duration::from_millis(300),
        retry: RetryPolicy {
            attempts: 3,
            backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(20),
        },
        breaker: BreakerSettings {
            failure_threshold: 5,
            cool_down: Duration::from_millis(300),
        },
    }
}

fn client(
    name: &'static str,
    url: &str,
    settings: ServiceSettings,
) -> (ServiceClient, Arc<Outcomes>) {
    let outcomes = Arc::new(Outcomes::default());
    let client = ServiceClient::new(name, url, settings, outcomes.clone()).unwrap();
    (client, outcomes)
}

fn usd(amount: &str) -> Money {
    Money::parse(amount, Currency::parse("USD").unwrap()).unwrap()
}

fn customer() -> CustomerId {
    CustomerId::new(Uuid::new_v4()).unwrap()
}

fn order() -> OrderId {
    OrderId::new(Uuid::now_v7()).unwrap()
}

fn items(list: &[(&str, u32)]) -> Vec<StockItem> {
    list.iter()
        .map(|(sku, units)| StockItem {
            sku: Sku::parse(sku).unwrap(),
            quantity: Quantity::new(*units).unwrap(),
        })
        .collect()
}

async fn users() -> (Arc<support::users::Users>, Server) {
    let users = Arc::new(support::users::Users::default());
    let server = support::users::start(users.clone()).await;
    (users, server)
}

async fn payments() -> (Arc<support::payments::Payments>, Server) {
    let service = Arc::new(support::payments::Payments::default());
    let server = support::payments::start(service.clone()).await;
    (service, server)
}

async fn inventory() -> (Arc<support::inventory::Inventory>, Server) {
    let service = Arc::new(support::inventory::Inventory::default());
    let server = support::inventory::start(service.clone()).await;
    (service, server)
}

fn request(order: OrderId, amount: &str, key: &str) -> PaymentRequest {
    PaymentRequest {
        order_id: order,
        customer_id: customer(),
        amount: usd(amount),
        idempotency_key: key.to_owned(),
        payment_method: Some(PaymentMethod::parse("credit_card").unwrap()),
        payment_token: Some(PaymentToken::parse("tok_visa_4242").unwrap()),
    }
}

// ---- customers ---------------------------------------------------------------

#[tokio::test]
async fn a_known_user_is_a_customer_and_an_unknown_or_inactive_one_is_not() {
    let (users, server) = users().await;
    let (known, inactive) = (customer(), customer());
    users.add(&known, true);
    users.add(&inactive, false);
    let (client, outcomes) = client("user-service", &server.url(), settings());
    let adapter = RemoteCustomers::new(client);
    assert!(adapter.exists(known).await.unwrap());
    assert!(!adapter.exists(inactive).await.unwrap());
    assert!(!adapter.exists(customer()).await.unwrap());
    assert_eq!(
        outcomes.all(),
        [Outcome::Success, Outcome::Success, Outcome::ClientError]
    );
}

#[tokio::test]
async fn a_read_is_retried_after_server_errors_and_then_succeeds() {
    let (users, server) = users().await;
    let id = customer();
    users.add(&id, true);
    server.faults.next("GET /users", Fault::Status(503), 2);
    let (client, outcomes) = client("user-service", &server.url(), settings());
    assert!(RemoteCustomers::new(client).exists(id).await.unwrap());
    assert_eq!(server.faults.count("GET", "/users/"), 3);
    assert_eq!(
        outcomes.all(),
        [Outcome::ServerError, Outcome::ServerError, Outcome::Success]
    );
}

#[tokio::test]
async fn a_slow_answer_times_out_and_the_retry_gets_the_answer() {
    let (users, server) = users().await;
    let id = customer();
    users.add(&id, true);
    server
        .faults
        .next("GET /users", Fault::Slow(Duration::from_millis(900)), 1);
    let (client, outcomes) = client("user-service", &server.url(), settings());
    assert!(RemoteCustomers::new(client).exists(id).await.unwrap());
    assert_eq!(outcomes.all(), [Outcome::Timeout, Outcome::Success]);
}

#[tokio::test]
async fn a_service_that_stays_slow_is_unavailable_after_the_last_attempt() {
    let (_users, server) = users().await;
    server
        .faults
        .always("GET /users", Fault::Slow(Duration::from_millis(900)));
    let (client, outcomes) = client("user-service", &server.url(), settings());
    let err = RemoteCustomers::new(client)
        .exists(customer())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, PortError::Unavailable(m) if m.contains("user-service") && m.contains("300 ms")),
        "{err:?}"
    );
    assert_eq!(outcomes.all(), [Outcome::Timeout; 3]);
}

#[tokio::test]
async fn a_refused_connection_is_unavailable_after_the_retries() {
    let url = support::refused_url().await;
    let (client, outcomes) = client("user-service", &url, settings());
    let err = RemoteCustomers::new(client)
        .exists(customer())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, PortError::Unavailable(m) if m.contains("connection failed")),
        "{err:?}"
    );
    assert_eq!(outcomes.all(), [Outcome::ConnectionError; 3]);
}

#[tokio::test]
async fn a_malformed_body_is_unavailable_and_names_the_service() {
    let (users, server) = users().await;
    let id = customer();
    users.add(&id, true);
    server.faults.next("GET /users", Fault::Malformed, 1);
    let (client, _) = client("user-service", &server.url(), settings());
    let err = RemoteCustomers::new(client).exists(id).await.unwrap_err();
    assert!(
        matches!(&err, PortError::Unavailable(m) if m.contains("user-service: unreadable answer")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_client_error_is_an_answer_and_is_not_retried() {
    let (_users, server) = users().await;
    server.faults.next("GET /users", Fault::Status(400), 1);
    let (client, _) = client("user-service", &server.url(), settings());
    let err = RemoteCustomers::new(client)
        .exists(customer())
        .await
        .unwrap_err();
    assert!(matches!(err, PortError::Refused(_)), "{err:?}");
    assert_eq!(server.faults.count("GET", "/users/"), 1);
}

#[tokio::test]
async fn the_circuit_opens_after_repeated_failures_fails_fast_and_a_probe_closes_it() {
    let (users, server) = users().await;
    let id = customer();
    users.add(&id, true);
    server.faults.always("GET /users", Fault::Status(503));
    let settings = ServiceSettings {
        retry: RetryPolicy {
            attempts: 1,
            ..settings().retry
        },
        breaker: BreakerSettings {
            failure_threshold: 3,
            cool_down: Duration::from_millis(300),
        },
        ..settings()
    };
    let (client, outcomes) = client("user-service", &server.url(), settings);
    let adapter = RemoteCustomers::new(client);
    for _ in 0..3 {
        assert!(adapter.exists(id).await.is_err());
    }
    let err = adapter.exists(id).await.unwrap_err();
    assert!(
        matches!(&err, PortError::Unavailable(m) if m.contains("circuit open")),
        "{err:?}"
    );
    assert_eq!(
        server.faults.count("GET", "/users/"),
        3,
        "an open circuit does not call"
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    server.faults.heal();
    assert!(adapter.exists(id).await.unwrap(), "the probe gets through");
    assert!(adapter.exists(id).await.unwrap(), "and closes the circuit");
    assert_eq!(
        outcomes.all(),
        [
            Outcome::ServerError,
            Outcome::ServerError,
            Outcome::ServerError,
            Outcome::CircuitOpen,
            Outcome::Success,
            Outcome::Success
        ]
    );
}

#[tokio::test]
async fn a_failed_probe_opens_the_circuit_again() {
    let (_users, server) = users().await;
    server.faults.always("GET /users", Fault::Status(500));
    let settings = ServiceSettings {
        retry: RetryPolicy {
            attempts: 1,
            ..settings().retry
        },
        breaker: BreakerSettings {
            failure_threshold: 1,
            cool_down: Duration::from_millis(200),
        },
        ..settings()
    };
    let (client, _) = client("user-service", &server.url(), settings);
    let adapter = RemoteCustomers::new(client);
    assert!(adapter.exists(customer()).await.is_err());
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(adapter.exists(customer()).await.is_err(), "the probe fails");
    assert!(adapter.exists(customer()).await.is_err(), "open again");
    assert_eq!(server.faults.count("GET", "/users/"), 2);
}

// ---- catalog -----------------------------------------------------------------

#[tokio::test]
async fn the_product_service_prices_a_product_and_an_unknown_one_is_absent() {
    let products = Arc::new(support::products::Products::default());
    let server = support::products::start(products.clone()).await;
    let id = Uuid::new_v4();
    products.add(&id, "EBOOK-1", "12.50", "digital");
    let (client, _) = client("product-service", &server.url(), settings());
    let catalog = RemoteCatalog::new(client);
    let known = ProductKey {
        product_id: ProductId::new(id).unwrap(),
        variant_id: None,
    };
    let unknown = ProductKey {
        product_id: ProductId::new(Uuid::new_v4()).unwrap(),
        variant_id: None,
    };
    let found = catalog.products(&[known, unknown]).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].sku.as_str(), "EBOOK-1");
    assert_eq!(found[0].unit_price, usd("12.50"));
    assert_eq!(found[0].kind, ProductKind::Digital);
    assert!(found[0].active);
}

#[tokio::test]
async fn a_product_with_a_price_that_is_not_a_decimal_is_unavailable() {
    let products = Arc::new(support::products::Products::default());
    let server = support::products::start(products.clone()).await;
    let id = Uuid::new_v4();
    products.add(&id, "MUG", "twelve", "physical");
    let (client, _) = client("product-service", &server.url(), settings());
    let err = RemoteCatalog::new(client)
        .products(&[ProductKey {
            product_id: ProductId::new(id).unwrap(),
            variant_id: None,
        }])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, PortError::Unavailable(m) if m.contains("price")),
        "{err:?}"
    );
}

// ---- inventory ---------------------------------------------------------------

#[tokio::test]
async fn reserve_commit_and_restock_move_the_services_stock() {
    let (service, server) = inventory().await;
    service.set("MUG", 5);
    let (client, _) = client("inventory-service", &server.url(), settings());
    let adapter = RemoteInventory::new(client);
    let id = order();
    adapter
        .reserve(id, &items(&[("MUG", 2)]), Utc::now())
        .await
        .unwrap();
    assert_eq!(service.level("MUG"), (5, 2));
    adapter.commit(id).await.unwrap();
    adapter.commit(id).await.unwrap();
    assert_eq!(service.level("MUG"), (3, 0), "committing twice is a no-op");
    adapter
        .restock(id, "cancel", &items(&[("MUG", 2)]))
        .await
        .unwrap();
    adapter
        .restock(id, "cancel", &items(&[("MUG", 2)]))
        .await
        .unwrap();
    assert_eq!(service.level("MUG"), (5, 0), "once per key");
    let level = adapter.level(&Sku::parse("MUG").unwrap()).await.unwrap();
    assert_eq!(level.map(|l| (l.on_hand, l.reserved)), Some((5, 0)));
    assert!(
        adapter
            .level(&Sku::parse("NONE").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_reservation_short_of_stock_names_every_short_sku_and_holds_nothing() {
    let (service, server) = inventory().await;
    service.set("MUG", 1);
    service.set("CAP", 0);
    service.set("PEN", 9);
    let (client, _) = client("inventory-service", &server.url(), settings());
    let id = order();
    let err = RemoteInventory::new(client)
        .reserve(
            id,
            &items(&[("MUG", 2), ("CAP", 1), ("PEN", 1)]),
            Utc::now(),
        )
        .await
        .unwrap_err();
    let InventoryError::OutOfStock(short) = err else {
        panic!("{err:?}")
    };
    let skus: Vec<_> = short
        .iter()
        .map(|s| (s.sku.as_str(), s.available))
        .collect();
    assert_eq!(skus, [("MUG", 1), ("CAP", 0)]);
    assert!(!service.holds(&id.to_string()));
}

#[tokio::test]
async fn a_commit_whose_hold_lapsed_is_out_of_stock() {
    let (service, server) = inventory().await;
    service.set("MUG", 1);
    server
        .faults
        .next("POST /reservations/commit", Fault::Lapsed, 1);
    let (client, _) = client("inventory-service", &server.url(), settings());
    let adapter = RemoteInventory::new(client);
    let id = order();
    adapter
        .reserve(id, &items(&[("MUG", 1)]), Utc::now())
        .await
        .unwrap();
    let err = adapter.commit(id).await.unwrap_err();
    assert!(matches!(err, InventoryError::OutOfStock(_)), "{err:?}");
}

#[tokio::test]
async fn releasing_nothing_is_done_and_a_release_is_retried_after_a_server_error() {
    let (service, server) = inventory().await;
    service.set("MUG", 3);
    let (client, _) = client("inventory-service", &server.url(), settings());
    let adapter = RemoteInventory::new(client);
    let id = order();
    adapter.release(id).await.unwrap();
    adapter
        .reserve(id, &items(&[("MUG", 3)]), Utc::now())
        .await
        .unwrap();
    server
        .faults
        .next("DELETE /reservations", Fault::Status(502), 1);
    adapter.release(id).await.unwrap();
    assert_eq!(service.level("MUG"), (3, 0));
    let deletes: Vec<_> = server
        .faults
        .seen()
        .into_iter()
        .filter(|s| s.method == "DELETE")
        .collect();
    assert_eq!(deletes.len(), 3);
    assert_eq!(
        deletes[1].idempotency_key, deletes[2].idempotency_key,
        "a retry repeats its key"
    );
    assert_ne!(
        deletes[0].idempotency_key, deletes[1].idempotency_key,
        "another release is another operation"
    );
}

#[tokio::test]
async fn setting_fewer_units_than_are_held_is_refused() {
    let (service, server) = inventory().await;
    service.set("MUG", 3);
    let (client, _) = client("inventory-service", &server.url(), settings());
    let adapter = RemoteInventory::new(client);
    adapter
        .reserve(order(), &items(&[("MUG", 2)]), Utc::now())
        .await
        .unwrap();
    let sku = Sku::parse("MUG").unwrap();
    assert!(matches!(
        adapter.set_on_hand(&sku, 1).await,
        Err(PortError::Refused(_))
    ));
    let level = adapter.set_on_hand(&sku, 7).await.unwrap();
    assert_eq!((level.on_hand, level.reserved), (7, 2));
}

// ---- payments ----------------------------------------------------------------

#[tokio::test]
async fn authorize_capture_and_refund_go_through_the_payment_service() {
    let (service, server) = payments().await;
    let (client, _) = client("payment-service", &server.url(), settings());
    let gateway = RemotePayments::new(client);
    let id = order();
    let payment = gateway
        .authorize(&request(id, "30.00", "k1:authorize"))
        .await
        .unwrap();
    let captured = gateway
        .capture(&payment, usd("30.00"), "k1:capture")
        .await
        .unwrap();
    assert_eq!(captured, payment);
    gateway
        .refund(&captured, usd("10.00"), "k1:refund:1")
        .await
        .unwrap();
    let refund = gateway
        .refund(&captured, usd("10.00"), "k1:refund:1")
        .await
        .unwrap();
    let again = gateway
        .refund(&captured, usd("10.00"), "k1:refund:1")
        .await
        .unwrap();
    assert_eq!(refund, again, "one key, one refund");
    let made = service.of(&id.to_string());
    assert_eq!(made.len(), 1);
    assert_eq!(made[0].refunded.to_string(), "10.00");
    assert_eq!(made[0].method.as_deref(), Some("credit_card"));
    assert_eq!(made[0].token.as_deref(), Some("tok_visa_4242"));
    gateway.void(&payment, "k1:void").await.unwrap();
    assert_eq!(service.of(&id.to_string())[0].status, "refunded");
    let err = gateway
        .refund(&captured, usd("1.00"), "k1:refund:2")
        .await
        .unwrap_err();
    assert!(
        matches!(err, PaymentError::Port(PortError::Refused(_))),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_decline_is_declined_with_the_services_code_and_reason() {
    let (_service, server) = payments().await;
    server
        .faults
        .next("POST /payments", Fault::Decline("INSUFFICIENT_FUNDS"), 1);
    let (client, _) = client("payment-service", &server.url(), settings());
    let err = RemotePayments::new(client)
        .authorize(&request(order(), "30.00", "k2:authorize"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        PaymentError::Declined {
            code: "INSUFFICIENT_FUNDS".into(),
            reason: "Insufficient funds".into()
        }
    );
}

#[tokio::test]
async fn a_payment_retried_after_a_timeout_charges_once_under_one_key() {
    let (service, server) = payments().await;
    server
        .faults
        .next("POST /payments", Fault::Slow(Duration::from_millis(600)), 1);
    let (client, outcomes) = client("payment-service", &server.url(), settings());
    let id = order();
    RemotePayments::new(client)
        .authorize(&request(id, "30.00", "k3:authorize"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(service.of(&id.to_string()).len(), 1, "charged once");
    let keys: Vec<_> = server
        .faults
        .seen()
        .into_iter()
        .map(|s| s.idempotency_key)
        .collect();
    assert_eq!(
        keys,
        [
            Some("k3:authorize".to_owned()),
            Some("k3:authorize".to_owned())
        ]
    );
    assert_eq!(outcomes.all(), [Outcome::Timeout, Outcome::Success]);
}

#[tokio::test]
async fn a_payment_that_got_no_answer_is_found_by_its_key_among_the_orders_payments() {
    let (service, server) = payments().await;
    server
        .faults
        .always("POST /payments", Fault::Slow(Duration::from_millis(600)));
    let (client, _) = client("payment-service", &server.url(), settings());
    let id = order();
    let reference = RemotePayments::new(client)
        .authorize(&request(id, "30.00", "k4:authorize"))
        .await
        .unwrap();
    let made = service.of(&id.to_string());
    assert_eq!(made.len(), 1);
    assert_eq!(reference, GatewayReference::parse(&made[0].id).unwrap());
    assert_eq!(server.faults.count("GET", "/payments/order/"), 1);
}

#[tokio::test]
async fn a_payment_service_that_is_down_is_unavailable_never_declined() {
    let url = support::refused_url().await;
    let (client, _) = client("payment-service", &url, settings());
    let err = RemotePayments::new(client)
        .authorize(&request(order(), "30.00", "k5:authorize"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, PaymentError::Port(PortError::Unavailable(_))),
        "{err:?}"
    );
}

#[tokio::test]
async fn every_write_carries_an_idempotency_key_and_every_call_the_requests_trace() {
    let (service, server) = inventory().await;
    service.set("MUG", 3);
    let (client, _) = client("inventory-service", &server.url(), settings());
    let adapter = RemoteInventory::new(client);
    let incoming = TraceParent::root();
    let id = order();
    trace::scope(incoming, async {
        adapter
            .reserve(id, &items(&[("MUG", 1)]), Utc::now())
            .await
            .unwrap();
        adapter.commit(id).await.unwrap();
        adapter
            .restock(id, "r1", &items(&[("MUG", 1)]))
            .await
            .unwrap();
        adapter.level(&Sku::parse("MUG").unwrap()).await.unwrap();
    })
    .await;
    let seen = server.faults.seen();
    assert_eq!(seen.len(), 4);
    for call in &seen {
        assert_eq!(
            call.idempotency_key.is_some(),
            call.method != "GET",
            "{call:?}"
        );
        let sent = TraceParent::parse(call.traceparent.as_deref().unwrap()).unwrap();
        assert_eq!(sent.trace_id(), incoming.trace_id());
        assert_ne!(sent.parent_id(), incoming.parent_id());
    }
}
