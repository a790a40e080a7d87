//! Table-driven implementations of the policy ports, for deployments whose
//! tax, shipping and coupon rules fit in configuration: [`TaxTable`],
//! [`ShippingTable`] and [`CouponTable`]. They are pure data; a service with a
//! remote tax engine implements [`TaxPolicy`] itself.

use std::collections::HashMap;

use async_trait::async_trait;

use crate::address::{Address, CountryCode};
use crate::error::PolicyError;
use crate::id::CustomerId;
use crate::money::Money;
use crate::ports::{DiscountPolicy, ShippingPolicy, TaxPolicy};
use crate::pricing::{Discount, Percent};
use crate::text::{CouponCode, ShippingMethod, TaxClass};

/// Tax rates by country and tax class, with per-class defaults.
#[derive(Clone, Debug, Default)]
pub struct TaxTable {
    by_country: HashMap<(CountryCode, TaxClass), Percent>,
    by_class: HashMap<TaxClass, Percent>,
}

impl TaxTable {
    /// Sets the rate of `class` in `country`.
    #[must_use]
    pub fn with_rate(mut self, country: CountryCode, class: TaxClass, rate: Percent) -> Self {
        self.by_country.insert((country, class), rate);
        self
    }

    /// Sets the rate of `class` wherever no country rate applies.
    #[must_use]
    pub fn with_default(mut self, class: TaxClass, rate: Percent) -> Self {
        self.by_class.insert(class, rate);
        self
    }
}

#[async_trait]
impl TaxPolicy for TaxTable {
    async fn rates(
        &self,
        destination: Option<&Address>,
        classes: &[TaxClass],
    ) -> Result<Vec<Percent>, PolicyError> {
        let country = destination.map(Address::country);
        classes
            .iter()
            .map(|class| {
                country
                    .and_then(|c| self.by_country.get(&(c, class.clone())))
                    .or_else(|| self.by_class.get(class))
                    .copied()
                    .ok_or_else(|| {
                        PolicyError::Refused(format!(
                            "no tax rate for class {class} in {}",
                            country.map_or_else(
                                || "an unknown destination".to_owned(),
                                |c| c.as_str().to_owned()
                            )
                        ))
                    })
            })
            .collect()
    }
}

/// One shipping method's price.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShippingRate {
    /// The charge.
    pub price: Money,
    /// Free when the goods are worth at least this much.
    pub free_over: Option<Money>,
    /// Only to these countries (any when empty).
    pub countries: Vec<CountryCode>,
}

/// Shipping charges by method, free over a threshold.
#[derive(Clone, Debug, Default)]
pub struct ShippingTable {
    methods: HashMap<ShippingMethod, ShippingRate>,
}

impl ShippingTable {
    /// Offers `method` at `rate`.
    #[must_use]
    pub fn with_method(mut self, method: ShippingMethod, rate: ShippingRate) -> Self {
        self.methods.insert(method, rate);
        self
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
        let rate = self
            .methods
            .get(method)
            .ok_or_else(|| PolicyError::Refused(format!("unknown shipping method {method}")))?;
        if !rate.countries.is_empty() && !rate.countries.contains(&destination.country()) {
            return Err(PolicyError::Refused(format!(
                "{method} does not ship to {}",
                destination.country().as_str()
            )));
        }
        if rate.price.currency() != merchandise.currency() {
            return Err(PolicyError::Refused(format!(
                "{method} is priced in {}, the order in {}",
                rate.price.currency(),
                merchandise.currency()
            )));
        }
        let free = rate
            .free_over
            .is_some_and(|threshold| merchandise.cmp_amount(&threshold).is_ok_and(|o| o.is_ge()));
        Ok(if free {
            Money::zero(merchandise.currency())
        } else {
            rate.price
        })
    }
}

/// A coupon: the discount it grants and the smallest order it applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coupon {
    /// What it grants.
    pub discount: Discount,
    /// The smallest subtotal it applies to.
    pub min_subtotal: Option<Money>,
}

/// Coupons by code (matched without regard to case).
#[derive(Clone, Debug, Default)]
pub struct CouponTable {
    coupons: HashMap<String, Coupon>,
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

#[async_trait]
impl DiscountPolicy for CouponTable {
    async fn discount(
        &self,
        code: &CouponCode,
        _customer: CustomerId,
        subtotal: Money,
    ) -> Result<Discount, PolicyError> {
        let coupon = self
            .coupons
            .get(&code.as_str().to_ascii_uppercase())
            .ok_or_else(|| PolicyError::Refused(format!("unknown coupon {code}")))?;
        if let Some(min) = coupon.min_subtotal
            && subtotal.cmp_amount(&min).map_or(true, |o| o.is_lt())
        {
            return Err(PolicyError::Refused(format!(
                "{code} needs an order of at least {min}"
            )));
        }
        Ok(Discount {
            code: Some(code.clone()),
            ..coupon.discount.clone()
        })
    }
}
