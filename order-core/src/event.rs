//! Domain events: the facts a decision produces. An order's state is the fold
//! of its events ([`Order::from_events`](crate::Order::from_events)); each
//! event is also one outbox record, published to other services with its
//! per-order sequence number.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use crate::address::Address;
use crate::id::{CustomerId, EventId, OrderId, ReturnId, ShipmentId};
use crate::ledger::PaymentEntry;
use crate::money::{Currency, Money};
use crate::order::{LineQuantity, OrderLine, Return, Shipment};
use crate::order_number::OrderNumber;
use crate::pricing::{Discount, PricingPolicy, Totals};
use crate::text::{Actor, CouponCode, Notes, PaymentMethod, Reason, ShippingMethod};

/// Everything an order starts with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placed {
    /// The order's id.
    pub id: OrderId,
    /// Its human-readable number.
    pub number: OrderNumber,
    /// Who ordered.
    pub customer_id: CustomerId,
    /// The one currency of every amount.
    pub currency: Currency,
    /// Lines, priced.
    pub lines: Vec<OrderLine>,
    /// Where physical goods go.
    pub shipping_address: Option<Address>,
    /// Where the invoice goes.
    pub billing_address: Option<Address>,
    /// How physical goods travel.
    pub shipping_method: Option<ShippingMethod>,
    /// How the customer means to pay, when they said so at checkout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method: Option<PaymentMethod>,
    /// The coupon the customer used.
    pub coupon: Option<CouponCode>,
    /// The discount the coupon granted.
    pub discount: Option<Discount>,
    /// Customer notes.
    pub notes: Option<Notes>,
    /// The pricing rules the order is priced by.
    pub pricing: PricingPolicy,
    /// The totals.
    pub totals: Totals,
    /// Until when stock is held for the order.
    pub reservation_expires_at: DateTime<Utc>,
}

/// Something that happened to an order.
// Events are built once and moved into a record; see `Command`.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OrderEvent {
    /// The order was placed (`order.created`).
    Placed(Box<Placed>),
    /// Lines were added, changed or removed and the order re-priced
    /// (`order.updated`).
    LinesChanged {
        /// Every line after the change.
        lines: Vec<OrderLine>,
        /// The new totals.
        totals: Totals,
        /// Set when the stock reservation was adjusted to the new lines.
        reservation_expires_at: Option<DateTime<Utc>>,
    },
    /// Notes, addresses or the shipping method changed (`order.updated`).
    DetailsChanged {
        /// Notes after the change.
        notes: Option<Notes>,
        /// Shipping address after the change.
        shipping_address: Option<Address>,
        /// Billing address after the change.
        billing_address: Option<Address>,
        /// Shipping method after the change.
        shipping_method: Option<ShippingMethod>,
        /// Totals after the change (a new method may cost more).
        totals: Totals,
    },
    /// A payment attempt started (`order.payment_started`).
    PaymentStarted {
        /// 1 for the first attempt.
        attempt: u32,
        /// The amount asked for.
        amount: Money,
        /// Set when stock released by an earlier failure was reserved again.
        reservation_expires_at: Option<DateTime<Utc>>,
        /// The payment method of this attempt, when the payer chose one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        payment_method: Option<PaymentMethod>,
    },
    /// The amount was authorized (`order.payment_authorized`).
    PaymentAuthorized(PaymentEntry),
    /// The amount was captured (`order.payment_succeeded`).
    PaymentCaptured(PaymentEntry),
    /// The attempt failed and the stock was released (`order.payment_failed`).
    PaymentFailed {
        /// The gateway's code ("card_declined", "timeout").
        code: String,
        /// The gateway's explanation.
        reason: String,
    },
    /// An authorization was voided (`order.payment_voided`).
    PaymentVoided(PaymentEntry),
    /// Money was refunded (`order.refunded`).
    Refunded(PaymentEntry),
    /// The order is paid and its stock committed (`order.confirmed`).
    Confirmed,
    /// Picking and packing started (`order.processing`).
    ProcessingStarted,
    /// Units left in a shipment (`order.shipped`).
    Shipped(Shipment),
    /// A shipment arrived (`order.delivered`).
    ShipmentDelivered {
        /// The shipment.
        shipment_id: ShipmentId,
    },
    /// A paid digital-only order's goods were handed over, with nothing to
    /// ship (`order.delivered`).
    DeliveredDigitally {
        /// Every line, with its units.
        lines: Vec<LineQuantity>,
    },
    /// The return window passed (`order.completed`).
    Completed,
    /// The order was cancelled; its stock released or restocked
    /// (`order.cancelled`).
    Cancelled {
        /// Why.
        reason: Reason,
        /// True for the expiry of a stale pending order.
        expired: bool,
    },
    /// The customer asked to return units (`order.return_requested`).
    ReturnRequested(Return),
    /// Returned units arrived and were restocked (`order.returned`).
    ReturnReceived {
        /// The return.
        return_id: ReturnId,
    },
}

impl OrderEvent {
    /// The published event type.
    pub const fn event_type(&self) -> &'static str {
        match self {
            Self::Placed(_) => "order.created",
            Self::LinesChanged { .. } | Self::DetailsChanged { .. } => "order.updated",
            Self::PaymentStarted { .. } => "order.payment_started",
            Self::PaymentAuthorized(_) => "order.payment_authorized",
            Self::PaymentCaptured(_) => "order.payment_succeeded",
            Self::PaymentFailed { .. } => "order.payment_failed",
            Self::PaymentVoided(_) => "order.payment_voided",
            Self::Refunded(_) => "order.refunded",
            Self::Confirmed => "order.confirmed",
            Self::ProcessingStarted => "order.processing",
            Self::Shipped(_) => "order.shipped",
            Self::ShipmentDelivered { .. } | Self::DeliveredDigitally { .. } => "order.delivered",
            Self::Completed => "order.completed",
            Self::Cancelled { .. } => "order.cancelled",
            Self::ReturnRequested(_) => "order.return_requested",
            Self::ReturnReceived { .. } => "order.returned",
        }
    }

    /// Reads the event whose `type` is `tag` from `payload`, the whole object
    /// as [`Serialize`] writes it (the tag and the variant's fields side by
    /// side), for a reader that has the tag already (a store reads it beside
    /// the payload).
    ///
    /// The derived decoder of an internally tagged enum copies the whole
    /// object into serde's buffer to find the tag, then decodes the copy; for
    /// an `order.created`, which carries the whole order, that copy was
    /// about half of the decoding. Knowing the tag, the variants whose fields
    /// are one struct's read the object straight (the struct passes over
    /// `type` as it does over any field it does not know); the others, small,
    /// take the derived decoder.
    ///
    /// # Errors
    /// As the derived decoder: `payload` is not the event `tag` names.
    pub fn deserialize_tagged<'de, D: Deserializer<'de>>(
        tag: &str,
        payload: D,
    ) -> Result<Self, D::Error> {
        Ok(match tag {
            "placed" => Self::Placed(Deserialize::deserialize(payload)?),
            "payment_authorized" => Self::PaymentAuthorized(PaymentEntry::deserialize(payload)?),
            "payment_captured" => Self::PaymentCaptured(PaymentEntry::deserialize(payload)?),
            "payment_voided" => Self::PaymentVoided(PaymentEntry::deserialize(payload)?),
            "refunded" => Self::Refunded(PaymentEntry::deserialize(payload)?),
            "shipped" => Self::Shipped(Shipment::deserialize(payload)?),
            "return_requested" => Self::ReturnRequested(Return::deserialize(payload)?),
            _ => Self::deserialize(payload)?,
        })
    }
}

/// One event as stored in the outbox and published: the event plus its
/// identity and place in the order's stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    /// Stable id; consumers deduplicate by it.
    pub id: EventId,
    /// The order.
    pub order_id: OrderId,
    /// 1 for `order.created`, then +1 per event: also the order's version
    /// right after the event.
    pub sequence: u64,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Who caused it.
    pub actor: Actor,
    /// What happened.
    pub event: OrderEvent,
}

impl EventRecord {
    /// The published event type.
    pub fn event_type(&self) -> &'static str {
        self.event.event_type()
    }
}

/// An outbox record with its position in the global feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    /// Position in the store's global, strictly increasing feed.
    pub position: u64,
    /// The record.
    pub record: EventRecord,
}
