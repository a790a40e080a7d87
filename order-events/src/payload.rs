//! The body of a message: the seeds' camelCase fields (a superset of their
//! documented schemas, e.g. `order.created`: `orderId`, `userId`, `status`,
//! `totalAmount`, `currency`, `itemCount`, `createdAt`), common fields on
//! every message, and the engine's own event under `data`, as the feed
//! writes it. Money is a decimal string in the order's currency.

use chrono::{DateTime, SecondsFormat, Utc};
use order_core::{EventRecord, Money, Order, OrderEvent, PaymentEntry, PaymentKind};
use serde_json::{Map, Value, json};

use crate::context::Around;
use crate::types::{PAYMENT_SUCCESSFUL, STATUS_CHANGED};

/// The JSON body of the message of type `event_type` for `record`.
///
/// # Errors
/// Only if the engine's event cannot be serialized, which its types rule
/// out.
pub fn body(
    event_type: &str,
    record: &EventRecord,
    around: &Around,
) -> Result<Vec<u8>, serde_json::Error> {
    let after = &around.after;
    let mut fields = Map::new();
    put(&mut fields, "eventId", record.id.to_string());
    put(&mut fields, "eventType", event_type);
    put(&mut fields, "orderId", after.id().to_string());
    put(&mut fields, "orderNumber", after.number().as_str());
    put(&mut fields, "userId", after.customer_id().to_string());
    put(&mut fields, "status", after.status().as_str());
    put(
        &mut fields,
        "paymentStatus",
        after.payment_status().as_str(),
    );
    put(&mut fields, "totalAmount", amount(&after.totals().total));
    put(&mut fields, "currency", after.currency().to_string());
    put(&mut fields, "sequence", record.sequence);
    put(&mut fields, "occurredAt", time(record.occurred_at));
    put(&mut fields, "actor", record.actor.as_str());
    match event_type {
        STATUS_CHANGED => status_changed(&mut fields, record, around),
        PAYMENT_SUCCESSFUL => {
            if let OrderEvent::PaymentCaptured(entry) = &record.event {
                payment(&mut fields, entry);
            }
        }
        _ => specific(&mut fields, record, after),
    }
    fields.insert("data".into(), serde_json::to_value(&record.event)?);
    serde_json::to_vec(&Value::Object(fields))
}

/// The fields of the engine's own type.
fn specific(fields: &mut Map<String, Value>, record: &EventRecord, after: &Order) {
    let at = time(record.occurred_at);
    match &record.event {
        OrderEvent::Placed(_) => {
            put(fields, "itemCount", after.lines().len());
            put(
                fields,
                "unitCount",
                after
                    .lines()
                    .iter()
                    .map(|line| u64::from(line.quantity.get()))
                    .sum::<u64>(),
            );
            put(fields, "items", items(after));
            put(fields, "subtotalAmount", amount(&after.totals().subtotal));
            put(fields, "discountAmount", amount(&after.totals().discount));
            put(fields, "taxAmount", amount(&after.totals().tax));
            put(fields, "shippingAmount", amount(&after.totals().shipping));
            put(fields, "shippingAddress", json!(after.shipping_address()));
            put(fields, "billingAddress", json!(after.billing_address()));
            put(fields, "createdAt", at);
        }
        OrderEvent::Confirmed => {
            if let Some(entry) = settling_payment(after) {
                put(fields, "paymentId", entry.id.to_string());
                put(fields, "transactionId", reference(entry));
            }
            put(fields, "confirmedAt", at);
        }
        OrderEvent::PaymentAuthorized(entry)
        | OrderEvent::PaymentCaptured(entry)
        | OrderEvent::PaymentVoided(entry)
        | OrderEvent::Refunded(entry) => payment(fields, entry),
        OrderEvent::PaymentFailed { code, reason } => {
            put(fields, "failureCode", code.as_str());
            put(fields, "failureReason", reason.as_str());
            put(fields, "failedAt", at);
        }
        OrderEvent::Cancelled { reason, expired } => {
            put(fields, "reason", reason.as_str());
            put(fields, "expired", *expired);
            put(fields, "cancelledAt", at);
        }
        OrderEvent::Shipped(shipment) => {
            put(fields, "shipmentId", shipment.id.to_string());
            put(
                fields,
                "carrier",
                json!(shipment.carrier.as_ref().map(|c| c.as_str())),
            );
            put(
                fields,
                "trackingNumber",
                json!(shipment.tracking_number.as_ref().map(|t| t.as_str())),
            );
            put(
                fields,
                "items",
                shipment
                    .lines
                    .iter()
                    .map(|line| json!({"lineId": line.line_id.to_string(), "quantity": line.quantity.get()}))
                    .collect::<Vec<_>>(),
            );
            put(fields, "shippedAt", at);
        }
        OrderEvent::ShipmentDelivered { shipment_id } => {
            put(fields, "shipmentId", shipment_id.to_string());
            put(fields, "deliveredAt", at);
        }
        OrderEvent::DeliveredDigitally { .. } => put(fields, "deliveredAt", at),
        OrderEvent::Completed => put(fields, "completedAt", at),
        OrderEvent::ReturnRequested(request) => put(fields, "returnId", request.id.to_string()),
        OrderEvent::ReturnReceived { return_id } => {
            put(fields, "returnId", return_id.to_string());
            put(fields, "returnedAt", at);
        }
        OrderEvent::LinesChanged { .. }
        | OrderEvent::DetailsChanged { .. }
        | OrderEvent::PaymentStarted { .. }
        | OrderEvent::ProcessingStarted => {}
    }
}

/// `order.status_changed`: from, to, and the history's reason.
fn status_changed(fields: &mut Map<String, Value>, record: &EventRecord, around: &Around) {
    let previous = around.before.as_ref().map(|order| order.status().as_str());
    put(fields, "previousStatus", json!(previous));
    put(fields, "newStatus", around.after.status().as_str());
    let reason = around
        .after
        .history()
        .iter()
        .rev()
        .find(|change| change.sequence == record.sequence)
        .map(|change| change.reason.as_str());
    put(fields, "reason", json!(reason));
    put(fields, "changedAt", time(record.occurred_at));
}

/// A payment entry, in the payment service's field names.
fn payment(fields: &mut Map<String, Value>, entry: &PaymentEntry) {
    put(fields, "paymentId", entry.id.to_string());
    put(fields, "paymentKind", entry.kind.as_str());
    put(fields, "amount", amount(&entry.amount));
    put(fields, "transactionId", reference(entry));
    let at = time(entry.at);
    match entry.kind {
        PaymentKind::Refund => put(fields, "refundedAt", at),
        PaymentKind::Void => put(fields, "voidedAt", at),
        PaymentKind::Authorize | PaymentKind::Capture => put(fields, "processedAt", at),
    }
}

/// The payment that settled a confirmed order: its latest capture, or else
/// its latest authorization.
fn settling_payment(order: &Order) -> Option<&PaymentEntry> {
    let entries = order.payments().entries();
    let latest = |kind: PaymentKind| entries.iter().rev().find(|e| e.kind == kind);
    latest(PaymentKind::Capture).or_else(|| latest(PaymentKind::Authorize))
}

fn reference(entry: &PaymentEntry) -> Value {
    json!(entry.reference.as_ref().map(|r| r.as_str()))
}

/// The seed's `OrderItem`s.
fn items(order: &Order) -> Vec<Value> {
    order
        .lines()
        .iter()
        .map(|line| {
            json!({
                "id": line.id.to_string(),
                "productId": line.product_id.to_string(),
                "sku": line.sku.as_str(),
                "productName": line.name.as_str(),
                "quantity": line.quantity.get(),
                "price": amount(&line.unit_price),
                "subtotal": amount(&line.amounts.subtotal),
                "total": amount(&line.amounts.total),
            })
        })
        .collect()
}

fn put(fields: &mut Map<String, Value>, key: &str, value: impl Into<Value>) {
    fields.insert(key.to_owned(), value.into());
}

/// A decimal string on the currency's minor unit (`"19.99"`, `"1500"`).
fn amount(money: &Money) -> String {
    money.amount().to_string()
}

/// RFC 3339 in UTC, as the feed writes times.
pub(crate) fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}
