//! The error types of the engine, one per layer of meaning:
//! [`MoneyError`] and [`ValidationError`] for values, [`TransitionError`] and
//! [`RuleViolation`] for decisions, [`PortError`] and friends for the ports,
//! [`StoreError`] for the store, and [`OrderError`], which is what
//! `OrderService` returns and wraps all of them.

use std::error::Error as StdError;

use rust_decimal::Decimal;
use thiserror::Error;

use crate::id::{LineId, OrderId, ProductId, ReturnId, ShipmentId, VariantId};
use crate::money::{Currency, Money};
use crate::status::{Action, OrderStatus, PaymentStatus};
use crate::text::Sku;

/// Money that cannot be built or combined.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MoneyError {
    /// The currency code is not one ISO 4217 code this engine knows.
    #[error("currency: unknown ISO 4217 code {code:?}")]
    UnknownCurrency {
        /// The code given.
        code: String,
    },
    /// The amount has more decimals than the currency has minor units.
    #[error("amount: {amount} has more than {minor_units} decimals allowed for {currency}")]
    TooPrecise {
        /// The amount given.
        amount: Decimal,
        /// Its currency.
        currency: Currency,
        /// How many decimals the currency allows.
        minor_units: u32,
    },
    /// The text is not a plain decimal number.
    #[error("amount: {text:?} is not a decimal number such as 19.99")]
    NotADecimal {
        /// The text given.
        text: String,
    },
    /// Two amounts in different currencies were combined.
    #[error("currency: cannot combine {left} with {right}")]
    CurrencyMismatch {
        /// The left operand's currency.
        left: Currency,
        /// The right operand's currency.
        right: Currency,
    },
    /// The result does not fit.
    #[error("amount: arithmetic overflow")]
    Overflow,
    /// A unit price of zero or less.
    #[error("amount: must be greater than zero (got {amount})")]
    NotPositive {
        /// The amount given.
        amount: Decimal,
    },
    /// An amount beyond the engine's bound (ADR 0006).
    #[error("amount: must be at most {max} (got {amount})")]
    TooLarge {
        /// The amount given or computed.
        amount: Decimal,
        /// The bound, in major units (either side of zero for amounts).
        max: Decimal,
    },
}

/// Input that breaks a rule of SPEC.md's validation; every variant names the
/// field (a path such as `lines[2].quantity`) and the rule.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValidationError {
    /// A required value is empty.
    #[error("{field}: must not be empty")]
    Empty {
        /// The field.
        field: String,
    },
    /// A text value is longer than its bound.
    #[error("{field}: must be at most {max} characters (got {len})")]
    TooLong {
        /// The field.
        field: String,
        /// The bound.
        max: usize,
        /// The length given.
        len: usize,
    },
    /// A value does not have the required form.
    #[error("{field}: {rule}")]
    BadFormat {
        /// The field.
        field: String,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// An identifier is not acceptable.
    #[error("{field}: {rule}")]
    InvalidId {
        /// The field.
        field: &'static str,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// A number is outside its allowed range.
    #[error("{field}: must be between {min} and {max} (got {value})")]
    OutOfRange {
        /// The field.
        field: String,
        /// The value given.
        value: i64,
        /// The smallest allowed.
        min: i64,
        /// The largest allowed.
        max: i64,
    },
    /// An amount is invalid.
    #[error("{field}: {source}")]
    Money {
        /// The field.
        field: String,
        /// What is wrong with it.
        source: MoneyError,
    },
    /// A decimal rate is outside 0..=100 percent.
    #[error("{field}: must be a percentage between 0 and 100 (got {value})")]
    Percentage {
        /// The field.
        field: String,
        /// The value given.
        value: Decimal,
    },
    /// The order has no lines.
    #[error("lines: an order needs at least one line")]
    NoLines,
    /// The order has more lines than allowed.
    #[error("lines: at most {max} lines per order (got {len})")]
    TooManyLines {
        /// The bound.
        max: usize,
        /// The count given.
        len: usize,
    },
    /// Two lines name the same product and variant.
    #[error("lines[{index}]: product {product_id} appears twice; merge the quantities")]
    DuplicateLine {
        /// The later line's index.
        index: usize,
        /// The product.
        product_id: ProductId,
    },
    /// Physical goods need somewhere to go.
    #[error("shipping_address: required when any line is physical")]
    ShippingAddressRequired,
    /// Physical goods need a shipping method.
    #[error("shipping_method: required when any line is physical")]
    ShippingMethodRequired,
    /// The total is zero without a discount that explains it.
    #[error("total: must be greater than zero unless fully discounted")]
    NonPositiveTotal,
    /// The lines are priced in more than one currency.
    #[error("lines[{index}].unit_price: priced in {found}, the order is in {expected}")]
    MixedCurrencies {
        /// The offending line.
        index: usize,
        /// The order's currency.
        expected: Currency,
        /// The line's currency.
        found: Currency,
    },
}

impl ValidationError {
    /// The field (path) this error is about.
    pub fn field(&self) -> &str {
        match self {
            Self::Empty { field }
            | Self::TooLong { field, .. }
            | Self::BadFormat { field, .. }
            | Self::OutOfRange { field, .. }
            | Self::Money { field, .. }
            | Self::Percentage { field, .. } => field,
            Self::InvalidId { field, .. } => field,
            Self::NoLines | Self::TooManyLines { .. } | Self::DuplicateLine { .. } => "lines",
            Self::ShippingAddressRequired => "shipping_address",
            Self::ShippingMethodRequired => "shipping_method",
            Self::NonPositiveTotal => "total",
            Self::MixedCurrencies { .. } => "unit_price",
        }
    }

    /// Places this error under `prefix`, so `quantity` inside the third line
    /// reads `lines[2].quantity`.
    #[must_use]
    pub fn at(self, prefix: &str) -> Self {
        let nest = |field: String| format!("{prefix}.{field}");
        match self {
            Self::Empty { field } => Self::Empty { field: nest(field) },
            Self::TooLong { field, max, len } => Self::TooLong {
                field: nest(field),
                max,
                len,
            },
            Self::BadFormat { field, rule } => Self::BadFormat {
                field: nest(field),
                rule,
            },
            Self::OutOfRange {
                field,
                value,
                min,
                max,
            } => Self::OutOfRange {
                field: nest(field),
                value,
                min,
                max,
            },
            Self::Money { field, source } => Self::Money {
                field: nest(field),
                source,
            },
            Self::Percentage { field, value } => Self::Percentage {
                field: nest(field),
                value,
            },
            other @ (Self::InvalidId { .. }
            | Self::NoLines
            | Self::TooManyLines { .. }
            | Self::DuplicateLine { .. }
            | Self::ShippingAddressRequired
            | Self::ShippingMethodRequired
            | Self::NonPositiveTotal
            | Self::MixedCurrencies { .. }) => other,
        }
    }
}

/// A command the state machine does not allow in the order's current state.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("cannot {action} an order that is {from} with payment {payment}")]
pub struct TransitionError {
    /// The order's status.
    pub from: OrderStatus,
    /// The order's payment status.
    pub payment: PaymentStatus,
    /// What was asked.
    pub action: Action,
}

/// A command the state machine allows but that breaks a quantity, amount or
/// time rule of the order.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RuleViolation {
    /// The line is not on the order.
    #[error("line {0} is not on this order")]
    UnknownLine(LineId),
    /// The shipment is not on the order.
    #[error("shipment {0} is not on this order")]
    UnknownShipment(ShipmentId),
    /// The return is not on the order.
    #[error("return {0} is not on this order")]
    UnknownReturn(ReturnId),
    /// More units than remain to ship.
    #[error("line {line}: cannot ship {requested}, only {remaining} remain to ship")]
    ShipsMoreThanOrdered {
        /// The line.
        line: LineId,
        /// Units asked for.
        requested: u32,
        /// Units left.
        remaining: u32,
    },
    /// More units than were shipped and not yet returned.
    #[error("line {line}: cannot return {requested}, only {returnable} are returnable")]
    ReturnsMoreThanShipped {
        /// The line.
        line: LineId,
        /// Units asked for.
        requested: u32,
        /// Units returnable.
        returnable: u32,
    },
    /// A digital line was asked back: nothing was shipped to return.
    #[error("line {line} is digital: it cannot be returned; refund it instead")]
    DigitalNotReturnable {
        /// The line.
        line: LineId,
    },
    /// A shipment or return lists no lines, or a line twice.
    #[error("{what}: list each line once, with at least one line")]
    BadLineSelection {
        /// Shipment or return.
        what: &'static str,
    },
    /// The shipment is already delivered.
    #[error("shipment {0} is already delivered")]
    AlreadyDelivered(ShipmentId),
    /// The return was already received.
    #[error("return {0} was already received")]
    AlreadyReceived(ReturnId),
    /// The return window has closed.
    #[error("the return window closed at {closed_at}")]
    ReturnWindowClosed {
        /// When it closed.
        closed_at: chrono::DateTime<chrono::Utc>,
    },
    /// The return window has not closed yet, so the order cannot complete.
    #[error("the order can complete after {opens_at}, when its return window closes")]
    ReturnWindowOpen {
        /// When completion becomes possible.
        opens_at: chrono::DateTime<chrono::Utc>,
    },
    /// A return is still open.
    #[error("return {0} is still open")]
    OpenReturn(ReturnId),
    /// A refund larger than captured minus refunded.
    #[error("refund of {requested} exceeds the refundable {refundable}")]
    RefundExceedsCaptured {
        /// The amount asked for.
        requested: Money,
        /// Captured minus already refunded.
        refundable: Money,
    },
    /// A capture larger than authorized minus captured.
    #[error("capture of {requested} exceeds the capturable {capturable}")]
    CaptureExceedsAuthorized {
        /// The amount asked for.
        requested: Money,
        /// Authorized minus captured.
        capturable: Money,
    },
    /// A payment amount that is not the order's balance.
    #[error("payment of {paid} does not match the amount due {due}")]
    PaymentAmountMismatch {
        /// The amount reported.
        paid: Money,
        /// The amount due.
        due: Money,
    },
    /// A refund or payment of zero or less.
    #[error("amount must be greater than zero")]
    NonPositiveAmount,
    /// The client saw another price than the catalog's.
    #[error("lines[{index}]: price of {sku} changed from {expected} to {actual}")]
    PriceChanged {
        /// The line's index in the request.
        index: usize,
        /// The product's SKU.
        sku: Sku,
        /// The price the client sent.
        expected: Money,
        /// The catalog's price.
        actual: Money,
    },
    /// The product does not exist in the catalog.
    #[error("lines[{index}]: unknown product {product_id}{}", variant_id.map(|v| format!(" variant {v}")).unwrap_or_default())]
    UnknownProduct {
        /// The line's index in the request.
        index: usize,
        /// The product.
        product_id: ProductId,
        /// The variant, if any.
        variant_id: Option<VariantId>,
    },
    /// The product is no longer sold.
    #[error("lines[{index}]: product {sku} is not available for sale")]
    ProductInactive {
        /// The line's index in the request.
        index: usize,
        /// The product's SKU.
        sku: Sku,
    },
    /// The customer does not exist.
    #[error("customer_id: unknown customer")]
    UnknownCustomer,
    /// The coupon is not known or does not apply.
    #[error("coupon_code: {reason}")]
    CouponRejected {
        /// Why.
        reason: String,
    },
    /// The shipping method is not offered for this destination.
    #[error("shipping_method: {reason}")]
    ShippingUnavailable {
        /// Why.
        reason: String,
    },
    /// No tax rate covers the destination and class.
    #[error("tax: {reason}")]
    TaxUnavailable {
        /// Why.
        reason: String,
    },
    /// The shipping method can no longer change (it would reprice a paid order).
    #[error("{field}: can no longer change in status {status}")]
    FieldFrozen {
        /// The field.
        field: &'static str,
        /// The order's status.
        status: OrderStatus,
    },
    /// A pending order that is not old enough, or whose payment started.
    #[error("the order is not stale: {reason}")]
    NotStale {
        /// Why.
        reason: &'static str,
    },
    /// Stock released by a failed payment must be reserved again first.
    #[error("stock for this order is no longer reserved")]
    StockNotReserved,
    /// An edit would remove the last line.
    #[error("lines: an order needs at least one line")]
    LastLine,
    /// A line shipment, return or refund names a different currency.
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// A port that could not answer: the call may succeed if tried again later.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PortError {
    /// The call did not finish within the policy's timeout.
    #[error("timed out")]
    Timeout,
    /// The service behind the port is unavailable.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The service answered and refused the request; retrying will not help.
    #[error("{0}")]
    Refused(String),
}

/// Why a payment gateway call failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PaymentError {
    /// The gateway refused the payment (card declined, insufficient funds…).
    #[error("declined ({code}): {reason}")]
    Declined {
        /// The gateway's code.
        code: String,
        /// The gateway's explanation.
        reason: String,
    },
    /// The gateway could not answer.
    #[error(transparent)]
    Port(#[from] PortError),
}

/// Why an inventory call failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InventoryError {
    /// Not enough stock for these SKUs.
    #[error("out of stock: {}", .0.iter().map(|s| format!("{} (asked {}, available {})", s.sku, s.requested, s.available)).collect::<Vec<_>>().join(", "))]
    OutOfStock(Vec<Shortage>),
    /// The inventory could not answer.
    #[error(transparent)]
    Port(#[from] PortError),
}

/// One SKU that cannot be reserved in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortage {
    /// The SKU.
    pub sku: Sku,
    /// Units asked for.
    pub requested: u32,
    /// Units available.
    pub available: u32,
}

/// Why a tax, shipping or discount policy gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PolicyError {
    /// The policy's rules refuse the request; the text says why.
    #[error("{0}")]
    Refused(String),
    /// The policy service could not answer.
    #[error(transparent)]
    Port(#[from] PortError),
}

/// The store's failure kinds, the same for every store implementation.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No order with this id.
    #[error("order {id} not found")]
    NotFound {
        /// The order.
        id: OrderId,
    },
    /// An order with this id (or number) exists already.
    #[error("order {id} already exists")]
    AlreadyExists {
        /// The order.
        id: OrderId,
    },
    /// The order changed since it was read.
    #[error("order {id} is at version {actual}, the change expected {expected}")]
    VersionConflict {
        /// The order.
        id: OrderId,
        /// The version the writer read.
        expected: u64,
        /// The version found, when the store knows it.
        actual: u64,
    },
    /// The inbound event was already applied.
    #[error("event {event_id} was already processed")]
    DuplicateInboundEvent {
        /// The event's id.
        event_id: String,
    },
    /// A stock effect would hold more than is on hand; nothing was written.
    #[error("out of stock")]
    OutOfStock(Vec<Shortage>),
    /// The backend is unreachable; a retry may succeed.
    #[error("store unavailable")]
    Unavailable(#[source] Box<dyn StdError + Send + Sync>),
    /// Any other backend failure; opaque on purpose.
    #[error("store backend failure")]
    Backend(#[source] Box<dyn StdError + Send + Sync>),
}

/// Which order a lookup was about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderRef {
    /// By id.
    Id(OrderId),
    /// By order number.
    Number(String),
}

impl std::fmt::Display for OrderRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Id(id) => write!(f, "{id}"),
            Self::Number(n) => write!(f, "{n}"),
        }
    }
}

/// What [`OrderService`](crate::OrderService) returns.
#[derive(Debug, Error)]
pub enum OrderError {
    /// The input is invalid.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// The state machine refuses the command in the current state.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The command breaks an order rule.
    #[error(transparent)]
    Rule(#[from] RuleViolation),
    /// No such order (or not visible to the caller).
    #[error("order {0} not found")]
    NotFound(OrderRef),
    /// The order changed since it was read; reload and retry.
    #[error("order {id} changed concurrently (expected version {expected}, found {actual})")]
    VersionConflict {
        /// The order.
        id: OrderId,
        /// The version the command ran against.
        expected: u64,
        /// The version found.
        actual: u64,
    },
    /// Not enough stock; nothing was persisted.
    #[error("{0}")]
    OutOfStock(InventoryError),
    /// The payment was declined; the order stays pending with payment failed.
    #[error("payment declined ({code}): {reason}")]
    PaymentDeclined {
        /// The order.
        order_id: OrderId,
        /// The gateway's code.
        code: String,
        /// The gateway's explanation.
        reason: String,
    },
    /// The idempotency key was used before with a different request.
    #[error("idempotency key {key:?} was used for a different request")]
    IdempotencyKeyReused {
        /// The key.
        key: String,
    },
    /// A request with this idempotency key is still in flight.
    #[error("a request with idempotency key {key:?} is still in progress")]
    IdempotencyInFlight {
        /// The key.
        key: String,
    },
    /// A port (catalog, payment, inventory…) could not answer in time.
    #[error("{port} unavailable: {source}")]
    Unavailable {
        /// Which port.
        port: &'static str,
        /// Why.
        source: PortError,
    },
    /// The store failed.
    #[error("store failure")]
    Store(#[source] StoreError),
}

impl From<StoreError> for OrderError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound { id } => Self::NotFound(OrderRef::Id(id)),
            StoreError::VersionConflict {
                id,
                expected,
                actual,
            } => Self::VersionConflict {
                id,
                expected,
                actual,
            },
            StoreError::OutOfStock(short) => Self::OutOfStock(InventoryError::OutOfStock(short)),
            other => Self::Store(other),
        }
    }
}

impl From<MoneyError> for OrderError {
    fn from(err: MoneyError) -> Self {
        Self::Rule(RuleViolation::Money(err))
    }
}
