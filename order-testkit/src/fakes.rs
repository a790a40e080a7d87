//! Fakes of every port except the store (see `memory.rs`): each behaves like
//! a well-behaved real service, keeps state a test can inspect, and can be
//! told through its [`FaultPlan`] to fail, decline or time out.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Datelike, TimeZone, Utc};
use order_core::policy::{CouponTable, ShippingTable, TaxTable};
use order_core::ports::{
    Catalog, CatalogAdmin, Clock, Customers, DiscountPolicy, EventPublisher, IdGenerator,
    Inventory, OrderNumbers, PaymentGateway, PaymentRequest, Product, ProductKey, ShippingPolicy,
    StockItem, StockLevel, StockLevels, TaxPolicy, Timer,
};
use order_core::pricing::{Discount, Percent};
use order_core::{
    Address, CouponCode, CustomerId, GatewayReference, InventoryError, Money, OrderId, OrderNumber,
    PaymentError, PaymentMethod, PaymentToken, PolicyError, PortError, ShippingMethod, Sku,
    StoredEvent, TaxClass,
};
use uuid::Uuid;

use crate::fault::{Fault, FaultPlan};
use crate::hash::FastMap;
use crate::stock::StockBook;

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock reading `start`.
    pub fn at(start: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: chrono::Duration) {
        *lock(&self.now) += by;
    }

    /// Sets the clock.
    pub fn set(&self, to: DateTime<Utc>) {
        *lock(&self.now) = to;
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::at(
            Utc.with_ymd_and_hms(2026, 1, 15, 9, 0, 0)
                .single()
                .unwrap_or_default(),
        )
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *lock(&self.now)
    }
}

/// Deterministic UUID v7s: a counter in the random bits, so ids are
/// reproducible and ordered.
#[derive(Debug, Default)]
pub struct SequentialIds {
    next: AtomicU64,
}

impl IdGenerator for SequentialIds {
    fn new_v7(&self) -> Uuid {
        let n = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        // 48-bit timestamp 0x0190_0000_0000, version 7, variant 10, counter.
        let bits: u128 =
            (0x0190_0000_0000u128 << 80) | (0x7u128 << 76) | (0x8u128 << 60) | u128::from(n);
        Uuid::from_u128(bits)
    }
}

/// A timer whose sleeps finish at once, after yielding once: timeouts and
/// back-off are deterministic and cost no wall time.
#[derive(Clone, Copy, Debug, Default)]
pub struct InstantTimer;

#[async_trait]
impl Timer for InstantTimer {
    async fn sleep(&self, _duration: Duration) {
        let mut yielded = false;
        std::future::poll_fn(|cx| {
            if yielded {
                std::task::Poll::Ready(())
            } else {
                yielded = true;
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
        })
        .await;
    }
}

/// An in-memory catalog.
#[derive(Debug, Default)]
pub struct FakeCatalog {
    products: Mutex<Vec<Product>>,
    faults: FaultPlan,
}

impl FakeCatalog {
    /// Adds or replaces a product (matched by product and variant id),
    /// unchecked, so a test can plant a product a real catalog would refuse
    /// (`CatalogAdmin::upsert` checks it).
    pub fn upsert(&self, product: Product) {
        let mut products = lock(&self.products);
        products.retain(|p| {
            !(p.product_id == product.product_id && p.variant_id == product.variant_id)
        });
        products.push(product);
    }

    /// Every product.
    pub fn all(&self) -> Vec<Product> {
        lock(&self.products).clone()
    }

    /// Its fault plan (operation `products`).
    pub fn faults(&self) -> &FaultPlan {
        &self.faults
    }
}

#[async_trait]
impl CatalogAdmin for FakeCatalog {
    async fn upsert(&self, product: &Product) -> Result<(), PortError> {
        self.faults.check("upsert").await?;
        product
            .check()
            .map_err(|err| PortError::Refused(err.to_string()))?;
        let mut products = lock(&self.products);
        let same =
            |p: &Product| p.product_id == product.product_id && p.variant_id == product.variant_id;
        if products.iter().any(|p| p.sku == product.sku && !same(p)) {
            return Err(PortError::Refused(format!(
                "sku {} belongs to another product",
                product.sku
            )));
        }
        products.retain(|p| !same(p));
        products.push(product.clone());
        Ok(())
    }

    async fn list(&self, after_sku: Option<&Sku>, limit: usize) -> Result<Vec<Product>, PortError> {
        self.faults.check("list").await?;
        let mut products: Vec<Product> = lock(&self.products)
            .iter()
            .filter(|p| after_sku.is_none_or(|after| &p.sku > after))
            .cloned()
            .collect();
        products.sort_by(|a, b| a.sku.cmp(&b.sku));
        products.truncate(limit);
        Ok(products)
    }
}

#[async_trait]
impl Catalog for FakeCatalog {
    async fn products(&self, keys: &[ProductKey]) -> Result<Vec<Product>, PortError> {
        self.faults.check("products").await?;
        let products = lock(&self.products);
        Ok(products
            .iter()
            .filter(|p| {
                keys.iter()
                    .any(|k| k.product_id == p.product_id && k.variant_id == p.variant_id)
            })
            .cloned()
            .collect())
    }
}

/// Stock behind the inventory port, in a [`StockBook`]. SKUs never given a
/// level are not tracked, so tests only set what they care about.
#[derive(Debug, Default)]
pub struct FakeInventory {
    book: Mutex<StockBook>,
    faults: FaultPlan,
}

impl FakeInventory {
    /// Sets the units on hand of `sku`.
    pub fn set_on_hand(&self, sku: &Sku, units: u32) {
        let _ = lock(&self.book).set_on_hand(sku, units);
    }

    /// Units on hand (sold units have left).
    pub fn on_hand(&self, sku: &Sku) -> Option<u32> {
        lock(&self.book).level(sku).map(|l| l.on_hand)
    }

    /// Units held (reserved, not committed) for `order`.
    pub fn reserved_for(&self, order: OrderId) -> u32 {
        lock(&self.book).reserved_for(order)
    }

    /// True when `order`'s reservation was committed.
    pub fn committed(&self, order: OrderId) -> bool {
        lock(&self.book).committed(order)
    }

    /// Units held across all orders for `sku`.
    pub fn reserved(&self, sku: &Sku) -> u32 {
        lock(&self.book).level(sku).map_or(0, |l| l.reserved)
    }

    /// Its fault plan (operations `reserve`, `commit`, `release`, `restock`).
    pub fn faults(&self) -> &FaultPlan {
        &self.faults
    }
}

#[async_trait]
impl Inventory for FakeInventory {
    async fn reserve(
        &self,
        order: OrderId,
        items: &[StockItem],
        _expires_at: DateTime<Utc>,
    ) -> Result<(), InventoryError> {
        self.faults.check("reserve").await?;
        lock(&self.book)
            .reserve(order, items)
            .map_err(InventoryError::OutOfStock)
    }

    async fn commit(&self, order: OrderId) -> Result<(), InventoryError> {
        self.faults.check("commit").await?;
        lock(&self.book).commit(order);
        Ok(())
    }

    async fn release(&self, order: OrderId) -> Result<(), InventoryError> {
        self.faults.check("release").await?;
        lock(&self.book).release(order);
        Ok(())
    }

    async fn restock(
        &self,
        order: OrderId,
        key: &str,
        items: &[StockItem],
    ) -> Result<(), InventoryError> {
        self.faults.check("restock").await?;
        lock(&self.book).restock(order, key, items);
        Ok(())
    }
}

#[async_trait]
impl StockLevels for FakeInventory {
    async fn set_on_hand(&self, sku: &Sku, units: u32) -> Result<StockLevel, PortError> {
        lock(&self.book)
            .set_on_hand(sku, units)
            .map_err(PortError::Refused)
    }

    async fn level(&self, sku: &Sku) -> Result<Option<StockLevel>, PortError> {
        Ok(lock(&self.book).level(sku))
    }
}

/// One money movement the fake gateway performed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayOperation {
    /// `authorize`, `capture`, `void` or `refund`.
    pub kind: &'static str,
    /// The amount (the authorization's amount for a void).
    pub amount: Money,
    /// The reference the operation produced.
    pub reference: GatewayReference,
    /// The reference it acted on (none for an authorization).
    pub target: Option<GatewayReference>,
}

#[derive(Debug, Default)]
struct GatewayState {
    log: Vec<GatewayOperation>,
    // Indexes into `log` and running sums over it, so that an operation
    // costs the same however many came before (a benchmark runs thousands
    // through one gateway).
    /// The last operation made under each idempotency key.
    by_key: FastMap<String, usize>,
    /// Each reference: the operation that produced it and the sums of
    /// those acting on it.
    by_reference: FastMap<GatewayReference, Reference>,
    /// Σ amounts per kind.
    totals: Sums,
    /// The payment method and token of the latest authorization request.
    last_instrument: Option<(Option<PaymentMethod>, Option<PaymentToken>)>,
    counter: u64,
    keys: KeyHandling,
}

/// What the gateway knows of one reference.
#[derive(Debug, Default)]
struct Reference {
    /// The first operation that produced it.
    made_by: Option<usize>,
    /// Σ amounts per kind of the operations acting on it.
    acted_on: Sums,
    /// The payment it belongs to: the reference that started the chain of
    /// targets leading to it (an authorization, or itself).
    payment: Option<GatewayReference>,
    /// When it starts a payment: Σ amounts per kind of the payment's
    /// operations.
    of_payment: Sums,
}

/// Σ amounts per kind of operation, one slot per kind.
#[derive(Debug, Default)]
struct Sums([Option<Money>; 4]);

impl Sums {
    fn slot(kind: &str) -> usize {
        match kind {
            "authorize" => 0,
            "capture" => 1,
            "void" => 2,
            // "refund", the only other kind.
            _ => 3,
        }
    }

    fn add(&mut self, kind: &str, amount: Money) {
        let sum = &mut self.0[Self::slot(kind)];
        *sum = Some(match *sum {
            // A sum that cannot grow (another currency, an overflow) stays.
            Some(sum) => sum.checked_add(&amount).unwrap_or(sum),
            None => amount,
        });
    }

    fn get(&self, kind: &str) -> Option<Money> {
        self.0[Self::slot(kind)]
    }
}

impl GatewayState {
    fn record(&mut self, key: &str, op: GatewayOperation) {
        let index = self.log.len();
        self.by_key.insert(key.to_owned(), index);
        self.totals.add(op.kind, op.amount);
        let payment = match &op.target {
            Some(target) => self.payment_of(target),
            None => op.reference.clone(),
        };
        let made = self.by_reference.entry(op.reference.clone()).or_default();
        made.made_by.get_or_insert(index);
        made.payment.get_or_insert_with(|| payment.clone());
        self.by_reference
            .entry(payment)
            .or_default()
            .of_payment
            .add(op.kind, op.amount);
        if let Some(target) = &op.target {
            self.by_reference
                .entry(target.clone())
                .or_default()
                .acted_on
                .add(op.kind, op.amount);
        }
        self.log.push(op);
    }

    /// The payment `reference` belongs to (itself when unknown).
    fn payment_of(&self, reference: &GatewayReference) -> GatewayReference {
        self.by_reference
            .get(reference)
            .and_then(|known| known.payment.clone())
            .unwrap_or_else(|| reference.clone())
    }

    /// Σ amounts of `kind` in the payment `reference` belongs to.
    fn payment_total(&self, kind: &str, reference: &GatewayReference) -> Option<Money> {
        self.by_reference
            .get(&self.payment_of(reference))
            .and_then(|root| root.of_payment.get(kind))
    }

    fn find(&self, reference: &GatewayReference) -> Option<&GatewayOperation> {
        self.by_reference
            .get(reference)
            .and_then(|known| known.made_by)
            .map(|i| &self.log[i])
    }

    /// Σ amounts of `kind`, of the operations acting on `target` when given;
    /// `None` when there are none.
    fn total(&self, kind: &str, target: Option<&GatewayReference>) -> Option<Money> {
        match target {
            None => self.totals.get(kind),
            Some(target) => self
                .by_reference
                .get(target)
                .and_then(|known| known.acted_on.get(kind)),
        }
    }
}

/// `aut_000001`: the kind's first three letters and the counter in at least
/// six digits, written into `buffer` (`format!`'s padding once cost a payment
/// more than the rest of the fake, and a string of its own an allocation).
fn counted_name<'b>(kind: &str, counter: u64, buffer: &'b mut [u8; 32]) -> &'b str {
    let digits = counter
        .checked_ilog10()
        .map_or(1, |log| log as usize + 1)
        .max(6);
    let len = 4 + digits;
    buffer[..3].copy_from_slice(&kind.as_bytes()[..3]);
    buffer[3] = b'_';
    let mut rest = counter;
    for digit in buffer[4..len].iter_mut().rev() {
        *digit = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    std::str::from_utf8(&buffer[..len]).unwrap_or_default()
}

/// How the fake gateway answers a call whose idempotency key it has seen:
/// what separates one gateway honouring keys from, say, two processes each
/// talking to a gateway client of its own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KeyHandling {
    /// A repeated key gets the first call's answer and moves no money: the
    /// port's contract. The default.
    #[default]
    Deduplicate,
    /// Every call is a new operation, named after its key: one key, two
    /// operations, one reference (a client that derives references from
    /// requests; two such clients in two processes). It cannot tell its
    /// operations apart by reference, so it checks no limits.
    NewOperationSameReference,
    /// Every call is a new operation with a reference of its own (a gateway
    /// that ignores keys, or two with separate memories).
    NewOperationNewReference,
}

/// A payment gateway that honours idempotency keys and refuses to capture
/// more than authorized or refund more than captured, like a real one
/// (unless told to handle keys otherwise, [`KeyHandling`]).
#[derive(Debug, Default)]
pub struct FakePaymentGateway {
    state: Mutex<GatewayState>,
    faults: FaultPlan,
}

impl FakePaymentGateway {
    /// Its fault plan (operations `authorize`, `capture`, `void`, `refund`).
    pub fn faults(&self) -> &FaultPlan {
        &self.faults
    }

    /// How it answers a repeated idempotency key from now on.
    pub fn handle_keys(&self, keys: KeyHandling) {
        lock(&self.state).keys = keys;
    }

    /// Every operation performed, in order (a repeated key appears once).
    pub fn operations(&self) -> Vec<GatewayOperation> {
        lock(&self.state).log.clone()
    }

    /// The payment method and token the latest authorization asked with.
    pub fn last_instrument(&self) -> Option<(Option<PaymentMethod>, Option<PaymentToken>)> {
        lock(&self.state).last_instrument.clone()
    }

    /// Money captured minus refunded, per the gateway's own books.
    pub fn net_captured(&self) -> Option<Money> {
        let state = lock(&self.state);
        let captured = state.total("capture", None)?;
        match state.total("refund", None) {
            Some(refunded) => captured.checked_sub(&refunded).ok(),
            None => Some(captured),
        }
    }

    async fn run(
        &self,
        kind: &'static str,
        key: &str,
        amount: Money,
        target: Option<&GatewayReference>,
    ) -> Result<GatewayReference, PaymentError> {
        let keys = {
            let state = lock(&self.state);
            if state.keys == KeyHandling::Deduplicate
                && let Some(done) = state.by_key.get(key)
            {
                return Ok(state.log[*done].reference.clone());
            }
            state.keys
        };
        if let Some(Fault::Decline) = self.faults.check(kind).await? {
            return Err(PaymentError::Declined {
                code: "card_declined".into(),
                reason: "the issuer declined the payment".into(),
            });
        }
        let mut state = lock(&self.state);
        let limit_exceeded = match (kind, target) {
            _ if keys == KeyHandling::NewOperationSameReference => false,
            ("capture", Some(auth)) => {
                let authorized = state.find(auth).map(|o| o.amount);
                let captured = state.total("capture", Some(auth));
                exceeds(authorized, captured, amount)
            }
            ("refund", Some(capture)) => {
                // Refunds may target any capture of the same payment (the
                // authorization it captured), and together never exceed
                // what that payment captured, as a provider enforces.
                let captured = state
                    .find(capture)
                    .and_then(|_| state.payment_total("capture", capture));
                let refunded = state.payment_total("refund", capture);
                exceeds(captured, refunded, amount)
            }
            _ => false,
        };
        if limit_exceeded {
            return Err(PaymentError::Declined {
                code: "amount_too_large".into(),
                reason: format!("{kind} of {amount} exceeds what remains"),
            });
        }
        state.counter += 1;
        let mut buffer = [0; 32];
        let hashed;
        let name = match keys {
            KeyHandling::NewOperationSameReference => {
                // FNV-1a of the key: the same name for the same key.
                let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                    (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
                });
                hashed = format!("{}_{hash:016x}", &kind[..3]);
                &hashed
            }
            _ => counted_name(kind, state.counter, &mut buffer),
        };
        let reference = GatewayReference::parse(name)
            .map_err(|e| PaymentError::Port(PortError::Unavailable(e.to_string())))?;
        state.record(
            key,
            GatewayOperation {
                kind,
                amount,
                reference: reference.clone(),
                target: target.cloned(),
            },
        );
        Ok(reference)
    }
}

fn exceeds(limit: Option<Money>, used: Option<Money>, amount: Money) -> bool {
    let Some(limit) = limit else {
        return true;
    };
    let used = used.unwrap_or_else(|| Money::zero(limit.currency()));
    used.checked_add(&amount)
        .and_then(|total| total.cmp_amount(&limit))
        .map_or(true, |o| o.is_gt())
}

#[async_trait]
impl PaymentGateway for FakePaymentGateway {
    async fn authorize(&self, request: &PaymentRequest) -> Result<GatewayReference, PaymentError> {
        lock(&self.state).last_instrument = Some((
            request.payment_method.clone(),
            request.payment_token.clone(),
        ));
        self.run("authorize", &request.idempotency_key, request.amount, None)
            .await
    }

    async fn capture(
        &self,
        authorization: &GatewayReference,
        amount: Money,
        idempotency_key: &str,
    ) -> Result<GatewayReference, PaymentError> {
        self.run("capture", idempotency_key, amount, Some(authorization))
            .await
    }

    async fn void(
        &self,
        authorization: &GatewayReference,
        idempotency_key: &str,
    ) -> Result<GatewayReference, PaymentError> {
        let amount = lock(&self.state)
            .find(authorization)
            .map(|o| o.amount)
            .ok_or_else(|| PaymentError::Declined {
                code: "unknown_authorization".into(),
                reason: format!("no authorization {authorization}"),
            })?;
        self.run("void", idempotency_key, amount, Some(authorization))
            .await
    }

    async fn refund(
        &self,
        capture: &GatewayReference,
        amount: Money,
        idempotency_key: &str,
    ) -> Result<GatewayReference, PaymentError> {
        self.run("refund", idempotency_key, amount, Some(capture))
            .await
    }
}

/// A customer directory that knows every customer unless told otherwise.
#[derive(Debug, Default)]
pub struct FakeCustomers {
    unknown: Mutex<HashSet<CustomerId>>,
    faults: FaultPlan,
}

impl FakeCustomers {
    /// Makes `id` unknown.
    pub fn forget(&self, id: CustomerId) {
        lock(&self.unknown).insert(id);
    }

    /// Its fault plan (operation `exists`).
    pub fn faults(&self) -> &FaultPlan {
        &self.faults
    }
}

#[async_trait]
impl Customers for FakeCustomers {
    async fn exists(&self, id: CustomerId) -> Result<bool, PortError> {
        self.faults.check("exists").await?;
        Ok(!lock(&self.unknown).contains(&id))
    }
}

/// A policy from `order_core::policy` behind a fault plan (operation
/// `rates`, `quote` or `discount`).
#[derive(Debug, Default)]
pub struct Faulty<P> {
    inner: P,
    faults: FaultPlan,
}

impl<P> Faulty<P> {
    /// Wraps a policy.
    pub fn new(inner: P) -> Self {
        Self {
            inner,
            faults: FaultPlan::default(),
        }
    }

    /// Its fault plan.
    pub fn faults(&self) -> &FaultPlan {
        &self.faults
    }
}

#[async_trait]
impl TaxPolicy for Faulty<TaxTable> {
    async fn rates(
        &self,
        destination: Option<&Address>,
        classes: &[TaxClass],
    ) -> Result<Vec<Percent>, PolicyError> {
        self.faults.check("rates").await?;
        self.inner.rates_for(destination, classes)
    }
}

#[async_trait]
impl ShippingPolicy for Faulty<ShippingTable> {
    async fn quote(
        &self,
        method: &ShippingMethod,
        destination: &Address,
        merchandise: Money,
    ) -> Result<Money, PolicyError> {
        self.faults.check("quote").await?;
        self.inner.quote_for(method, destination, merchandise)
    }
}

#[async_trait]
impl DiscountPolicy for Faulty<CouponTable> {
    async fn discount(
        &self,
        code: &CouponCode,
        _customer: CustomerId,
        subtotal: Money,
        at: DateTime<Utc>,
    ) -> Result<Discount, PolicyError> {
        self.faults.check("discount").await?;
        self.inner.discount_for(code, subtotal, at)
    }
}

/// Order numbers from a counter: `ORD-<year>-000001`, ….
#[derive(Debug, Default)]
pub struct FakeOrderNumbers {
    next: AtomicU64,
    faults: FaultPlan,
}

impl FakeOrderNumbers {
    /// Its fault plan (operation `next`).
    pub fn faults(&self) -> &FaultPlan {
        &self.faults
    }
}

#[async_trait]
impl OrderNumbers for FakeOrderNumbers {
    async fn next(&self, at: DateTime<Utc>) -> Result<OrderNumber, PortError> {
        self.faults.check("next").await?;
        let n = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        Ok(OrderNumber::from_sequence(at.year(), n))
    }
}

/// A publisher that keeps what it was given.
#[derive(Debug, Default)]
pub struct RecordingPublisher {
    published: Mutex<Vec<StoredEvent>>,
    faults: FaultPlan,
}

impl RecordingPublisher {
    /// Everything published, in order (duplicates included: delivery is at
    /// least once).
    pub fn published(&self) -> Vec<StoredEvent> {
        lock(&self.published).clone()
    }

    /// Its fault plan (operation `publish`).
    pub fn faults(&self) -> &FaultPlan {
        &self.faults
    }
}

#[async_trait]
impl EventPublisher for RecordingPublisher {
    async fn publish(&self, events: &[StoredEvent]) -> Result<(), PortError> {
        self.faults.check("publish").await?;
        lock(&self.published).extend_from_slice(events);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::customer;

    fn usd(minor: i128) -> Money {
        Money::from_minor(minor, order_core::Currency::USD).expect("a valid amount")
    }

    /// Authorizes and captures `minor` cents for a new order: the capture.
    async fn paid(gateway: &FakePaymentGateway, order: u128, minor: i128) -> GatewayReference {
        let request = PaymentRequest {
            order_id: OrderId::new(Uuid::from_u128(
                0x0190_0000_0000_7000_8000_0000_0000_0000 | order,
            ))
            .expect("a v7 id"),
            customer_id: customer(1),
            amount: usd(minor),
            idempotency_key: format!("auth-{order}"),
            payment_method: None,
            payment_token: None,
        };
        let auth = gateway.authorize(&request).await.expect("authorized");
        gateway
            .capture(&auth, usd(minor), &format!("cap-{order}"))
            .await
            .expect("captured")
    }

    #[tokio::test]
    async fn refunds_of_one_payment_never_exceed_what_that_payment_captured() {
        let gateway = FakePaymentGateway::default();
        let first = paid(&gateway, 1, 4_997).await;
        paid(&gateway, 2, 4_997).await;
        gateway
            .refund(&first, usd(4), "ref-1")
            .await
            .expect("a part of the first payment is refunded");
        let over = gateway.refund(&first, usd(4_997), "ref-2").await;
        assert!(
            matches!(&over, Err(PaymentError::Declined { code, .. }) if code == "amount_too_large"),
            "another payment's capture does not raise this one's limit: {over:?}"
        );
        gateway
            .refund(&first, usd(4_993), "ref-3")
            .await
            .expect("what remains of the first payment is refunded");
    }

    #[test]
    fn a_gateway_reference_counts_in_at_least_six_digits() {
        let mut buffer = [0; 32];
        assert_eq!(counted_name("authorize", 1, &mut buffer), "aut_000001");
        assert_eq!(counted_name("void", 0, &mut buffer), "voi_000000");
        assert_eq!(
            counted_name("capture", 1_234_567, &mut buffer),
            "cap_1234567"
        );
        assert_eq!(
            counted_name("refund", u64::MAX, &mut buffer),
            format!("ref_{}", u64::MAX)
        );
    }
}
