//! [`OrderService`]: the use cases. Each loads an order, calls the ports a
//! command needs (catalog, inventory, gateway…), lets the order decide, and
//! commits the events in one store transaction. Where a later step fails the
//! earlier ones are compensated (release the reservation, void or refund);
//! what cannot be compensated goes to the store's compensation log.
//!
//! The use cases are grouped by concern in `service/`: `place`, `edit`,
//! `payment`, `fulfilment`; `stock` and `pricing` are what they share;
//! `preview` runs any of them without effects (the dry run); `recent`
//! keeps the orders this service just committed, so that a write following
//! another decides without reading the order back (ADR 0013).

use std::fmt::Write as _;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::address::Address;
use crate::command::Command;
use crate::error::{OrderError, OrderRef, ValidationError};
use crate::event::{EventRecord, OrderEvent};
use crate::id::{CompensationId, CustomerId, EventId, LineId, OrderId, ProductId, VariantId};
use crate::money::{Currency, Money};
use crate::order::{Compensation, Order, Resolution, StatusChange};
use crate::order_number::OrderNumber;
use crate::ports::{
    Catalog, Change, Clock, Customers, DiscountPolicy, IdGenerator, Inventory, OrderNumbers,
    OrderPage, OrderQuery, OrderStore, PaymentGateway, ShippingPolicy, TaxPolicy, Timer,
};
use crate::pricing::PricingPolicy;
use crate::quantity::Quantity;
use crate::report::Report;
use crate::retry::RetryPolicy;
use crate::scope::Scope;
use crate::text::{
    Actor, CouponCode, GatewayReference, Notes, PaymentMethod, Reason, ShippingMethod,
};

mod edit;
mod fulfilment;
mod payment;
mod place;
mod preview;
mod pricing;
mod reach;
mod recent;
mod stock;

pub use payment::PaymentInstrument;
pub use preview::Operation;
pub use reach::StatusGoal;
use recent::RecentOrders;
use stock::StockChange;

/// When a payment is captured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CaptureMode {
    /// Authorize and capture at checkout; confirm when captured. The default.
    #[default]
    Immediate,
    /// Authorize at checkout and confirm; capture when processing starts.
    OnProcessing,
}

/// Who takes the customer's money at checkout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PaymentFlow {
    /// The engine charges through the `PaymentGateway` port: checkout
    /// authorizes and captures, and answers with the outcome. The default.
    #[default]
    Gateway,
    /// A payment service outside the engine charges the customer (the
    /// seeds' event-driven design): checkout only records that payment has
    /// started (payment status `pending`), and the order is confirmed or
    /// failed when `payment.processed` or `payment.failed` arrives. Refunds
    /// and voids still go through the `PaymentGateway` port.
    External,
}

/// The engine's policies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceConfig {
    /// Pricing rules for new orders.
    pub pricing: PricingPolicy,
    /// When payments are captured.
    pub capture: CaptureMode,
    /// Who takes the money at checkout.
    pub payments: PaymentFlow,
    /// How long a pending order may sit without a payment (and how long its
    /// stock is held). Default 30 minutes.
    pub pending_ttl: Duration,
    /// How long after delivery returns are accepted. Default 30 days.
    pub return_window: Duration,
    /// Timeouts and retries of remote calls.
    pub retry: RetryPolicy,
    /// After how long an unfinished idempotent request may be taken over.
    pub idempotency_lease: std::time::Duration,
    /// The most lines one order may have.
    pub max_lines: usize,
    /// Who keeps the stock.
    pub stock: StockKeeping,
    /// How long a placement waits for an in-flight request with the same
    /// idempotency key to finish before answering with a conflict.
    pub idempotency_wait: std::time::Duration,
    /// How many recently written orders the service keeps to decide the
    /// next write on without reading the order back (ADR 0013); 0 keeps
    /// none. Default 1,024.
    pub recent_orders: usize,
    /// How long after its write a kept order may still be decided on.
    /// Default 30 seconds.
    pub recent_order_ttl: std::time::Duration,
}

/// Who keeps the stock an order holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StockKeeping {
    /// The `Inventory` port, called around each commit (a separate
    /// inventory service). The default.
    #[default]
    Inventory,
    /// The store, which applies each change's stock effects in the same
    /// transaction (a one-database deployment): a reservation can never be
    /// left behind by a failed write.
    Store,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            pricing: PricingPolicy::default(),
            capture: CaptureMode::default(),
            payments: PaymentFlow::default(),
            pending_ttl: Duration::minutes(30),
            return_window: Duration::days(30),
            retry: RetryPolicy::default(),
            idempotency_lease: std::time::Duration::from_secs(60),
            max_lines: 100,
            stock: StockKeeping::default(),
            idempotency_wait: std::time::Duration::from_secs(5),
            recent_orders: 1_024,
            recent_order_ttl: std::time::Duration::from_secs(30),
        }
    }
}

/// The adapters an [`OrderService`] drives.
#[derive(Clone)]
#[allow(missing_debug_implementations)]
pub struct Ports {
    /// Orders, outbox, idempotency.
    pub store: Arc<dyn OrderStore>,
    /// Products and prices.
    pub catalog: Arc<dyn Catalog>,
    /// Stock.
    pub inventory: Arc<dyn Inventory>,
    /// Money.
    pub payments: Arc<dyn PaymentGateway>,
    /// Customer directory.
    pub customers: Arc<dyn Customers>,
    /// Tax rates.
    pub tax: Arc<dyn TaxPolicy>,
    /// Shipping charges.
    pub shipping: Arc<dyn ShippingPolicy>,
    /// Coupons.
    pub discounts: Arc<dyn DiscountPolicy>,
    /// Order numbers.
    pub numbers: Arc<dyn OrderNumbers>,
    /// Waiting (timeouts, back-off).
    pub timer: Arc<dyn Timer>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Ids.
    pub ids: Arc<dyn IdGenerator>,
}

/// One line of a new order, as the customer asks for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLine {
    /// The product.
    pub product_id: ProductId,
    /// The variant.
    pub variant_id: Option<VariantId>,
    /// Units.
    pub quantity: Quantity,
    /// The unit price the customer saw; placement is refused if the catalog
    /// now says otherwise.
    pub expected_unit_price: Option<Money>,
}

/// A request to place an order, built from validated parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlaceOrder {
    /// Who orders.
    pub customer_id: CustomerId,
    /// The currency to price in.
    pub currency: Currency,
    /// What.
    pub lines: Vec<NewLine>,
    /// Where physical goods go.
    pub shipping_address: Option<Address>,
    /// Where the invoice goes.
    pub billing_address: Option<Address>,
    /// How physical goods travel.
    pub shipping_method: Option<ShippingMethod>,
    /// How the customer means to pay (passed to the gateway at checkout).
    pub payment_method: Option<PaymentMethod>,
    /// A coupon.
    pub coupon: Option<CouponCode>,
    /// Notes.
    pub notes: Option<Notes>,
}

impl PlaceOrder {
    /// A stable digest of the request, so a reused idempotency key can tell
    /// a retry from a different request: `v1:` and the FNV-1a (128-bit)
    /// hash of [`PlaceOrder::canonical`]. It depends only on the request's
    /// values, never on how a build formats its types, so a retry across a
    /// deploy matches its first attempt; a change of the rendering comes
    /// with a new version.
    pub fn fingerprint(&self) -> String {
        format!(
            "v1:{:032x}",
            crate::ports::fnv1a_128(self.canonical().as_bytes())
        )
    }

    /// The request in its canonical form, version 1: one `name=value` line
    /// per field in a fixed order, every text as `<byte length>:<text>`
    /// (so no value can imitate another field), `-` for an absent value,
    /// ids as hyphenated lowercase UUIDs, amounts as the normalized decimal
    /// and the currency code (`12.5 USD`). It starts with the line
    /// `place-order/v1`. Fields added since (the payment method, an
    /// address's first and last name and e-mail) are written only when
    /// given, so a request without them keeps its fingerprint.
    pub fn canonical(&self) -> String {
        let mut out = Canonical(String::from("place-order/v1\n"));
        out.value("customer_id", &self.customer_id);
        out.value("currency", &self.currency.code());
        out.value("lines", &self.lines.len());
        for (index, line) in self.lines.iter().enumerate() {
            let field = |name: &str| format!("lines[{index}].{name}");
            out.value(&field("product_id"), &line.product_id);
            out.optional(&field("variant_id"), line.variant_id.as_ref());
            out.value(&field("quantity"), &line.quantity.get());
            out.optional(
                &field("expected_unit_price"),
                line.expected_unit_price
                    .as_ref()
                    .map(canonical_money)
                    .as_ref(),
            );
        }
        for (name, address) in [
            ("shipping_address", &self.shipping_address),
            ("billing_address", &self.billing_address),
        ] {
            out.address(name, address.as_ref());
        }
        out.optional(
            "shipping_method",
            self.shipping_method.as_ref().map(ShippingMethod::as_str),
        );
        out.optional("coupon", self.coupon.as_ref().map(CouponCode::as_str));
        out.optional("notes", self.notes.as_ref().map(Notes::as_str));
        out.given(
            "payment_method",
            self.payment_method.as_ref().map(PaymentMethod::as_str),
        );
        out.0
    }
}

fn canonical_money(money: &Money) -> String {
    format!("{} {}", money.amount().normalize(), money.currency().code())
}

/// The writer of [`PlaceOrder::canonical`].
struct Canonical(String);

impl Canonical {
    fn value(&mut self, name: &str, value: &dyn std::fmt::Display) {
        let text = value.to_string();
        let _ = writeln!(self.0, "{name}={}:{text}", text.len());
    }

    fn optional<T: std::fmt::Display + ?Sized>(&mut self, name: &str, value: Option<&T>) {
        match value {
            Some(value) => self.value(name, &value),
            None => {
                let _ = writeln!(self.0, "{name}=-");
            }
        }
    }

    fn given(&mut self, name: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.value(name, &value);
        }
    }

    fn address(&mut self, name: &str, address: Option<&Address>) {
        let Some(address) = address else {
            let _ = writeln!(self.0, "{name}=-");
            return;
        };
        self.value(&format!("{name}.name"), &address.name());
        self.value(&format!("{name}.line1"), &address.line1());
        self.optional(&format!("{name}.line2"), address.line2());
        self.value(&format!("{name}.city"), &address.city());
        self.optional(&format!("{name}.region"), address.region());
        self.value(&format!("{name}.postal_code"), &address.postal_code());
        self.value(&format!("{name}.country"), &address.country().as_str());
        self.optional(&format!("{name}.phone"), address.phone());
        self.given(&format!("{name}.first_name"), address.first_name());
        self.given(&format!("{name}.last_name"), address.last_name());
        self.given(&format!("{name}.email"), address.email());
    }
}

/// An edit of a pending order's lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineEdit {
    /// Add a product (or add units to its line).
    Add {
        /// The product.
        product_id: ProductId,
        /// The variant.
        variant_id: Option<VariantId>,
        /// Units.
        quantity: Quantity,
    },
    /// Set a line's quantity.
    SetQuantity {
        /// The line.
        line_id: LineId,
        /// The new quantity.
        quantity: Quantity,
    },
    /// Remove a line.
    Remove {
        /// The line.
        line_id: LineId,
    },
}

/// A payment provider's notification (webhook).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentEvent {
    /// The provider's event id; each is applied once.
    pub event_id: String,
    /// The order.
    pub order_id: OrderId,
    /// What happened.
    pub kind: PaymentEventKind,
}

/// What a payment notification says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaymentEventKind {
    /// `payment.processed`: the amount was captured.
    Processed {
        /// Amount.
        amount: Money,
        /// The provider's reference.
        reference: GatewayReference,
    },
    /// `payment.failed`.
    Failed {
        /// The provider's code.
        code: String,
        /// Its explanation.
        reason: String,
    },
    /// `payment.refunded`: money went back outside this engine.
    Refunded {
        /// Amount.
        amount: Money,
        /// The provider's reference.
        reference: GatewayReference,
    },
}

/// What an operation would do, without doing it
/// ([`OrderService::preview`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preview {
    /// The events it would cause.
    pub events: Vec<OrderEvent>,
    /// The order after them.
    pub order: Order,
}

/// The use cases of the engine.
#[derive(Clone)]
#[allow(missing_debug_implementations)]
pub struct OrderService {
    ports: Ports,
    config: ServiceConfig,
    /// Shared by the clones of the service: one process, one view.
    recent: Arc<RecentOrders>,
}

/// How many times a command that lost a version race is decided again.
const CONFLICT_RETRIES: usize = 3;

/// True for the failures that a decision made on a stale copy of the order
/// may explain: a refusal by the order's rules, or the store's refusal of
/// the write (the version moved on, or stock the copy's lines did not ask
/// for). Such a failure of a decision on a kept order is decided again on
/// the store's order before it is answered.
fn stale_may_explain(err: &OrderError) -> bool {
    matches!(
        err,
        OrderError::Validation(_)
            | OrderError::Transition(_)
            | OrderError::Rule(_)
            | OrderError::VersionConflict { .. }
            | OrderError::OutOfStock(_)
    )
}

/// `order`, or the conflict a caller expecting another version meets.
fn at_version(order: Order, expected_version: Option<u64>) -> Result<Order, OrderError> {
    match expected_version {
        Some(expected) if expected != order.version() => Err(OrderError::VersionConflict {
            id: order.id(),
            expected,
            actual: order.version(),
        }),
        _ => Ok(order),
    }
}

/// What a commit carries besides the events.
#[derive(Debug, Default)]
struct Extras<'a> {
    /// A payment webhook this change processes.
    inbound_event: Option<&'a str>,
    /// Stock this command itself moves (a reservation or a restock), beyond
    /// what the reservation's state change implies.
    stock: Option<StockChange>,
}

impl OrderService {
    /// A service over `ports` with `config`.
    pub fn new(ports: Ports, config: ServiceConfig) -> Self {
        let recent = RecentOrders::new(config.recent_orders, config.recent_order_ttl);
        Self {
            ports,
            config,
            recent: Arc::new(recent),
        }
    }

    /// The policies in force.
    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    /// The adapters.
    pub fn ports(&self) -> &Ports {
        &self.ports
    }

    fn now(&self) -> DateTime<Utc> {
        self.ports.clock.now()
    }

    fn mint<T>(
        &self,
        make: impl FnOnce(uuid::Uuid) -> Result<T, ValidationError>,
    ) -> Result<T, OrderError> {
        Ok(make(self.ports.ids.new_v7())?)
    }

    // ---- queries ------------------------------------------------------------

    /// The compensation log: steps the engine could not undo, oldest
    /// first, resolved or waiting for an operator.
    ///
    /// # Errors
    /// A store failure.
    pub async fn compensations(&self) -> Result<Vec<Compensation>, OrderError> {
        Ok(self.ports.store.compensations().await?)
    }

    /// Records that `actor` dealt with a compensation, now; `None` for an
    /// unknown id. One resolved before keeps its first resolution.
    ///
    /// # Errors
    /// A store failure.
    pub async fn resolve_compensation(
        &self,
        id: CompensationId,
        note: Option<Reason>,
        actor: &Actor,
    ) -> Result<Option<Compensation>, OrderError> {
        let resolution = Resolution {
            by: actor.clone(),
            at: self.now(),
            note,
        };
        Ok(self
            .ports
            .store
            .resolve_compensation(id, &resolution)
            .await?)
    }

    /// The order with `id`.
    ///
    /// # Errors
    /// [`OrderError::NotFound`], or a store failure.
    pub async fn get(&self, id: OrderId) -> Result<Order, OrderError> {
        self.ports
            .store
            .get(id)
            .await?
            .ok_or(OrderError::NotFound(OrderRef::Id(id)))
    }

    /// The order with `id`, when it is within `scope`; one outside it is
    /// [`OrderError::NotFound`] too.
    ///
    /// # Errors
    /// [`OrderError::NotFound`], or a store failure.
    pub async fn get_in(&self, id: OrderId, scope: Scope) -> Result<Order, OrderError> {
        let order = self.get(id).await?;
        if scope.admits(&order) {
            Ok(order)
        } else {
            Err(OrderError::NotFound(OrderRef::Id(id)))
        }
    }

    /// The order with `number`.
    ///
    /// # Errors
    /// [`OrderError::NotFound`], or a store failure.
    pub async fn get_by_number(&self, number: &OrderNumber) -> Result<Order, OrderError> {
        self.ports
            .store
            .get_by_number(number)
            .await?
            .ok_or_else(|| OrderError::NotFound(OrderRef::Number(number.to_string())))
    }

    /// A page of orders.
    ///
    /// # Errors
    /// [`ValidationError::OutOfRange`] for a limit outside 1..=200; store
    /// failures.
    pub async fn list(&self, query: &OrderQuery) -> Result<OrderPage, OrderError> {
        if query.limit == 0 || query.limit > OrderQuery::MAX_LIMIT {
            return Err(ValidationError::OutOfRange {
                field: "limit".into(),
                value: i64::try_from(query.limit).unwrap_or(i64::MAX),
                min: 1,
                max: OrderQuery::MAX_LIMIT as i64,
            }
            .into());
        }
        Ok(self.ports.store.list(query).await?)
    }

    /// The order's status history.
    ///
    /// # Errors
    /// As [`OrderService::get`].
    pub async fn history(&self, id: OrderId) -> Result<Vec<StatusChange>, OrderError> {
        Ok(self.get(id).await?.history().to_vec())
    }

    /// Every event of the order: its full timeline.
    ///
    /// # Errors
    /// As [`OrderService::get`].
    pub async fn events(&self, id: OrderId) -> Result<Vec<EventRecord>, OrderError> {
        let events = self.ports.store.events(id).await?;
        if events.is_empty() {
            return Err(OrderError::NotFound(OrderRef::Id(id)));
        }
        Ok(events)
    }

    /// A report over the orders placed in `[from, to)`.
    ///
    /// # Errors
    /// [`ValidationError::OutOfRange`] when `to` is not after `from`; store
    /// failures.
    pub async fn report(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Report, OrderError> {
        if to <= from {
            return Err(ValidationError::BadFormat {
                field: "to".into(),
                rule: "must be after from",
            }
            .into());
        }
        let groups =
            crate::ports::OrderFigures::figures(self.ports.store.as_ref(), from, to).await?;
        Ok(Report::of(from, to, groups)?)
    }

    /// Whether the store answers: a readiness probe.
    ///
    /// # Errors
    /// The store's failure.
    pub async fn ping(&self) -> Result<(), OrderError> {
        let probe = OrderId::new(uuid::Uuid::from_u128(
            0x0000_0000_0000_7000_8000_0000_0000_0000,
        ))?;
        self.ports.store.get(probe).await?;
        Ok(())
    }

    // ---- commits ------------------------------------------------------------

    fn records(
        &self,
        order: &Order,
        events: Vec<OrderEvent>,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Vec<EventRecord>, OrderError> {
        let mut sequence = order.version();
        events
            .into_iter()
            .map(|event| {
                sequence += 1;
                Ok(EventRecord {
                    id: self.mint(EventId::new)?,
                    order_id: order.id(),
                    sequence,
                    occurred_at: at,
                    actor: actor.clone(),
                    event,
                })
            })
            .collect()
    }

    /// Applies `events` to `before` and commits them with their stock
    /// effects: in the same transaction when the store keeps stock, through
    /// the inventory port right after otherwise.
    async fn commit(
        &self,
        before: &Order,
        events: Vec<OrderEvent>,
        actor: &Actor,
        at: DateTime<Utc>,
        extras: Extras<'_>,
    ) -> Result<Order, OrderError> {
        let after = before.with_events(&events, actor, at);
        self.commit_applied(before, after, events, actor, at, extras)
            .await
    }

    /// [`OrderService::commit`] when the caller has already applied the
    /// events: `after` is `before.with_events(&events, actor, at)`.
    async fn commit_applied(
        &self,
        before: &Order,
        after: Order,
        events: Vec<OrderEvent>,
        actor: &Actor,
        at: DateTime<Utc>,
        extras: Extras<'_>,
    ) -> Result<Order, OrderError> {
        debug_assert!(after == before.with_events(&events, actor, at));
        let records = self.records(before, events, actor, at)?;
        let plan = self.stock_plan(before, &after, extras.stock);
        let committed = self
            .ports
            .store
            .commit(Change {
                order: &after,
                expected_version: before.version(),
                events: &records,
                idempotency_key: None,
                inbound_event: extras.inbound_event,
                lines_changed: !after.shares_lines_with(before),
                stock: plan.in_store(),
            })
            .await;
        if let Err(err) = committed {
            // Lost a race, or failed without saying whether it wrote: what
            // this service kept of the order may no longer be its state.
            self.recent.forget(after.id());
            return Err(err.into());
        }
        self.recent.put(&after, self.now());
        match self.settle(after.id(), plan).await {
            Some(cancelled) => Ok(cancelled),
            None => Ok(after),
        }
    }

    /// The store's order, read for a write: kept for the writes that follow.
    async fn fetch(&self, id: OrderId) -> Result<Order, OrderError> {
        let order = self.get(id).await?;
        self.recent.put(&order, self.now());
        Ok(order)
    }

    /// The store's order (read for a write), at `expected_version` if given.
    async fn load_at(
        &self,
        id: OrderId,
        expected_version: Option<u64>,
    ) -> Result<Order, OrderError> {
        at_version(self.fetch(id).await?, expected_version)
    }

    /// The order a write decides on: the one this service last committed
    /// (or read for a write) if it still keeps it, at `expected_version`
    /// when one is given, and unless `on_store` says that state must be
    /// decided on the store's order; otherwise the store's. `scope` is
    /// checked on either (a customer never changes). Also says whether the
    /// order is a kept one.
    async fn decision_read(
        &self,
        id: OrderId,
        scope: Scope,
        expected_version: Option<u64>,
        on_store: impl Fn(&Order) -> bool,
    ) -> Result<(Order, bool), OrderError> {
        let kept = self
            .recent
            .get(id, self.now())
            .filter(|order| expected_version.is_none_or(|v| v == order.version()));
        if let Some(order) = kept {
            if !scope.admits(&order) {
                return Err(OrderError::NotFound(OrderRef::Id(id)));
            }
            if !on_store(&order) {
                return Ok((order, true));
            }
        }
        let order = self.fetch(id).await?;
        if !scope.admits(&order) {
            return Err(OrderError::NotFound(OrderRef::Id(id)));
        }
        Ok((at_version(order, expected_version)?, false))
    }

    /// Runs `decide` (a use case from the order it decides on up to its
    /// write) on the [decision read](OrderService::decision_read). When
    /// the order was a kept one and `decide` fails in a way a stale copy
    /// may explain, the copy is forgotten and `decide` runs again on the
    /// store's order: a kept order only ever saves a read, it never makes
    /// an answer the store's order would not. `on_store` names the states
    /// that `decide` must start from the store's order: those from which
    /// it would act outside the store before writing (move money) or
    /// answer without writing.
    async fn decide_on<T, F, Fut>(
        &self,
        id: OrderId,
        scope: Scope,
        expected_version: Option<u64>,
        on_store: impl Fn(&Order) -> bool,
        decide: F,
    ) -> Result<T, OrderError>
    where
        F: Fn(Order) -> Fut,
        Fut: std::future::Future<Output = Result<T, OrderError>>,
    {
        let (order, kept) = self
            .decision_read(id, scope, expected_version, &on_store)
            .await?;
        match decide(order).await {
            Err(err) if kept && stale_may_explain(&err) => {
                self.recent.forget(id);
                let (order, _) = self
                    .decision_read(id, scope, expected_version, |_| true)
                    .await?;
                decide(order).await
            }
            other => other,
        }
    }

    /// Decides and commits a pure command; when no version was given and
    /// another writer won the race, decides again on the fresh state.
    async fn execute(
        &self,
        id: OrderId,
        expected_version: Option<u64>,
        actor: &Actor,
        command: impl Fn(&Order) -> Result<Command, OrderError>,
    ) -> Result<Order, OrderError> {
        self.decide_on(
            id,
            Scope::All,
            expected_version,
            |_| false,
            |before| self.execute_from(before, expected_version, actor, &command),
        )
        .await
    }

    /// [`OrderService::execute`] from `before`.
    async fn execute_from(
        &self,
        mut before: Order,
        expected_version: Option<u64>,
        actor: &Actor,
        command: &impl Fn(&Order) -> Result<Command, OrderError>,
    ) -> Result<Order, OrderError> {
        let id = before.id();
        let mut tries = 0;
        loop {
            let now = self.now();
            let events = before.decide(&command(&before)?, now)?;
            match self
                .commit(&before, events, actor, now, Extras::default())
                .await
            {
                Err(OrderError::VersionConflict { .. })
                    if expected_version.is_none() && tries < CONFLICT_RETRIES =>
                {
                    tries += 1;
                    before = self.fetch(id).await?;
                }
                other => return other,
            }
        }
    }

    async fn compensate(
        &self,
        order_id: OrderId,
        step: &str,
        amount: Option<Money>,
        detail: String,
    ) {
        // Only a broken id generator gives no id; the caller's error still
        // reaches its caller, who logs it.
        let Ok(id) = self.mint(CompensationId::new) else {
            return;
        };
        let compensation = Compensation {
            id,
            order_id,
            step: step.to_owned(),
            amount,
            detail,
            at: self.now(),
            resolution: None,
        };
        // If even the log is down, nothing durable is left; the error that
        // triggered this reaches the caller, who logs it.
        let _ = self.ports.store.record_compensation(&compensation).await;
    }
}
