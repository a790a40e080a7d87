//! [`OrderService`]: the use cases. Each loads an order, calls the ports a
//! command needs (catalog, inventory, gateway…), lets the order decide, and
//! commits the events in one store transaction. Where a later step fails the
//! earlier ones are compensated (release the reservation, void or refund);
//! what cannot be compensated goes to the store's compensation log.

use std::fmt::Write as _;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::address::Address;
use crate::command::{Command, DetailsChange};
use crate::error::{
    InventoryError, OrderError, OrderRef, PaymentError, PolicyError, PortError, RuleViolation,
    StoreError, ValidationError,
};
use crate::event::{EventRecord, OrderEvent, Placed};
use crate::id::{
    CustomerId, EventId, LineId, OrderId, PaymentEntryId, ProductId, ReturnId, ShipmentId,
    VariantId,
};
use crate::ledger::{PaymentEntry, PaymentKind};
use crate::money::{Currency, Money};
use crate::order::{
    Compensation, LineQuantity, Order, OrderLine, ProductKind, Reservation, StatusChange,
};
use crate::order_number::OrderNumber;
use crate::ports::{
    Catalog, Change, Clock, Customers, DiscountPolicy, IdGenerator, IdempotencyClaim,
    IdempotencyKey, Inventory, OrderNumbers, OrderPage, OrderQuery, OrderStore, PaymentGateway,
    PaymentRequest, Product, ProductKey, ShippingPolicy, SortOrder, StockItem, TaxPolicy, Timer,
};
use crate::pricing::{Discount, PriceLine, PricingPolicy, Totals, price_lines};
use crate::quantity::Quantity;
use crate::retry::{RetryPolicy, with_retry};
use crate::status::{OrderStatus, PaymentStatus};
use crate::text::{
    Actor, Carrier, CouponCode, GatewayReference, Notes, Reason, ShippingMethod, TrackingNumber,
};

/// When a payment is captured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CaptureMode {
    /// Authorize and capture at checkout; confirm when captured. The default.
    #[default]
    Immediate,
    /// Authorize at checkout and confirm; capture when processing starts.
    OnProcessing,
}

/// The engine's policies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceConfig {
    /// Pricing rules for new orders.
    pub pricing: PricingPolicy,
    /// When payments are captured.
    pub capture: CaptureMode,
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
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            pricing: PricingPolicy::default(),
            capture: CaptureMode::default(),
            pending_ttl: Duration::minutes(30),
            return_window: Duration::days(30),
            retry: RetryPolicy::default(),
            idempotency_lease: std::time::Duration::from_secs(60),
            max_lines: 100,
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
    /// A coupon.
    pub coupon: Option<CouponCode>,
    /// Notes.
    pub notes: Option<Notes>,
}

impl PlaceOrder {
    /// A stable digest of the request, so a reused idempotency key can tell
    /// a retry from a different request.
    pub fn fingerprint(&self) -> String {
        // FNV-1a over the request's Debug rendering: stable for a given
        // build, which is what a retry of the same request sees.
        let text = format!("{self:?}");
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in text.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        let mut out = String::with_capacity(16);
        let _ = write!(out, "{hash:016x}");
        out
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

/// What a command would do, without doing it.
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
}

/// A line before pricing.
struct LineDraft {
    id: LineId,
    product: Product,
    quantity: Quantity,
}

/// How many times a command that lost a version race is decided again.
const CONFLICT_RETRIES: usize = 3;

impl OrderService {
    /// A service over `ports` with `config`.
    pub fn new(ports: Ports, config: ServiceConfig) -> Self {
        Self { ports, config }
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

    async fn commit(
        &self,
        before: &Order,
        events: Vec<OrderEvent>,
        actor: &Actor,
        at: DateTime<Utc>,
        inbound_event: Option<&str>,
    ) -> Result<Order, OrderError> {
        let records = self.records(before, events, actor, at)?;
        let mut after = before.clone();
        for record in &records {
            after.apply(record);
        }
        self.ports
            .store
            .commit(Change {
                order: &after,
                expected_version: before.version(),
                events: &records,
                idempotency_key: None,
                inbound_event,
            })
            .await?;
        Ok(after)
    }

    async fn load_at(
        &self,
        id: OrderId,
        expected_version: Option<u64>,
    ) -> Result<Order, OrderError> {
        let order = self.get(id).await?;
        match expected_version {
            Some(expected) if expected != order.version() => Err(OrderError::VersionConflict {
                id,
                expected,
                actual: order.version(),
            }),
            _ => Ok(order),
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
    ) -> Result<(Order, Order), OrderError> {
        let mut tries = 0;
        loop {
            let before = self.load_at(id, expected_version).await?;
            let now = self.now();
            let events = before.decide(&command(&before)?, now)?;
            match self.commit(&before, events, actor, now, None).await {
                Err(OrderError::VersionConflict { .. })
                    if expected_version.is_none() && tries < CONFLICT_RETRIES =>
                {
                    tries += 1;
                }
                other => return other.map(|after| (before, after)),
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
        let compensation = Compensation {
            order_id,
            step: step.to_owned(),
            amount,
            detail,
            at: self.now(),
        };
        // If even the log is down, nothing durable is left; the error that
        // triggered this reaches the caller, who logs it.
        let _ = self.ports.store.record_compensation(&compensation).await;
    }

    // ---- stock --------------------------------------------------------------

    fn stock_items<'a>(
        lines: impl IntoIterator<Item = (&'a crate::text::Sku, u32)>,
    ) -> Vec<StockItem> {
        let mut by_sku: Vec<(crate::text::Sku, u32)> = Vec::new();
        for (sku, units) in lines {
            match by_sku.iter_mut().find(|(s, _)| s == sku) {
                Some((_, total)) => *total += units,
                None => by_sku.push((sku.clone(), units)),
            }
        }
        by_sku
            .into_iter()
            .filter_map(|(sku, units)| {
                Quantity::new(units)
                    .ok()
                    .map(|quantity| StockItem { sku, quantity })
            })
            .collect()
    }

    fn active_items(order: &Order) -> Vec<StockItem> {
        Self::stock_items(
            order
                .lines()
                .iter()
                .map(|l| (&l.sku, l.quantities.active())),
        )
    }

    async fn reserve(
        &self,
        order_id: OrderId,
        items: &[StockItem],
        until: DateTime<Utc>,
    ) -> Result<(), OrderError> {
        let inventory = &self.ports.inventory;
        with_retry(&self.config.retry, self.ports.timer.as_ref(), || {
            inventory.reserve(order_id, items, until)
        })
        .await
        .map_err(|err| match err {
            InventoryError::OutOfStock(_) => OrderError::OutOfStock(err),
            InventoryError::Port(source) => OrderError::Unavailable {
                port: "inventory",
                source,
            },
        })
    }

    async fn release(&self, order_id: OrderId) {
        let inventory = &self.ports.inventory;
        if let Err(err) = with_retry(&self.config.retry, self.ports.timer.as_ref(), || {
            inventory.release(order_id)
        })
        .await
        {
            self.compensate(order_id, "release stock reservation", None, err.to_string())
                .await;
        }
    }

    async fn commit_stock(&self, order_id: OrderId) {
        let inventory = &self.ports.inventory;
        if let Err(err) = with_retry(&self.config.retry, self.ports.timer.as_ref(), || {
            inventory.commit(order_id)
        })
        .await
        {
            self.compensate(order_id, "commit stock reservation", None, err.to_string())
                .await;
        }
    }

    async fn restock(&self, order_id: OrderId, key: &str, items: &[StockItem]) {
        if items.is_empty() {
            return;
        }
        let inventory = &self.ports.inventory;
        if let Err(err) = with_retry(&self.config.retry, self.ports.timer.as_ref(), || {
            inventory.restock(order_id, key, items)
        })
        .await
        {
            self.compensate(order_id, "restock units", None, err.to_string())
                .await;
        }
    }

    /// Brings the inventory in line with the order's reservation state after
    /// a committed change.
    async fn settle_stock(&self, before: &Order, after: &Order) {
        match (before.reservation(), after.reservation()) {
            (Reservation::Committed, Reservation::Committed)
            | (Reservation::Released, Reservation::Released)
            | (Reservation::Restocked, Reservation::Restocked)
            | (_, Reservation::Held(_)) => {}
            (_, Reservation::Committed) => self.commit_stock(after.id()).await,
            (_, Reservation::Released) => self.release(after.id()).await,
            (_, Reservation::Restocked) => {
                self.restock(after.id(), "cancel", &Self::active_items(before))
                    .await;
            }
        }
    }

    // ---- pricing ------------------------------------------------------------

    fn policy_error(
        err: PolicyError,
        refused: fn(String) -> RuleViolation,
        port: &'static str,
    ) -> OrderError {
        match err {
            PolicyError::Refused(reason) => refused(reason).into(),
            PolicyError::Port(source) => OrderError::Unavailable { port, source },
        }
    }

    async fn lookup_products(&self, keys: &[ProductKey]) -> Result<Vec<Product>, OrderError> {
        let catalog = &self.ports.catalog;
        with_retry(&self.config.retry, self.ports.timer.as_ref(), || {
            catalog.products(keys)
        })
        .await
        .map_err(|source| OrderError::Unavailable {
            port: "catalog",
            source,
        })
    }

    /// Prices drafts into order lines and totals.
    #[allow(clippy::too_many_arguments)]
    async fn price(
        &self,
        currency: Currency,
        drafts: &[LineDraft],
        discount: Option<&Discount>,
        shipping_address: Option<&Address>,
        billing_address: Option<&Address>,
        shipping_method: Option<&ShippingMethod>,
        policy: &PricingPolicy,
        existing: &[OrderLine],
    ) -> Result<(Vec<OrderLine>, Totals), OrderError> {
        let classes: Vec<_> = drafts.iter().map(|d| d.product.tax_class.clone()).collect();
        let destination = shipping_address.or(billing_address);
        let tax = &self.ports.tax;
        let rates = with_retry(&self.config.retry, self.ports.timer.as_ref(), || {
            tax.rates(destination, &classes)
        })
        .await
        .map_err(|e| {
            Self::policy_error(
                e,
                |reason| RuleViolation::TaxUnavailable { reason },
                "tax policy",
            )
        })?;
        if rates.len() != drafts.len() {
            return Err(OrderError::Unavailable {
                port: "tax policy",
                source: PortError::Unavailable("answered the wrong number of rates".into()),
            });
        }
        let price_input: Vec<PriceLine> = drafts
            .iter()
            .zip(&rates)
            .map(|(d, rate)| PriceLine {
                unit_price: d.product.unit_price,
                quantity: d.quantity,
                tax_rate: *rate,
                discountable: discount.is_some_and(|disc| disc.applies_to(d.product.product_id)),
            })
            .collect();
        let priced = price_lines(currency, &price_input, discount.map(|d| &d.value), policy)?;
        let needs_shipping = drafts
            .iter()
            .any(|d| d.product.kind == ProductKind::Physical);
        let shipping = match (needs_shipping, shipping_method, shipping_address) {
            (false, _, _) => Money::zero(currency),
            (true, Some(method), Some(address)) => {
                let merchandise = priced.merchandise()?;
                let policy = &self.ports.shipping;
                with_retry(&self.config.retry, self.ports.timer.as_ref(), || {
                    policy.quote(method, address, merchandise)
                })
                .await
                .map_err(|e| {
                    Self::policy_error(
                        e,
                        |reason| RuleViolation::ShippingUnavailable { reason },
                        "shipping policy",
                    )
                })?
            }
            (true, None, _) => return Err(ValidationError::ShippingMethodRequired.into()),
            (true, Some(_), None) => return Err(ValidationError::ShippingAddressRequired.into()),
        };
        let totals = priced.with_shipping(shipping)?;
        let lines = drafts
            .iter()
            .zip(rates)
            .zip(priced.lines)
            .map(|((d, tax_rate), amounts)| {
                let quantities = existing
                    .iter()
                    .find(|l| l.id == d.id)
                    .map(|l| l.quantities)
                    .unwrap_or_default();
                OrderLine {
                    id: d.id,
                    product_id: d.product.product_id,
                    variant_id: d.product.variant_id,
                    sku: d.product.sku.clone(),
                    name: d.product.name.clone(),
                    kind: d.product.kind,
                    tax_class: d.product.tax_class.clone(),
                    tax_rate,
                    quantity: d.quantity,
                    unit_price: d.product.unit_price,
                    amounts,
                    quantities: crate::ledger::LineQuantities {
                        ordered: d.quantity.get(),
                        ..quantities
                    },
                }
            })
            .collect();
        Ok((lines, totals))
    }

    // ---- place --------------------------------------------------------------

    /// Places an order: validate → catalog → customer → price → reserve →
    /// persist. With an idempotency key, a retry of the same request returns
    /// the first answer (the order as it was placed); the key with another
    /// request is refused.
    ///
    /// # Errors
    /// Validation and rule errors naming the field; [`OrderError::OutOfStock`]
    /// with per-SKU detail (nothing persisted);
    /// [`OrderError::IdempotencyKeyReused`] / [`OrderError::IdempotencyInFlight`];
    /// [`OrderError::Unavailable`] when a port cannot answer.
    pub async fn place(
        &self,
        request: PlaceOrder,
        idempotency_key: Option<&IdempotencyKey>,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        self.check_structure(&request)?;
        let Some(key) = idempotency_key else {
            return self.place_claimed(&request, None, actor).await;
        };
        let store = &self.ports.store;
        match store
            .claim_idempotency_key(
                key,
                &request.fingerprint(),
                self.now(),
                self.config.idempotency_lease,
            )
            .await?
        {
            IdempotencyClaim::Claimed => {}
            IdempotencyClaim::Completed { order_id } => return self.first_answer(order_id).await,
            IdempotencyClaim::Mismatch => {
                return Err(OrderError::IdempotencyKeyReused {
                    key: key.as_str().to_owned(),
                });
            }
            IdempotencyClaim::InFlight => {
                return Err(OrderError::IdempotencyInFlight {
                    key: key.as_str().to_owned(),
                });
            }
        }
        let placed = self.place_claimed(&request, Some(key), actor).await;
        if placed.is_err() {
            // Nothing was placed, so a retry must be free to run again.
            let _ = store.release_idempotency_key(key).await;
        }
        placed
    }

    /// The order as its first event made it.
    async fn first_answer(&self, order_id: OrderId) -> Result<Order, OrderError> {
        let events = self.ports.store.events(order_id).await?;
        events
            .first()
            .and_then(Order::placed)
            .ok_or(OrderError::NotFound(OrderRef::Id(order_id)))
    }

    fn check_structure(&self, request: &PlaceOrder) -> Result<(), ValidationError> {
        if request.lines.is_empty() {
            return Err(ValidationError::NoLines);
        }
        if request.lines.len() > self.config.max_lines {
            return Err(ValidationError::TooManyLines {
                max: self.config.max_lines,
                len: request.lines.len(),
            });
        }
        for (index, line) in request.lines.iter().enumerate() {
            let earlier = &request.lines[..index];
            if earlier
                .iter()
                .any(|l| l.product_id == line.product_id && l.variant_id == line.variant_id)
            {
                return Err(ValidationError::DuplicateLine {
                    index,
                    product_id: line.product_id,
                });
            }
            if let Some(expected) = line.expected_unit_price
                && expected.currency() != request.currency
            {
                return Err(ValidationError::MixedCurrencies {
                    index,
                    expected: request.currency,
                    found: expected.currency(),
                });
            }
        }
        Ok(())
    }

    async fn place_claimed(
        &self,
        request: &PlaceOrder,
        key: Option<&IdempotencyKey>,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        let keys: Vec<ProductKey> = request
            .lines
            .iter()
            .map(|l| ProductKey {
                product_id: l.product_id,
                variant_id: l.variant_id,
            })
            .collect();
        let products = self.lookup_products(&keys).await?;
        let mut drafts = Vec::with_capacity(request.lines.len());
        for (index, line) in request.lines.iter().enumerate() {
            let product = products
                .iter()
                .find(|p| p.product_id == line.product_id && p.variant_id == line.variant_id)
                .ok_or(RuleViolation::UnknownProduct {
                    index,
                    product_id: line.product_id,
                    variant_id: line.variant_id,
                })?;
            if !product.active {
                return Err(RuleViolation::ProductInactive {
                    index,
                    sku: product.sku.clone(),
                }
                .into());
            }
            if product.unit_price.currency() != request.currency {
                return Err(ValidationError::MixedCurrencies {
                    index,
                    expected: request.currency,
                    found: product.unit_price.currency(),
                }
                .into());
            }
            if let Some(expected) = line.expected_unit_price
                && expected != product.unit_price
            {
                return Err(RuleViolation::PriceChanged {
                    index,
                    sku: product.sku.clone(),
                    expected,
                    actual: product.unit_price,
                }
                .into());
            }
            drafts.push(LineDraft {
                id: self.mint(LineId::new)?,
                product: product.clone(),
                quantity: line.quantity,
            });
        }
        let needs_shipping = drafts
            .iter()
            .any(|d| d.product.kind == ProductKind::Physical);
        if needs_shipping && request.shipping_address.is_none() {
            return Err(ValidationError::ShippingAddressRequired.into());
        }
        if needs_shipping && request.shipping_method.is_none() {
            return Err(ValidationError::ShippingMethodRequired.into());
        }

        let customers = &self.ports.customers;
        let known = with_retry(&self.config.retry, self.ports.timer.as_ref(), || {
            customers.exists(request.customer_id)
        })
        .await
        .map_err(|source| OrderError::Unavailable {
            port: "customers",
            source,
        })?;
        if !known {
            return Err(RuleViolation::UnknownCustomer.into());
        }

        let discount = match &request.coupon {
            None => None,
            Some(code) => {
                let gross: Vec<Money> = drafts
                    .iter()
                    .map(|d| d.product.unit_price.checked_mul(d.quantity.get()))
                    .collect::<Result<_, _>>()?;
                let subtotal = Money::sum(request.currency, &gross)?;
                let policy = &self.ports.discounts;
                let granted = with_retry(&self.config.retry, self.ports.timer.as_ref(), || {
                    policy.discount(code, request.customer_id, subtotal)
                })
                .await
                .map_err(|e| {
                    Self::policy_error(
                        e,
                        |reason| RuleViolation::CouponRejected { reason },
                        "discount policy",
                    )
                })?;
                Some(granted)
            }
        };

        let policy = self.config.pricing;
        let (lines, totals) = self
            .price(
                request.currency,
                &drafts,
                discount.as_ref(),
                request.shipping_address.as_ref(),
                request.billing_address.as_ref(),
                request.shipping_method.as_ref(),
                &policy,
                &[],
            )
            .await?;
        if !totals.total.amount().is_sign_positive()
            || (totals.total.is_zero() && totals.discount.is_zero())
        {
            return Err(ValidationError::NonPositiveTotal.into());
        }

        let now = self.now();
        let numbers = &self.ports.numbers;
        let number = with_retry(&self.config.retry, self.ports.timer.as_ref(), || {
            numbers.next(now)
        })
        .await
        .map_err(|source| OrderError::Unavailable {
            port: "order numbers",
            source,
        })?;
        let order_id = self.mint(OrderId::new)?;
        let expires_at = now + self.config.pending_ttl;
        let items = Self::stock_items(lines.iter().map(|l| (&l.sku, l.quantity.get())));
        self.reserve(order_id, &items, expires_at).await?;

        let record = EventRecord {
            id: self.mint(EventId::new)?,
            order_id,
            sequence: 1,
            occurred_at: now,
            actor: actor.clone(),
            event: OrderEvent::Placed(Box::new(Placed {
                id: order_id,
                number,
                customer_id: request.customer_id,
                currency: request.currency,
                lines,
                shipping_address: request.shipping_address.clone(),
                billing_address: request.billing_address.clone(),
                shipping_method: request.shipping_method.clone(),
                coupon: request.coupon.clone(),
                discount,
                notes: request.notes.clone(),
                pricing: policy,
                totals,
                reservation_expires_at: expires_at,
            })),
        };
        let order = Order::placed(&record).ok_or(OrderError::NotFound(OrderRef::Id(order_id)))?;
        let committed = self
            .ports
            .store
            .commit(Change {
                order: &order,
                expected_version: 0,
                events: std::slice::from_ref(&record),
                idempotency_key: key,
                inbound_event: None,
            })
            .await;
        if let Err(err) = committed {
            self.release(order_id).await;
            return Err(err.into());
        }
        Ok(order)
    }

    // ---- edits --------------------------------------------------------------

    /// Adds, changes or removes lines of a pending, unpaid order: re-prices it
    /// with the order's own pricing rules and discount, and adjusts the stock
    /// reservation to the new quantities.
    ///
    /// # Errors
    /// [`OrderError::Transition`] unless pending with no payment in flight;
    /// [`OrderError::OutOfStock`]; [`OrderError::VersionConflict`] when
    /// `expected_version` is stale; rule errors for unknown lines or products.
    pub async fn edit_lines(
        &self,
        id: OrderId,
        expected_version: Option<u64>,
        edits: &[LineEdit],
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        let before = self.load_at(id, expected_version).await?;
        // Refuse early, before any port is called, when editing is not allowed.
        before.decide(
            &Command::ChangeLines {
                lines: before.lines().to_vec(),
                totals: *before.totals(),
                reservation_expires_at: self.now(),
            },
            self.now(),
        )?;

        let mut wanted: Vec<(Option<LineId>, ProductKey, Quantity)> = before
            .lines()
            .iter()
            .map(|l| {
                (
                    Some(l.id),
                    ProductKey {
                        product_id: l.product_id,
                        variant_id: l.variant_id,
                    },
                    l.quantity,
                )
            })
            .collect();
        for edit in edits {
            match edit {
                LineEdit::Add {
                    product_id,
                    variant_id,
                    quantity,
                } => {
                    let key = ProductKey {
                        product_id: *product_id,
                        variant_id: *variant_id,
                    };
                    match wanted.iter_mut().find(|(_, k, _)| *k == key) {
                        Some((_, _, q)) => *q = Quantity::new(q.get() + quantity.get())?,
                        None => wanted.push((None, key, *quantity)),
                    }
                }
                LineEdit::SetQuantity { line_id, quantity } => {
                    let slot = wanted
                        .iter_mut()
                        .find(|(l, _, _)| *l == Some(*line_id))
                        .ok_or(RuleViolation::UnknownLine(*line_id))?;
                    slot.2 = *quantity;
                }
                LineEdit::Remove { line_id } => {
                    let index = wanted
                        .iter()
                        .position(|(l, _, _)| *l == Some(*line_id))
                        .ok_or(RuleViolation::UnknownLine(*line_id))?;
                    wanted.remove(index);
                }
            }
        }
        if wanted.is_empty() {
            return Err(RuleViolation::LastLine.into());
        }
        if wanted.len() > self.config.max_lines {
            return Err(ValidationError::TooManyLines {
                max: self.config.max_lines,
                len: wanted.len(),
            }
            .into());
        }

        // Existing lines keep the price they were sold at; new lines take
        // the catalog's current price.
        let new_keys: Vec<ProductKey> = wanted
            .iter()
            .filter(|(l, _, _)| l.is_none())
            .map(|(_, k, _)| *k)
            .collect();
        let products = if new_keys.is_empty() {
            Vec::new()
        } else {
            self.lookup_products(&new_keys).await?
        };
        let mut drafts = Vec::with_capacity(wanted.len());
        for (index, (line_id, key, quantity)) in wanted.into_iter().enumerate() {
            let draft = match line_id.and_then(|id| before.line(id)) {
                Some(line) => LineDraft {
                    id: line.id,
                    product: Product {
                        product_id: line.product_id,
                        variant_id: line.variant_id,
                        sku: line.sku.clone(),
                        name: line.name.clone(),
                        unit_price: line.unit_price,
                        tax_class: line.tax_class.clone(),
                        kind: line.kind,
                        active: true,
                    },
                    quantity,
                },
                None => {
                    let product = products
                        .iter()
                        .find(|p| p.product_id == key.product_id && p.variant_id == key.variant_id)
                        .ok_or(RuleViolation::UnknownProduct {
                            index,
                            product_id: key.product_id,
                            variant_id: key.variant_id,
                        })?;
                    if !product.active {
                        return Err(RuleViolation::ProductInactive {
                            index,
                            sku: product.sku.clone(),
                        }
                        .into());
                    }
                    if product.unit_price.currency() != before.currency() {
                        return Err(ValidationError::MixedCurrencies {
                            index,
                            expected: before.currency(),
                            found: product.unit_price.currency(),
                        }
                        .into());
                    }
                    LineDraft {
                        id: self.mint(LineId::new)?,
                        product: product.clone(),
                        quantity,
                    }
                }
            };
            drafts.push(draft);
        }
        let (lines, totals) = self
            .price(
                before.currency(),
                &drafts,
                before.discount(),
                before.shipping_address(),
                before.billing_address(),
                before.shipping_method(),
                before.pricing(),
                before.lines(),
            )
            .await?;
        let now = self.now();
        let until = now + self.config.pending_ttl;
        let items = Self::stock_items(lines.iter().map(|l| (&l.sku, l.quantity.get())));
        self.reserve(id, &items, until).await?;
        let command = Command::ChangeLines {
            lines,
            totals,
            reservation_expires_at: until,
        };
        let committed = match before.decide(&command, now) {
            Ok(events) => self.commit(&before, events, actor, now, None).await,
            Err(err) => Err(err),
        };
        if committed.is_err() {
            // Put the reservation back as it was.
            let previous = Self::active_items(&before);
            if let Err(err) = self.reserve(id, &previous, until).await {
                self.compensate(
                    id,
                    "restore stock reservation after failed edit",
                    None,
                    err.to_string(),
                )
                .await;
            }
        }
        committed
    }

    /// Changes notes, addresses or the shipping method. While the order is
    /// pending and unpaid it is re-priced (tax follows the destination,
    /// shipping the method); afterwards only changes that keep the price are
    /// allowed.
    ///
    /// # Errors
    /// [`OrderError::Transition`] after shipping; [`RuleViolation::FieldFrozen`]
    /// for a price-changing edit of a paid order; validation errors.
    pub async fn update_details(
        &self,
        id: OrderId,
        expected_version: Option<u64>,
        change: DetailsChange,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        let before = self.load_at(id, expected_version).await?;
        if before.needs_shipping()
            && change.shipping_address.is_none()
            && before.shipping_address().is_none()
        {
            return Err(ValidationError::ShippingAddressRequired.into());
        }
        let editable = before.status() == OrderStatus::Pending
            && matches!(
                before.payment_status(),
                PaymentStatus::Unpaid | PaymentStatus::Failed
            );
        let totals = if editable {
            let drafts: Vec<LineDraft> = before
                .lines()
                .iter()
                .map(|line| LineDraft {
                    id: line.id,
                    product: Product {
                        product_id: line.product_id,
                        variant_id: line.variant_id,
                        sku: line.sku.clone(),
                        name: line.name.clone(),
                        unit_price: line.unit_price,
                        tax_class: line.tax_class.clone(),
                        kind: line.kind,
                        active: true,
                    },
                    quantity: line.quantity,
                })
                .collect();
            let shipping_address = change
                .shipping_address
                .as_ref()
                .or(before.shipping_address());
            let billing_address = match &change.billing_address {
                Some(b) => b.as_ref(),
                None => before.billing_address(),
            };
            let method = change.shipping_method.as_ref().or(before.shipping_method());
            let (lines, totals) = self
                .price(
                    before.currency(),
                    &drafts,
                    before.discount(),
                    shipping_address,
                    billing_address,
                    method,
                    before.pricing(),
                    before.lines(),
                )
                .await?;
            if lines != before.lines() {
                // Tax moved with the destination: the lines change too.
                let now = self.now();
                let events = before.decide(
                    &Command::ChangeLines {
                        lines,
                        totals,
                        reservation_expires_at: match before.reservation() {
                            Reservation::Held(until) => until,
                            _ => now + self.config.pending_ttl,
                        },
                    },
                    now,
                )?;
                let mut preview = before.clone();
                for record in self.records(&before, events.clone(), actor, now)? {
                    preview.apply(&record);
                }
                let mut all = events;
                all.extend(preview.decide(&Command::UpdateDetails { change, totals }, now)?);
                return self.commit(&before, all, actor, now, None).await;
            }
            totals
        } else {
            *before.totals()
        };
        let now = self.now();
        let events = before.decide(&Command::UpdateDetails { change, totals }, now)?;
        self.commit(&before, events, actor, now, None).await
    }

    // ---- payment ------------------------------------------------------------

    fn payment_entry(
        &self,
        kind: PaymentKind,
        amount: Money,
        reference: Option<GatewayReference>,
        key: String,
        reason: Option<Reason>,
        at: DateTime<Utc>,
    ) -> Result<PaymentEntry, OrderError> {
        Ok(PaymentEntry {
            id: self.mint(PaymentEntryId::new)?,
            kind,
            amount,
            reference,
            idempotency_key: key,
            reason,
            return_id: None,
            at,
        })
    }

    /// Checkout: reserve again if an earlier attempt failed, authorize and
    /// (by the capture mode) capture the amount due, confirm and commit the
    /// stock. A decline leaves the order pending with payment failed and its
    /// stock released; a capture failure voids the authorization; a lost race
    /// refunds or voids what was taken.
    ///
    /// # Errors
    /// [`OrderError::PaymentDeclined`] after persisting the failure;
    /// [`OrderError::Transition`] unless pending and unpaid or failed;
    /// [`OrderError::OutOfStock`] when a retry cannot reserve again;
    /// [`OrderError::Unavailable`] when the gateway cannot answer.
    pub async fn pay(&self, id: OrderId, actor: &Actor) -> Result<Order, OrderError> {
        let before = self.get(id).await?;
        let now = self.now();
        let reserve_again = before.reservation() == Reservation::Released;
        let until = reserve_again.then(|| now + self.config.pending_ttl);
        let start = Command::StartPayment {
            reservation_expires_at: until,
        };
        let mut events = before.decide(&start, now)?;
        if let Some(until) = until {
            self.reserve(id, &Self::active_items(&before), until)
                .await?;
        }
        let mut working = self.preview_apply(&before, &events, actor, now)?;
        let due = working.amount_due();
        let key = format!("{id}:{}", working.payment_attempts());

        if due.is_zero() {
            let entry = self.payment_entry(
                PaymentKind::Capture,
                due,
                None,
                format!("{key}:free"),
                None,
                now,
            )?;
            events.extend(working.decide(&Command::RecordCapture { entry }, now)?);
            let after = self.commit(&before, events, actor, now, None).await?;
            self.settle_stock(&before, &after).await;
            return Ok(after);
        }

        let gateway = &self.ports.payments;
        let timer = self.ports.timer.as_ref();
        let retry = &self.config.retry;
        let request = PaymentRequest {
            order_id: id,
            customer_id: before.customer_id(),
            amount: due,
            idempotency_key: format!("{key}:authorize"),
        };
        let authorization = match with_retry(retry, timer, || gateway.authorize(&request)).await {
            Ok(reference) => reference,
            Err(err) => {
                return self
                    .fail_payment(&before, events, &working, err, None, actor, now)
                    .await;
            }
        };
        let auth_entry = self.payment_entry(
            PaymentKind::Authorize,
            due,
            Some(authorization.clone()),
            request.idempotency_key.clone(),
            None,
            now,
        )?;
        let confirm_on_authorization = self.config.capture == CaptureMode::OnProcessing;
        let auth_events = working.decide(
            &Command::RecordAuthorization {
                entry: auth_entry,
                confirm: confirm_on_authorization,
            },
            now,
        )?;
        working = self.preview_apply(&working, &auth_events, actor, now)?;
        events.extend(auth_events);

        let mut captured = None;
        if !confirm_on_authorization {
            let capture_key = format!("{key}:capture");
            match with_retry(retry, timer, || {
                gateway.capture(&authorization, due, &capture_key)
            })
            .await
            {
                Ok(reference) => {
                    let entry = self.payment_entry(
                        PaymentKind::Capture,
                        due,
                        Some(reference.clone()),
                        capture_key,
                        None,
                        now,
                    )?;
                    events.extend(working.decide(&Command::RecordCapture { entry }, now)?);
                    captured = Some(reference);
                }
                Err(err) => {
                    return self
                        .fail_payment(
                            &before,
                            events,
                            &working,
                            err,
                            Some(&authorization),
                            actor,
                            now,
                        )
                        .await;
                }
            }
        }

        match self.commit(&before, events, actor, now, None).await {
            Ok(after) => {
                self.settle_stock(&before, &after).await;
                Ok(after)
            }
            Err(err) => {
                // Another writer won, or the store failed: if the winner
                // recorded this very payment (a concurrent retry of the same
                // attempt), it stands; otherwise give the money back.
                if let Ok(current) = self.get(id).await
                    && current
                        .payments()
                        .entries()
                        .iter()
                        .any(|e| e.reference.as_ref() == Some(&authorization))
                {
                    return Ok(current);
                }
                self.give_back(id, &authorization, captured.as_ref(), due, &key)
                    .await;
                Err(err)
            }
        }
    }

    fn preview_apply(
        &self,
        order: &Order,
        events: &[OrderEvent],
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Order, OrderError> {
        let mut next = order.clone();
        for record in self.records(order, events.to_vec(), actor, at)? {
            next.apply(&record);
        }
        Ok(next)
    }

    /// Undoes money taken for a payment that could not be recorded.
    async fn give_back(
        &self,
        id: OrderId,
        authorization: &GatewayReference,
        captured: Option<&GatewayReference>,
        amount: Money,
        key: &str,
    ) {
        let gateway = &self.ports.payments;
        let timer = self.ports.timer.as_ref();
        let retry = &self.config.retry;
        let outcome = match captured {
            Some(capture) => {
                let refund_key = format!("{key}:refund");
                with_retry(retry, timer, || {
                    gateway.refund(capture, amount, &refund_key)
                })
                .await
            }
            None => {
                let void_key = format!("{key}:void");
                with_retry(retry, timer, || gateway.void(authorization, &void_key)).await
            }
        };
        if let Err(err) = outcome {
            let step = if captured.is_some() {
                "refund unrecorded capture"
            } else {
                "void unrecorded authorization"
            };
            self.compensate(id, step, Some(amount), err.to_string())
                .await;
        }
    }

    /// Records a failed attempt: the failure, the void of an authorization
    /// that cannot be captured, and the release of the stock.
    #[allow(clippy::too_many_arguments)]
    async fn fail_payment(
        &self,
        before: &Order,
        mut events: Vec<OrderEvent>,
        working: &Order,
        err: PaymentError,
        authorization: Option<&GatewayReference>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Order, OrderError> {
        let (code, reason) = match &err {
            PaymentError::Declined { code, reason } => (code.clone(), reason.clone()),
            PaymentError::Port(port) => ("gateway_unavailable".to_owned(), port.to_string()),
        };
        let failure = working.decide(
            &Command::RecordPaymentFailure {
                code: code.clone(),
                reason: reason.clone(),
            },
            now,
        )?;
        let mut failed = self.preview_apply(working, &failure, actor, now)?;
        events.extend(failure);
        if let Some(reference) = authorization {
            let void_key = format!("{}:{}:void", before.id(), working.payment_attempts());
            let gateway = &self.ports.payments;
            let amount = failed.payments().capturable()?;
            match with_retry(&self.config.retry, self.ports.timer.as_ref(), || {
                gateway.void(reference, &void_key)
            })
            .await
            {
                Ok(void_ref) => {
                    let entry = self.payment_entry(
                        PaymentKind::Void,
                        amount,
                        Some(void_ref),
                        void_key,
                        None,
                        now,
                    )?;
                    let voided = failed.decide(&Command::RecordVoid { entry }, now)?;
                    failed = self.preview_apply(&failed, &voided, actor, now)?;
                    events.extend(voided);
                }
                Err(void_err) => {
                    self.compensate(
                        before.id(),
                        "void authorization after failed capture",
                        Some(amount),
                        void_err.to_string(),
                    )
                    .await;
                }
            }
        } else if matches!(err, PaymentError::Port(_)) {
            // The gateway never answered: it may hold an authorization under
            // this attempt's key that nobody will capture.
            self.compensate(
                before.id(),
                "check for an orphaned authorization",
                Some(working.amount_due()),
                format!(
                    "authorize {}:{}:authorize got no answer: {reason}",
                    before.id(),
                    working.payment_attempts()
                ),
            )
            .await;
        }
        let _ = failed;
        let after = self.commit(before, events, actor, now, None).await?;
        self.settle_stock(before, &after).await;
        match err {
            PaymentError::Declined { code, reason } => Err(OrderError::PaymentDeclined {
                order_id: before.id(),
                code,
                reason,
            }),
            PaymentError::Port(source) => Err(OrderError::Unavailable {
                port: "payment gateway",
                source,
            }),
        }
    }

    /// Applies a payment provider's notification, once per event id: a
    /// capture confirms a pending order (or is refunded at once if the order
    /// was cancelled meanwhile); a failure releases the stock; an external
    /// refund is recorded within what was captured.
    ///
    /// # Errors
    /// Rule errors when the event contradicts the order (wrong amount, refund
    /// above the capture); [`OrderError::Transition`] when the order cannot
    /// take a payment now.
    pub async fn apply_payment_event(
        &self,
        event: &PaymentEvent,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        let store = &self.ports.store;
        if store.inbound_event_processed(&event.event_id).await? {
            return self.get(event.order_id).await;
        }
        let before = self.get(event.order_id).await?;
        let now = self.now();
        let mut events = Vec::new();
        let mut working = before.clone();
        let push = |working: &mut Order,
                    command: Command,
                    events: &mut Vec<OrderEvent>|
         -> Result<(), OrderError> {
            let new = working.decide(&command, now)?;
            *working = self.preview_apply(working, &new, actor, now)?;
            events.extend(new);
            Ok(())
        };
        let mut late_capture = None;
        match &event.kind {
            PaymentEventKind::Processed { amount, reference } => {
                if matches!(
                    working.payment_status(),
                    PaymentStatus::Unpaid | PaymentStatus::Failed
                ) {
                    let until = (working.reservation() == Reservation::Released
                        && working.status() == OrderStatus::Pending)
                        .then(|| now + self.config.pending_ttl);
                    if let Some(until) = until {
                        self.reserve(working.id(), &Self::active_items(&working), until)
                            .await?;
                    }
                    if working.status() == OrderStatus::Pending {
                        push(
                            &mut working,
                            Command::StartPayment {
                                reservation_expires_at: until,
                            },
                            &mut events,
                        )?;
                    }
                }
                let entry = self.payment_entry(
                    PaymentKind::Capture,
                    *amount,
                    Some(reference.clone()),
                    event.event_id.clone(),
                    None,
                    now,
                )?;
                push(&mut working, Command::RecordCapture { entry }, &mut events)?;
                if working.status() == OrderStatus::Cancelled {
                    late_capture = Some((reference.clone(), *amount));
                }
            }
            PaymentEventKind::Failed { code, reason } => {
                push(
                    &mut working,
                    Command::RecordPaymentFailure {
                        code: code.clone(),
                        reason: reason.clone(),
                    },
                    &mut events,
                )?;
            }
            PaymentEventKind::Refunded { amount, reference } => {
                let entry = self.payment_entry(
                    PaymentKind::Refund,
                    *amount,
                    Some(reference.clone()),
                    event.event_id.clone(),
                    None,
                    now,
                )?;
                push(&mut working, Command::Refund { entry }, &mut events)?;
            }
        }
        if let Some((capture, amount)) = late_capture {
            let key = format!("{}:late:{}", before.id(), event.event_id);
            let gateway = &self.ports.payments;
            match with_retry(&self.config.retry, self.ports.timer.as_ref(), || {
                gateway.refund(&capture, amount, &key)
            })
            .await
            {
                Ok(reference) => {
                    let reason = Reason::parse("payment arrived after cancellation")?;
                    let entry = self.payment_entry(
                        PaymentKind::Refund,
                        amount,
                        Some(reference),
                        key,
                        Some(reason),
                        now,
                    )?;
                    push(&mut working, Command::Refund { entry }, &mut events)?;
                }
                Err(err) => {
                    self.compensate(
                        before.id(),
                        "refund payment received after cancellation",
                        Some(amount),
                        err.to_string(),
                    )
                    .await;
                }
            }
        }
        match self
            .commit(&before, events, actor, now, Some(&event.event_id))
            .await
        {
            Ok(after) => {
                self.settle_stock(&before, &after).await;
                Ok(after)
            }
            Err(OrderError::Store(StoreError::DuplicateInboundEvent { .. })) => {
                self.get(event.order_id).await
            }
            Err(err) => Err(err),
        }
    }

    // ---- fulfilment ---------------------------------------------------------

    /// Starts processing a confirmed order; captures first when payments are
    /// captured on processing.
    ///
    /// # Errors
    /// [`OrderError::Transition`] unless confirmed; gateway errors for the
    /// capture (nothing persisted).
    pub async fn start_processing(
        &self,
        id: OrderId,
        expected_version: Option<u64>,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        let before = self.load_at(id, expected_version).await?;
        let now = self.now();
        let mut events = Vec::new();
        let mut working = before.clone();
        if before.payment_status() == PaymentStatus::Authorized {
            before.decide(&Command::StartProcessing, now)?;
            let authorization = before
                .payments()
                .authorization_reference()
                .cloned()
                .ok_or(RuleViolation::NonPositiveAmount)?;
            let amount = before.payments().capturable()?;
            let key = format!("{id}:{}:capture", before.payment_attempts());
            let gateway = &self.ports.payments;
            let reference = with_retry(&self.config.retry, self.ports.timer.as_ref(), || {
                gateway.capture(&authorization, amount, &key)
            })
            .await
            .map_err(|err| match err {
                PaymentError::Declined { code, reason } => OrderError::PaymentDeclined {
                    order_id: id,
                    code,
                    reason,
                },
                PaymentError::Port(source) => OrderError::Unavailable {
                    port: "payment gateway",
                    source,
                },
            })?;
            let entry = self.payment_entry(
                PaymentKind::Capture,
                amount,
                Some(reference),
                key,
                None,
                now,
            )?;
            let capture = before.decide(&Command::RecordCapture { entry }, now)?;
            working = self.preview_apply(&before, &capture, actor, now)?;
            events.extend(capture);
        }
        events.extend(working.decide(&Command::StartProcessing, now)?);
        self.commit(&before, events, actor, now, None).await
    }

    /// Ships units of some lines.
    ///
    /// # Errors
    /// [`OrderError::Transition`] unless processing or partially shipped;
    /// [`RuleViolation::ShipsMoreThanOrdered`]; a missing carrier for
    /// physical goods.
    pub async fn ship(
        &self,
        id: OrderId,
        expected_version: Option<u64>,
        lines: Vec<LineQuantity>,
        carrier: Option<Carrier>,
        tracking_number: Option<TrackingNumber>,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        let shipment_id = self.mint(ShipmentId::new)?;
        let (_, after) = self
            .execute(id, expected_version, actor, |_| {
                Ok(Command::Ship {
                    shipment_id,
                    lines: lines.clone(),
                    carrier: carrier.clone(),
                    tracking_number: tracking_number.clone(),
                })
            })
            .await?;
        Ok(after)
    }

    /// Marks a shipment delivered.
    ///
    /// # Errors
    /// [`OrderError::Transition`]; unknown or already delivered shipment.
    pub async fn deliver(
        &self,
        id: OrderId,
        expected_version: Option<u64>,
        shipment_id: ShipmentId,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        let (_, after) = self
            .execute(id, expected_version, actor, |_| {
                Ok(Command::Deliver { shipment_id })
            })
            .await?;
        Ok(after)
    }

    /// Completes a delivered order whose return window has passed.
    ///
    /// # Errors
    /// [`OrderError::Transition`]; [`RuleViolation::ReturnWindowOpen`];
    /// [`RuleViolation::OpenReturn`].
    pub async fn complete(
        &self,
        id: OrderId,
        expected_version: Option<u64>,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        let window = self.config.return_window;
        let (_, after) = self
            .execute(id, expected_version, actor, |_| {
                Ok(Command::Complete {
                    return_window: window,
                })
            })
            .await?;
        Ok(after)
    }

    // ---- cancel -------------------------------------------------------------

    /// Cancels an order that has not shipped: voids an authorization or
    /// refunds the capture, records why and by whom, and releases or
    /// restocks its stock. If the money cannot be given back the order is
    /// not cancelled and the error says why.
    ///
    /// # Errors
    /// [`OrderError::Transition`] once anything shipped; gateway errors.
    pub async fn cancel(
        &self,
        id: OrderId,
        expected_version: Option<u64>,
        reason: Reason,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        let mut tries = 0;
        loop {
            let before = self.load_at(id, expected_version).await?;
            let now = self.now();
            let cancel = Command::Cancel {
                reason: reason.clone(),
            };
            before.decide(&cancel, now)?;
            let mut events = Vec::new();
            let mut working = before.clone();
            let gateway = &self.ports.payments;
            let timer = self.ports.timer.as_ref();
            let retry = &self.config.retry;
            let money_error = |err: PaymentError| match err {
                PaymentError::Declined { code, reason } => OrderError::PaymentDeclined {
                    order_id: id,
                    code,
                    reason,
                },
                PaymentError::Port(source) => OrderError::Unavailable {
                    port: "payment gateway",
                    source,
                },
            };
            match before.payment_status() {
                PaymentStatus::Authorized => {
                    let authorization = before
                        .payments()
                        .authorization_reference()
                        .cloned()
                        .ok_or(RuleViolation::NonPositiveAmount)?;
                    let key = format!("{id}:cancel:void");
                    let reference = with_retry(retry, timer, || gateway.void(&authorization, &key))
                        .await
                        .map_err(money_error)?;
                    let entry = self.payment_entry(
                        PaymentKind::Void,
                        before.payments().capturable()?,
                        Some(reference),
                        key,
                        Some(reason.clone()),
                        now,
                    )?;
                    let voided = working.decide(&Command::RecordVoid { entry }, now)?;
                    working = self.preview_apply(&working, &voided, actor, now)?;
                    events.extend(voided);
                }
                PaymentStatus::Paid | PaymentStatus::PartiallyRefunded => {
                    let capture = before
                        .payments()
                        .capture_reference()
                        .cloned()
                        .ok_or(RuleViolation::NonPositiveAmount)?;
                    let amount = before.payments().refundable()?;
                    if !amount.is_zero() {
                        let key = format!("{id}:cancel:refund");
                        let reference =
                            with_retry(retry, timer, || gateway.refund(&capture, amount, &key))
                                .await
                                .map_err(money_error)?;
                        let entry = self.payment_entry(
                            PaymentKind::Refund,
                            amount,
                            Some(reference),
                            key,
                            Some(reason.clone()),
                            now,
                        )?;
                        let refunded = working.decide(&Command::Refund { entry }, now)?;
                        working = self.preview_apply(&working, &refunded, actor, now)?;
                        events.extend(refunded);
                    }
                }
                PaymentStatus::Unpaid
                | PaymentStatus::Pending
                | PaymentStatus::Failed
                | PaymentStatus::Voided
                | PaymentStatus::Refunded => {}
            }
            events.extend(working.decide(&cancel, now)?);
            match self.commit(&before, events, actor, now, None).await {
                // The gateway calls above are idempotent by key, so deciding
                // again cannot move money twice.
                Err(OrderError::VersionConflict { .. })
                    if expected_version.is_none() && tries < CONFLICT_RETRIES =>
                {
                    tries += 1
                }
                Err(err) => return Err(err),
                Ok(after) => {
                    self.settle_stock(&before, &after).await;
                    return Ok(after);
                }
            }
        }
    }

    /// Cancels pending orders whose payment never started (or failed) and
    /// that sat unchanged for the pending time-to-live; releases their stock.
    /// Returns the ids it expired.
    ///
    /// # Errors
    /// Store failures while listing.
    pub async fn expire_stale(&self, limit: usize) -> Result<Vec<OrderId>, OrderError> {
        let now = self.now();
        let ttl = self.config.pending_ttl;
        let candidates = self
            .ports
            .store
            .list(&OrderQuery {
                status: Some(OrderStatus::Pending),
                created_to: Some(now - ttl),
                sort: SortOrder::OldestFirst,
                limit: limit.clamp(1, OrderQuery::MAX_LIMIT),
                ..OrderQuery::default()
            })
            .await?;
        let system = Actor::system();
        let mut expired = Vec::new();
        for order in candidates.orders {
            if let Ok((before, after)) = self
                .execute(order.id(), None, &system, |_| Ok(Command::Expire { ttl }))
                .await
            {
                self.settle_stock(&before, &after).await;
                expired.push(after.id());
            }
        }
        Ok(expired)
    }

    /// Completes delivered orders whose return window has passed. Returns the
    /// ids it completed.
    ///
    /// # Errors
    /// Store failures while listing.
    pub async fn complete_due(&self, limit: usize) -> Result<Vec<OrderId>, OrderError> {
        let now = self.now();
        let candidates = self
            .ports
            .store
            .list(&OrderQuery {
                status: Some(OrderStatus::Delivered),
                created_to: Some(now - self.config.return_window),
                sort: SortOrder::OldestFirst,
                limit: limit.clamp(1, OrderQuery::MAX_LIMIT),
                ..OrderQuery::default()
            })
            .await?;
        let system = Actor::system();
        let mut completed = Vec::new();
        for order in candidates.orders {
            if self.complete(order.id(), None, &system).await.is_ok() {
                completed.push(order.id());
            }
        }
        Ok(completed)
    }

    // ---- returns and refunds ------------------------------------------------

    /// Opens a return of shipped units.
    ///
    /// # Errors
    /// [`OrderError::Transition`] unless shipped or delivered;
    /// [`RuleViolation::ReturnWindowClosed`];
    /// [`RuleViolation::ReturnsMoreThanShipped`].
    pub async fn request_return(
        &self,
        id: OrderId,
        expected_version: Option<u64>,
        lines: Vec<LineQuantity>,
        reason: Reason,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        let return_id = self.mint(ReturnId::new)?;
        let window = self.config.return_window;
        let (_, after) = self
            .execute(id, expected_version, actor, |_| {
                Ok(Command::RequestReturn {
                    return_id,
                    lines: lines.clone(),
                    reason: reason.clone(),
                    return_window: window,
                })
            })
            .await?;
        Ok(after)
    }

    /// Receives a return's units, restocks them, and with `refund` pays back
    /// the return's amount (bounded by what is still refundable).
    ///
    /// # Errors
    /// [`OrderError::Transition`]; unknown or already received return; gateway
    /// errors for the refund (the receipt itself stays recorded).
    pub async fn receive_return(
        &self,
        id: OrderId,
        expected_version: Option<u64>,
        return_id: ReturnId,
        refund: bool,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        let (_, after) = self
            .execute(id, expected_version, actor, |_| {
                Ok(Command::ReceiveReturn { return_id })
            })
            .await?;
        let Some(ret) = after.return_(return_id).cloned() else {
            return Ok(after);
        };
        let items = Self::stock_items(ret.lines.iter().filter_map(|part| {
            after
                .line(part.line_id)
                .map(|line| (&line.sku, part.quantity.get()))
        }));
        self.restock(id, &format!("return:{return_id}"), &items)
            .await;
        if !refund {
            return Ok(after);
        }
        let amount = ret.refund_amount.min(&after.payments().refundable()?)?;
        if amount.is_zero() || amount.is_negative() {
            return Ok(after);
        }
        let reason = Reason::parse(&format!("return {return_id}: {}", ret.reason))
            .unwrap_or_else(|_| ret.reason.clone());
        self.refund_inner(id, amount, reason, Some(return_id), actor)
            .await
    }

    /// Refunds `amount` of the captured money.
    ///
    /// # Errors
    /// [`RuleViolation::RefundExceedsCaptured`] above captured − refunded;
    /// [`OrderError::Transition`] when nothing was captured; gateway errors.
    pub async fn refund(
        &self,
        id: OrderId,
        amount: Money,
        reason: Reason,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        self.refund_inner(id, amount, reason, None, actor).await
    }

    async fn refund_inner(
        &self,
        id: OrderId,
        amount: Money,
        reason: Reason,
        return_id: Option<ReturnId>,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        if amount.is_zero() || amount.is_negative() {
            return Err(RuleViolation::NonPositiveAmount.into());
        }
        let before = self.get(id).await?;
        let now = self.now();
        let count = before
            .payments()
            .entries()
            .iter()
            .filter(|e| e.kind == PaymentKind::Refund)
            .count();
        let key = format!("{id}:refund:{}", count + 1);
        // Decide first with a provisional entry: an over-refund or a refund
        // in the wrong state never reaches the gateway.
        let mut entry = self.payment_entry(
            PaymentKind::Refund,
            amount,
            None,
            key.clone(),
            Some(reason),
            now,
        )?;
        entry.return_id = return_id;
        before.decide(
            &Command::Refund {
                entry: entry.clone(),
            },
            now,
        )?;
        let capture = before
            .payments()
            .capture_reference()
            .cloned()
            .ok_or(RuleViolation::NonPositiveAmount)?;
        let gateway = &self.ports.payments;
        let reference = with_retry(&self.config.retry, self.ports.timer.as_ref(), || {
            gateway.refund(&capture, amount, &key)
        })
        .await
        .map_err(|err| match err {
            PaymentError::Declined { code, reason } => OrderError::PaymentDeclined {
                order_id: id,
                code,
                reason,
            },
            PaymentError::Port(source) => OrderError::Unavailable {
                port: "payment gateway",
                source,
            },
        })?;
        entry.reference = Some(reference);
        let events = before.decide(&Command::Refund { entry }, now)?;
        match self.commit(&before, events, actor, now, None).await {
            Ok(after) => Ok(after),
            Err(err) => {
                self.compensate(
                    id,
                    "record a refund the gateway made",
                    Some(amount),
                    err.to_string(),
                )
                .await;
                Err(err)
            }
        }
    }

    // ---- dry run ------------------------------------------------------------

    /// What `command` would do to the order now, without storing anything or
    /// calling any port.
    ///
    /// # Errors
    /// The errors the command itself would meet.
    pub async fn dry_run(&self, id: OrderId, command: &Command) -> Result<Preview, OrderError> {
        let order = self.get(id).await?;
        let now = self.now();
        let events = order.decide(command, now)?;
        let after = self.preview_apply(&order, &events, &Actor::system(), now)?;
        Ok(Preview {
            events,
            order: after,
        })
    }

    /// Mints a shipment id, for callers building a [`Command::Ship`] to
    /// preview.
    ///
    /// # Errors
    /// When the id generator breaks its contract.
    pub fn new_shipment_id(&self) -> Result<ShipmentId, OrderError> {
        self.mint(ShipmentId::new)
    }

    /// Mints a return id, for callers building a [`Command::RequestReturn`]
    /// to preview.
    ///
    /// # Errors
    /// When the id generator breaks its contract.
    pub fn new_return_id(&self) -> Result<ReturnId, OrderError> {
        self.mint(ReturnId::new)
    }
}
