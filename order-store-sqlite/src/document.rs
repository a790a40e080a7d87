//! The shapes values take in the database: the order as a JSON document
//! ([`OrderDocument`], the only mapping between the aggregate and its row),
//! events as JSON, and times as sortable text.
//!
//! The document is this crate's own type, built from order-core's
//! [`OrderSnapshot`] and read back through [`Order::restore`], which checks
//! the aggregate's invariants. Its parts (lines, ledgers, totals, addresses)
//! are order-core's serde value types, whose amounts are decimal strings.

use chrono::{DateTime, Datelike, SecondsFormat, TimeZone, Timelike, Utc};
use order_core::order::{OrderSnapshot, Reservation, Return, Shipment, StatusChange};
use order_core::pricing::{Discount, PricingPolicy, Totals};
use order_core::{
    Actor, Address, CouponCode, Currency, CustomerId, EventRecord, Notes, Order, OrderId,
    OrderLine, OrderNumber, OrderStatus, PaymentLedger, PaymentMethod, PaymentStatus, Reason,
    ShippingMethod, StoreError,
};
use serde::{Deserialize, Serialize};

use crate::error::corrupt;

/// Every field of an order, as stored in `orders.document`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OrderDocument {
    id: OrderId,
    number: OrderNumber,
    customer_id: CustomerId,
    currency: Currency,
    status: OrderStatus,
    payment_status: PaymentStatus,
    lines: Vec<OrderLine>,
    shipping_address: Option<Address>,
    billing_address: Option<Address>,
    shipping_method: Option<ShippingMethod>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    payment_method: Option<PaymentMethod>,
    coupon: Option<CouponCode>,
    discount: Option<Discount>,
    notes: Option<Notes>,
    pricing: PricingPolicy,
    totals: Totals,
    payments: PaymentLedger,
    payment_attempts: u32,
    reservation: Reservation,
    shipments: Vec<Shipment>,
    returns: Vec<Return>,
    history: Vec<StatusChange>,
    cancellation: Option<(Reason, Actor)>,
    version: u64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    confirmed_at: Option<DateTime<Utc>>,
    cancelled_at: Option<DateTime<Utc>>,
    delivered_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
}

impl From<&Order> for OrderDocument {
    fn from(order: &Order) -> Self {
        let s = order.snapshot();
        Self {
            id: s.id,
            number: s.number,
            customer_id: s.customer_id,
            currency: s.currency,
            status: s.status,
            payment_status: s.payment_status,
            lines: s.lines,
            shipping_address: s.shipping_address,
            billing_address: s.billing_address,
            shipping_method: s.shipping_method,
            payment_method: s.payment_method,
            coupon: s.coupon,
            discount: s.discount,
            notes: s.notes,
            pricing: s.pricing,
            totals: s.totals,
            payments: s.payments,
            payment_attempts: s.payment_attempts,
            reservation: s.reservation,
            shipments: s.shipments,
            returns: s.returns,
            history: s.history,
            cancellation: s.cancellation,
            version: s.version,
            created_at: s.created_at,
            updated_at: s.updated_at,
            confirmed_at: s.confirmed_at,
            cancelled_at: s.cancelled_at,
            delivered_at: s.delivered_at,
            completed_at: s.completed_at,
        }
    }
}

impl TryFrom<OrderDocument> for Order {
    type Error = StoreError;

    fn try_from(d: OrderDocument) -> Result<Self, Self::Error> {
        Self::restore(OrderSnapshot {
            id: d.id,
            number: d.number,
            customer_id: d.customer_id,
            currency: d.currency,
            status: d.status,
            payment_status: d.payment_status,
            lines: d.lines,
            shipping_address: d.shipping_address,
            billing_address: d.billing_address,
            shipping_method: d.shipping_method,
            payment_method: d.payment_method,
            coupon: d.coupon,
            discount: d.discount,
            notes: d.notes,
            pricing: d.pricing,
            totals: d.totals,
            payments: d.payments,
            payment_attempts: d.payment_attempts,
            reservation: d.reservation,
            shipments: d.shipments,
            returns: d.returns,
            history: d.history,
            cancellation: d.cancellation,
            version: d.version,
            created_at: d.created_at,
            updated_at: d.updated_at,
            confirmed_at: d.confirmed_at,
            cancelled_at: d.cancelled_at,
            delivered_at: d.delivered_at,
            completed_at: d.completed_at,
        })
        .map_err(corrupt)
    }
}

/// The order as the text of its document.
pub(crate) fn order_to_json(order: &Order) -> Result<String, StoreError> {
    serde_json::to_string(&OrderDocument::from(order)).map_err(corrupt)
}

/// The order a stored document describes.
pub(crate) fn order_from_json(text: &str) -> Result<Order, StoreError> {
    serde_json::from_str::<OrderDocument>(text)
        .map_err(corrupt)?
        .try_into()
}

/// An event record as stored in `outbox.record`.
pub(crate) fn event_to_json(record: &EventRecord) -> Result<String, StoreError> {
    serde_json::to_string(record).map_err(corrupt)
}

/// The event record a stored `outbox.record` describes.
pub(crate) fn event_from_json(text: &str) -> Result<EventRecord, StoreError> {
    serde_json::from_str(text).map_err(corrupt)
}

/// A time as stored: RFC 3339 in UTC with nine fractional digits, so that
/// text order is time order. Times outside the years 0000–9999 (which no
/// order has, but a listing filter may ask for) are clamped to them, where
/// the text keeps its fixed width.
pub(crate) fn time_text(at: DateTime<Utc>) -> String {
    let at = match at.year() {
        0..=9999 => at,
        ..0 => Utc
            .with_ymd_and_hms(0, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or(at),
        _ => Utc
            .with_ymd_and_hms(9999, 12, 31, 23, 59, 59)
            .single()
            .and_then(|t| t.with_nanosecond(999_999_999))
            .unwrap_or(at),
    };
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// A time stored by [`time_text`].
pub(crate) fn time_from_text(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.to_utc())
        .map_err(corrupt)
}

#[cfg(test)]
mod tests {
    use order_testkit::strategy::arb_order;
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;

    use super::*;

    #[test]
    fn generated_orders_survive_their_document() {
        let mut runner = TestRunner::deterministic();
        for _ in 0..64 {
            let (order, _) = arb_order().new_tree(&mut runner).unwrap().current();
            let text = order_to_json(&order).unwrap();
            assert_eq!(order_from_json(&text).unwrap(), order);
        }
    }

    #[test]
    fn a_document_breaking_an_invariant_is_refused() {
        let (order, _) = order_testkit::builder::OrderBuilder::default().build();
        let mut json: serde_json::Value =
            serde_json::from_str(&order_to_json(&order).unwrap()).unwrap();
        json["lines"] = serde_json::Value::Array(Vec::new());
        assert!(matches!(
            order_from_json(&json.to_string()),
            Err(StoreError::Backend(_))
        ));
    }

    #[test]
    fn times_are_fixed_width_text_that_sorts_as_time() {
        let a = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let b = a + chrono::Duration::nanoseconds(1);
        let c = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        assert_eq!(time_text(a), "2026-03-01T12:00:00.000000000Z");
        assert!(time_text(a) < time_text(b) && time_text(b) < time_text(c));
        assert_eq!(time_from_text(&time_text(b)).unwrap(), b);
    }

    #[test]
    fn times_beyond_four_digit_years_are_clamped_to_them() {
        assert_eq!(
            time_text(DateTime::<Utc>::MAX_UTC),
            "9999-12-31T23:59:59.999999999Z"
        );
        assert_eq!(
            time_text(DateTime::<Utc>::MIN_UTC),
            "0000-01-01T00:00:00.000000000Z"
        );
    }
}
