//! [`CouponTable`]: coupons by code — a percentage or fixed amounts per
//! currency, on the whole order or on chosen products, with an optional
//! minimum order per currency and a validity window.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::PolicyTableError;
use crate::error::PolicyError;
use crate::id::{CustomerId, ProductId};
use crate::money::{Currency, Money};
use crate::ports::DiscountPolicy;
use crate::pricing::{Discount, DiscountScope, DiscountValue, Percent};
use crate::text::CouponCode;

/// What a coupon takes off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CouponValue {
    /// A share of the eligible amount, in any currency the coupon allows.
    Percentage(Percent),
    /// A fixed amount per currency; the coupon applies only in these.
    Fixed(BTreeMap<Currency, Money>),
}

/// A coupon: what it grants, on what, in which currencies, from which
/// order size, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coupon {
    value: CouponValue,
    scope: DiscountScope,
    currencies: BTreeSet<Currency>,
    min_subtotal: BTreeMap<Currency, Money>,
    valid_from: Option<DateTime<Utc>>,
    valid_until: Option<DateTime<Utc>>,
}

fn currency_list<'a>(currencies: impl Iterator<Item = &'a Currency>) -> String {
    let mut out = String::new();
    for (i, currency) in currencies.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{currency}");
    }
    out
}

impl Coupon {
    /// `percent` off the whole order, in any currency.
    pub fn percentage(percent: Percent) -> Self {
        Self {
            value: CouponValue::Percentage(percent),
            scope: DiscountScope::Order,
            currencies: BTreeSet::new(),
            min_subtotal: BTreeMap::new(),
            valid_from: None,
            valid_until: None,
        }
    }

    /// A fixed amount off the whole order, one amount per currency it
    /// applies in.
    ///
    /// # Errors
    /// With no amount, two amounts in one currency, or an amount that is
    /// not positive.
    pub fn fixed(amounts: impl IntoIterator<Item = Money>) -> Result<Self, PolicyTableError> {
        let mut by_currency = BTreeMap::new();
        for amount in amounts {
            if amount.is_zero() || amount.is_negative() {
                return Err(PolicyTableError::new(format!(
                    "a fixed discount must be positive (got {amount})"
                )));
            }
            if by_currency.insert(amount.currency(), amount).is_some() {
                return Err(PolicyTableError::new(format!(
                    "two fixed amounts in {}",
                    amount.currency()
                )));
            }
        }
        if by_currency.is_empty() {
            return Err(PolicyTableError::new(
                "a fixed discount needs an amount in at least one currency",
            ));
        }
        Ok(Self {
            value: CouponValue::Fixed(by_currency),
            ..Self::percentage(Percent::ZERO)
        })
    }

    /// Only lines of `products` are discounted (a line-level coupon).
    ///
    /// # Errors
    /// With no product.
    pub fn on_products(mut self, products: Vec<ProductId>) -> Result<Self, PolicyTableError> {
        if products.is_empty() {
            return Err(PolicyTableError::new(
                "a line-level coupon needs at least one product",
            ));
        }
        self.scope = DiscountScope::Products(products);
        Ok(self)
    }

    /// Applies only to orders in `currencies` (a percentage coupon; a fixed
    /// one applies where it has an amount).
    ///
    /// # Errors
    /// For a fixed coupon without an amount in one of them.
    pub fn in_currencies(
        mut self,
        currencies: impl IntoIterator<Item = Currency>,
    ) -> Result<Self, PolicyTableError> {
        self.currencies.extend(currencies);
        if let CouponValue::Fixed(amounts) = &self.value
            && let Some(missing) = self.currencies.iter().find(|c| !amounts.contains_key(c))
        {
            return Err(PolicyTableError::new(format!(
                "the coupon has no fixed amount in {missing}"
            )));
        }
        Ok(self)
    }

    /// Applies only from orders worth `minimum` (before discount) in its
    /// currency. Once a minimum is set, the coupon applies only in the
    /// currencies that have one.
    ///
    /// # Errors
    /// With two minimums in one currency or a negative minimum.
    pub fn with_min_subtotal(mut self, minimum: Money) -> Result<Self, PolicyTableError> {
        if minimum.is_negative() {
            return Err(PolicyTableError::new(format!(
                "a minimum order cannot be negative (got {minimum})"
            )));
        }
        if self
            .min_subtotal
            .insert(minimum.currency(), minimum)
            .is_some()
        {
            return Err(PolicyTableError::new(format!(
                "two minimum orders in {}",
                minimum.currency()
            )));
        }
        Ok(self)
    }

    /// Valid from `from` (inclusive) until `until` (exclusive); either end
    /// may be open.
    ///
    /// # Errors
    /// When `until` is not after `from`.
    pub fn valid_between(
        mut self,
        from: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> Result<Self, PolicyTableError> {
        if let (Some(from), Some(until)) = (from, until)
            && until <= from
        {
            return Err(PolicyTableError::new(format!(
                "the validity window ends ({until}) before it starts ({from})"
            )));
        }
        self.valid_from = from;
        self.valid_until = until;
        Ok(self)
    }

    /// The discount the coupon grants on goods worth `subtotal` at `at`, or
    /// why it does not apply.
    fn grant(
        &self,
        code: &CouponCode,
        subtotal: Money,
        at: DateTime<Utc>,
    ) -> Result<Discount, String> {
        if let Some(from) = self.valid_from
            && at < from
        {
            return Err(format!("{code} is not valid before {from}"));
        }
        if let Some(until) = self.valid_until
            && at >= until
        {
            return Err(format!("{code} expired at {until}"));
        }
        let currency = subtotal.currency();
        let value = match &self.value {
            CouponValue::Percentage(percent) => DiscountValue::Percentage(*percent),
            CouponValue::Fixed(amounts) => {
                DiscountValue::Fixed(*amounts.get(&currency).ok_or_else(|| {
                    format!(
                        "{code} applies to orders in {} only",
                        currency_list(amounts.keys())
                    )
                })?)
            }
        };
        if !self.currencies.is_empty() && !self.currencies.contains(&currency) {
            return Err(format!(
                "{code} applies to orders in {} only",
                currency_list(self.currencies.iter())
            ));
        }
        if !self.min_subtotal.is_empty() {
            let minimum = self.min_subtotal.get(&currency).ok_or_else(|| {
                format!(
                    "{code} applies to orders in {} only",
                    currency_list(self.min_subtotal.keys())
                )
            })?;
            if subtotal.cmp_amount(minimum).map_or(true, |o| o.is_lt()) {
                return Err(format!("{code} needs an order of at least {minimum}"));
            }
        }
        Ok(Discount {
            code: Some(code.clone()),
            value,
            scope: self.scope.clone(),
        })
    }
}

/// Coupons by code (matched without regard to case).
#[derive(Clone, Debug, Default)]
pub struct CouponTable {
    /// By upper-case code, ordered: a lookup compares a few short codes, and
    /// hashes none.
    coupons: BTreeMap<String, Coupon>,
}

impl CouponTable {
    /// Adds a coupon under `code`.
    #[must_use]
    pub fn with_coupon(mut self, code: &CouponCode, coupon: Coupon) -> Self {
        self.coupons
            .insert(code.as_str().to_ascii_uppercase(), coupon);
        self
    }
}

impl CouponTable {
    /// What [`DiscountPolicy::discount`] answers (for any customer), without
    /// a future: the table is in memory, so a caller that holds one (a
    /// wrapper, a test) needs none.
    ///
    /// # Errors
    /// [`PolicyError::Refused`] for an unknown, expired or inapplicable code.
    pub fn discount_for(
        &self,
        code: &CouponCode,
        subtotal: Money,
        at: DateTime<Utc>,
    ) -> Result<Discount, PolicyError> {
        // Codes are kept upper-case; most arrive so, and need no copy.
        let typed = code.as_str();
        let key = if typed.bytes().any(|b| b.is_ascii_lowercase()) {
            Cow::Owned(typed.to_ascii_uppercase())
        } else {
            Cow::Borrowed(typed)
        };
        self.coupons
            .get(key.as_ref())
            .ok_or_else(|| format!("unknown coupon {code}"))
            .and_then(|coupon| coupon.grant(code, subtotal, at))
            .map_err(PolicyError::Refused)
    }
}

#[async_trait]
impl DiscountPolicy for CouponTable {
    async fn discount(
        &self,
        code: &CouponCode,
        _customer: CustomerId,
        subtotal: Money,
        at: DateTime<Utc>,
    ) -> Result<Discount, PolicyError> {
        self.discount_for(code, subtotal, at)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use rust_decimal::Decimal;

    use super::*;

    fn money(text: &str, currency: Currency) -> Money {
        Money::parse(text, currency).expect("a valid amount")
    }

    fn code(text: &str) -> CouponCode {
        CouponCode::parse(text).expect("a valid code")
    }

    fn day(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, d, 0, 0, 0)
            .single()
            .expect("a valid date")
    }

    fn customer() -> CustomerId {
        CustomerId::new(uuid::Uuid::now_v7()).expect("a valid id")
    }

    async fn grant(table: &CouponTable, text: &str, subtotal: Money) -> Result<Discount, String> {
        table
            .discount(&code(text), customer(), subtotal, day(15))
            .await
            .map_err(|e| e.to_string())
    }

    #[tokio::test]
    async fn a_fixed_coupon_takes_the_amount_of_the_orders_currency() -> Result<(), PolicyTableError>
    {
        let coupon = Coupon::fixed([money("5.00", Currency::EUR), money("700", Currency::JPY)])?;
        let table = CouponTable::default().with_coupon(&code("FIVE"), coupon);
        let jpy = grant(&table, "five", money("3000", Currency::JPY)).await;
        assert_eq!(
            jpy.map(|d| d.value),
            Ok(DiscountValue::Fixed(money("700", Currency::JPY)))
        );
        let usd = grant(&table, "FIVE", money("30.00", Currency::USD)).await;
        assert_eq!(usd, Err("FIVE applies to orders in EUR, JPY only".into()));
        Ok(())
    }

    #[tokio::test]
    async fn a_coupon_outside_its_window_is_refused() -> Result<(), PolicyTableError> {
        let ten = Percent::new(Decimal::TEN).expect("10 %");
        let table = CouponTable::default()
            .with_coupon(
                &code("EARLY"),
                Coupon::percentage(ten).valid_between(None, Some(day(15)))?,
            )
            .with_coupon(
                &code("LATE"),
                Coupon::percentage(ten).valid_between(Some(day(16)), None)?,
            )
            .with_coupon(
                &code("NOW"),
                Coupon::percentage(ten).valid_between(Some(day(15)), Some(day(16)))?,
            );
        let goods = money("10.00", Currency::USD);
        assert!(
            grant(&table, "EARLY", goods)
                .await
                .is_err_and(|e| e.contains("expired"))
        );
        assert!(
            grant(&table, "LATE", goods)
                .await
                .is_err_and(|e| e.contains("not valid before"))
        );
        assert!(grant(&table, "NOW", goods).await.is_ok());
        Ok(())
    }

    #[tokio::test]
    async fn a_minimum_order_is_per_currency_and_limits_the_currencies()
    -> Result<(), PolicyTableError> {
        let coupon = Coupon::percentage(Percent::new(Decimal::TEN).expect("10 %"))
            .with_min_subtotal(money("20.00", Currency::USD))?;
        let table = CouponTable::default().with_coupon(&code("BIG"), coupon);
        assert!(
            grant(&table, "BIG", money("20.00", Currency::USD))
                .await
                .is_ok()
        );
        assert_eq!(
            grant(&table, "BIG", money("19.99", Currency::USD)).await,
            Err("BIG needs an order of at least 20.00 USD".into())
        );
        assert!(
            grant(&table, "BIG", money("500.00", Currency::EUR))
                .await
                .is_err()
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_line_level_coupon_keeps_its_products() -> Result<(), PolicyTableError> {
        let product = ProductId::new(uuid::Uuid::now_v7()).expect("a valid id");
        let coupon = Coupon::percentage(Percent::new(Decimal::TEN).expect("10 %"))
            .on_products(vec![product])?;
        let table = CouponTable::default().with_coupon(&code("MUGS"), coupon);
        let granted = grant(&table, "MUGS", money("1.00", Currency::USD)).await;
        assert_eq!(
            granted.map(|d| d.scope),
            Ok(DiscountScope::Products(vec![product]))
        );
        Ok(())
    }

    #[test]
    fn contradictory_coupons_are_refused() {
        assert!(Coupon::fixed([]).is_err());
        assert!(Coupon::fixed([money("0.00", Currency::USD)]).is_err());
        assert!(
            Coupon::fixed([money("1.00", Currency::USD), money("2.00", Currency::USD)]).is_err()
        );
        assert!(
            Coupon::fixed([money("1.00", Currency::USD)])
                .and_then(|c| c.in_currencies([Currency::EUR]))
                .is_err()
        );
        assert!(
            Coupon::percentage(Percent::ZERO)
                .on_products(Vec::new())
                .is_err()
        );
        assert!(
            Coupon::percentage(Percent::ZERO)
                .valid_between(Some(day(2)), Some(day(1)))
                .is_err()
        );
    }
}
