//! Pricing: from catalog unit prices, a discount, tax rates and a shipping
//! charge to per-line amounts and order [`Totals`], exactly.
//!
//! The rules, all pure:
//! - a line's gross is `unit price × quantity` (exact);
//! - a discount (percentage or fixed, on the order or on chosen products) is
//!   rounded once and split across the eligible lines by largest remainder;
//! - tax is computed per line on the discounted amount, rounded at the
//!   [`RoundingLevel`] the policy names (per unit, per line, or once per
//!   order and then split by largest remainder);
//! - with tax-inclusive prices, amounts are reported net of tax so that the
//!   same identity holds in both modes:
//!   `total = subtotal − discount + tax + shipping`, and every order amount is
//!   the exact sum of its line amounts.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::allocation::{allocate, allocate_minor};
use crate::error::{MoneyError, ValidationError};
use crate::id::ProductId;
use crate::money::{Currency, Money, RoundingMode, power_of_ten};
use crate::quantity::Quantity;
use crate::text::CouponCode;

/// A percentage between 0 and 100 inclusive (20 means 20 %).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "Decimal", into = "Decimal")]
pub struct Percent(Decimal);

impl Percent {
    /// No percent.
    pub const ZERO: Self = Self(Decimal::ZERO);

    /// A percentage.
    ///
    /// # Errors
    /// [`ValidationError::Percentage`] outside 0..=100.
    pub fn new(value: Decimal) -> Result<Self, ValidationError> {
        if value >= Decimal::ZERO && value <= Decimal::ONE_HUNDRED {
            Ok(Self(value.normalize()))
        } else {
            Err(ValidationError::Percentage {
                field: "percent".into(),
                value,
            })
        }
    }

    /// The percentage as a number (20 for 20 %).
    pub fn value(&self) -> Decimal {
        self.0
    }

    fn fraction(self) -> Decimal {
        // Dividing by 100 is moving the point, while the scale allows.
        let mut fraction = self.0;
        match fraction.set_scale(self.0.scale() + 2) {
            Ok(()) => fraction,
            Err(_) => self.0 / Decimal::ONE_HUNDRED,
        }
    }
}

impl TryFrom<Decimal> for Percent {
    type Error = ValidationError;
    fn try_from(value: Decimal) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<Percent> for Decimal {
    fn from(p: Percent) -> Self {
        p.0
    }
}

/// Whether catalog prices include tax.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaxMode {
    /// Prices exclude tax; tax is added on top (US style). The default.
    #[default]
    Exclusive,
    /// Prices include tax; tax is carved out of them (EU style).
    Inclusive,
}

/// Where tax is rounded to the minor unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundingLevel {
    /// Round the tax of one unit, then multiply by the quantity.
    PerUnit,
    /// Round each line's tax. The default.
    #[default]
    PerLine,
    /// Round the order's tax once, then split it across lines.
    PerOrder,
}

/// The explicit pricing policy of an order: fixed when the order is placed
/// and kept with it, so re-pricing after an edit uses the same rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct PricingPolicy {
    /// Whether prices include tax.
    pub tax_mode: TaxMode,
    /// How values between minor units are rounded.
    pub rounding_mode: RoundingMode,
    /// Where tax is rounded.
    pub rounding_level: RoundingLevel,
}

/// What a discount takes off.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum DiscountValue {
    /// A share of the eligible amount.
    Percentage(Percent),
    /// A fixed amount, capped at the eligible amount.
    Fixed(Money),
}

/// Which lines a discount applies to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "products")]
pub enum DiscountScope {
    /// Every line (an order-level discount).
    Order,
    /// Only lines of these products (a line-level discount).
    Products(Vec<ProductId>),
}

/// A discount granted by the discount policy.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Discount {
    /// The coupon that granted it, if any.
    pub code: Option<CouponCode>,
    /// How much.
    pub value: DiscountValue,
    /// On what.
    pub scope: DiscountScope,
}

impl Discount {
    /// True when the discount covers a line of `product`.
    pub fn applies_to(&self, product: ProductId) -> bool {
        match &self.scope {
            DiscountScope::Order => true,
            DiscountScope::Products(products) => products.contains(&product),
        }
    }
}

/// One line as pricing sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PriceLine {
    /// The catalog's unit price (net or gross per [`TaxMode`]).
    pub unit_price: Money,
    /// Units.
    pub quantity: Quantity,
    /// The tax rate for the line's class at the destination.
    pub tax_rate: Percent,
    /// Whether the order's discount covers this line.
    pub discountable: bool,
}

/// A line's priced amounts; `total = subtotal − discount + tax`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LineAmounts {
    /// Net of tax, before discount.
    pub subtotal: Money,
    /// Net of tax.
    pub discount: Money,
    /// Tax on the discounted amount.
    pub tax: Money,
    /// What the customer pays for the line.
    pub total: Money,
}

/// An order's totals; `total = subtotal − discount + tax + shipping`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Totals {
    /// Σ line subtotals.
    pub subtotal: Money,
    /// Σ line discounts.
    pub discount: Money,
    /// Σ line taxes.
    pub tax: Money,
    /// The shipping charge.
    pub shipping: Money,
    /// What the customer pays.
    pub total: Money,
}

/// Checks one amount against [`Money::MAX_AMOUNT`], naming `field`.
fn bounded(field: impl FnOnce() -> String, amount: &Money) -> Result<(), ValidationError> {
    amount
        .check_amount()
        .map_err(|source| ValidationError::Money {
            field: field(),
            source,
        })
}

impl LineAmounts {
    /// Checks every amount against [`Money::MAX_AMOUNT`] (ADR 0006).
    ///
    /// # Errors
    /// [`ValidationError::Money`] naming the first amount beyond the bound
    /// (`subtotal`, `discount`, `tax` or `total`).
    pub fn check_bounds(&self) -> Result<(), ValidationError> {
        bounded(|| "subtotal".into(), &self.subtotal)?;
        bounded(|| "discount".into(), &self.discount)?;
        bounded(|| "tax".into(), &self.tax)?;
        bounded(|| "total".into(), &self.total)
    }
}

impl Totals {
    /// Checks every amount against [`Money::MAX_AMOUNT`] (ADR 0006), so an
    /// order the engine keeps fits every store.
    ///
    /// # Errors
    /// [`ValidationError::Money`] naming the first amount beyond the bound
    /// (`subtotal`, `discount`, `tax`, `shipping` or `total`).
    pub fn check_bounds(&self) -> Result<(), ValidationError> {
        bounded(|| "subtotal".into(), &self.subtotal)?;
        bounded(|| "discount".into(), &self.discount)?;
        bounded(|| "tax".into(), &self.tax)?;
        bounded(|| "shipping".into(), &self.shipping)?;
        bounded(|| "total".into(), &self.total)
    }

    /// All zero in `currency`.
    pub fn zero(currency: Currency) -> Self {
        let z = Money::zero(currency);
        Self {
            subtotal: z,
            discount: z,
            tax: z,
            shipping: z,
            total: z,
        }
    }
}

/// Lines priced, before shipping is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PricedLines {
    /// One entry per input line, in order.
    pub lines: Vec<LineAmounts>,
    /// Σ line subtotals.
    pub subtotal: Money,
    /// Σ line discounts.
    pub discount: Money,
    /// Σ line taxes.
    pub tax: Money,
}

impl PricedLines {
    /// Checks every line's amounts and their sums against
    /// [`Money::MAX_AMOUNT`] (ADR 0006).
    ///
    /// # Errors
    /// [`ValidationError::Money`] naming the first amount beyond the bound:
    /// `lines[i].subtotal` … `lines[i].total`, then `subtotal`, `discount`
    /// or `tax`.
    pub fn check_bounds(&self) -> Result<(), ValidationError> {
        for (index, line) in self.lines.iter().enumerate() {
            line.check_bounds()
                .map_err(|err| err.at(&format!("lines[{index}]")))?;
        }
        bounded(|| "subtotal".into(), &self.subtotal)?;
        bounded(|| "discount".into(), &self.discount)?;
        bounded(|| "tax".into(), &self.tax)
    }

    /// What shipping thresholds compare against: the discounted goods, tax
    /// included.
    ///
    /// # Errors
    /// [`MoneyError::Overflow`].
    pub fn merchandise(&self) -> Result<Money, MoneyError> {
        self.subtotal
            .checked_sub(&self.discount)?
            .checked_add(&self.tax)
    }

    /// The order totals once the shipping charge is known.
    ///
    /// # Errors
    /// [`MoneyError`] when `shipping` is in another currency or on overflow.
    pub fn with_shipping(&self, shipping: Money) -> Result<Totals, MoneyError> {
        let total = self.merchandise()?.checked_add(&shipping)?;
        Ok(Totals {
            subtotal: self.subtotal,
            discount: self.discount,
            tax: self.tax,
            shipping,
            total,
        })
    }
}

fn minor_to_money(minor: i128, currency: Currency) -> Result<Money, MoneyError> {
    Money::from_minor(minor, currency)
}

fn round_minor(value: Decimal, currency: Currency, mode: RoundingMode) -> i128 {
    Money::round(value, currency, mode).minor()
}

/// The largest mantissa of a `Decimal`.
const MAX_MANTISSA: u128 = (1 << 96) - 1;

/// `amount` minor units × `share`, rounded onto the minor unit by `mode`:
/// the same result as rounding the decimal product, which is exact whenever
/// its digits fit a decimal (any share with a few decimals, any amount the
/// engine keeps). Then the product is an integer over a power of ten and is
/// rounded as one; otherwise it is left to the decimal, which rounds it
/// first, exactly as before.
fn round_share(amount: i128, share: Decimal, currency: Currency, mode: RoundingMode) -> i128 {
    let scale = currency.minor_units() + share.scale();
    // Two 64-bit factors cannot overflow 128 bits: one multiplication, not
    // a checked 128-bit one.
    let product = match (i64::try_from(amount), i64::try_from(share.mantissa())) {
        (Ok(a), Ok(m)) => Some(i128::from(a) * i128::from(m)),
        _ => amount.checked_mul(share.mantissa()),
    };
    match product {
        Some(product) if product.unsigned_abs() <= MAX_MANTISSA && scale <= 28 => {
            mode.div(product, power_of_ten(share.scale()))
        }
        _ => round_minor(
            Decimal::from_i128_with_scale(amount, currency.minor_units()) * share,
            currency,
            mode,
        ),
    }
}

/// Prices `lines` in `currency` with an optional `discount` under `policy`.
///
/// # Errors
/// [`MoneyError::CurrencyMismatch`] when a unit price or a fixed discount is
/// in another currency, [`MoneyError::Overflow`] on overflow.
///
/// ```
/// # use order_core::pricing::*;
/// # use order_core::{Currency, Money, Quantity};
/// # use rust_decimal::Decimal;
/// let line = PriceLine {
///     unit_price: Money::new(Decimal::new(1000, 2), Currency::USD).unwrap(),
///     quantity: Quantity::new(3).unwrap(),
///     tax_rate: Percent::new(Decimal::new(10, 0)).unwrap(),
///     discountable: true,
/// };
/// let priced = price_lines(Currency::USD, &[line], None, &PricingPolicy::default()).unwrap();
/// assert_eq!(priced.subtotal.to_string(), "30.00 USD");
/// assert_eq!(priced.tax.to_string(), "3.00 USD");
/// ```
pub fn price_lines(
    currency: Currency,
    lines: &[PriceLine],
    discount: Option<&DiscountValue>,
    policy: &PricingPolicy,
) -> Result<PricedLines, MoneyError> {
    let mode = policy.rounding_mode;
    let mut gross = Vec::with_capacity(lines.len());
    for line in lines {
        if line.unit_price.currency() != currency {
            return Err(MoneyError::CurrencyMismatch {
                left: currency,
                right: line.unit_price.currency(),
            });
        }
        gross.push(line.unit_price.checked_mul(line.quantity.get())?.minor());
    }

    let discounts = discount_parts(currency, lines, &gross, discount, mode)?;

    // Tax as a share of the taxable amount: r for net prices, r / (1 + r)
    // for gross prices.
    let share = |rate: Percent| match policy.tax_mode {
        TaxMode::Exclusive => rate.fraction(),
        TaxMode::Inclusive => rate.fraction() / (Decimal::ONE + rate.fraction()),
    };
    let taxable: Vec<i128> = gross.iter().zip(&discounts).map(|(g, d)| g - d).collect();
    let taxes = tax_parts(currency, lines, &taxable, &share, policy);

    let mut amounts = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let (subtotal, discount, tax) = match policy.tax_mode {
            TaxMode::Exclusive => (gross[i], discounts[i], taxes[i]),
            TaxMode::Inclusive => {
                let net = taxable[i] - taxes[i];
                let gross_tax = round_share(gross[i], share(line.tax_rate), currency, mode);
                // Rounding residue may not show as a negative discount.
                let subtotal = (gross[i] - gross_tax).max(net);
                (subtotal, subtotal - net, taxes[i])
            }
        };
        amounts.push(LineAmounts {
            subtotal: minor_to_money(subtotal, currency)?,
            discount: minor_to_money(discount, currency)?,
            tax: minor_to_money(tax, currency)?,
            total: minor_to_money(subtotal - discount + tax, currency)?,
        });
    }
    let sum = |pick: fn(&LineAmounts) -> &Money| Money::sum(currency, amounts.iter().map(pick));
    Ok(PricedLines {
        subtotal: sum(|l| &l.subtotal)?,
        discount: sum(|l| &l.discount)?,
        tax: sum(|l| &l.tax)?,
        lines: amounts,
    })
}

fn discount_parts(
    currency: Currency,
    lines: &[PriceLine],
    gross: &[i128],
    discount: Option<&DiscountValue>,
    mode: RoundingMode,
) -> Result<Vec<i128>, MoneyError> {
    let Some(discount) = discount else {
        return Ok(vec![0; lines.len()]);
    };
    let weights: Vec<i128> = lines
        .iter()
        .zip(gross)
        .map(|(line, g)| if line.discountable { *g } else { 0 })
        .collect();
    let base: i128 = weights.iter().sum();
    if base == 0 {
        return Ok(vec![0; lines.len()]);
    }
    let whole = match discount {
        DiscountValue::Percentage(p) => round_share(base, p.fraction(), currency, mode),
        DiscountValue::Fixed(amount) => {
            if amount.currency() != currency {
                return Err(MoneyError::CurrencyMismatch {
                    left: currency,
                    right: amount.currency(),
                });
            }
            amount.minor().clamp(0, base)
        }
    };
    Ok(allocate_minor(whole, &weights))
}

fn tax_parts(
    currency: Currency,
    lines: &[PriceLine],
    taxable: &[i128],
    share: &dyn Fn(Percent) -> Decimal,
    policy: &PricingPolicy,
) -> Vec<i128> {
    let scale = currency.minor_units();
    let mode = policy.rounding_mode;
    let exact = |(line, t): (&PriceLine, &i128)| {
        Decimal::from_i128_with_scale(*t, scale) * share(line.tax_rate)
    };
    match policy.rounding_level {
        RoundingLevel::PerLine => lines
            .iter()
            .zip(taxable)
            .map(|(line, t)| round_share(*t, share(line.tax_rate), currency, mode))
            .collect(),
        RoundingLevel::PerUnit => lines
            .iter()
            .zip(taxable)
            .map(|(line, t)| {
                let per_unit = exact((line, t)) / Decimal::from(line.quantity.get());
                round_minor(per_unit, currency, mode) * i128::from(line.quantity.get())
            })
            .collect(),
        RoundingLevel::PerOrder => {
            let exact: Vec<Decimal> = lines.iter().zip(taxable).map(exact).collect();
            let whole = round_minor(exact.iter().sum(), currency, mode);
            let weights: Vec<Decimal> = exact
                .iter()
                .map(|e| *e * Decimal::from(10u64.pow(scale)))
                .collect();
            allocate(whole, &weights)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(minor: i128) -> Money {
        Money::from_minor(minor, Currency::USD).unwrap()
    }

    fn line(unit_minor: i128, qty: u32, rate: i64) -> PriceLine {
        PriceLine {
            unit_price: usd(unit_minor),
            quantity: Quantity::new(qty).unwrap(),
            tax_rate: Percent::new(Decimal::from(rate)).unwrap(),
            discountable: true,
        }
    }

    fn pct(n: i64) -> DiscountValue {
        DiscountValue::Percentage(Percent::new(Decimal::from(n)).unwrap())
    }

    fn assert_line_identities(p: &PricedLines) {
        for l in &p.lines {
            let expect = l
                .subtotal
                .checked_sub(&l.discount)
                .unwrap()
                .checked_add(&l.tax)
                .unwrap();
            assert_eq!(l.total, expect);
            assert!(!l.discount.is_negative());
        }
    }

    #[test]
    fn a_fixed_discount_is_split_exactly_across_lines() {
        let lines = [line(1000, 1, 0), line(1000, 1, 0), line(1000, 1, 0)];
        let p = price_lines(
            Currency::USD,
            &lines,
            Some(&DiscountValue::Fixed(usd(1000))),
            &PricingPolicy::default(),
        )
        .unwrap();
        let parts: Vec<i128> = p.lines.iter().map(|l| l.discount.minor()).collect();
        assert_eq!(parts, vec![334, 333, 333]);
        assert_eq!(p.discount, usd(1000));
    }

    #[test]
    fn a_fixed_discount_never_exceeds_the_goods() {
        let p = price_lines(
            Currency::USD,
            &[line(500, 1, 0)],
            Some(&DiscountValue::Fixed(usd(9999))),
            &PricingPolicy::default(),
        )
        .unwrap();
        assert_eq!(p.discount, usd(500));
        assert!(p.lines[0].total.is_zero());
    }

    #[test]
    fn a_line_level_discount_skips_other_lines() {
        let mut other = line(1000, 1, 0);
        other.discountable = false;
        let p = price_lines(
            Currency::USD,
            &[line(1000, 1, 0), other],
            Some(&pct(10)),
            &PricingPolicy::default(),
        )
        .unwrap();
        assert_eq!(p.lines[0].discount, usd(100));
        assert!(p.lines[1].discount.is_zero());
    }

    #[test]
    fn per_order_rounding_rounds_once() {
        // Three lines of 0.05 at 10 %: per line each tax is 0.005 → 0.00 (half even),
        // per order the exact sum 0.015 rounds to 0.02.
        let lines = [line(5, 1, 10), line(5, 1, 10), line(5, 1, 10)];
        let per_line = price_lines(Currency::USD, &lines, None, &PricingPolicy::default()).unwrap();
        assert_eq!(per_line.tax, usd(0));
        let policy = PricingPolicy {
            rounding_level: RoundingLevel::PerOrder,
            ..PricingPolicy::default()
        };
        let per_order = price_lines(Currency::USD, &lines, None, &policy).unwrap();
        assert_eq!(per_order.tax, usd(2));
    }

    #[test]
    fn per_unit_rounding_multiplies_the_rounded_unit_tax() {
        let policy = PricingPolicy {
            rounding_level: RoundingLevel::PerUnit,
            rounding_mode: RoundingMode::HalfUp,
            ..PricingPolicy::default()
        };
        // 0.25 at 10 % is 0.025 → 0.03 per unit, 0.09 for three (per line: 0.075 → 0.08).
        let p = price_lines(Currency::USD, &[line(25, 3, 10)], None, &policy).unwrap();
        assert_eq!(p.tax, usd(9));
    }

    #[test]
    fn inclusive_prices_carve_tax_out() {
        let policy = PricingPolicy {
            tax_mode: TaxMode::Inclusive,
            ..PricingPolicy::default()
        };
        // 12.00 gross at 20 % is 10.00 net + 2.00 tax.
        let p = price_lines(Currency::USD, &[line(1200, 1, 20)], None, &policy).unwrap();
        assert_eq!(p.subtotal, usd(1000));
        assert_eq!(p.tax, usd(200));
        assert_eq!(p.lines[0].total, usd(1200));
        let with_discount = price_lines(
            Currency::USD,
            &[line(1200, 1, 20), line(999, 3, 7)],
            Some(&pct(15)),
            &policy,
        )
        .unwrap();
        assert_line_identities(&with_discount);
    }

    #[test]
    fn totals_obey_the_identity() {
        let p = price_lines(
            Currency::USD,
            &[line(1999, 2, 8), line(350, 7, 0)],
            Some(&pct(12)),
            &PricingPolicy::default(),
        )
        .unwrap();
        assert_line_identities(&p);
        let t = p.with_shipping(usd(599)).unwrap();
        let expect = t
            .subtotal
            .checked_sub(&t.discount)
            .unwrap()
            .checked_add(&t.tax)
            .unwrap()
            .checked_add(&t.shipping)
            .unwrap();
        assert_eq!(t.total, expect);
    }

    #[test]
    fn yen_has_no_minor_unit() {
        let l = PriceLine {
            unit_price: Money::from_minor(333, Currency::JPY).unwrap(),
            quantity: Quantity::new(1).unwrap(),
            tax_rate: Percent::new(Decimal::from(10)).unwrap(),
            discountable: true,
        };
        let p = price_lines(Currency::JPY, &[l], None, &PricingPolicy::default()).unwrap();
        assert_eq!(p.tax.minor(), 33);
    }

    #[test]
    fn the_largest_line_is_within_the_bounds() {
        // 10^12 × 100 is exactly the largest amount.
        let max_price = Money::new(Money::MAX_UNIT_PRICE, Currency::USD).unwrap();
        let mut l = line(0, 100, 0);
        l.unit_price = max_price;
        let p = price_lines(Currency::USD, &[l], None, &PricingPolicy::default()).unwrap();
        assert_eq!(p.check_bounds(), Ok(()));
        let totals = p.with_shipping(usd(0)).unwrap();
        assert_eq!(totals.check_bounds(), Ok(()));
        assert_eq!(totals.total.amount(), Money::MAX_AMOUNT);
    }

    #[test]
    fn an_amount_beyond_the_bound_is_named() {
        let max_price = Money::new(Money::MAX_UNIT_PRICE, Currency::USD).unwrap();
        let mut big = line(0, 101, 0);
        big.unit_price = max_price;
        let p = price_lines(
            Currency::USD,
            &[line(100, 1, 0), big],
            None,
            &PricingPolicy::default(),
        )
        .unwrap();
        let err = p.check_bounds().unwrap_err();
        assert_eq!(err.field(), "lines[1].subtotal");
        assert!(matches!(
            err,
            ValidationError::Money {
                source: MoneyError::TooLarge { .. },
                ..
            }
        ));
        // Two lines within the bound whose sum is not.
        let mut half = line(0, 60, 0);
        half.unit_price = max_price;
        let p = price_lines(
            Currency::USD,
            &[half, half],
            None,
            &PricingPolicy::default(),
        )
        .unwrap();
        assert_eq!(p.check_bounds().unwrap_err().field(), "subtotal");
        // Tax or shipping can push the total over.
        let mut taxed = line(0, 100, 10);
        taxed.unit_price = max_price;
        let p = price_lines(Currency::USD, &[taxed], None, &PricingPolicy::default()).unwrap();
        assert_eq!(p.check_bounds().unwrap_err().field(), "lines[0].total");
        let mut exact = line(0, 100, 0);
        exact.unit_price = max_price;
        let p = price_lines(Currency::USD, &[exact], None, &PricingPolicy::default()).unwrap();
        let totals = p.with_shipping(usd(1)).unwrap();
        assert_eq!(totals.check_bounds().unwrap_err().field(), "total");
    }

    #[test]
    fn a_price_in_another_currency_is_refused() {
        let mut l = line(100, 1, 0);
        l.unit_price = Money::zero(Currency::EUR);
        assert!(price_lines(Currency::USD, &[l], None, &PricingPolicy::default()).is_err());
    }

    proptest::proptest! {
        #[test]
        fn an_integer_share_rounds_as_the_decimal_product_does(
            // Mostly what orders carry, sometimes digits no decimal holds.
            amount in proptest::prop_oneof![
                3 => -1_000_000_000_i128..1_000_000_000,
                1 => -(1_i128 << 80)..(1_i128 << 80),
            ],
            mantissa in proptest::prop_oneof![3 => 0_i64..=10_000, 1 => 0_i64..=i64::MAX],
            share_scale in 0u32..=28,
            currency in proptest::sample::select(vec![
                Currency::JPY, Currency::USD, Currency::KWD, Currency::parse("CLF").unwrap(),
            ]),
            mode in proptest::sample::select(vec![
                RoundingMode::HalfEven, RoundingMode::HalfUp, RoundingMode::HalfDown,
                RoundingMode::Down, RoundingMode::Up,
            ]),
        ) {
            let share = Decimal::new(mantissa, share_scale);
            let decimal = Decimal::from_i128_with_scale(amount, currency.minor_units())
                .checked_mul(share);
            // Beyond a decimal, the old and the new arithmetic both fail.
            proptest::prop_assume!(decimal.is_some());
            proptest::prop_assert_eq!(
                round_share(amount, share, currency, mode),
                round_minor(decimal.unwrap(), currency, mode)
            );
        }
    }
}
