//! [`TaxTable`]: tax rates by country, optional region and tax class, with
//! per-class defaults for everywhere else.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::address::{Address, CountryCode};
use crate::error::PolicyError;
use crate::ports::TaxPolicy;
use crate::pricing::Percent;
use crate::text::TaxClass;

/// Tax rates by destination and tax class. The most specific rule wins: the
/// destination's region, then its country, then the class's default.
///
/// Rates are kept per class, then per country, then per region, in ordered
/// maps: a lookup compares a few short keys, and neither hashes text nor
/// copies a key to build a compound one.
#[derive(Clone, Debug, Default)]
pub struct TaxTable {
    classes: BTreeMap<TaxClass, ClassRates>,
    /// Whether any region has a rate: a destination's region is worked out
    /// only then.
    regional: bool,
}

/// One class's rates.
#[derive(Clone, Debug, Default)]
struct ClassRates {
    default: Option<Percent>,
    countries: BTreeMap<CountryCode, CountryRates>,
}

/// One class's rates in one country.
#[derive(Clone, Debug, Default)]
struct CountryRates {
    rate: Option<Percent>,
    /// By region, as [`region_key`] writes it.
    regions: BTreeMap<String, Percent>,
}

/// Regions are free text on addresses ("CA", "ca", " Ca "): compare them
/// trimmed and without regard to case.
fn region_key(region: &str) -> String {
    region.trim().to_uppercase()
}

impl TaxTable {
    fn in_country(&mut self, country: CountryCode, class: TaxClass) -> &mut CountryRates {
        self.classes
            .entry(class)
            .or_default()
            .countries
            .entry(country)
            .or_default()
    }

    /// Sets the rate of `class` in `country`.
    #[must_use]
    pub fn with_rate(mut self, country: CountryCode, class: TaxClass, rate: Percent) -> Self {
        self.in_country(country, class).rate = Some(rate);
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
        self.in_country(country, class)
            .regions
            .insert(region_key(region), rate);
        self.regional = true;
        self
    }

    /// Sets the rate of `class` wherever no country or region rate applies.
    #[must_use]
    pub fn with_default(mut self, class: TaxClass, rate: Percent) -> Self {
        self.classes.entry(class).or_default().default = Some(rate);
        self
    }

    /// The rate of `class` in `country` and its `region` (as [`region_key`]
    /// writes it).
    fn rate(
        &self,
        country: Option<CountryCode>,
        region: Option<&str>,
        class: &TaxClass,
    ) -> Option<Percent> {
        let rates = self.classes.get(class)?;
        country
            .and_then(|country| rates.countries.get(&country))
            .and_then(|there| {
                region
                    .and_then(|region| there.regions.get(region).copied())
                    .or(there.rate)
            })
            .or(rates.default)
    }

    /// What [`TaxPolicy::rates`] answers, without a future: the table is in
    /// memory, so a caller that holds one (a wrapper, a test) needs none.
    ///
    /// # Errors
    /// [`PolicyError::Refused`] naming the first class without a rate.
    pub fn rates_for(
        &self,
        destination: Option<&Address>,
        classes: &[TaxClass],
    ) -> Result<Vec<Percent>, PolicyError> {
        let country = destination.map(Address::country);
        // Worked out once for all classes, and only when a region has rates.
        let region = destination
            .and_then(Address::region)
            .filter(|_| self.regional)
            .map(region_key);
        classes
            .iter()
            .map(|class| {
                self.rate(country, region.as_deref(), class).ok_or_else(|| {
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

#[async_trait]
impl TaxPolicy for TaxTable {
    async fn rates(
        &self,
        destination: Option<&Address>,
        classes: &[TaxClass],
    ) -> Result<Vec<Percent>, PolicyError> {
        self.rates_for(destination, classes)
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

    #[test]
    fn a_country_with_region_rates_only_takes_the_class_default_elsewhere() {
        let us = CountryCode::parse("US").expect("US");
        let table = TaxTable::default()
            .with_default(class("standard"), percent(10))
            .with_region_rate(us, "CA", class("standard"), percent(7));
        let rates = |region| table.rates_for(Some(&address("US", region)), &[class("standard")]);
        assert_eq!(rates(Some("ca")), Ok(vec![percent(7)]));
        assert_eq!(rates(Some("NY")), Ok(vec![percent(10)]));
        assert_eq!(rates(None), Ok(vec![percent(10)]));
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
