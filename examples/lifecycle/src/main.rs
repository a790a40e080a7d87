//! # example-lifecycle
//!
//! Embeds `order-core` with the in-memory adapters of `order-testkit`
//! ([`Harness`]: store, catalog, inventory, payment gateway, tax, shipping and
//! coupon tables, a manual clock) and walks ONE order through its whole life:
//!
//! place (with the `SAVE10` coupon) → pay → start processing → two partial
//! shipments → deliver both → return one line → receive it with a refund →
//! advance the clock past the return window → complete.
//!
//! It then prints what the engine recorded:
//! - the timeline: every outbox event with its sequence, type, time and actor;
//! - the line quantity ledger (ordered / shipped / delivered / returned);
//! - the payment ledger (entries, and authorized / captured / refunded /
//!   refundable);
//! - the totals (subtotal, discount, tax, shipping, total), with the identity
//!   `total = subtotal − discount + tax + shipping` checked.
//!
//! Run it with:
//!
//! ```text
//! cargo run -p example-lifecycle
//! ```
//!
//! Every step goes through [`OrderService`], exactly as an embedding service
//! would call it; the only testkit-specific moves are reading the demo
//! catalog and advancing the manual clock.

use std::error::Error;

use chrono::Duration;
use order_core::order::totals_identity_holds;
use order_core::{
    Actor, Carrier, LineId, LineQuantity, Money, Order, OrderEvent, OrderService, Quantity, Reason,
    TrackingNumber,
};
use order_testkit::Harness;
use order_testkit::builder::{PlaceOrderBuilder, customer};

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let h = Harness::default();
    let service = h.service();

    let customer_actor = Actor::parse("customer:7")?;
    let warehouse = Actor::parse("warehouse:berlin-1")?;
    let carrier_hook = Actor::parse("carrier-webhook")?;
    let support = Actor::parse("support:alice")?;

    println!("== order-core lifecycle walk-through ==\n");

    // ---- place ---------------------------------------------------------------
    let shirt = h.product("TSHIRT");
    let book = h.product("BOOK");
    let mug = h.product("MUG");
    let request = PlaceOrderBuilder::new(customer(7))
        .line(&shirt, 2)
        .line(&book, 1)
        .line(&mug, 1)
        .coupon("SAVE10")
        .build();
    let order = service.place(request, None, &customer_actor).await?;
    let id = order.id();
    step(&order, "placed 2×TSHIRT, 1×BOOK, 1×MUG with coupon SAVE10");

    // ---- pay -----------------------------------------------------------------
    h.clock.advance(Duration::minutes(3));
    let order = service.pay(id, &customer_actor).await?;
    step(&order, "paid (authorized and captured at once)");

    // ---- fulfil: processing, two partial shipments ---------------------------
    h.clock.advance(Duration::hours(2));
    let order = service.start_processing(id, None, &warehouse).await?;
    step(&order, "picking and packing started");

    let shirt_line = line_id(&order, "TSHIRT")?;
    let book_line = line_id(&order, "BOOK")?;
    let mug_line = line_id(&order, "MUG")?;

    h.clock.advance(Duration::hours(3));
    let order = service
        .ship(
            id,
            None,
            vec![part(shirt_line, 2)?],
            Some(Carrier::parse("UPS")?),
            Some(TrackingNumber::parse("1Z999AA10123456784")?),
            &warehouse,
        )
        .await?;
    step(&order, "shipment 1 left: 2×TSHIRT via UPS");

    h.clock.advance(Duration::days(1));
    let order = service
        .ship(
            id,
            None,
            vec![part(book_line, 1)?, part(mug_line, 1)?],
            Some(Carrier::parse("DHL")?),
            Some(TrackingNumber::parse("JD014600006281230704")?),
            &warehouse,
        )
        .await?;
    step(&order, "shipment 2 left: 1×BOOK + 1×MUG via DHL");

    // ---- deliver both --------------------------------------------------------
    let shipments: Vec<_> = order.shipments().iter().map(|s| s.id).collect();
    for (n, shipment_id) in shipments.into_iter().enumerate() {
        h.clock.advance(Duration::days(1));
        let delivered = service
            .deliver(id, None, shipment_id, &carrier_hook)
            .await?;
        step(&delivered, &format!("shipment {} delivered", n + 1));
    }

    // ---- return one line and refund it ---------------------------------------
    h.clock.advance(Duration::days(4));
    let order = service
        .request_return(
            id,
            None,
            vec![part(book_line, 1)?],
            Reason::parse("arrived with a torn cover")?,
            &customer_actor,
        )
        .await?;
    let ret = order
        .returns()
        .last()
        .ok_or("the return was not recorded")?;
    let (return_id, refund_due) = (ret.id, ret.refund_amount);
    step(
        &order,
        &format!("return of 1×BOOK requested (refund due {refund_due})"),
    );

    h.clock.advance(Duration::days(5));
    let order = service
        .receive_return(id, None, return_id, true, &warehouse)
        .await?;
    step(
        &order,
        "returned BOOK received, restocked and refunded (one line stays with the customer, so still delivered)",
    );

    // ---- complete after the return window ------------------------------------
    match service.complete(id, None, &support).await {
        Err(refused) => println!("   (completing now is refused, as it should be: {refused})"),
        Ok(_) => return Err("completion inside the return window was accepted".into()),
    }
    // The window runs from the delivery of the last shipment.
    let window = service.config().return_window;
    let delivered_at = order
        .delivered_at()
        .ok_or("the order was never delivered")?;
    h.clock.set(delivered_at + window + Duration::hours(1));
    let order = service.complete(id, None, &Actor::system()).await?;
    step(
        &order,
        &format!(
            "{} days after delivery the return window has closed; completed",
            window.num_days()
        ),
    );

    // ---- what the engine recorded --------------------------------------------
    print_timeline(&service, &order).await?;
    print_lines(&order);
    print_payments(&order)?;
    print_totals(&order)?;
    Ok(())
}

/// Prints one step of the walk-through.
fn step(order: &Order, what: &str) {
    println!(
        "-> v{:<2} {:<18} payment {:<19} {what}",
        order.version(),
        order.status().as_str(),
        order.payment_status().as_str(),
    );
}

fn line_id(order: &Order, sku: &str) -> Result<LineId> {
    order
        .lines()
        .iter()
        .find(|l| l.sku.as_str() == sku)
        .map(|l| l.id)
        .ok_or_else(|| format!("the order has no {sku} line").into())
}

fn part(line_id: LineId, units: u32) -> Result<LineQuantity> {
    Ok(LineQuantity {
        line_id,
        quantity: Quantity::new(units)?,
    })
}

fn sku(order: &Order, line: LineId) -> &str {
    order.line(line).map_or("?", |l| l.sku.as_str())
}

fn parts(order: &Order, parts: &[LineQuantity]) -> String {
    parts
        .iter()
        .map(|p| format!("{}×{}", p.quantity.get(), sku(order, p.line_id)))
        .collect::<Vec<_>>()
        .join(" + ")
}

fn shipment_no(order: &Order, id: order_core::ShipmentId) -> usize {
    order
        .shipments()
        .iter()
        .position(|s| s.id == id)
        .map_or(0, |i| i + 1)
}

/// A short human description of an event, using the final order to name
/// lines and shipments.
fn describe(event: &OrderEvent, order: &Order) -> String {
    match event {
        OrderEvent::Placed(p) => format!(
            "{} lines, coupon {}, total {}",
            p.lines.len(),
            p.coupon.as_ref().map_or("none", |c| c.as_str()),
            p.totals.total
        ),
        OrderEvent::PaymentStarted {
            attempt, amount, ..
        } => format!("attempt {attempt} for {amount}"),
        OrderEvent::PaymentAuthorized(e)
        | OrderEvent::PaymentCaptured(e)
        | OrderEvent::PaymentVoided(e)
        | OrderEvent::Refunded(e) => format!(
            "{} ref {}",
            e.amount,
            e.reference.as_ref().map_or("-", |r| r.as_str())
        ),
        OrderEvent::Shipped(s) => format!(
            "shipment {}: {} via {}",
            shipment_no(order, s.id),
            parts(order, &s.lines),
            s.carrier.as_ref().map_or("-", |c| c.as_str())
        ),
        OrderEvent::ShipmentDelivered { shipment_id } => {
            format!("shipment {}", shipment_no(order, *shipment_id))
        }
        OrderEvent::ReturnRequested(r) => format!(
            "{} ({}), refund due {}",
            parts(order, &r.lines),
            r.reason,
            r.refund_amount
        ),
        OrderEvent::ReturnReceived { .. } => "units back in stock".to_owned(),
        OrderEvent::PaymentFailed { code, reason } => format!("{code}: {reason}"),
        OrderEvent::Cancelled { reason, .. } => reason.to_string(),
        OrderEvent::LinesChanged { totals, .. } | OrderEvent::DetailsChanged { totals, .. } => {
            format!("total now {}", totals.total)
        }
        OrderEvent::Confirmed | OrderEvent::ProcessingStarted | OrderEvent::Completed => {
            String::new()
        }
    }
}

async fn print_timeline(service: &OrderService, order: &Order) -> Result<()> {
    let events = service.events(order.id()).await?;
    println!(
        "\n== timeline of {} ({} outbox events) ==",
        order.number(),
        events.len()
    );
    println!(
        "{:>3}  {:<24}  {:<16}  {:<18}  detail",
        "seq", "type", "time (UTC)", "actor"
    );
    for record in &events {
        let row = format!(
            "{:>3}  {:<24}  {:<16}  {:<18}  {}",
            record.sequence,
            record.event_type(),
            record.occurred_at.format("%Y-%m-%d %H:%M").to_string(),
            record.actor.as_str(),
            describe(&record.event, order),
        );
        println!("{}", row.trim_end());
    }
    let gapless = events
        .iter()
        .zip(1u64..)
        .all(|(e, expected)| e.sequence == expected);
    println!(
        "sequences 1..={} without gaps: {}; order version {}",
        events.len(),
        yes(gapless && events.len() as u64 == order.version()),
        order.version()
    );
    Ok(())
}

fn print_lines(order: &Order) {
    println!("\n== line quantity ledger ==");
    println!(
        "{:<8} {:>10} {:>8} {:>8} {:>10} {:>9} {:>12}",
        "sku", "unit", "ordered", "shipped", "delivered", "returned", "line total"
    );
    for line in order.lines() {
        let q = &line.quantities;
        println!(
            "{:<8} {:>10} {:>8} {:>8} {:>10} {:>9} {:>12}",
            line.sku.as_str(),
            line.unit_price.to_string(),
            q.ordered,
            q.shipped,
            q.delivered,
            q.returned,
            line.amounts.total.to_string(),
        );
    }
    let consistent = order.lines().iter().all(|l| l.quantities.is_consistent());
    println!(
        "invariants (shipped ≤ ordered − cancelled, delivered ≤ shipped, returned ≤ shipped): {}",
        yes(consistent)
    );
}

fn print_payments(order: &Order) -> Result<()> {
    let ledger = order.payments();
    println!("\n== payment ledger ==");
    println!(
        "{:<10} {:>10}  {:<10}  {:<16}  reason",
        "kind", "amount", "reference", "at (UTC)"
    );
    for entry in ledger.entries() {
        let row = format!(
            "{:<10} {:>10}  {:<10}  {:<16}  {}",
            entry.kind.as_str(),
            entry.amount.to_string(),
            entry.reference.as_ref().map_or("-", |r| r.as_str()),
            entry.at.format("%Y-%m-%d %H:%M").to_string(),
            entry.reason.as_ref().map_or("", |r| r.as_str()),
        );
        println!("{}", row.trim_end());
    }
    println!(
        "authorized {}  captured {}  refunded {}  refundable {}",
        ledger.authorized(),
        ledger.captured(),
        ledger.refunded(),
        ledger.refundable()?
    );
    println!(
        "invariants (captured ≤ authorized, refunded ≤ captured): {}",
        yes(ledger.is_consistent())
    );
    Ok(())
}

fn print_totals(order: &Order) -> Result<()> {
    let t = order.totals();
    println!("\n== totals ==");
    let coupon = order.coupon().map_or(String::new(), |c| format!(" ({c})"));
    for (label, amount) in [
        ("subtotal", t.subtotal),
        ("discount", t.discount),
        ("tax", t.tax),
        ("shipping", t.shipping),
        ("total", t.total),
    ] {
        let note = if label == "discount" { &coupon } else { "" };
        println!("{label:<9} {:>12}{note}", amount.to_string());
    }
    // Recompute the identity by hand as well as with the crate's own check.
    let by_hand = t
        .subtotal
        .checked_sub(&t.discount)?
        .checked_add(&t.tax)?
        .checked_add(&t.shipping)?;
    let identity = by_hand == t.total && totals_identity_holds(t);
    println!(
        "identity subtotal − discount + tax + shipping = total: {} − {} + {} + {} = {} → {}",
        t.subtotal,
        t.discount,
        t.tax,
        t.shipping,
        by_hand,
        yes(identity)
    );
    let line_sum = Money::sum(
        order.currency(),
        order.lines().iter().map(|l| &l.amounts.total),
    )?
    .checked_add(&t.shipping)?;
    println!(
        "Σ line totals + shipping = {line_sum} → {}",
        yes(line_sum == t.total)
    );
    if !identity || line_sum != t.total {
        return Err("the totals identity does not hold".into());
    }
    Ok(())
}

fn yes(ok: bool) -> &'static str {
    if ok { "ok" } else { "VIOLATED" }
}
