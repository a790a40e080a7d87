//! Rows to order-core's values: an order from a row of `sql/order.sql` (the
//! `orders` columns, then one array per child column), an event from a row
//! of `outbox_events`. Every column is decoded as its own type from
//! PostgreSQL's binary format; the JSON columns (addresses, pricing, event
//! payloads) are deserialized straight from their bytes.

use chrono::{DateTime, Utc};
use order_core::order::{CorruptOrder, OrderSnapshot};
use order_core::pricing::{LineAmounts, Percent, Totals};
use order_core::{
    Actor, Address, Currency, CustomerId, EventRecord, GatewayReference, LineId, LineQuantities,
    LineQuantity, Money, Order, OrderEvent, OrderId, OrderLine, OrderNumber, OrderStatus,
    PaymentEntry, PaymentEntryId, PaymentKind, PaymentLedger, PaymentStatus, ProductId,
    ProductKind, ProductName, Quantity, Reason, Return, ReturnId, Shipment, ShipmentId, Sku,
    StatusChange, StoreError, TaxClass, VariantId,
};
use rust_decimal::Decimal;
use sqlx::postgres::{PgHasArrayType, PgRow};
use sqlx::types::Json;
use sqlx::{Decode, Postgres, Row, Type};
use uuid::Uuid;

use crate::error::translate;

/// A row that does not make a valid order: the schema's CHECKs should have
/// stopped it, so this is a backend failure, not a client error.
pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("stored order is invalid: {what}").into())
}

fn parsed<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<T, StoreError> {
    result.map_err(corrupt)
}

fn get<'r, T: Decode<'r, Postgres> + Type<Postgres>>(
    row: &'r PgRow,
    column: &str,
) -> Result<T, StoreError> {
    row.try_get(column).map_err(translate)
}

/// A text column parsed by `parse`, when not NULL.
fn text<T, E: std::fmt::Display>(
    row: &PgRow,
    column: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Option<T>, StoreError> {
    get::<Option<&str>>(row, column)?
        .map(|v| parsed(parse(v)))
        .transpose()
}

pub(crate) fn parse_kind(text: &str) -> Result<ProductKind, StoreError> {
    match text {
        "physical" => Ok(ProductKind::Physical),
        "digital" => Ok(ProductKind::Digital),
        other => Err(corrupt(format!("product kind {other:?}"))),
    }
}

fn payment_kind(text: &str) -> Result<PaymentKind, StoreError> {
    match text {
        "authorize" => Ok(PaymentKind::Authorize),
        "capture" => Ok(PaymentKind::Capture),
        "void" => Ok(PaymentKind::Void),
        "refund" => Ok(PaymentKind::Refund),
        other => Err(corrupt(format!("payment kind {other:?}"))),
    }
}

/// The currency of a `char(3)` column.
pub(crate) fn currency(row: &PgRow, column: &str) -> Result<Currency, StoreError> {
    parsed(Currency::parse(get::<&str>(row, column)?.trim()))
}

/// The arrays of one child table: one value per child in every column.
struct Children<'r> {
    row: &'r PgRow,
    len: usize,
}

impl<'r> Children<'r> {
    /// The children whose ids are in `ids` (NULL: none).
    fn of<T>(row: &'r PgRow, ids: &str) -> Result<(Self, Vec<T>), StoreError>
    where
        T: for<'a> Decode<'a, Postgres> + Type<Postgres> + PgHasArrayType,
    {
        let ids: Vec<T> = get::<Option<Vec<T>>>(row, ids)?.unwrap_or_default();
        Ok((
            Self {
                row,
                len: ids.len(),
            },
            ids,
        ))
    }

    /// Another column of the same children.
    fn column<T>(&self, column: &str) -> Result<Vec<T>, StoreError>
    where
        T: for<'a> Decode<'a, Postgres> + Type<Postgres> + PgHasArrayType,
    {
        let values: Vec<T> = get::<Option<Vec<T>>>(self.row, column)?.unwrap_or_default();
        if values.len() == self.len {
            Ok(values)
        } else {
            Err(corrupt(format!(
                "{column} has {} values for {} rows",
                values.len(),
                self.len
            )))
        }
    }
}

fn money(amount: Decimal, currency: Currency) -> Result<Money, StoreError> {
    parsed(Money::new(amount, currency))
}

fn lines(row: &PgRow, currency: Currency) -> Result<Vec<OrderLine>, StoreError> {
    let (lines, ids) = Children::of::<Uuid>(row, "line_id")?;
    let product_ids: Vec<Uuid> = lines.column("line_product_id")?;
    let variant_ids: Vec<Option<Uuid>> = lines.column("line_variant_id")?;
    let skus: Vec<String> = lines.column("line_sku")?;
    let names: Vec<String> = lines.column("line_name")?;
    let kinds: Vec<String> = lines.column("line_kind")?;
    let tax_classes: Vec<String> = lines.column("line_tax_class")?;
    let tax_rates: Vec<Decimal> = lines.column("line_tax_rate")?;
    let quantities: Vec<i32> = lines.column("line_quantity")?;
    let unit_prices: Vec<Decimal> = lines.column("line_unit_price")?;
    let subtotals: Vec<Decimal> = lines.column("line_subtotal")?;
    let discounts: Vec<Decimal> = lines.column("line_discount")?;
    let taxes: Vec<Decimal> = lines.column("line_tax")?;
    let totals: Vec<Decimal> = lines.column("line_total")?;
    let ordered: Vec<i32> = lines.column("line_ordered")?;
    let cancelled: Vec<i32> = lines.column("line_cancelled")?;
    let shipped: Vec<i32> = lines.column("line_shipped")?;
    let delivered: Vec<i32> = lines.column("line_delivered")?;
    let returned: Vec<i32> = lines.column("line_returned")?;
    let return_requested: Vec<i32> = lines.column("line_return_requested")?;
    (0..lines.len)
        .map(|i| {
            Ok(OrderLine {
                id: parsed(LineId::new(ids[i]))?,
                product_id: parsed(ProductId::new(product_ids[i]))?,
                variant_id: variant_ids[i]
                    .map(VariantId::new)
                    .transpose()
                    .map_err(corrupt)?,
                sku: parsed(Sku::parse(&skus[i]))?,
                name: parsed(ProductName::parse(&names[i]))?,
                kind: parse_kind(&kinds[i])?,
                tax_class: parsed(TaxClass::parse(&tax_classes[i]))?,
                tax_rate: parsed(Percent::new(tax_rates[i]))?,
                quantity: parsed(Quantity::new(units(quantities[i])?))?,
                unit_price: money(unit_prices[i], currency)?,
                amounts: LineAmounts {
                    subtotal: money(subtotals[i], currency)?,
                    discount: money(discounts[i], currency)?,
                    tax: money(taxes[i], currency)?,
                    total: money(totals[i], currency)?,
                },
                quantities: LineQuantities {
                    ordered: units(ordered[i])?,
                    cancelled: units(cancelled[i])?,
                    shipped: units(shipped[i])?,
                    delivered: units(delivered[i])?,
                    returned: units(returned[i])?,
                    return_requested: units(return_requested[i])?,
                },
            })
        })
        .collect()
}

fn units(n: i32) -> Result<u32, StoreError> {
    u32::try_from(n).map_err(corrupt)
}

fn payments(row: &PgRow, currency: Currency) -> Result<PaymentLedger, StoreError> {
    let (payments, ids) = Children::of::<Uuid>(row, "payment_id")?;
    let kinds: Vec<String> = payments.column("payment_kind")?;
    let amounts: Vec<Decimal> = payments.column("payment_amount")?;
    let references: Vec<Option<String>> = payments.column("payment_reference")?;
    let keys: Vec<String> = payments.column("payment_idempotency_key")?;
    let reasons: Vec<Option<String>> = payments.column("payment_reason")?;
    let return_ids: Vec<Option<Uuid>> = payments.column("payment_return_id")?;
    let ats: Vec<DateTime<Utc>> = payments.column("payment_at")?;
    let entries = (0..payments.len)
        .map(|i| {
            Ok(PaymentEntry {
                id: parsed(PaymentEntryId::new(ids[i]))?,
                kind: payment_kind(&kinds[i])?,
                amount: money(amounts[i], currency)?,
                reference: references[i]
                    .as_deref()
                    .map(GatewayReference::parse)
                    .transpose()
                    .map_err(corrupt)?,
                idempotency_key: keys[i].clone(),
                reason: reasons[i]
                    .as_deref()
                    .map(Reason::parse)
                    .transpose()
                    .map_err(corrupt)?,
                return_id: return_ids[i]
                    .map(ReturnId::new)
                    .transpose()
                    .map_err(corrupt)?,
                at: ats[i],
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(PaymentLedger::restore(currency, entries))
}

/// The lines of shipments or returns, from the columns `[parent id, line
/// id, quantity]`: `(parent id, line)`, by parent position then line
/// position.
fn parts(
    row: &PgRow,
    [parent, line, quantity]: [&str; 3],
) -> Result<Vec<(Uuid, LineQuantity)>, StoreError> {
    let (parts, parents) = Children::of::<Uuid>(row, parent)?;
    let line_ids: Vec<Uuid> = parts.column(line)?;
    let quantities: Vec<i32> = parts.column(quantity)?;
    (0..parts.len)
        .map(|i| {
            Ok((
                parents[i],
                LineQuantity {
                    line_id: parsed(LineId::new(line_ids[i]))?,
                    quantity: parsed(Quantity::new(units(quantities[i])?))?,
                },
            ))
        })
        .collect()
}

/// The parts of the parent `id`, in order.
fn parts_of(parts: &[(Uuid, LineQuantity)], id: Uuid) -> Vec<LineQuantity> {
    parts
        .iter()
        .filter(|(parent, _)| *parent == id)
        .map(|(_, part)| *part)
        .collect()
}

fn shipments(row: &PgRow) -> Result<Vec<Shipment>, StoreError> {
    let (shipments, ids) = Children::of::<Uuid>(row, "shipment_id")?;
    let carriers: Vec<Option<String>> = shipments.column("shipment_carrier")?;
    let tracking: Vec<Option<String>> = shipments.column("shipment_tracking_number")?;
    let shipped_at: Vec<DateTime<Utc>> = shipments.column("shipment_shipped_at")?;
    let delivered_at: Vec<Option<DateTime<Utc>>> = shipments.column("shipment_delivered_at")?;
    let lines = parts(
        row,
        [
            "shipment_line_shipment_id",
            "shipment_line_line_id",
            "shipment_line_quantity",
        ],
    )?;
    (0..shipments.len)
        .map(|i| {
            Ok(Shipment {
                id: parsed(ShipmentId::new(ids[i]))?,
                lines: parts_of(&lines, ids[i]),
                carrier: carriers[i]
                    .as_deref()
                    .map(order_core::Carrier::parse)
                    .transpose()
                    .map_err(corrupt)?,
                tracking_number: tracking[i]
                    .as_deref()
                    .map(order_core::TrackingNumber::parse)
                    .transpose()
                    .map_err(corrupt)?,
                shipped_at: shipped_at[i],
                delivered_at: delivered_at[i],
            })
        })
        .collect()
}

fn returns(row: &PgRow, currency: Currency) -> Result<Vec<Return>, StoreError> {
    let (returns, ids) = Children::of::<Uuid>(row, "return_id")?;
    let reasons: Vec<String> = returns.column("return_reason")?;
    let amounts: Vec<Decimal> = returns.column("return_refund_amount")?;
    let requested_at: Vec<DateTime<Utc>> = returns.column("return_requested_at")?;
    let received_at: Vec<Option<DateTime<Utc>>> = returns.column("return_received_at")?;
    let lines = parts(
        row,
        [
            "return_line_return_id",
            "return_line_line_id",
            "return_line_quantity",
        ],
    )?;
    (0..returns.len)
        .map(|i| {
            Ok(Return {
                id: parsed(ReturnId::new(ids[i]))?,
                lines: parts_of(&lines, ids[i]),
                reason: parsed(Reason::parse(&reasons[i]))?,
                refund_amount: money(amounts[i], currency)?,
                requested_at: requested_at[i],
                received_at: received_at[i],
            })
        })
        .collect()
}

fn history(row: &PgRow) -> Result<Vec<StatusChange>, StoreError> {
    let (history, sequences) = Children::of::<i64>(row, "history_sequence")?;
    let from: Vec<Option<String>> = history.column("history_from_status")?;
    let to: Vec<String> = history.column("history_to_status")?;
    let reasons: Vec<String> = history.column("history_reason")?;
    let actors: Vec<String> = history.column("history_actor")?;
    let ats: Vec<DateTime<Utc>> = history.column("history_at")?;
    (0..history.len)
        .map(|i| {
            Ok(StatusChange {
                from: from[i]
                    .as_deref()
                    .map(str::parse::<OrderStatus>)
                    .transpose()
                    .map_err(corrupt)?,
                to: parsed(to[i].parse::<OrderStatus>())?,
                reason: reasons[i].clone(),
                actor: parsed(Actor::parse(&actors[i]))?,
                at: ats[i],
                sequence: u64::try_from(sequences[i]).map_err(corrupt)?,
            })
        })
        .collect()
}

/// An order from a row of `sql/order.sql`.
pub(crate) fn order_from_row(row: &PgRow) -> Result<Order, StoreError> {
    let currency = currency(row, "currency")?;
    let amount = |column: &str| money(get(row, column)?, currency);
    let cancellation = match (
        text(row, "cancellation_reason", Reason::parse)?,
        text(row, "cancelled_by", Actor::parse)?,
    ) {
        (Some(reason), Some(actor)) => Some((reason, actor)),
        _ => None,
    };
    let version: i64 = get(row, "version")?;
    let attempts: i32 = get(row, "payment_attempts")?;
    let snapshot = OrderSnapshot {
        id: parsed(OrderId::new(get(row, "id")?))?,
        number: parsed(OrderNumber::parse(get(row, "number")?))?,
        customer_id: parsed(CustomerId::new(get(row, "customer_id")?))?,
        currency,
        status: parsed(get::<&str>(row, "status")?.parse())?,
        payment_status: parsed(get::<&str>(row, "payment_status")?.parse::<PaymentStatus>())?,
        lines: lines(row, currency)?,
        shipping_address: get::<Option<Json<Address>>>(row, "shipping_address")?.map(|j| j.0),
        billing_address: get::<Option<Json<Address>>>(row, "billing_address")?.map(|j| j.0),
        shipping_method: text(row, "shipping_method", order_core::ShippingMethod::parse)?,
        payment_method: text(row, "payment_method", order_core::PaymentMethod::parse)?,
        coupon: text(row, "coupon_code", order_core::CouponCode::parse)?,
        discount: get::<Option<Json<_>>>(row, "discount_rule")?.map(|j| j.0),
        notes: text(row, "notes", order_core::Notes::parse)?,
        pricing: get::<Json<_>>(row, "pricing")?.0,
        totals: Totals {
            subtotal: amount("subtotal")?,
            discount: amount("discount")?,
            tax: amount("tax")?,
            shipping: amount("shipping")?,
            total: amount("total")?,
        },
        payments: payments(row, currency)?,
        payment_attempts: u32::try_from(attempts).map_err(corrupt)?,
        reservation: get::<Json<_>>(row, "reservation")?.0,
        shipments: shipments(row)?,
        returns: returns(row, currency)?,
        history: history(row)?,
        cancellation,
        version: u64::try_from(version).map_err(corrupt)?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        confirmed_at: get(row, "confirmed_at")?,
        cancelled_at: get(row, "cancelled_at")?,
        delivered_at: get(row, "delivered_at")?,
        completed_at: get(row, "completed_at")?,
    };
    Order::restore(snapshot).map_err(|e: CorruptOrder| corrupt(e))
}

/// An event from a row of `outbox_events`.
pub(crate) fn event_from_row(row: &PgRow) -> Result<EventRecord, StoreError> {
    let sequence: i64 = get(row, "sequence")?;
    Ok(EventRecord {
        id: parsed(order_core::EventId::new(get(row, "id")?))?,
        order_id: parsed(OrderId::new(get(row, "order_id")?))?,
        sequence: u64::try_from(sequence).map_err(corrupt)?,
        occurred_at: get(row, "occurred_at")?,
        actor: parsed(Actor::parse(get(row, "actor")?))?,
        event: event_payload(row)?,
    })
}

/// An event's payload, read with the tag the row selects beside it
/// (`payload->>'type' as payload_type`), so that the common events skip
/// serde's buffering of tagged enums ([`OrderEvent::deserialize_tagged`]).
/// The row gives the payload as text (`payload::text`), the very bytes
/// jsonb's binary form carries after its version byte, so it is parsed once,
/// here, rather than checked whole by a `Json<&RawValue>` first.
fn event_payload(row: &PgRow) -> Result<OrderEvent, StoreError> {
    let tag: &str = get(row, "payload_type")?;
    let payload: &str = get(row, "payload")?;
    let mut json = serde_json::Deserializer::from_str(payload);
    OrderEvent::deserialize_tagged(tag, &mut json)
        .and_then(|event| json.end().map(|()| event))
        .map_err(corrupt)
}
