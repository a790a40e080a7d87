//! The mapping between order-core's aggregate and this schema's rows, both
//! ways. Amounts travel as decimal text (never JSON numbers, which would pass
//! through `f64`); child rows travel as JSON arrays so one statement reads or
//! writes a whole order.

use chrono::{DateTime, Utc};
use order_core::order::{CorruptOrder, OrderSnapshot};
use order_core::ports::StockItem;
use order_core::pricing::{LineAmounts, Percent, Totals};
use order_core::{
    Actor, Address, Currency, CustomerId, EventRecord, GatewayReference, LineId, LineQuantities,
    LineQuantity, Money, Order, OrderId, OrderLine, OrderNumber, OrderStatus, PaymentEntry,
    PaymentEntryId, PaymentKind, PaymentLedger, PaymentStatus, ProductId, ProductKind, ProductName,
    Quantity, Reason, Return, ReturnId, Shipment, ShipmentId, Sku, StatusChange, StoreError,
    TaxClass, VariantId,
};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

/// A row that does not make a valid order: the schema's CHECKs should have
/// stopped it, so this is a backend failure, not a client error.
pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("stored order is invalid: {what}").into())
}

fn money(amount: &str, currency: Currency) -> Result<Money, StoreError> {
    let value: Decimal = amount
        .parse()
        .map_err(|_| corrupt(format!("amount {amount:?}")))?;
    Money::new(value, currency).map_err(corrupt)
}

fn parsed<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<T, StoreError> {
    result.map_err(corrupt)
}

fn kind_name(kind: ProductKind) -> &'static str {
    match kind {
        ProductKind::Physical => "physical",
        ProductKind::Digital => "digital",
    }
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

#[derive(Deserialize)]
struct LineRow {
    id: Uuid,
    product_id: Uuid,
    variant_id: Option<Uuid>,
    sku: String,
    name: String,
    kind: String,
    tax_class: String,
    tax_rate: String,
    quantity: u32,
    unit_price: String,
    subtotal: String,
    discount: String,
    tax: String,
    total: String,
    qty_ordered: u32,
    qty_cancelled: u32,
    qty_shipped: u32,
    qty_delivered: u32,
    qty_returned: u32,
    qty_return_requested: u32,
}

#[derive(Deserialize)]
struct PartRow {
    line_id: Uuid,
    quantity: u32,
}

#[derive(Deserialize)]
struct PaymentRow {
    id: Uuid,
    kind: String,
    amount: String,
    reference: Option<String>,
    idempotency_key: String,
    reason: Option<String>,
    return_id: Option<Uuid>,
    at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct ShipmentRow {
    id: Uuid,
    carrier: Option<String>,
    tracking_number: Option<String>,
    shipped_at: DateTime<Utc>,
    delivered_at: Option<DateTime<Utc>>,
    lines: Vec<PartRow>,
}

#[derive(Deserialize)]
struct ReturnRow {
    id: Uuid,
    reason: String,
    refund_amount: String,
    requested_at: DateTime<Utc>,
    received_at: Option<DateTime<Utc>>,
    lines: Vec<PartRow>,
}

#[derive(Deserialize)]
struct HistoryRow {
    sequence: u64,
    from_status: Option<String>,
    to_status: String,
    reason: String,
    actor: String,
    at: DateTime<Utc>,
}

fn parts(rows: Vec<PartRow>) -> Result<Vec<LineQuantity>, StoreError> {
    rows.into_iter()
        .map(|p| {
            Ok(LineQuantity {
                line_id: parsed(LineId::new(p.line_id))?,
                quantity: parsed(Quantity::new(p.quantity))?,
            })
        })
        .collect()
}

fn json_column<T: serde::de::DeserializeOwned>(row: &PgRow, column: &str) -> Result<T, StoreError> {
    let value: Value = row.try_get(column).map_err(crate::error::translate)?;
    serde_json::from_value(value).map_err(|e| corrupt(format!("{column}: {e}")))
}

fn optional_json<T: serde::de::DeserializeOwned>(
    row: &PgRow,
    column: &str,
) -> Result<Option<T>, StoreError> {
    let value: Option<Value> = row.try_get(column).map_err(crate::error::translate)?;
    value
        .map(|v| serde_json::from_value(v).map_err(|e| corrupt(format!("{column}: {e}"))))
        .transpose()
}

fn text<T>(
    row: &PgRow,
    column: &str,
    parse: impl Fn(&str) -> Result<T, order_core::ValidationError>,
) -> Result<Option<T>, StoreError> {
    let value: Option<String> = row.try_get(column).map_err(crate::error::translate)?;
    value.map(|v| parsed(parse(&v))).transpose()
}

fn get<'r, T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>>(
    row: &'r PgRow,
    column: &str,
) -> Result<T, StoreError> {
    row.try_get(column).map_err(crate::error::translate)
}

/// Builds an order from a row of the store's order query.
pub(crate) fn order_from_row(row: &PgRow) -> Result<Order, StoreError> {
    let currency = parsed(Currency::parse(get::<String>(row, "currency")?.trim()))?;
    let amount = |column: &str| -> Result<Money, StoreError> {
        money(&get::<String>(row, column)?, currency)
    };

    let lines: Vec<LineRow> = json_column(row, "lines")?;
    let lines = lines
        .into_iter()
        .map(|l| {
            Ok(OrderLine {
                id: parsed(LineId::new(l.id))?,
                product_id: parsed(ProductId::new(l.product_id))?,
                variant_id: l
                    .variant_id
                    .map(VariantId::new)
                    .transpose()
                    .map_err(corrupt)?,
                sku: parsed(Sku::parse(&l.sku))?,
                name: parsed(ProductName::parse(&l.name))?,
                kind: parse_kind(&l.kind)?,
                tax_class: parsed(TaxClass::parse(&l.tax_class))?,
                tax_rate: parsed(Percent::new(
                    l.tax_rate.parse().map_err(|_| corrupt("tax rate"))?,
                ))?,
                quantity: parsed(Quantity::new(l.quantity))?,
                unit_price: money(&l.unit_price, currency)?,
                amounts: LineAmounts {
                    subtotal: money(&l.subtotal, currency)?,
                    discount: money(&l.discount, currency)?,
                    tax: money(&l.tax, currency)?,
                    total: money(&l.total, currency)?,
                },
                quantities: LineQuantities {
                    ordered: l.qty_ordered,
                    cancelled: l.qty_cancelled,
                    shipped: l.qty_shipped,
                    delivered: l.qty_delivered,
                    returned: l.qty_returned,
                    return_requested: l.qty_return_requested,
                },
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;

    let payment_rows: Vec<PaymentRow> = json_column(row, "payments")?;
    let mut entries = Vec::with_capacity(payment_rows.len());
    for p in payment_rows {
        entries.push(PaymentEntry {
            id: parsed(PaymentEntryId::new(p.id))?,
            kind: payment_kind(&p.kind)?,
            amount: money(&p.amount, currency)?,
            reference: p
                .reference
                .as_deref()
                .map(GatewayReference::parse)
                .transpose()
                .map_err(corrupt)?,
            idempotency_key: p.idempotency_key,
            reason: p
                .reason
                .as_deref()
                .map(Reason::parse)
                .transpose()
                .map_err(corrupt)?,
            return_id: p
                .return_id
                .map(ReturnId::new)
                .transpose()
                .map_err(corrupt)?,
            at: p.at,
        });
    }
    let payments = PaymentLedger::restore(currency, entries);

    let shipment_rows: Vec<ShipmentRow> = json_column(row, "shipments")?;
    let shipments = shipment_rows
        .into_iter()
        .map(|s| {
            Ok(Shipment {
                id: parsed(ShipmentId::new(s.id))?,
                lines: parts(s.lines)?,
                carrier: s
                    .carrier
                    .as_deref()
                    .map(order_core::Carrier::parse)
                    .transpose()
                    .map_err(corrupt)?,
                tracking_number: s
                    .tracking_number
                    .as_deref()
                    .map(order_core::TrackingNumber::parse)
                    .transpose()
                    .map_err(corrupt)?,
                shipped_at: s.shipped_at,
                delivered_at: s.delivered_at,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;

    let return_rows: Vec<ReturnRow> = json_column(row, "returns")?;
    let returns = return_rows
        .into_iter()
        .map(|r| {
            Ok(Return {
                id: parsed(ReturnId::new(r.id))?,
                lines: parts(r.lines)?,
                reason: parsed(Reason::parse(&r.reason))?,
                refund_amount: money(&r.refund_amount, currency)?,
                requested_at: r.requested_at,
                received_at: r.received_at,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;

    let history_rows: Vec<HistoryRow> = json_column(row, "history")?;
    let history = history_rows
        .into_iter()
        .map(|h| {
            Ok(StatusChange {
                from: h
                    .from_status
                    .as_deref()
                    .map(str::parse::<OrderStatus>)
                    .transpose()
                    .map_err(corrupt)?,
                to: parsed(h.to_status.parse::<OrderStatus>())?,
                reason: h.reason,
                actor: parsed(Actor::parse(&h.actor))?,
                at: h.at,
                sequence: h.sequence,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;

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
        number: parsed(OrderNumber::parse(&get::<String>(row, "number")?))?,
        customer_id: parsed(CustomerId::new(get(row, "customer_id")?))?,
        currency,
        status: parsed(get::<String>(row, "status")?.parse())?,
        payment_status: parsed(get::<String>(row, "payment_status")?.parse::<PaymentStatus>())?,
        lines,
        shipping_address: optional_json::<Address>(row, "shipping_address")?,
        billing_address: optional_json::<Address>(row, "billing_address")?,
        shipping_method: text(row, "shipping_method", order_core::ShippingMethod::parse)?,
        coupon: text(row, "coupon_code", order_core::CouponCode::parse)?,
        discount: optional_json(row, "discount_rule")?,
        notes: text(row, "notes", order_core::Notes::parse)?,
        pricing: json_column(row, "pricing")?,
        totals: Totals {
            subtotal: amount("subtotal")?,
            discount: amount("discount")?,
            tax: amount("tax")?,
            shipping: amount("shipping")?,
            total: amount("total")?,
        },
        payments,
        payment_attempts: u32::try_from(attempts).map_err(corrupt)?,
        reservation: json_column(row, "reservation")?,
        shipments,
        returns,
        history,
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

/// Builds an event record from a row of `outbox_events`.
pub(crate) fn event_from_row(row: &PgRow) -> Result<EventRecord, StoreError> {
    let sequence: i64 = get(row, "sequence")?;
    Ok(EventRecord {
        id: parsed(order_core::EventId::new(get(row, "id")?))?,
        order_id: parsed(OrderId::new(get(row, "order_id")?))?,
        sequence: u64::try_from(sequence).map_err(corrupt)?,
        occurred_at: get(row, "occurred_at")?,
        actor: parsed(Actor::parse(&get::<String>(row, "actor")?))?,
        event: json_column(row, "payload")?,
    })
}

fn amount_text(m: &Money) -> String {
    m.amount().to_string()
}

/// The lines as a JSON array for `jsonb_to_recordset`.
pub(crate) fn lines_json(order: &Order) -> Value {
    Value::Array(
        order
            .lines()
            .iter()
            .enumerate()
            .map(|(position, l)| {
                json!({
                    "id": l.id.as_uuid(),
                    "position": position,
                    "product_id": l.product_id.as_uuid(),
                    "variant_id": l.variant_id.map(|v| v.as_uuid()),
                    "sku": l.sku.as_str(),
                    "name": l.name.as_str(),
                    "kind": kind_name(l.kind),
                    "tax_class": l.tax_class.as_str(),
                    "tax_rate": l.tax_rate.value().to_string(),
                    "quantity": l.quantity.get(),
                    "unit_price": amount_text(&l.unit_price),
                    "subtotal": amount_text(&l.amounts.subtotal),
                    "discount": amount_text(&l.amounts.discount),
                    "tax": amount_text(&l.amounts.tax),
                    "total": amount_text(&l.amounts.total),
                    "qty_ordered": l.quantities.ordered,
                    "qty_cancelled": l.quantities.cancelled,
                    "qty_shipped": l.quantities.shipped,
                    "qty_delivered": l.quantities.delivered,
                    "qty_returned": l.quantities.returned,
                    "qty_return_requested": l.quantities.return_requested,
                })
            })
            .collect(),
    )
}

fn parts_json(parts: &[LineQuantity]) -> Value {
    Value::Array(
        parts
            .iter()
            .map(|p| json!({ "line_id": p.line_id.as_uuid(), "quantity": p.quantity.get() }))
            .collect(),
    )
}

/// Shipments (each with its lines) as a JSON array.
pub(crate) fn shipments_json(order: &Order) -> Value {
    Value::Array(
        order
            .shipments()
            .iter()
            .enumerate()
            .map(|(position, s)| {
                json!({
                    "id": s.id.as_uuid(),
                    "position": position,
                    "carrier": s.carrier.as_ref().map(|c| c.as_str()),
                    "tracking_number": s.tracking_number.as_ref().map(|t| t.as_str()),
                    "shipped_at": s.shipped_at,
                    "delivered_at": s.delivered_at,
                    "lines": parts_json(&s.lines),
                })
            })
            .collect(),
    )
}

/// Returns (each with its lines) as a JSON array.
pub(crate) fn returns_json(order: &Order) -> Value {
    Value::Array(
        order
            .returns()
            .iter()
            .enumerate()
            .map(|(position, r)| {
                json!({
                    "id": r.id.as_uuid(),
                    "position": position,
                    "reason": r.reason.as_str(),
                    "refund_amount": amount_text(&r.refund_amount),
                    "requested_at": r.requested_at,
                    "received_at": r.received_at,
                    "lines": parts_json(&r.lines),
                })
            })
            .collect(),
    )
}

/// History entries as a JSON array.
pub(crate) fn history_json<'a>(entries: impl Iterator<Item = &'a StatusChange>) -> Value {
    Value::Array(
        entries
            .map(|h| {
                json!({
                    "sequence": h.sequence,
                    "from_status": h.from.map(OrderStatus::as_str),
                    "to_status": h.to.as_str(),
                    "reason": h.reason,
                    "actor": h.actor.as_str(),
                    "at": h.at,
                })
            })
            .collect(),
    )
}

/// Payment entries, with their ledger positions, as a JSON array.
pub(crate) fn payments_json<'a>(
    first_position: usize,
    entries: impl Iterator<Item = &'a PaymentEntry>,
) -> Value {
    Value::Array(
        entries
            .enumerate()
            .map(|(i, p)| {
                json!({
                    "id": p.id.as_uuid(),
                    "position": first_position + i,
                    "kind": p.kind.as_str(),
                    "amount": amount_text(&p.amount),
                    "reference": p.reference.as_ref().map(|r| r.as_str()),
                    "idempotency_key": p.idempotency_key,
                    "reason": p.reason.as_ref().map(|r| r.as_str()),
                    "return_id": p.return_id.map(|r| r.as_uuid()),
                    "at": p.at,
                })
            })
            .collect(),
    )
}

/// Events as a JSON array, each with its payload.
pub(crate) fn events_json(events: &[EventRecord]) -> Result<Value, StoreError> {
    events
        .iter()
        .map(|e| {
            let payload =
                serde_json::to_value(&e.event).map_err(|err| StoreError::Backend(err.into()))?;
            Ok(json!({
                "id": e.id.as_uuid(),
                "sequence": e.sequence,
                "event_type": e.event_type(),
                "occurred_at": e.occurred_at,
                "actor": e.actor.as_str(),
                "payload": payload,
            }))
        })
        .collect::<Result<Vec<_>, StoreError>>()
        .map(Value::Array)
}

/// Stock items as a JSON array.
pub(crate) fn items_json(items: &[StockItem]) -> Value {
    Value::Array(
        items
            .iter()
            .map(|i| json!({ "sku": i.sku.as_str(), "quantity": i.quantity.get() }))
            .collect(),
    )
}
