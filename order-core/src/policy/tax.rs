//! [`TaxTable`]: tax rates by country, optional region and tax class, with
//! per-class defaults for everywhere else.

use std::collections::HashMap;

use async_trait::async_trait;

use crate::address::{Address, CountryCode};
use crate::error::PolicyError;
use crate::ports::TaxPolicy;
use crate::pricing::Percent;
use crate::text::TaxClass;

/// Tax rates by destination and tax class. The most specific rule wins: the
/// destination's region, then its country, then the class's default.
#[derive(Clone, Debug, Default)]
pub struct TaxTable {
    by_region: HashMap<(CountryCode, String, TaxClass), Percent>,
    by_country: HashMap<(CountryCode, TaxClass), Percent>,
    by_class: HashMap<TaxClass, Percent>,
}

/// Regions are free text on addresses ("CA", "ca", " Ca "): compare them
/// trimmed and without regard to case.
fn region_key(region: &str) -> String {
    region.trim().to_uppercase()
}

impl TaxTable {
    /// Sets the rate of `class` in `country`.
    #[must_use]
    pub fn with_rate(mut self, country: CountryCode, class: TaxClass, rate: Percent) -> Self {
        self.by_country.insert((country, class), rate);
        self
    }

    /// Sets the rate of `class` in one region (state, province) of `country`.
    #[must_use]
    pub fn with_region_rate(
        mut self,
        country: CountryCode,
        region: &str,
        class: TaxClass,
        rate: Percent,
    ) -> Self {
        self.by_region
            .insert((country, region_key(region), class), rate);
        self
    }

    /// Sets the rate of `class` wherever no country or region rate applies.
    #[must_use]
    pub fn with_default(mut self, class: TaxClass, rate: Percent) -> Self {
        self.by_class.insert(class, rate);
        self
    }

    /// The rate of `class` in `country` and its `region` (as [`region_key`]
    /// writes it).
    fn rate(
        &self,
        country: Option<CountryCode>,
        region: Option<&String>,
        class: &TaxClass,
    ) -> Option<Percent> {
        let in_region = country.zip(region).and_then(|(country, region)| {
            self.by_region
                .get(&(country, region.clone(), class.clone()))
                .copied()
        });
        in_region
            .or_else(|| country.and_then(|c| self.by_country.get(&(c, class.clone())).copied()))
            .or_else(|| self.by_class.get(class).copied())
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
        // Worked out once for all classes, and only when a region has rates.
        let region = destination
            .and_then(Address::region)
            .filter(|_| !self.by_region.is_empty())
            .map(region_key);
        classes
            .iter()
            .map(|class| {
                self.rate(country, region.as_ref(), class).ok_or_else(|| {
                    PolicyError::Refused(format!(
                        "no tax rate for class {class} in {}",
                        destination.map_or_else(
                            || "an unknown destination".to_owned(),
                            |a| a.country().as_str().to_owned()
                        )
                    ))
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;
    use crate::address::AddressInput;

    fn percent(n: i64) -> Percent {
        Percent::new(Decimal::from(n)).expect("a valid percentage")
    }

    fn class(name: &str) -> TaxClass {
        TaxClass::parse(name).expect("a valid class")
    }

    fn address(country: &str, region: Option<&str>) -> Address {
        Address::parse(AddressInput {
            name: "Jane".into(),
            line1: "1 Main St".into(),
            line2: None,
            city: "Springfield".into(),
            region: region.map(str::to_owned),
            postal_code: "12345".into(),
            country: country.into(),
            phone: None,
            ..Default::default()
        })
        .expect("a valid address")
    }

    fn table() -> TaxTable {
        let us = CountryCode::parse("US").expect("US");
        TaxTable::default()
            .with_default(class("standard"), percent(10))
            .with_rate(us, class("standard"), percent(0))
            .with_region_rate(us, "ca", class("standard"), percent(7))
    }

    async fn rate_for(destination: Option<&Address>) -> Percent {
        table()
            .rates(destination, &[class("standard")])
            .await
            .expect("a rate")[0]
    }

    #[tokio::test]
    async fn a_region_rate_beats_the_country_rate_whatever_the_case() {
        assert_eq!(
            rate_for(Some(&address("US", Some(" CA ")))).await,
            percent(7)
        );
    }

    #[tokio::test]
    async fn a_country_rate_applies_outside_listed_regions() {
        assert_eq!(rate_for(Some(&address("US", Some("NY")))).await, percent(0));
        assert_eq!(rate_for(Some(&address("US", None))).await, percent(0));
    }

    #[tokio::test]
    async fn the_class_default_applies_elsewhere_and_without_a_destination() {
        assert_eq!(rate_for(Some(&address("FR", None))).await, percent(10));
        assert_eq!(rate_for(None).await, percent(10));
    }

    #[tokio::test]
    async fn a_class_without_any_rate_is_refused_naming_the_class() {
        let refused = table()
            .rates(Some(&address("FR", None)), &[class("luxury")])
            .await;
        assert!(
            matches!(&refused, Err(PolicyError::Refused(text)) if text.contains("luxury") && text.contains("FR")),
            "{refused:?}"
        );
    }
}
