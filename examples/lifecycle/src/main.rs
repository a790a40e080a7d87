//! # example-lifecycle
//!
//! Embeds `order-core` the way a service would and walks ONE order through
//! its whole life:
//!
//! place (with the `SAVE10` coupon) → pay → start processing → two partial
//! shipments → deliver both → return one line → receive it with a refund →
//! advance the clock past the return window → complete.
//!
//! The engine runs on real adapters, chosen in one place (`compose`): the
//! `order-store-sqlite` store (orders, outbox, stock), catalog and order
//! numbers on an in-memory database, order-core's tax, shipping and coupon
//! tables built in code, and three small adapters of the example's own, one
//! module each: a clock it moves forward to let days pass (`clock`), a
//! payment gateway that approves everything (`gateway`) and a tokio timer
//! (`timer`).
//!
//! It then prints what the engine recorded:
//! - the timeline: every outbox event with its sequence, type, time and actor;
//! - the line quantity ledger (ordered / shipped / delivered / returned);
//! - the payment ledger (entries, and authorized / captured / refunded /
//!   refundable);
//! - the totals (subtotal, discount, tax, shipping, total), with the identity
//!   `total = subtotal − discount + tax + shipping` checked;
//! - the stock the store kept: units sold left, the returned one came back.
//!
//! Run it with:
//!
//! ```text
//! cargo run -p example-lifecycle
//! ```
//!
//! Every step goes through [`OrderService`], exactly as an embedding service
//! would call it; the only move a service would not make is setting the
//! clock.

mod clock;
mod compose;
mod gateway;
mod timer;

use std::error::Error;

use chrono::{Duration, TimeZone, Utc};
use order_core::order::totals_identity_holds;
use order_core::{
    Actor, Address, AddressInput, Carrier, CouponCode, Currency, CustomerId, LineId, LineQuantity,
    Money, NewLine, Order, OrderEvent, OrderService, PlaceOrder, Quantity, Reason, ShippingMethod,
    TrackingNumber,
};

use crate::compose::{Shop, open_shop};

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let start = Utc
        .with_ymd_and_hms(2026, 1, 15, 9, 0, 0)
        .single()
        .ok_or("the start time is not a valid date")?;
    let shop = open_shop(start).await?;
    let (service, clock) = (&shop.service, &shop.clock);

    // The customer system and the token say who is calling; the engine
    // takes the customer's id and an actor for the history.
    let customer_id: CustomerId = "5f1c8a2e-9b7d-4c3a-8e21-0000000000c7".parse()?;
    let customer_actor = Actor::parse("customer:7")?;
    let warehouse = Actor::parse("warehouse:berlin-1")?;
    let carrier_hook = Actor::parse("carrier-webhook")?;
    let support = Actor::parse("support:alice")?;

    println!("== order-core lifecycle walk-through ==");
    println!(
        "(SQLite in memory keeps orders, outbox and stock; tax, shipping and coupons from tables; payments approved by the example's gateway)\n"
    );

    // ---- place ---------------------------------------------------------------
    let line = |sku: &str, units: u32| -> Result<NewLine> {
        let product = shop.product(sku)?;
        Ok(NewLine {
            product_id: product.product_id,
            variant_id: product.variant_id,
            quantity: Quantity::new(units)?,
            // The price the customer saw: placement is refused if the
            // catalog changed it meanwhile.
            expected_unit_price: Some(product.unit_price),
        })
    };
    let request = PlaceOrder {
        customer_id,
        currency: Currency::USD,
        lines: vec![line("TSHIRT", 2)?, line("BOOK", 1)?, line("MUG", 1)?],
        shipping_address: Some(Address::parse(AddressInput {
            name: "Ada Lovelace".into(),
            line1: "12 Harbour Street".into(),
            line2: Some("Apt 3".into()),
            city: "Portland".into(),
            region: Some("ME".into()),
            postal_code: "04101".into(),
            country: "US".into(),
            phone: None,
            ..Default::default()
        })?),
        billing_address: None,
        shipping_method: Some(ShippingMethod::parse("standard")?),
        payment_method: None,
        coupon: Some(CouponCode::parse("SAVE10")?),
        notes: None,
    };
    let order = service.place(request, None, &customer_actor).await?;
    let id = order.id();
    step(&order, "placed 2×TSHIRT, 1×BOOK, 1×MUG with coupon SAVE10");

    // ---- pay -----------------------------------------------------------------
    clock.advance(Duration::minutes(3));
    let order = service.pay(id, &customer_actor).await?;
    step(&order, "paid (authorized and captured at once)");

    // ---- fulfil: processing, two partial shipments ---------------------------
    clock.advance(Duration::hours(2));
    let order = service.start_processing(id, None, &warehouse).await?;
    step(&order, "picking and packing started");

    let shirt_line = line_id(&order, "TSHIRT")?;
    let book_line = line_id(&order, "BOOK")?;
    let mug_line = line_id(&order, "MUG")?;

    clock.advance(Duration::hours(3));
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

    clock.advance(Duration::days(1));
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
        clock.advance(Duration::days(1));
        let delivered = service
            .deliver(id, None, shipment_id, &carrier_hook)
            .await?;
        step(&delivered, &format!("shipment {} delivered", n + 1));
    }

    // ---- return one line and refund it ---------------------------------------
    clock.advance(Duration::days(4));
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

    clock.advance(Duration::days(5));
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
    clock.set(delivered_at + window + Duration::hours(1));
    let order = service.complete(id, None, &Actor::system()).await?;
    step(
        &order,
        &format!(
            "{} days after delivery the return window has closed; completed",
            window.num_days()
        ),
    );

    // ---- what the engine recorded --------------------------------------------
    print_timeline(service, &order).await?;
    print_lines(&order);
    print_payments(&order)?;
    print_totals(&order)?;
    print_stock(&shop, &order).await?;
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
        OrderEvent::DeliveredDigitally { lines } => {
            format!("{} handed over digitally", parts(order, lines))
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

/// The stock the store kept: every unit sold left the shelf when the order
/// was paid, and the returned one came back when it was received.
async fn print_stock(shop: &Shop, order: &Order) -> Result<()> {
    println!("\n== stock (kept by the store) ==");
    println!(
        "{:<8} {:>8} {:>6} {:>9} {:>8} {:>9}",
        "sku", "opening", "sold", "returned", "on hand", "reserved"
    );
    let mut balanced = true;
    for offer in &shop.offers {
        let sku = &offer.product.sku;
        let lines: Vec<_> = order.lines().iter().filter(|l| &l.sku == sku).collect();
        let sold: u32 = lines.iter().map(|l| l.quantities.active()).sum();
        let returned: u32 = lines.iter().map(|l| l.quantities.returned).sum();
        let level = shop
            .stock
            .level(sku)
            .await?
            .ok_or_else(|| format!("the store does not track {sku}"))?;
        println!(
            "{:<8} {:>8} {:>6} {:>9} {:>8} {:>9}",
            sku.as_str(),
            offer.opening_stock,
            sold,
            returned,
            level.on_hand,
            level.reserved
        );
        balanced &= level.reserved == 0 && level.on_hand + sold == offer.opening_stock + returned;
    }
    println!(
        "on hand = opening − sold + returned, nothing left reserved: {}",
        yes(balanced)
    );
    if !balanced {
        return Err("the stock does not balance".into());
    }
    Ok(())
}

fn yes(ok: bool) -> &'static str {
    if ok { "ok" } else { "VIOLATED" }
}
