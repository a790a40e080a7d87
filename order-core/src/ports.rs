//! Ports: the traits through which the engine reaches the world. I/O ports
//! are `#[async_trait]` and object safe, so a service holds them as
//! `Arc<dyn …>`; [`Clock`] and [`IdGenerator`] are plain traits. Each trait's
//! docs state its contract; `order_testkit::store_contract` makes the store's
//! contract executable.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::address::Address;
use crate::error::{
    InventoryError, PaymentError, PolicyError, PortError, StoreError, ValidationError,
};
use crate::event::{EventRecord, OrderEvent, StoredEvent};
use crate::id::{
    CompensationId, CustomerId, DeliveryId, OrderId, ProductId, SubscriptionId, VariantId,
};
use crate::ledger::PaymentEntry;
use crate::money::{Currency, Money};
use crate::order::{Compensation, Order, ProductKind, Resolution, StatusChange};
use crate::order_number::OrderNumber;
use crate::pricing::{Discount, Percent};
use crate::quantity::Quantity;
use crate::status::{OrderStatus, PaymentStatus};
use crate::text::{
    CouponCode, GatewayReference, PaymentMethod, PaymentToken, ProductName, ShippingMethod, Sku,
    TaxClass,
};
use crate::webhook::{Attempt, Delivery, DeliveryState, Subscription};

/// A client-chosen key that makes a placement safe to retry: 1 to 255
/// printable ASCII characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Parses a key.
    ///
    /// # Errors
    /// [`ValidationError`] for an empty, over-long or non-printable key.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        if raw.is_empty() {
            return Err(ValidationError::Empty {
                field: "idempotency_key".into(),
            });
        }
        if raw.len() > 255 {
            return Err(ValidationError::TooLong {
                field: "idempotency_key".into(),
                max: 255,
                len: raw.len(),
            });
        }
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ValidationError::BadFormat {
                field: "idempotency_key".into(),
                rule: "must be printable ASCII without spaces",
            });
        }
        Ok(Self(raw.to_owned()))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key as a store keeps it for `customer`: a client's keys are its
    /// own, so two customers sending the same key each get their own order,
    /// and neither can probe or hold the other's. `<customer id>:<key>` when
    /// that fits the 255 characters a key may have, else `<customer
    /// id>#<FNV-1a 128 of the key, hex>` for keys over 218 characters. The
    /// separator after the fixed-length customer id keeps the two forms,
    /// and every customer's keys, apart.
    ///
    /// ```
    /// # use order_core::{CustomerId, ports::IdempotencyKey};
    /// let customer = CustomerId::new(uuid::Uuid::from_u128(0x0193_e6d2_6c1e_7b4e_9a3a_0000_0000_0a11))?;
    /// let key = IdempotencyKey::parse("checkout-42")?;
    /// assert_eq!(
    ///     key.scoped_to(customer).as_str(),
    ///     "0193e6d2-6c1e-7b4e-9a3a-000000000a11:checkout-42"
    /// );
    /// # Ok::<(), order_core::ValidationError>(())
    /// ```
    pub fn scoped_to(&self, customer: CustomerId) -> Self {
        const MAX: usize = 255;
        let customer = customer.to_string();
        if customer.len() + 1 + self.0.len() <= MAX {
            Self(format!("{customer}:{}", self.0))
        } else {
            Self(format!("{customer}#{:032x}", fnv1a_128(self.0.as_bytes())))
        }
    }
}

/// FNV-1a, 128-bit: a stable, dependency-free digest for idempotency keys
/// and request fingerprints (not a defence against a chosen collision: a
/// collision only ever mixes up one customer's own requests).
pub(crate) fn fnv1a_128(bytes: &[u8]) -> u128 {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    bytes.iter().fold(OFFSET, |hash, byte| {
        (hash ^ u128::from(*byte)).wrapping_mul(PRIME)
    })
}

/// What a store answers when a request claims an idempotency key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// The key is new (or its earlier claim was abandoned): go ahead.
    Claimed,
    /// The key completed before with the same request: this was the answer.
    Completed {
        /// The order the first request placed.
        order_id: OrderId,
    },
    /// The key completed or is in flight with a different request.
    Mismatch,
    /// The same request holds the key and has not finished.
    InFlight,
}

/// One atomic write: the order's new state with everything that must be
/// committed with it, or nothing at all.
#[derive(Clone, Copy, Debug)]
pub struct Change<'a> {
    /// The order after the change.
    pub order: &'a Order,
    /// The version the change was decided against; 0 for a new order.
    pub expected_version: u64,
    /// The events, with sequences `expected_version + 1 ..= order.version()`.
    pub events: &'a [EventRecord],
    /// An idempotency key claimed by this request, completed by this change.
    pub idempotency_key: Option<&'a IdempotencyKey>,
    /// An inbound event (a payment webhook) this change processes.
    pub inbound_event: Option<&'a str>,
    /// Whether the order's lines may differ from those of the stored
    /// version (`expected_version`). `false` promises they do not (the
    /// change's events touched no line), so a store may leave its stored
    /// lines alone; `true` is always safe. A new order's lines are always
    /// written.
    pub lines_changed: bool,
    /// What the change does to stock, when the store keeps the stock
    /// ([`StockKeeping::Store`](crate::service::StockKeeping::Store)); empty
    /// otherwise.
    pub stock: &'a [StockEffect],
}

/// A change to the stock an order holds, applied by the store in the same
/// transaction as the order's change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StockEffect {
    /// Set the order's reservation to exactly `items` (SKUs the store does
    /// not track are skipped).
    Reserve {
        /// What to hold.
        items: Vec<StockItem>,
        /// Until when (informational: holds end by the order's expiry).
        expires_at: DateTime<Utc>,
    },
    /// The order's held units are sold: they leave stock.
    Commit,
    /// The order's held units go back to being free.
    Release,
    /// Sold units come back on the shelf, once per `key`.
    Restock {
        /// Makes the restock idempotent per order.
        key: String,
        /// What comes back.
        items: Vec<StockItem>,
    },
}

impl<'a> Change<'a> {
    /// The status history entries this change adds.
    pub fn new_history(&self) -> impl Iterator<Item = &'a StatusChange> + 'a {
        let after = self.expected_version;
        self.order
            .history()
            .iter()
            .filter(move |h| h.sequence > after)
    }

    /// The payment ledger entries this change adds.
    pub fn new_payments(&self) -> impl Iterator<Item = &'a PaymentEntry> + 'a {
        self.events.iter().filter_map(|r| match &r.event {
            OrderEvent::PaymentAuthorized(e)
            | OrderEvent::PaymentCaptured(e)
            | OrderEvent::PaymentVoided(e)
            | OrderEvent::Refunded(e) => Some(e),
            _ => None,
        })
    }
}

/// Where a keyset page starts: the last order of the previous page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cursor {
    /// Its creation time.
    pub created_at: DateTime<Utc>,
    /// Its id (breaks ties).
    pub id: OrderId,
}

/// Listing order by creation time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SortOrder {
    /// Newest first (the default).
    #[default]
    NewestFirst,
    /// Oldest first.
    OldestFirst,
}

/// Filters and page of an order listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderQuery {
    /// Only this customer's orders.
    pub customer_id: Option<CustomerId>,
    /// Only orders in this status.
    pub status: Option<OrderStatus>,
    /// Only orders in this payment status.
    pub payment_status: Option<PaymentStatus>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created strictly before.
    pub created_to: Option<DateTime<Utc>>,
    /// Sort direction, by (created_at, id).
    pub sort: SortOrder,
    /// Continue after this order.
    pub after: Option<Cursor>,
    /// Page size, 1 ..= [`OrderQuery::MAX_LIMIT`].
    pub limit: usize,
}

impl OrderQuery {
    /// The largest page.
    pub const MAX_LIMIT: usize = 200;
}

impl Default for OrderQuery {
    fn default() -> Self {
        Self {
            customer_id: None,
            status: None,
            payment_status: None,
            created_from: None,
            created_to: None,
            sort: SortOrder::default(),
            after: None,
            limit: 50,
        }
    }
}

/// One page of orders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderPage {
    /// The orders, in the query's sort order.
    pub orders: Vec<Order>,
    /// Where the next page starts, if there may be one.
    pub next: Option<Cursor>,
}

impl OrderPage {
    /// The page of `orders` (already filtered, sorted and limited) that
    /// answers `query`: a full page may have a successor, which starts
    /// after its last order.
    pub fn of(orders: Vec<Order>, query: &OrderQuery) -> Self {
        let next = (orders.len() == query.limit)
            .then(|| orders.last())
            .flatten()
            .map(|o| Cursor {
                created_at: o.created_at(),
                id: o.id(),
            });
        Self { orders, next }
    }
}

/// The sums over the orders created in a period that share a status and a
/// currency: what [`OrderFigures::figures`] answers, one per group that has
/// orders, and what [`Report::of`](crate::report::Report::of) turns into a
/// report.
///
/// Each field is a sum over the group's orders of a fact of one order, as
/// [`FigureGroup::add`] states it (the reference every store must equal):
/// an order is *paid* when its ledger's captured amount is not zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FigureGroup {
    /// The orders' current status.
    pub status: OrderStatus,
    /// Their currency.
    pub currency: Currency,
    /// How many orders.
    pub orders: u64,
    /// How many of them are paid.
    pub paid_orders: u64,
    /// Σ the totals of the paid orders.
    pub paid_total: Money,
    /// Σ captured ([`PaymentLedger::captured`](crate::ledger::PaymentLedger::captured)).
    pub captured: Money,
    /// Σ refunded ([`PaymentLedger::refunded`](crate::ledger::PaymentLedger::refunded))
    /// of the paid orders.
    pub refunded: Money,
    /// Σ [`Order::payment_attempts`].
    pub payment_attempts: u64,
    /// Σ [`failed_payment_attempts`](crate::report::failed_payment_attempts)
    /// of each order.
    pub failed_payment_attempts: u64,
    /// How many orders were both confirmed and delivered.
    pub fulfilled: u64,
    /// Σ `delivered_at − confirmed_at` of those orders.
    pub fulfilment_time: chrono::Duration,
}

/// Sums over orders for reports, computed where the orders are.
#[async_trait]
pub trait OrderFigures: Send + Sync {
    /// The orders created in `[from, to)`, summed per status and currency
    /// ([`FigureGroup`]): one group per pair that has orders, in no
    /// particular order. MUST equal folding those orders with
    /// [`FigureGroup::add`].
    ///
    /// # Errors
    /// Backend failures only.
    async fn figures(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<FigureGroup>, StoreError>;
}

/// Persistence of orders, their outbox and their bookkeeping.
///
/// A store keeps, per order, the current state, the status history, the
/// payment ledger and the event stream (which doubles as the outbox), and,
/// globally, idempotency keys, processed inbound events and the compensation
/// log; it also sums its orders for reports ([`OrderFigures`]).
#[async_trait]
pub trait OrderStore: OrderFigures + Send + Sync {
    /// Loads an order.
    ///
    /// # Errors
    /// MUST return `Ok(None)` for an unknown id; [`StoreError::Backend`] or
    /// [`StoreError::Unavailable`] only when the backend fails.
    async fn get(&self, id: OrderId) -> Result<Option<Order>, StoreError>;

    /// Loads an order by its number; `Ok(None)` when unknown.
    ///
    /// # Errors
    /// Backend failures only.
    async fn get_by_number(&self, number: &OrderNumber) -> Result<Option<Order>, StoreError>;

    /// Writes a change atomically: the order, the new history entries, the
    /// new payment entries, the events (into the outbox, each with its
    /// sequence and a new global position), the completion of the
    /// idempotency key and the processed inbound event — all, or none.
    ///
    /// # Errors
    /// - MUST return [`StoreError::AlreadyExists`] when `expected_version` is
    ///   0 and an order with that id or number exists.
    /// - MUST return [`StoreError::VersionConflict`] when the stored version
    ///   is not `expected_version` (or the order is missing while
    ///   `expected_version` > 0), writing nothing: never a lost update.
    /// - MUST return [`StoreError::DuplicateInboundEvent`] when
    ///   `inbound_event` was already processed, writing nothing.
    /// - MUST apply `stock` effects in the same transaction, and return
    ///   [`StoreError::OutOfStock`] naming every short SKU, writing nothing,
    ///   when a reservation would hold more than is on hand.
    async fn commit(&self, change: Change<'_>) -> Result<(), StoreError>;

    /// Lists orders matching the query's filters, sorted by
    /// `(created_at, id)` in the query's direction, starting strictly after
    /// the cursor, at most `limit` of them; `next` is set when the page is
    /// full.
    ///
    /// # Errors
    /// Backend failures only.
    async fn list(&self, query: &OrderQuery) -> Result<OrderPage, StoreError>;

    /// Every event of one order, by sequence (empty for an unknown order).
    ///
    /// # Errors
    /// Backend failures only.
    async fn events(&self, id: OrderId) -> Result<Vec<EventRecord>, StoreError>;

    /// The global feed: events with a position greater than `after`, by
    /// position, at most `limit`. Positions strictly increase in commit order
    /// of visibility: a reader never sees position n+1 before n.
    ///
    /// # Errors
    /// Backend failures only.
    async fn feed(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;

    /// The oldest events not yet marked published, by position.
    ///
    /// # Errors
    /// Backend failures only.
    async fn unpublished(&self, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;

    /// Marks events published; unknown positions are ignored.
    ///
    /// # Errors
    /// Backend failures only.
    async fn mark_published(&self, positions: &[u64]) -> Result<(), StoreError>;

    /// Claims `key` for a request with `fingerprint` at `now`.
    ///
    /// MUST answer [`IdempotencyClaim::Claimed`] for a new key, or for a key
    /// whose claim is older than `lease` without completing (its holder
    /// died); [`IdempotencyClaim::Completed`] once a change completed it with
    /// the same fingerprint; [`IdempotencyClaim::Mismatch`] for another
    /// fingerprint; [`IdempotencyClaim::InFlight`] otherwise. Concurrent
    /// claims of one new key: exactly one is `Claimed`.
    ///
    /// # Errors
    /// Backend failures only.
    async fn claim_idempotency_key(
        &self,
        key: &IdempotencyKey,
        fingerprint: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<IdempotencyClaim, StoreError>;

    /// Gives up a claim that did not complete, so a retry may run.
    ///
    /// # Errors
    /// Backend failures only.
    async fn release_idempotency_key(&self, key: &IdempotencyKey) -> Result<(), StoreError>;

    /// True when the inbound event was processed by a committed change.
    ///
    /// # Errors
    /// Backend failures only.
    async fn inbound_event_processed(&self, event_id: &str) -> Result<bool, StoreError>;

    /// Appends to the compensation log: a step that could not be undone.
    ///
    /// # Errors
    /// Backend failures only.
    async fn record_compensation(&self, compensation: &Compensation) -> Result<(), StoreError>;

    /// The compensation log, oldest first.
    ///
    /// # Errors
    /// Backend failures only.
    async fn compensations(&self) -> Result<Vec<Compensation>, StoreError>;

    /// Marks a compensation resolved and answers it as stored: MUST answer
    /// `Ok(None)` for an unknown id, and MUST keep the first resolution of
    /// one resolved before (answering it unchanged), so that two operators
    /// resolving at once leave one record of who did.
    ///
    /// # Errors
    /// Backend failures only.
    async fn resolve_compensation(
        &self,
        id: CompensationId,
        resolution: &Resolution,
    ) -> Result<Option<Compensation>, StoreError>;
}

/// A product (or variant) as the catalog knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Product {
    /// The product.
    pub product_id: ProductId,
    /// The variant, if the catalog sells variants.
    pub variant_id: Option<VariantId>,
    /// Its SKU.
    pub sku: Sku,
    /// Its name.
    pub name: ProductName,
    /// Its price (net or gross per the pricing policy's tax mode): greater
    /// than zero and at most [`Money::MAX_UNIT_PRICE`] (see
    /// [`Product::check`]).
    pub unit_price: Money,
    /// Its tax class.
    pub tax_class: TaxClass,
    /// Physical or digital.
    pub kind: ProductKind,
    /// Whether it is for sale.
    pub active: bool,
}

impl Product {
    /// Checks the product against the engine's bounds (ADR 0006): its unit
    /// price is greater than zero and at most [`Money::MAX_UNIT_PRICE`]. A
    /// catalog admin checks a product with this before it keeps it, and
    /// placement checks every product it prices.
    ///
    /// # Errors
    /// [`ValidationError::Money`] naming `unit_price`.
    pub fn check(&self) -> Result<(), ValidationError> {
        self.unit_price
            .check_unit_price()
            .map_err(|source| ValidationError::Money {
                field: "unit_price".into(),
                source,
            })
    }
}

/// Managing the catalog: what an admin API needs from wherever products
/// live.
#[async_trait]
pub trait CatalogAdmin: Send + Sync {
    /// Adds a product, or replaces the one with the same product and
    /// variant id.
    ///
    /// # Errors
    /// MUST refuse (with [`PortError::Refused`] naming why) a SKU another
    /// product already has, and a product that fails [`Product::check`];
    /// backend failures.
    async fn upsert(&self, product: &Product) -> Result<(), PortError>;

    /// Products by SKU, after `after_sku`, at most `limit`.
    ///
    /// # Errors
    /// Backend failures.
    async fn list(&self, after_sku: Option<&Sku>, limit: usize) -> Result<Vec<Product>, PortError>;
}

/// Which product (and variant) a line is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProductKey {
    /// The product.
    pub product_id: ProductId,
    /// The variant.
    pub variant_id: Option<VariantId>,
}

/// The source of prices and product facts. Prices never come from clients.
#[async_trait]
pub trait Catalog: Send + Sync {
    /// The products for `keys`; unknown keys are simply absent.
    ///
    /// # Errors
    /// [`PortError`] when the catalog cannot answer.
    async fn products(&self, keys: &[ProductKey]) -> Result<Vec<Product>, PortError>;
}

/// Units of one SKU.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StockItem {
    /// The SKU.
    pub sku: Sku,
    /// Units.
    pub quantity: Quantity,
}

/// Units of a SKU on hand and held.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StockLevel {
    /// Units in the warehouse (sold units have left).
    pub on_hand: u32,
    /// Units held for unpaid orders.
    pub reserved: u32,
}

impl StockLevel {
    /// The most units on hand a SKU may be given: `i32::MAX`, what every
    /// store's integer column holds (ADR 0006).
    pub const MAX_ON_HAND: u32 = i32::MAX.unsigned_abs();

    /// Checks `units` as a number of units on hand: at most
    /// [`StockLevel::MAX_ON_HAND`].
    ///
    /// # Errors
    /// [`ValidationError::OutOfRange`] naming `on_hand`.
    ///
    /// ```
    /// # use order_core::ports::StockLevel;
    /// assert_eq!(StockLevel::check_on_hand(2_147_483_647), Ok(2_147_483_647));
    /// assert!(StockLevel::check_on_hand(2_147_483_648).is_err());
    /// ```
    pub fn check_on_hand(units: u32) -> Result<u32, ValidationError> {
        if units <= Self::MAX_ON_HAND {
            Ok(units)
        } else {
            Err(ValidationError::OutOfRange {
                field: "on_hand".into(),
                value: i64::from(units),
                min: 0,
                max: i64::from(Self::MAX_ON_HAND),
            })
        }
    }
}

/// Stock administration: setting and reading levels. Implemented by whatever
/// keeps the stock (an inventory service, or a store that keeps stock).
#[async_trait]
pub trait StockLevels: Send + Sync {
    /// Sets the units on hand of `sku`, starting to track it if it was not.
    ///
    /// # Errors
    /// MUST refuse (with [`PortError::Refused`] naming why) to set fewer
    /// units than are held, or more than [`StockLevel::MAX_ON_HAND`] (callers
    /// check with [`StockLevel::check_on_hand`] first); backend failures.
    async fn set_on_hand(&self, sku: &Sku, units: u32) -> Result<StockLevel, PortError>;

    /// The level of `sku`; `None` when it is not tracked.
    ///
    /// # Errors
    /// Backend failures.
    async fn level(&self, sku: &Sku) -> Result<Option<StockLevel>, PortError>;
}

/// Stock: reservations per order, committed on payment.
///
/// Every operation is idempotent per order, so the engine may retry it.
#[async_trait]
pub trait Inventory: Send + Sync {
    /// Sets the order's reservation to exactly `items`, held until
    /// `expires_at` (an order placed, edited, or retrying a payment).
    ///
    /// # Errors
    /// MUST return [`InventoryError::OutOfStock`] naming every short SKU and
    /// leave the previous reservation unchanged when any SKU lacks stock;
    /// MUST never reserve more than is in stock.
    async fn reserve(
        &self,
        order: OrderId,
        items: &[StockItem],
        expires_at: DateTime<Utc>,
    ) -> Result<(), InventoryError>;

    /// Turns the order's reservation into a sale (stock leaves).
    ///
    /// # Errors
    /// [`InventoryError::Port`] on failure; committing twice is a no-op.
    async fn commit(&self, order: OrderId) -> Result<(), InventoryError>;

    /// Drops the order's reservation; releasing nothing is a no-op.
    ///
    /// # Errors
    /// [`InventoryError::Port`] on failure.
    async fn release(&self, order: OrderId) -> Result<(), InventoryError>;

    /// Puts sold units back on the shelf (a cancellation after payment, a
    /// received return). `key` makes it idempotent: a second call with the
    /// same order and key is a no-op.
    ///
    /// # Errors
    /// [`InventoryError::Port`] on failure.
    async fn restock(
        &self,
        order: OrderId,
        key: &str,
        items: &[StockItem],
    ) -> Result<(), InventoryError>;
}

/// What a gateway is asked to authorize.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentRequest {
    /// The order.
    pub order_id: OrderId,
    /// The payer.
    pub customer_id: CustomerId,
    /// The amount.
    pub amount: Money,
    /// The same key for every retry of one attempt.
    pub idempotency_key: String,
    /// How the customer pays: the attempt's method, else the order's.
    pub payment_method: Option<PaymentMethod>,
    /// The payment provider's token for the instrument, when the payer
    /// gave one (never stored).
    pub payment_token: Option<PaymentToken>,
}

/// A payment provider. Every call carries an idempotency key: the gateway
/// MUST treat a repeated key as the same operation and answer as before.
#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// Holds the amount; returns the authorization's reference.
    ///
    /// # Errors
    /// [`PaymentError::Declined`] when refused; [`PaymentError::Port`] when
    /// the gateway cannot answer.
    async fn authorize(&self, request: &PaymentRequest) -> Result<GatewayReference, PaymentError>;

    /// Takes `amount` of an authorization.
    ///
    /// # Errors
    /// As [`PaymentGateway::authorize`].
    async fn capture(
        &self,
        authorization: &GatewayReference,
        amount: Money,
        idempotency_key: &str,
    ) -> Result<GatewayReference, PaymentError>;

    /// Releases an authorization.
    ///
    /// # Errors
    /// As [`PaymentGateway::authorize`].
    async fn void(
        &self,
        authorization: &GatewayReference,
        idempotency_key: &str,
    ) -> Result<GatewayReference, PaymentError>;

    /// Gives back `amount` of a capture.
    ///
    /// # Errors
    /// As [`PaymentGateway::authorize`].
    async fn refund(
        &self,
        capture: &GatewayReference,
        amount: Money,
        idempotency_key: &str,
    ) -> Result<GatewayReference, PaymentError>;
}

/// The customer directory.
#[async_trait]
pub trait Customers: Send + Sync {
    /// True when the customer exists and may order.
    ///
    /// # Errors
    /// [`PortError`] when the directory cannot answer.
    async fn exists(&self, id: CustomerId) -> Result<bool, PortError>;
}

/// Tax rates by destination and tax class.
#[async_trait]
pub trait TaxPolicy: Send + Sync {
    /// One rate per class, in order, for goods going to `destination`
    /// (`None` when the order ships nowhere and has no billing address).
    ///
    /// # Errors
    /// [`PolicyError::Refused`] when no rate covers the destination.
    async fn rates(
        &self,
        destination: Option<&Address>,
        classes: &[TaxClass],
    ) -> Result<Vec<Percent>, PolicyError>;
}

/// Shipping charges by method.
#[async_trait]
pub trait ShippingPolicy: Send + Sync {
    /// The charge for sending goods worth `merchandise` (after discount, tax
    /// included) by `method` to `destination`.
    ///
    /// # Errors
    /// [`PolicyError::Refused`] for an unknown method or an unserved
    /// destination.
    async fn quote(
        &self,
        method: &ShippingMethod,
        destination: &Address,
        merchandise: Money,
    ) -> Result<Money, PolicyError>;
}

/// Coupons and promotions.
#[async_trait]
pub trait DiscountPolicy: Send + Sync {
    /// The discount `code` grants `customer` on goods worth `subtotal`, for
    /// an order placed `at`.
    ///
    /// # Errors
    /// [`PolicyError::Refused`] for an unknown, expired or inapplicable code.
    async fn discount(
        &self,
        code: &CouponCode,
        customer: CustomerId,
        subtotal: Money,
        at: DateTime<Utc>,
    ) -> Result<Discount, PolicyError>;
}

/// Issues order numbers.
#[async_trait]
pub trait OrderNumbers: Send + Sync {
    /// A number no other order has or will have.
    ///
    /// # Errors
    /// [`PortError`] when the sequence cannot answer.
    async fn next(&self, at: DateTime<Utc>) -> Result<OrderNumber, PortError>;
}

/// Delivers outbox events to the outside world.
#[async_trait]
pub trait EventPublisher: Send + Sync {
    /// Publishes a batch of events, oldest first, and answers `Ok` only once
    /// every one of them was handed over (a broker acknowledged it): the
    /// relay marks them published only then. Delivery is at least once:
    /// consumers deduplicate by event id.
    ///
    /// # Errors
    /// [`PortError`] when any event could not be handed over; the relay
    /// publishes the whole batch again later.
    async fn publish(&self, events: &[StoredEvent]) -> Result<(), PortError>;
}

/// Webhook subscriptions and their deliveries, kept beside the orders.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Adds a subscription.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot write.
    async fn add_subscription(&self, subscription: &Subscription) -> Result<(), StoreError>;

    /// Every subscription, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot answer.
    async fn subscriptions(&self) -> Result<Vec<Subscription>, StoreError>;

    /// Removes a subscription and its deliveries; false if there was none.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot write.
    async fn remove_subscription(&self, id: SubscriptionId) -> Result<bool, StoreError>;

    /// The feed position up to which messages were turned into deliveries
    /// (0 at first).
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot answer.
    async fn fan_out_position(&self) -> Result<u64, StoreError>;

    /// Adds `deliveries` and moves the fan-out position from `from` to `to`,
    /// at once: both or neither. False, with nothing written, when the
    /// position is no longer `from` (another process fanned out meanwhile).
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot write.
    async fn enqueue(
        &self,
        deliveries: &[Delivery],
        from: u64,
        to: u64,
    ) -> Result<bool, StoreError>;

    /// Pending deliveries due at `now`, oldest position first.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot answer.
    async fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Delivery>, StoreError>;

    /// Records an attempt and the delivery as it stands after it.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot write.
    async fn record_attempt(
        &self,
        delivery: &Delivery,
        attempt: &Attempt,
    ) -> Result<(), StoreError>;

    /// Replaces a delivery's state (an admin's redelivery).
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot write.
    async fn update_delivery(&self, delivery: &Delivery) -> Result<(), StoreError>;

    /// A subscription's deliveries, newest first, in `state` if given.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot answer.
    async fn deliveries(
        &self,
        subscription: SubscriptionId,
        state: Option<DeliveryState>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError>;

    /// A delivery and its attempts, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot answer.
    async fn delivery(
        &self,
        id: DeliveryId,
    ) -> Result<Option<(Delivery, Vec<Attempt>)>, StoreError>;
}

/// Leadership of the outbox relay among processes sharing one store: one
/// relay at a time publishes, so one order's events leave in sequence order
/// and are not published twice by two replicas.
#[async_trait]
pub trait RelayLease: Send + Sync {
    /// True while this process leads: takes the lease when it is free and
    /// keeps it while held; false while another process holds it.
    ///
    /// # Errors
    /// [`PortError`] when the lease's backend cannot answer (the caller
    /// does not relay until it can).
    async fn hold(&self) -> Result<bool, PortError>;
}

/// Waiting, for timeouts and retry back-off, without tying the core to a
/// runtime.
#[async_trait]
pub trait Timer: Send + Sync {
    /// Completes after `duration`.
    async fn sleep(&self, duration: Duration);
}

/// The current time. The core never reads the system clock itself.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// New ids. The core never generates randomness itself.
pub trait IdGenerator: Send + Sync {
    /// A fresh UUID v7, never returned before.
    fn new_v7(&self) -> Uuid;
}
