//! proptest strategies (`arb_*`) that build only valid domain values, through
//! the public constructors.

use order_core::ports::IdGenerator;
use order_core::pricing::{
    DiscountValue, Percent, PriceLine, PricingPolicy, RoundingLevel, TaxMode,
};
use order_core::system::UuidV7Ids;
use order_core::{
    Address, AddressInput, Carrier, Command, Currency, EventRecord, GatewayReference, LineQuantity,
    Money, Order, PaymentEntry, PaymentEntryId, PaymentKind, ProductKind, Quantity, Reason,
    RoundingMode, ShipmentId, Sku,
};
use proptest::prelude::*;
use rust_decimal::Decimal;

use crate::builder::{OrderBuilder, customer, follow};
use crate::harness::product;

/// One of the currencies with 0, 2 and 3 minor units.
pub fn arb_currency() -> impl Strategy<Value = Currency> {
    prop_oneof![
        Just(Currency::USD),
        Just(Currency::EUR),
        Just(Currency::JPY),
        Just(Currency::KWD)
    ]
}

/// An amount in `currency` between 0 and `max_minor` minor units.
pub fn arb_money(currency: Currency, max_minor: i128) -> impl Strategy<Value = Money> {
    (0..=max_minor).prop_map(move |minor| {
        Money::from_minor(minor, currency).unwrap_or_else(|_| Money::zero(currency))
    })
}

/// A quantity between 1 and `max`.
pub fn arb_quantity(max: u32) -> impl Strategy<Value = Quantity> {
    (1..=max.clamp(1, Quantity::MAX)).prop_filter_map("valid quantity", |n| Quantity::new(n).ok())
}

/// A SKU.
pub fn arb_sku() -> impl Strategy<Value = Sku> {
    "[A-Z][A-Z0-9-]{0,15}".prop_filter_map("valid sku", |s| Sku::parse(&s).ok())
}

/// A percentage with up to two decimals.
pub fn arb_percent() -> impl Strategy<Value = Percent> {
    (0i64..=10_000).prop_filter_map("valid percent", |n| Percent::new(Decimal::new(n, 2)).ok())
}

/// A tax rate as real tax tables have them (0 to 27 %, two decimals).
pub fn arb_tax_rate() -> impl Strategy<Value = Percent> {
    (0i64..=2_700).prop_filter_map("valid rate", |n| Percent::new(Decimal::new(n, 2)).ok())
}

/// A postal address.
pub fn arb_address() -> impl Strategy<Value = Address> {
    (
        "[A-Z][a-z]{1,20}",
        "[0-9]{1,4} [A-Z][a-z]{2,12} St",
        "[A-Z][a-z]{2,15}",
        "[0-9]{5}",
        prop_oneof![Just("US"), Just("DE"), Just("JP"), Just("KW")],
    )
        .prop_filter_map("valid address", |(name, line1, city, postal, country)| {
            Address::parse(AddressInput {
                name,
                line1,
                city,
                postal_code: postal,
                country: country.into(),
                ..AddressInput::default()
            })
            .ok()
        })
}

/// A pricing policy: any tax mode, rounding mode and rounding level.
pub fn arb_pricing_policy() -> impl Strategy<Value = PricingPolicy> {
    (
        prop_oneof![Just(TaxMode::Exclusive), Just(TaxMode::Inclusive)],
        prop_oneof![
            Just(RoundingMode::HalfEven),
            Just(RoundingMode::HalfUp),
            Just(RoundingMode::HalfDown),
            Just(RoundingMode::Down),
            Just(RoundingMode::Up)
        ],
        prop_oneof![
            Just(RoundingLevel::PerUnit),
            Just(RoundingLevel::PerLine),
            Just(RoundingLevel::PerOrder)
        ],
    )
        .prop_map(|(tax_mode, rounding_mode, rounding_level)| PricingPolicy {
            tax_mode,
            rounding_mode,
            rounding_level,
        })
}

/// 1 to 10 lines to price in `currency`.
pub fn arb_price_lines(currency: Currency) -> impl Strategy<Value = Vec<PriceLine>> {
    prop::collection::vec(
        (
            arb_money(currency, 1_000_000),
            arb_quantity(50),
            arb_tax_rate(),
            any::<bool>(),
        )
            .prop_map(|(unit_price, quantity, tax_rate, discountable)| PriceLine {
                unit_price,
                quantity,
                tax_rate,
                discountable,
            }),
        1..=10,
    )
}

/// A percentage or fixed discount in `currency`.
pub fn arb_discount_value(currency: Currency) -> impl Strategy<Value = DiscountValue> {
    prop_oneof![
        arb_percent().prop_map(DiscountValue::Percentage),
        arb_money(currency, 5_000_000).prop_map(DiscountValue::Fixed),
    ]
}

/// A freshly placed order (1 to 6 lines, any currency) and its `Placed`
/// record.
pub fn arb_order() -> impl Strategy<Value = (Order, EventRecord)> {
    (
        arb_currency(),
        1u64..1_000,
        prop::collection::vec((1i128..5_000_000, 1u32..=20), 1..=6),
        0i64..1_000_000,
    )
        .prop_map(|(currency, who, lines, minutes)| {
            let mut builder = OrderBuilder::default().customer(customer(who)).created_at(
                chrono::DateTime::<chrono::Utc>::UNIX_EPOCH
                    + chrono::Duration::days(20_000)
                    + chrono::Duration::minutes(minutes),
            );
            for (i, (minor, quantity)) in lines.into_iter().enumerate() {
                let price =
                    Money::from_minor(minor, currency).unwrap_or_else(|_| Money::zero(currency));
                builder = builder.product_line(
                    product(
                        &format!("GEN-{i}"),
                        price,
                        ProductKind::Physical,
                        "standard",
                    ),
                    quantity,
                );
            }
            builder.build()
        })
}

/// How far an order of [`arb_lived_order`] got after its placement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Life {
    Placed,
    PaymentInFlight,
    Authorized,
    Paid,
    Refunded,
    Delivered,
    DeliveredAndRefunded,
    Cancelled,
}

/// An order taken, by the engine's own decisions, through part of its life
/// (any currency; none to two failed payment attempts first; then pending,
/// paying, authorized, paid, partly or wholly refunded, delivered hours or
/// days after confirmation, or cancelled), and the records of every event
/// since its placement: what a store is given to hold orders of every kind.
pub fn arb_lived_order() -> impl Strategy<Value = (Order, Vec<EventRecord>)> {
    let life = prop_oneof![
        Just(Life::Placed),
        Just(Life::PaymentInFlight),
        Just(Life::Authorized),
        Just(Life::Paid),
        Just(Life::Refunded),
        Just(Life::Delivered),
        Just(Life::DeliveredAndRefunded),
        Just(Life::Cancelled),
    ];
    (arb_order(), 0u32..3, life, 1i64..20_000, 1i128..=1_000).prop_map(
        |((order, placed), failures, life, delivery_minutes, refund_per_mille)| {
            live(
                order,
                placed,
                failures,
                life,
                chrono::Duration::minutes(delivery_minutes),
                refund_per_mille,
            )
        },
    )
}

/// `order` after `failures` failed attempts and then `life`.
fn live(
    order: Order,
    placed: EventRecord,
    failures: u32,
    life: Life,
    delivery: chrono::Duration,
    refund_per_mille: i128,
) -> (Order, Vec<EventRecord>) {
    let mut at = order.created_at();
    let mut records = vec![placed];
    let mut order = order;
    let mut step = |order: &mut Order, command: Command, after: chrono::Duration| {
        at += after;
        let events = match order.decide(&command, at) {
            Ok(events) => events,
            Err(err) => panic!("arb_lived_order: the engine refused {command:?}: {err}"),
        };
        let (next, new) = follow(order, events, at);
        *order = next;
        records.extend(new);
    };
    let minute = chrono::Duration::minutes(1);
    // Each attempt holds the stock again: a failed one released it.
    let hold_until = order.created_at() + chrono::Duration::days(30);
    let start = || Command::StartPayment {
        reservation_expires_at: Some(hold_until),
        payment_method: None,
    };
    for _ in 0..failures {
        step(&mut order, start(), minute);
        let failed = Command::RecordPaymentFailure {
            code: "card_declined".into(),
            reason: "generated".into(),
        };
        step(&mut order, failed, minute);
    }
    let total = order.totals().total;
    let created = order.created_at();
    let entry = |kind: PaymentKind, amount: Money| PaymentEntry {
        id: payment_entry_id(),
        kind,
        amount,
        reference: GatewayReference::parse("gen_ref").ok(),
        idempotency_key: format!("gen-{}", kind.as_str()),
        reason: (kind == PaymentKind::Refund)
            .then(|| Reason::parse("generated").ok())
            .flatten(),
        return_id: None,
        at: created,
    };
    let refund = Money::from_minor(
        (total.minor() * refund_per_mille / 1_000).max(1),
        total.currency(),
    )
    .unwrap_or(total);
    match life {
        Life::Placed => {}
        Life::Cancelled => {
            let reason = Reason::parse("generated").ok();
            if let Some(reason) = reason {
                step(&mut order, Command::Cancel { reason }, minute);
            }
        }
        Life::PaymentInFlight => step(&mut order, start(), minute),
        Life::Authorized => {
            step(&mut order, start(), minute);
            let authorized = Command::RecordAuthorization {
                entry: entry(PaymentKind::Authorize, order.amount_due()),
                confirm: true,
            };
            step(&mut order, authorized, minute);
        }
        Life::Paid | Life::Refunded | Life::Delivered | Life::DeliveredAndRefunded => {
            step(&mut order, start(), minute);
            let captured = Command::RecordCapture {
                entry: entry(PaymentKind::Capture, order.amount_due()),
            };
            step(&mut order, captured, minute);
            if matches!(life, Life::Delivered | Life::DeliveredAndRefunded) {
                step(&mut order, Command::StartProcessing, minute);
                let shipment_id = shipment_id();
                let ship = Command::Ship {
                    shipment_id,
                    lines: order
                        .lines()
                        .iter()
                        .map(|l| LineQuantity {
                            line_id: l.id,
                            quantity: l.quantity,
                        })
                        .collect(),
                    carrier: Carrier::parse("UPS").ok(),
                    tracking_number: None,
                };
                step(&mut order, ship, minute);
                step(&mut order, Command::Deliver { shipment_id }, delivery);
            }
            if matches!(life, Life::Refunded | Life::DeliveredAndRefunded) {
                let refunded = Command::Refund {
                    entry: entry(PaymentKind::Refund, refund),
                };
                step(&mut order, refunded, minute);
            }
        }
    }
    (order, records)
}

fn payment_entry_id() -> PaymentEntryId {
    match PaymentEntryId::new(UuidV7Ids.new_v7()) {
        Ok(id) => id,
        Err(err) => panic!("a v7 is a payment entry id: {err}"),
    }
}

fn shipment_id() -> ShipmentId {
    match ShipmentId::new(UuidV7Ids.new_v7()) {
        Ok(id) => id,
        Err(err) => panic!("a v7 is a shipment id: {err}"),
    }
}
