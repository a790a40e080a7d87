//! A change to an order as a write statement: the parts its text needs
//! (`sql::write_order`), and its values bound as typed parameters in the
//! order `sql/write/input.sql` names them: the order row's columns one by
//! one, then each child table as one array per column (encoded straight
//! from the aggregate, no intermediate rows), then the stock effect.

use order_core::ports::Change;
use order_core::report::failed_payment_attempts;
use order_core::{Order, OrderLine, OrderStatus, ProductKind};
use sqlx::Postgres;
use sqlx::postgres::{PgArguments, PgBindIterExt};
use sqlx::query::Query;
use sqlx::types::Json;

use crate::sql::{self, WriteShape};
use crate::stock::StockBinds;

/// A statement being bound.
pub(crate) type PgQuery<'q> = Query<'q, Postgres, PgArguments>;

/// The text of the write of `change`, whose stock effect is `stock`: only
/// the parts it needs.
pub(crate) fn write_text(change: &Change<'_>, stock: &StockBinds<'_>) -> &'static str {
    let order = change.order;
    sql::write_order(WriteShape {
        new: change.expected_version == 0,
        lines: writes_lines(change),
        // Shipments and returns are never removed: an order without any has
        // none stored either.
        shipments: !order.shipments().is_empty(),
        returns: !order.returns().is_empty(),
        history: change.new_history().next().is_some(),
        payments: change.new_payments().next().is_some(),
        key: change.idempotency_key.is_some(),
        inbound: change.inbound_event.is_some(),
        effect: stock.effect,
    })
}

/// Whether the write of `change` writes the order's lines: a new order's
/// always, a stored order's when the change may have changed them.
fn writes_lines(change: &Change<'_>) -> bool {
    change.expected_version == 0 || change.lines_changed
}

/// Binds `change`, whose stock effect is `stock`, to `query` (its
/// [`write_text`]). The lines of a write that leaves them alone are bound
/// empty: its text does not read them.
pub(crate) fn bind_change<'q>(
    query: PgQuery<'q>,
    change: &Change<'_>,
    stock: &StockBinds<'_>,
) -> PgQuery<'q> {
    let query = bind_order_row(query, change);
    let lines = if writes_lines(change) {
        change.order.lines()
    } else {
        &[]
    };
    let query = bind_lines(query, lines);
    let query = bind_shipments(query, change.order);
    let query = bind_returns(query, change.order);
    let query = bind_new_rows(query, change);
    stock
        .bind(query)
        .bind(change.order.payment_method().map(|m| m.as_str()))
        .bind(change.order.payments().captured().amount())
        .bind(change.order.payments().refunded().amount())
        .bind(i32::try_from(failed_payment_attempts(change.order)).unwrap_or(i32::MAX))
}

/// `$1` to `$32`: the `orders` row and the conditions of the write.
fn bind_order_row<'q>(query: PgQuery<'q>, change: &Change<'_>) -> PgQuery<'q> {
    let order = change.order;
    let totals = order.totals();
    let cancellation = order.cancellation();
    query
        .bind(order.id().as_uuid())
        .bind(order.number().as_str())
        .bind(order.customer_id().as_uuid())
        .bind(order.currency().code())
        .bind(order.status().as_str())
        .bind(order.payment_status().as_str())
        .bind(totals.subtotal.amount())
        .bind(totals.discount.amount())
        .bind(totals.tax.amount())
        .bind(totals.shipping.amount())
        .bind(totals.total.amount())
        .bind(order.shipping_address().map(Json))
        .bind(order.billing_address().map(Json))
        .bind(order.shipping_method().map(|m| m.as_str()))
        .bind(order.coupon().map(|c| c.as_str()))
        .bind(order.discount().map(Json))
        .bind(order.notes().map(|n| n.as_str()))
        .bind(Json(order.pricing()))
        .bind(Json(order.reservation()))
        .bind(i32::try_from(order.payment_attempts()).unwrap_or(i32::MAX))
        .bind(cancellation.map(|(reason, _)| reason.as_str()))
        .bind(cancellation.map(|(_, actor)| actor.as_str()))
        .bind(i64_of(order.version()))
        .bind(order.created_at())
        .bind(order.updated_at())
        .bind(order.confirmed_at())
        .bind(order.cancelled_at())
        .bind(order.delivered_at())
        .bind(order.completed_at())
        .bind(i64_of(change.expected_version))
        .bind(change.idempotency_key.map(|k| k.as_str()))
        .bind(change.inbound_event)
}

/// `$33` to `$52`: every line of `lines`, by position.
fn bind_lines<'q>(query: PgQuery<'q>, lines: &[OrderLine]) -> PgQuery<'q> {
    query
        .bind(lines.iter().map(|l| l.id.as_uuid()).bind_iter())
        .bind(lines.iter().map(|l| l.product_id.as_uuid()).bind_iter())
        .bind(
            lines
                .iter()
                .map(|l| l.variant_id.map(|v| v.as_uuid()))
                .bind_iter(),
        )
        .bind(lines.iter().map(|l| l.sku.as_str()).bind_iter())
        .bind(lines.iter().map(|l| l.name.as_str()).bind_iter())
        .bind(lines.iter().map(|l| kind_name(l.kind)).bind_iter())
        .bind(lines.iter().map(|l| l.tax_class.as_str()).bind_iter())
        .bind(lines.iter().map(|l| l.tax_rate.value()).bind_iter())
        .bind(lines.iter().map(|l| units(l.quantity.get())).bind_iter())
        .bind(lines.iter().map(|l| l.unit_price.amount()).bind_iter())
        .bind(
            lines
                .iter()
                .map(|l| l.amounts.subtotal.amount())
                .bind_iter(),
        )
        .bind(
            lines
                .iter()
                .map(|l| l.amounts.discount.amount())
                .bind_iter(),
        )
        .bind(lines.iter().map(|l| l.amounts.tax.amount()).bind_iter())
        .bind(lines.iter().map(|l| l.amounts.total.amount()).bind_iter())
        .bind(
            lines
                .iter()
                .map(|l| units(l.quantities.ordered))
                .bind_iter(),
        )
        .bind(
            lines
                .iter()
                .map(|l| units(l.quantities.cancelled))
                .bind_iter(),
        )
        .bind(
            lines
                .iter()
                .map(|l| units(l.quantities.shipped))
                .bind_iter(),
        )
        .bind(
            lines
                .iter()
                .map(|l| units(l.quantities.delivered))
                .bind_iter(),
        )
        .bind(
            lines
                .iter()
                .map(|l| units(l.quantities.returned))
                .bind_iter(),
        )
        .bind(
            lines
                .iter()
                .map(|l| units(l.quantities.return_requested))
                .bind_iter(),
        )
}

/// `$53` to `$61`: every shipment, by position, then all their lines.
fn bind_shipments<'q>(query: PgQuery<'q>, order: &Order) -> PgQuery<'q> {
    let shipments = order.shipments();
    let lines = || {
        shipments.iter().flat_map(|s| {
            s.lines
                .iter()
                .enumerate()
                .map(move |(position, l)| (s.id.as_uuid(), position, l))
        })
    };
    query
        .bind(shipments.iter().map(|s| s.id.as_uuid()).bind_iter())
        .bind(
            shipments
                .iter()
                .map(|s| s.carrier.as_ref().map(|c| c.as_str()))
                .bind_iter(),
        )
        .bind(
            shipments
                .iter()
                .map(|s| s.tracking_number.as_ref().map(|t| t.as_str()))
                .bind_iter(),
        )
        .bind(shipments.iter().map(|s| s.shipped_at).bind_iter())
        .bind(shipments.iter().map(|s| s.delivered_at).bind_iter())
        .bind(lines().map(|(shipment, _, _)| shipment).bind_iter())
        .bind(
            lines()
                .map(|(_, position, _)| position_of(position))
                .bind_iter(),
        )
        .bind(lines().map(|(_, _, l)| l.line_id.as_uuid()).bind_iter())
        .bind(lines().map(|(_, _, l)| units(l.quantity.get())).bind_iter())
}

/// `$62` to `$70`: every return, by position, then all their lines.
fn bind_returns<'q>(query: PgQuery<'q>, order: &Order) -> PgQuery<'q> {
    let returns = order.returns();
    let lines = || {
        returns.iter().flat_map(|r| {
            r.lines
                .iter()
                .enumerate()
                .map(move |(position, l)| (r.id.as_uuid(), position, l))
        })
    };
    query
        .bind(returns.iter().map(|r| r.id.as_uuid()).bind_iter())
        .bind(returns.iter().map(|r| r.reason.as_str()).bind_iter())
        .bind(returns.iter().map(|r| r.refund_amount.amount()).bind_iter())
        .bind(returns.iter().map(|r| r.requested_at).bind_iter())
        .bind(returns.iter().map(|r| r.received_at).bind_iter())
        .bind(lines().map(|(ret, _, _)| ret).bind_iter())
        .bind(
            lines()
                .map(|(_, position, _)| position_of(position))
                .bind_iter(),
        )
        .bind(lines().map(|(_, _, l)| l.line_id.as_uuid()).bind_iter())
        .bind(lines().map(|(_, _, l)| units(l.quantity.get())).bind_iter())
}

/// `$71` to `$91`: what the change appends: history entries, payment entries
/// (at the ledger's positions after the stored ones) and events.
fn bind_new_rows<'q>(query: PgQuery<'q>, change: &Change<'_>) -> PgQuery<'q> {
    let history = || change.new_history();
    let stored_payments = change.order.payments().entries().len() - change.new_payments().count();
    let payments = || change.new_payments();
    let events = change.events;
    query
        .bind(history().map(|h| i64_of(h.sequence)).bind_iter())
        .bind(
            history()
                .map(|h| h.from.map(OrderStatus::as_str))
                .bind_iter(),
        )
        .bind(history().map(|h| h.to.as_str()).bind_iter())
        .bind(history().map(|h| h.reason.as_str()).bind_iter())
        .bind(history().map(|h| h.actor.as_str()).bind_iter())
        .bind(history().map(|h| h.at).bind_iter())
        .bind(payments().map(|p| p.id.as_uuid()).bind_iter())
        .bind(
            (stored_payments..)
                .zip(payments())
                .map(|(position, _)| position_of(position))
                .bind_iter(),
        )
        .bind(payments().map(|p| p.kind.as_str()).bind_iter())
        .bind(payments().map(|p| p.amount.amount()).bind_iter())
        .bind(
            payments()
                .map(|p| p.reference.as_ref().map(|r| r.as_str()))
                .bind_iter(),
        )
        .bind(payments().map(|p| p.idempotency_key.as_str()).bind_iter())
        .bind(
            payments()
                .map(|p| p.reason.as_ref().map(|r| r.as_str()))
                .bind_iter(),
        )
        .bind(
            payments()
                .map(|p| p.return_id.map(|r| r.as_uuid()))
                .bind_iter(),
        )
        .bind(payments().map(|p| p.at).bind_iter())
        .bind(events.iter().map(|e| e.id.as_uuid()).bind_iter())
        .bind(events.iter().map(|e| i64_of(e.sequence)).bind_iter())
        .bind(events.iter().map(|e| e.event_type()).bind_iter())
        .bind(events.iter().map(|e| e.occurred_at).bind_iter())
        .bind(events.iter().map(|e| e.actor.as_str()).bind_iter())
        // Serialized straight into the statement's buffer, no JSON tree.
        .bind(events.iter().map(|e| Json(&e.event)).bind_iter())
}

pub(crate) fn kind_name(kind: ProductKind) -> &'static str {
    match kind {
        ProductKind::Physical => "physical",
        ProductKind::Digital => "digital",
    }
}

/// Units as the `integer` columns keep them; order-core bounds them far
/// below `i32::MAX` (a quantity is at most 10,000).
fn units(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn position_of(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Versions and sequences as `bigint`.
pub(crate) fn i64_of(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
