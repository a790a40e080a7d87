//! proptest strategies (`arb_*`) that build only valid domain values, through
//! the public constructors.

use order_core::pricing::{
    DiscountValue, Percent, PriceLine, PricingPolicy, RoundingLevel, TaxMode,
};
use order_core::{
    Address, AddressInput, Currency, EventRecord, Money, Order, ProductKind, Quantity,
    RoundingMode, Sku,
};
use proptest::prelude::*;
use rust_decimal::Decimal;

use crate::builder::{OrderBuilder, customer};
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
