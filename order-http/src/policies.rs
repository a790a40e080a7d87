//! The policy file: pricing rules, tax rates, shipping methods and coupons
//! in TOML (`--config` / `ORDER_CONFIG`), parsed at start into the core's
//! policy types. A bad file stops the start with an error naming the key
//! and the rule it breaks. `config/sample.toml` documents every key.
//!
//! Amounts and rates are written as strings (`"5.99"`) or integers (`800`):
//! TOML floats are binary fractions, so they are refused rather than
//! rounded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use order_core::policy::{
    Coupon, CouponTable, PolicyTableError, ShippingRate, ShippingTable, TaxTable,
};
use order_core::pricing::{Percent, PricingPolicy, RoundingLevel, TaxMode};
use order_core::{
    CountryCode, CouponCode, Currency, Money, ProductId, RoundingMode, ShippingMethod, TaxClass,
};
use rust_decimal::Decimal;
use serde::Deserialize;

/// Every policy the engine prices with, ready to hand to the ports.
#[derive(Debug, Clone, Default)]
pub struct Policies {
    /// Tax mode and rounding of new orders.
    pub pricing: PricingPolicy,
    /// Tax rates.
    pub tax: TaxTable,
    /// Shipping methods.
    pub shipping: ShippingTable,
    /// Coupons.
    pub coupons: CouponTable,
    /// How many rules of each kind were read, for the start-up log.
    pub summary: Summary,
}

/// What a policy file holds, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Tax rules.
    pub tax_rules: usize,
    /// Shipping methods.
    pub shipping_methods: usize,
    /// Coupons.
    pub coupons: usize,
}

/// Why a policy file was refused.
#[derive(Debug, thiserror::Error)]
pub enum PolicyFileError {
    /// The file could not be read.
    #[error("cannot read the policy file {}: {source}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or a key is unknown or of the wrong type.
    #[error("the policy file {} is invalid: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A value breaks a rule.
    #[error("the policy file {} is invalid: `{key}`: {rule}", path.display())]
    Rule {
        /// The file.
        path: PathBuf,
        /// The key, as a path (`shipping.standard.price.EUR`).
        key: String,
        /// The rule it breaks.
        rule: String,
    },
}

/// A number as TOML can write it.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Number {
    Integer(i64),
    Text(String),
    Float(f64),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    pricing: PricingSection,
    #[serde(default)]
    tax: Vec<TaxRule>,
    #[serde(default)]
    shipping: BTreeMap<String, ShippingMethodSection>,
    #[serde(default)]
    coupons: BTreeMap<String, CouponSection>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PricingSection {
    tax_mode: Option<TaxMode>,
    rounding_mode: Option<RoundingMode>,
    rounding_level: Option<RoundingLevel>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TaxRule {
    country: Option<String>,
    region: Option<String>,
    class: String,
    rate: Number,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShippingMethodSection {
    #[serde(default)]
    countries: Vec<String>,
    price: BTreeMap<String, Number>,
    #[serde(default)]
    free_over: BTreeMap<String, Number>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CouponSection {
    percent: Option<Number>,
    amount: Option<BTreeMap<String, Number>>,
    #[serde(default)]
    products: Vec<String>,
    #[serde(default)]
    currencies: Vec<String>,
    #[serde(default)]
    min_subtotal: BTreeMap<String, Number>,
    valid_from: Option<toml::value::Datetime>,
    valid_until: Option<toml::value::Datetime>,
}

/// Reads and checks the policy file at `path`.
///
/// # Errors
/// [`PolicyFileError`] naming the file, and the key and rule where a value
/// is wrong.
pub fn load(path: &Path) -> Result<Policies, PolicyFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| PolicyFileError::Unreadable {
        path: path.to_owned(),
        source,
    })?;
    parse(&text).map_err(|err| err.in_file(path))
}

/// An error before the file's path is known.
#[derive(Debug)]
enum Invalid {
    Syntax(String),
    Rule { key: String, rule: String },
}

impl Invalid {
    fn rule(key: impl Into<String>, rule: impl Into<String>) -> Self {
        Self::Rule {
            key: key.into(),
            rule: rule.into(),
        }
    }

    fn in_file(self, path: &Path) -> PolicyFileError {
        let path = path.to_owned();
        match self {
            Self::Syntax(message) => PolicyFileError::Syntax { path, message },
            Self::Rule { key, rule } => PolicyFileError::Rule { path, key, rule },
        }
    }
}

/// Parses policy TOML.
fn parse(text: &str) -> Result<Policies, Invalid> {
    let file: PolicyFile =
        toml::from_str(text).map_err(|e| Invalid::Syntax(e.to_string().trim().to_owned()))?;
    let defaults = PricingPolicy::default();
    let pricing = PricingPolicy {
        tax_mode: file.pricing.tax_mode.unwrap_or(defaults.tax_mode),
        rounding_mode: file.pricing.rounding_mode.unwrap_or(defaults.rounding_mode),
        rounding_level: file
            .pricing
            .rounding_level
            .unwrap_or(defaults.rounding_level),
    };
    Ok(Policies {
        pricing,
        summary: Summary {
            tax_rules: file.tax.len(),
            shipping_methods: file.shipping.len(),
            coupons: file.coupons.len(),
        },
        tax: tax_table(&file.tax)?,
        shipping: shipping_table(&file.shipping)?,
        coupons: coupon_table(&file.coupons)?,
    })
}

fn decimal(key: &str, number: &Number) -> Result<Decimal, Invalid> {
    match number {
        Number::Integer(n) => Ok(Decimal::from(*n)),
        Number::Text(text) => text
            .trim()
            .parse::<Decimal>()
            .map_err(|_| Invalid::rule(key, format!("{text:?} is not a decimal number"))),
        Number::Float(value) => Err(Invalid::rule(
            key,
            format!(
                "write the number as a string (\"{value}\"): TOML floats are not exact decimals"
            ),
        )),
    }
}

fn currency(key: &str, code: &str) -> Result<Currency, Invalid> {
    Currency::parse(code).map_err(|e| Invalid::rule(key, e.to_string()))
}

fn money(key: &str, code: &str, number: &Number) -> Result<Money, Invalid> {
    let key = format!("{key}.{code}");
    let currency = currency(&key, code)?;
    Money::new(decimal(&key, number)?, currency).map_err(|e| Invalid::rule(&key, e.to_string()))
}

fn monies(key: &str, by_currency: &BTreeMap<String, Number>) -> Result<Vec<Money>, Invalid> {
    by_currency
        .iter()
        .map(|(code, number)| money(key, code, number))
        .collect()
}

fn percent(key: &str, number: &Number) -> Result<Percent, Invalid> {
    Percent::new(decimal(key, number)?)
        .map_err(|_| Invalid::rule(key, "must be a percentage between 0 and 100"))
}

fn country(key: &str, code: &str) -> Result<CountryCode, Invalid> {
    CountryCode::parse(code).map_err(|e| Invalid::rule(key, e.to_string()))
}

fn table_rule(key: &str) -> impl Fn(PolicyTableError) -> Invalid + '_ {
    move |e| Invalid::rule(key, e.to_string())
}

fn tax_table(rules: &[TaxRule]) -> Result<TaxTable, Invalid> {
    let mut table = TaxTable::default();
    let mut seen = BTreeMap::new();
    for (i, rule) in rules.iter().enumerate() {
        let key = format!("tax[{i}]");
        let class = TaxClass::parse(&rule.class)
            .map_err(|e| Invalid::rule(format!("{key}.class"), e.to_string()))?;
        let rate = percent(&format!("{key}.rate"), &rule.rate)?;
        let country = rule
            .country
            .as_deref()
            .map(|c| country(&format!("{key}.country"), c))
            .transpose()?;
        let region = rule.region.as_deref().map(str::trim);
        let scope = (
            country.map(|c| c.as_str().to_owned()),
            region.map(str::to_uppercase),
            class.as_str().to_owned(),
        );
        if let Some(earlier) = seen.insert(scope, i) {
            return Err(Invalid::rule(
                key,
                format!("repeats the scope of tax[{earlier}] (same country, region and class)"),
            ));
        }
        table = match (country, region) {
            (Some(country), Some(region)) if !region.is_empty() => {
                table.with_region_rate(country, region, class, rate)
            }
            (_, Some(_)) if country.is_none() => {
                return Err(Invalid::rule(
                    format!("{key}.region"),
                    "a region needs a country",
                ));
            }
            (_, Some(_)) => {
                return Err(Invalid::rule(format!("{key}.region"), "must not be empty"));
            }
            (Some(country), None) => table.with_rate(country, class, rate),
            (None, None) => table.with_default(class, rate),
        };
    }
    Ok(table)
}

fn shipping_table(
    methods: &BTreeMap<String, ShippingMethodSection>,
) -> Result<ShippingTable, Invalid> {
    let mut table = ShippingTable::default();
    for (name, section) in methods {
        let key = format!("shipping.{name}");
        let method = ShippingMethod::parse(name).map_err(|e| Invalid::rule(&key, e.to_string()))?;
        if section.price.is_empty() {
            return Err(Invalid::rule(
                format!("{key}.price"),
                "needs a price in at least one currency",
            ));
        }
        let mut rate = ShippingRate::default();
        let price_key = format!("{key}.price");
        for price in monies(&price_key, &section.price)? {
            rate = rate.with_price(price).map_err(table_rule(&price_key))?;
        }
        let free_key = format!("{key}.free_over");
        for threshold in monies(&free_key, &section.free_over)? {
            rate = rate
                .with_free_over(threshold)
                .map_err(table_rule(&free_key))?;
        }
        for (i, code) in section.countries.iter().enumerate() {
            rate = rate.to_country(country(&format!("{key}.countries[{i}]"), code)?);
        }
        table = table.with_method(method, rate);
    }
    Ok(table)
}

fn instant(
    key: &str,
    value: Option<&toml::value::Datetime>,
) -> Result<Option<DateTime<Utc>>, Invalid> {
    value
        .map(|datetime| {
            DateTime::parse_from_rfc3339(&datetime.to_string())
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    Invalid::rule(
                        key,
                        "must be a date and time with an offset (2026-06-01T00:00:00Z)",
                    )
                })
        })
        .transpose()
}

fn coupon(key: &str, section: &CouponSection) -> Result<Coupon, Invalid> {
    let mut coupon = match (&section.percent, &section.amount) {
        (Some(percentage), None) => {
            Coupon::percentage(percent(&format!("{key}.percent"), percentage)?)
        }
        (None, Some(amounts)) => {
            let amount_key = format!("{key}.amount");
            Coupon::fixed(monies(&amount_key, amounts)?).map_err(table_rule(&amount_key))?
        }
        (Some(_), Some(_)) => {
            return Err(Invalid::rule(
                key,
                "takes either `percent` or `amount`, not both",
            ));
        }
        (None, None) => {
            return Err(Invalid::rule(key, "needs `percent` or `amount`"));
        }
    };
    if !section.products.is_empty() {
        let products = section
            .products
            .iter()
            .enumerate()
            .map(|(i, raw)| {
                raw.parse::<ProductId>()
                    .map_err(|e| Invalid::rule(format!("{key}.products[{i}]"), e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        coupon = coupon.on_products(products).map_err(table_rule(key))?;
    }
    if !section.currencies.is_empty() {
        let currencies = section
            .currencies
            .iter()
            .enumerate()
            .map(|(i, code)| currency(&format!("{key}.currencies[{i}]"), code))
            .collect::<Result<Vec<_>, _>>()?;
        coupon = coupon
            .in_currencies(currencies)
            .map_err(table_rule(&format!("{key}.currencies")))?;
    }
    let min_key = format!("{key}.min_subtotal");
    for minimum in monies(&min_key, &section.min_subtotal)? {
        coupon = coupon
            .with_min_subtotal(minimum)
            .map_err(table_rule(&min_key))?;
    }
    let from = instant(&format!("{key}.valid_from"), section.valid_from.as_ref())?;
    let until = instant(&format!("{key}.valid_until"), section.valid_until.as_ref())?;
    coupon
        .valid_between(from, until)
        .map_err(table_rule(&format!("{key}.valid_until")))
}

fn coupon_table(coupons: &BTreeMap<String, CouponSection>) -> Result<CouponTable, Invalid> {
    let mut table = CouponTable::default();
    let mut seen = BTreeMap::new();
    for (code, section) in coupons {
        let key = format!("coupons.{code}");
        let parsed = CouponCode::parse(code).map_err(|e| Invalid::rule(&key, e.to_string()))?;
        if let Some(earlier) = seen.insert(code.to_ascii_uppercase(), code.clone()) {
            return Err(Invalid::rule(
                key,
                format!("codes match without regard to case: it repeats coupons.{earlier}"),
            ));
        }
        table = table.with_coupon(&parsed, coupon(&key, section)?);
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn refused(text: &str) -> (String, String) {
        match parse(text) {
            Err(Invalid::Rule { key, rule }) => (key, rule),
            Err(Invalid::Syntax(message)) => ("<syntax>".into(), message),
            Ok(_) => panic!("accepted:\n{text}"),
        }
    }

    #[test]
    fn an_empty_file_gives_empty_tables_and_default_pricing() {
        let policies = parse("").expect("valid");
        assert_eq!(policies.pricing, PricingPolicy::default());
        assert_eq!(policies.summary, Summary::default());
    }

    #[test]
    fn the_sample_config_parses_and_covers_usd_eur_and_jpy() {
        let sample = include_str!("../../config/sample.toml");
        let policies = parse(sample).expect("the sample is valid");
        assert!(policies.summary.tax_rules > 0);
        assert!(policies.summary.shipping_methods > 0);
        assert!(policies.summary.coupons > 0);
        for code in ["USD", "EUR", "JPY"] {
            assert!(sample.contains(code), "the sample prices in {code}");
        }
    }

    #[test]
    fn a_rate_above_100_percent_names_its_key() {
        let (key, rule) = refused("[[tax]]\nclass = \"standard\"\nrate = \"120\"\n");
        assert_eq!(key, "tax[0].rate");
        assert!(rule.contains("between 0 and 100"), "{rule}");
    }

    #[test]
    fn a_float_amount_is_refused_with_the_way_to_write_it() {
        let (key, rule) = refused("[shipping.standard]\nprice = { USD = 5.99 }\n");
        assert_eq!(key, "shipping.standard.price.USD");
        assert!(rule.contains("\"5.99\""), "{rule}");
    }

    #[test]
    fn an_amount_finer_than_the_currency_is_refused() {
        let (key, _) = refused("[shipping.standard]\nprice = { JPY = \"800.5\" }\n");
        assert_eq!(key, "shipping.standard.price.JPY");
    }

    #[test]
    fn an_unknown_currency_or_country_names_its_key() {
        let (key, _) = refused("[shipping.standard]\nprice = { XYZ = \"1\" }\n");
        assert_eq!(key, "shipping.standard.price.XYZ");
        let (key, _) =
            refused("[shipping.standard]\ncountries = [\"USA\"]\nprice = { USD = \"1.00\" }\n");
        assert_eq!(key, "shipping.standard.countries[0]");
    }

    #[test]
    fn free_shipping_needs_a_price_in_its_currency() {
        let (key, rule) = refused(
            "[shipping.standard]\nprice = { USD = \"5.99\" }\nfree_over = { EUR = \"50.00\" }\n",
        );
        assert_eq!(key, "shipping.standard.free_over");
        assert!(rule.contains("needs a price in EUR"), "{rule}");
    }

    #[test]
    fn a_repeated_tax_scope_is_refused() {
        let (key, rule) = refused(
            "[[tax]]\ncountry = \"DE\"\nclass = \"standard\"\nrate = \"19\"\n\
             [[tax]]\ncountry = \"DE\"\nclass = \"standard\"\nrate = \"7\"\n",
        );
        assert_eq!(key, "tax[1]");
        assert!(rule.contains("tax[0]"), "{rule}");
    }

    #[test]
    fn a_region_without_a_country_is_refused() {
        let (key, _) = refused("[[tax]]\nregion = \"CA\"\nclass = \"standard\"\nrate = \"7\"\n");
        assert_eq!(key, "tax[0].region");
    }

    #[test]
    fn a_coupon_needs_exactly_one_value_and_a_sound_window() {
        assert_eq!(refused("[coupons.X]\n").0, "coupons.X");
        assert_eq!(
            refused("[coupons.X]\npercent = \"5\"\namount = { USD = \"1.00\" }\n").0,
            "coupons.X"
        );
        let (key, _) = refused(
            "[coupons.X]\npercent = \"5\"\nvalid_from = 2026-02-01T00:00:00Z\nvalid_until = 2026-01-01T00:00:00Z\n",
        );
        assert_eq!(key, "coupons.X.valid_until");
        let (key, _) = refused("[coupons.X]\npercent = \"5\"\nvalid_from = 2026-02-01\n");
        assert_eq!(key, "coupons.X.valid_from");
    }

    #[test]
    fn an_unknown_key_is_a_syntax_error_naming_it() {
        let (key, message) = refused("[pricing]\ntax_mod = \"inclusive\"\n");
        assert_eq!(key, "<syntax>");
        assert!(message.contains("tax_mod"), "{message}");
    }

    #[test]
    fn pricing_names_parse() {
        let policies = parse(
            "[pricing]\ntax_mode = \"inclusive\"\nrounding_mode = \"half_up\"\nrounding_level = \"per_order\"\n",
        )
        .expect("valid");
        assert_eq!(policies.pricing.tax_mode, TaxMode::Inclusive);
        assert_eq!(policies.pricing.rounding_mode, RoundingMode::HalfUp);
        assert_eq!(policies.pricing.rounding_level, RoundingLevel::PerOrder);
    }
}
