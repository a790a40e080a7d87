//! [`ShippingTable`]: shipping methods with a price per currency, free over a
//! threshold per currency, each offered to chosen countries.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;

use super::PolicyTableError;
use crate::address::{Address, CountryCode};
use crate::error::PolicyError;
use crate::money::{Currency, Money};
use crate::ports::ShippingPolicy;
use crate::text::ShippingMethod;

/// One shipping method's prices: at most one price and one free-shipping
/// threshold per currency, and the countries it serves (all when none are
/// named).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShippingRate {
    prices: BTreeMap<Currency, Money>,
    free_over: BTreeMap<Currency, Money>,
    countries: BTreeSet<CountryCode>,
}

impl ShippingRate {
    /// Charges `price` for orders in its currency.
    ///
    /// # Errors
    /// When the rate has a price in that currency already, or the price is
    /// negative.
    pub fn with_price(mut self, price: Money) -> Result<Self, PolicyTableError> {
        if price.is_negative() {
            return Err(PolicyTableError::new(format!(
                "a shipping price cannot be negative (got {price})"
            )));
        }
        if self.prices.insert(price.currency(), price).is_some() {
            return Err(PolicyTableError::new(format!(
                "two prices in {}",
                price.currency()
            )));
        }
        Ok(self)
    }

    /// Ships free when the goods are worth at least `threshold` (in its
    /// currency).
    ///
    /// # Errors
    /// When the rate has a threshold in that currency already, has no price
    /// in it, or the threshold is negative.
    pub fn with_free_over(mut self, threshold: Money) -> Result<Self, PolicyTableError> {
        let currency = threshold.currency();
        if threshold.is_negative() {
            return Err(PolicyTableError::new(format!(
                "a free-shipping threshold cannot be negative (got {threshold})"
            )));
        }
        if !self.prices.contains_key(&currency) {
            return Err(PolicyTableError::new(format!(
                "a free-shipping threshold in {currency} needs a price in {currency}"
            )));
        }
        if self.free_over.insert(currency, threshold).is_some() {
            return Err(PolicyTableError::new(format!(
                "two free-shipping thresholds in {currency}"
            )));
        }
        Ok(self)
    }

    /// Serves `country` (a rate that names no country serves every one).
    #[must_use]
    pub fn to_country(mut self, country: CountryCode) -> Self {
        self.countries.insert(country);
        self
    }

    /// The currencies the method is priced in.
    pub fn currencies(&self) -> impl Iterator<Item = Currency> + '_ {
        self.prices.keys().copied()
    }

    fn serves(&self, country: CountryCode) -> bool {
        self.countries.is_empty() || self.countries.contains(&country)
    }
}

/// Shipping charges by method.
#[derive(Clone, Debug, Default)]
pub struct ShippingTable {
    /// An ordered map: a lookup compares a few short names, and hashes none.
    methods: BTreeMap<ShippingMethod, ShippingRate>,
}

impl ShippingTable {
    /// Offers `method` at `rate`.
    #[must_use]
    pub fn with_method(mut self, method: ShippingMethod, rate: ShippingRate) -> Self {
        self.methods.insert(method, rate);
        self
    }
}

impl ShippingTable {
    /// What [`ShippingPolicy::quote`] answers, without a future: the table is
    /// in memory, so a caller that holds one (a wrapper, a test) needs none.
    ///
    /// # Errors
    /// [`PolicyError::Refused`] for an unknown method, an unserved
    /// destination, or a currency the method has no price in.
    pub fn quote_for(
        &self,
        method: &ShippingMethod,
        destination: &Address,
        merchandise: Money,
    ) -> Result<Money, PolicyError> {
        let rate = self
            .methods
            .get(method)
            .ok_or_else(|| PolicyError::Refused(format!("unknown shipping method {method}")))?;
        let country = destination.country();
        if !rate.serves(country) {
            return Err(PolicyError::Refused(format!(
                "{method} does not ship to {}",
                country.as_str()
            )));
        }
        let currency = merchandise.currency();
        let price = rate
            .prices
            .get(&currency)
            .ok_or_else(|| PolicyError::Refused(format!("{method} has no price in {currency}")))?;
        let free = rate
            .free_over
            .get(&currency)
            .is_some_and(|threshold| merchandise.cmp_amount(threshold).is_ok_and(|o| o.is_ge()));
        Ok(if free { Money::zero(currency) } else { *price })
    }
}

#[async_trait]
impl ShippingPolicy for ShippingTable {
    async fn quote(
        &self,
        method: &ShippingMethod,
        destination: &Address,
        merchandise: Money,
    ) -> Result<Money, PolicyError> {
        self.quote_for(method, destination, merchandise)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::AddressInput;

    fn money(text: &str, currency: Currency) -> Money {
        Money::parse(text, currency).expect("a valid amount")
    }

    fn to(country: &str) -> Address {
        Address::parse(AddressInput {
            name: "Jane".into(),
            line1: "1 Main St".into(),
            city: "Springfield".into(),
            postal_code: "12345".into(),
            country: country.into(),
            ..AddressInput::default()
        })
        .expect("a valid address")
    }

    fn standard() -> ShippingMethod {
        ShippingMethod::parse("standard").expect("a valid method")
    }

    fn table() -> Result<ShippingTable, PolicyTableError> {
        let rate = ShippingRate::default()
            .with_price(money("5.99", Currency::USD))?
            .with_free_over(money("100.00", Currency::USD))?
            .with_price(money("800", Currency::JPY))?
            .to_country(CountryCode::parse("US").expect("US"))
            .to_country(CountryCode::parse("JP").expect("JP"));
        Ok(ShippingTable::default().with_method(standard(), rate))
    }

    async fn quote(country: &str, goods: Money) -> Result<Money, PolicyError> {
        table()
            .expect("a valid table")
            .quote(&standard(), &to(country), goods)
            .await
    }

    #[tokio::test]
    async fn the_price_is_in_the_orders_currency() {
        assert_eq!(
            quote("JP", money("5000", Currency::JPY)).await,
            Ok(money("800", Currency::JPY))
        );
        assert_eq!(
            quote("US", money("10.00", Currency::USD)).await,
            Ok(money("5.99", Currency::USD))
        );
    }

    #[tokio::test]
    async fn shipping_is_free_from_the_threshold_of_the_orders_currency() {
        assert_eq!(
            quote("US", money("100.00", Currency::USD)).await,
            Ok(Money::zero(Currency::USD))
        );
        // No JPY threshold: never free in JPY.
        assert_eq!(
            quote("JP", money("1000000", Currency::JPY)).await,
            Ok(money("800", Currency::JPY))
        );
    }

    #[tokio::test]
    async fn a_currency_without_a_price_and_an_unserved_country_are_refused() {
        let eur = quote("US", money("10.00", Currency::EUR)).await;
        assert!(matches!(&eur, Err(PolicyError::Refused(t)) if t.contains("no price in EUR")));
        let fr = quote("FR", money("10.00", Currency::USD)).await;
        assert!(matches!(&fr, Err(PolicyError::Refused(t)) if t.contains("does not ship to FR")));
    }

    #[test]
    fn contradictory_rates_are_refused() {
        let usd = || money("1.00", Currency::USD);
        assert!(
            ShippingRate::default()
                .with_price(usd())
                .and_then(|r| r.with_price(usd()))
                .is_err()
        );
        assert!(ShippingRate::default().with_free_over(usd()).is_err());
        assert!(
            ShippingRate::default()
                .with_price(money("-1.00", Currency::USD))
                .is_err()
        );
    }
}
