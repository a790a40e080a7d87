//! Exact money: an ISO 4217 [`Currency`] with its minor units, and [`Money`],
//! a decimal amount that always sits on its currency's minor unit.
//!
//! There are no floats here. Arithmetic is checked: mixing currencies or
//! overflowing is an error, never a silent result. Rounding of values that fall
//! between minor units happens only through [`Money::round`], with an explicit
//! [`RoundingMode`].

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::error::MoneyError;

/// An ISO 4217 currency this engine knows, with its number of minor units.
///
/// The list covers the active ISO 4217 codes whose minor units are not 2
/// plus the common 2-digit ones; an unknown code is rejected rather than
/// guessed, because a wrong minor unit silently corrupts every amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency {
    code: [u8; 3],
    minor_units: u8,
}

/// ISO 4217 codes and minor units. Sorted by code for binary search.
const CURRENCIES: &[(&str, u8)] = &[
    ("AED", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BIF", 0),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CLF", 4),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("CZK", 2),
    ("DJF", 0),
    ("DKK", 2),
    ("EGP", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("GNF", 0),
    ("HKD", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("IQD", 3),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KMF", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("LYD", 3),
    ("MXN", 2),
    ("MYR", 2),
    ("NGN", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("RON", 2),
    ("RWF", 0),
    ("SAR", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("THB", 2),
    ("TND", 3),
    ("TRY", 2),
    ("TWD", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("UYI", 0),
    ("UYW", 4),
    ("VND", 0),
    ("VUV", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("XPF", 0),
    ("ZAR", 2),
];

impl Currency {
    /// US dollar (2 minor units).
    pub const USD: Self = Self::known(*b"USD", 2);
    /// Euro (2 minor units).
    pub const EUR: Self = Self::known(*b"EUR", 2);
    /// Pound sterling (2 minor units).
    pub const GBP: Self = Self::known(*b"GBP", 2);
    /// Japanese yen (no minor unit).
    pub const JPY: Self = Self::known(*b"JPY", 0);
    /// Kuwaiti dinar (3 minor units).
    pub const KWD: Self = Self::known(*b"KWD", 3);

    const fn known(code: [u8; 3], minor_units: u8) -> Self {
        Self { code, minor_units }
    }

    /// Parses an ISO 4217 alphabetic code (upper case, as ISO writes it).
    ///
    /// # Errors
    /// [`MoneyError::UnknownCurrency`] when the code is not an ISO 4217 code this
    /// engine knows.
    ///
    /// ```
    /// # use order_core::Currency;
    /// assert_eq!(Currency::parse("KWD").unwrap().minor_units(), 3);
    /// assert!(Currency::parse("usd").is_err());
    /// ```
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        let unknown = || MoneyError::UnknownCurrency {
            code: code.chars().take(8).collect(),
        };
        let index = CURRENCIES
            .binary_search_by(|(known, _)| known.cmp(&code))
            .map_err(|_| unknown())?;
        let (known, minor_units) = CURRENCIES[index];
        let bytes = known.as_bytes();
        Ok(Self {
            code: [bytes[0], bytes[1], bytes[2]],
            minor_units,
        })
    }

    /// The three-letter code.
    pub fn code(&self) -> &str {
        // The code always comes from the ASCII table above.
        std::str::from_utf8(&self.code).unwrap_or("XXX")
    }

    /// Digits after the decimal point (USD 2, JPY 0, KWD 3).
    pub fn minor_units(&self) -> u32 {
        u32::from(self.minor_units)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Currency {
    type Error = MoneyError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> Self {
        value.code().to_owned()
    }
}

/// How a value between two minor units becomes one of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundingMode {
    /// Ties go to the even neighbour (banker's rounding), the default: it has
    /// no bias over many roundings.
    #[default]
    HalfEven,
    /// Ties go away from zero (commercial rounding).
    HalfUp,
    /// Ties go toward zero.
    HalfDown,
    /// Always toward zero (truncate).
    Down,
    /// Always away from zero.
    Up,
}

impl RoundingMode {
    fn strategy(self) -> RoundingStrategy {
        match self {
            Self::HalfEven => RoundingStrategy::MidpointNearestEven,
            Self::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            Self::HalfDown => RoundingStrategy::MidpointTowardZero,
            Self::Down => RoundingStrategy::ToZero,
            Self::Up => RoundingStrategy::AwayFromZero,
        }
    }

    /// Rounds `value` to `scale` decimal places.
    pub fn round(self, value: Decimal, scale: u32) -> Decimal {
        value.round_dp_with_strategy(scale, self.strategy())
    }

    /// `n / d` rounded to a whole number, as [`RoundingMode::round`] rounds
    /// the exact quotient; `d` is positive.
    pub(crate) fn div(self, n: i128, d: i128) -> i128 {
        debug_assert!(d > 0);
        // Every amount an order carries fits 64 bits, where division is one
        // instruction rather than a 128-bit library call.
        let (quotient, remainder) = match (i64::try_from(n), i64::try_from(d)) {
            (Ok(n), Ok(d)) => (i128::from(n / d), i128::from(n % d)),
            _ => (n / d, n % d),
        };
        if remainder == 0 {
            return quotient;
        }
        // The neighbour away from zero; `quotient` is the one toward zero.
        let away = quotient + n.signum();
        let tie_goes_away = match self {
            Self::Down => return quotient,
            Self::Up => return away,
            Self::HalfUp => true,
            Self::HalfDown => false,
            Self::HalfEven => quotient % 2 != 0,
        };
        // Twice the remainder against the divisor: beyond, short of, or
        // exactly at the midpoint.
        match (remainder.unsigned_abs() * 2).cmp(&d.unsigned_abs()) {
            std::cmp::Ordering::Greater => away,
            std::cmp::Ordering::Less => quotient,
            std::cmp::Ordering::Equal if tie_goes_away => away,
            std::cmp::Ordering::Equal => quotient,
        }
    }
}

/// An exact amount in one currency, always on the currency's minor unit.
///
/// Amounts may be negative (a balance, a difference); rules that need a
/// non-negative amount check it where they apply. What the engine keeps is
/// bounded (ADR 0006): a unit price by [`Money::check_unit_price`], every
/// line and order amount by [`Money::check_amount`], so every store can hold
/// every amount.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "MoneyRepr")]
pub struct Money {
    // The amount as a whole number of minor units, which makes arithmetic
    // integer arithmetic: it is what a `Decimal` on the currency's scale
    // would hold as its mantissa, so it has at most 96 bits (`MAX_MINOR`).
    // It is kept as 64 low bits and the signed rest, so a `Money` takes 24
    // bytes where an `i128` field would align it to 32.
    low: u64,
    high: i64,
    currency: Currency,
}

/// The largest magnitude of [`Money::minor`]: a `Decimal`'s mantissa.
const MAX_MINOR: i128 = (1 << 96) - 1;

/// 10^0 ..= 10^28, every scale a `Decimal` has: a lookup, where `pow` is a
/// loop of 128-bit multiplications.
const POWERS_OF_TEN: [i128; 29] = {
    let mut powers = [1; 29];
    let mut exponent = 1;
    while exponent < powers.len() {
        powers[exponent] = powers[exponent - 1] * 10;
        exponent += 1;
    }
    powers
};

/// 10^`exponent`, for a decimal scale (at most 28).
pub(crate) fn power_of_ten(exponent: u32) -> i128 {
    POWERS_OF_TEN[exponent as usize]
}

impl Money {
    /// The largest unit price, 10^12 in major units of any currency (ADR
    /// 0006): a price is greater than zero and at most this.
    pub const MAX_UNIT_PRICE: Decimal = Decimal::from_parts(0xD4A5_1000, 0xE8, 0, false, 0);

    /// The largest amount of a line or an order — subtotal, discount, tax,
    /// shipping, total, and so every payment and refund — 10^14 in major
    /// units of any currency (ADR 0006). In minor units it fits a signed
    /// 64-bit integer for every currency (at most 4 decimals), and it fits
    /// every store's columns.
    pub const MAX_AMOUNT: Decimal = Decimal::from_parts(0x107A_4000, 0x5AF3, 0, false, 0);

    /// Builds an amount that already sits on the currency's minor unit.
    ///
    /// # Errors
    /// [`MoneyError::TooPrecise`] when `amount` has more decimals than the
    /// currency allows (1.005 USD): such a value must be rounded by a stated
    /// policy with [`Money::round`], not silently; [`MoneyError::Overflow`]
    /// when the amount is too large to carry the currency's decimals.
    ///
    /// ```
    /// # use order_core::{Currency, Money};
    /// # use rust_decimal::Decimal;
    /// let price = Money::new(Decimal::new(1999, 2), Currency::USD).unwrap();
    /// assert_eq!(price.to_string(), "19.99 USD");
    /// assert!(Money::new(Decimal::new(1, 1), Currency::JPY).is_err());
    /// ```
    pub fn new(amount: Decimal, currency: Currency) -> Result<Self, MoneyError> {
        let normalized = amount.normalize();
        if normalized.scale() > currency.minor_units() {
            return Err(MoneyError::TooPrecise {
                amount,
                currency,
                minor_units: currency.minor_units(),
            });
        }
        Self::on_scale(amount, currency).ok_or(MoneyError::Overflow)
    }

    /// Parses a decimal string ("19.99") in `currency`.
    ///
    /// # Errors
    /// [`MoneyError::NotADecimal`] for text that is not a plain decimal number,
    /// and the errors of [`Money::new`].
    pub fn parse(text: &str, currency: Currency) -> Result<Self, MoneyError> {
        let trimmed = text.trim();
        let valid_chars = !trimmed.is_empty()
            && trimmed
                .chars()
                .enumerate()
                .all(|(i, c)| c.is_ascii_digit() || c == '.' || (i == 0 && c == '-'));
        let amount = valid_chars
            .then(|| Decimal::from_str_exact(trimmed).ok())
            .flatten()
            .ok_or_else(|| MoneyError::NotADecimal {
                text: text.chars().take(40).collect(),
            })?;
        Self::new(amount, currency)
    }

    /// Rounds any decimal onto the currency's minor unit with `mode`.
    ///
    /// A value too large to carry the currency's decimals (beyond 10^24 or
    /// so major units, far past [`Money::MAX_AMOUNT`]) saturates at the
    /// largest amount of its sign.
    pub fn round(amount: Decimal, currency: Currency, mode: RoundingMode) -> Self {
        let rounded = mode.round(amount, currency.minor_units());
        Self::on_scale(rounded, currency).unwrap_or_else(|| {
            let limit = if rounded.is_sign_negative() {
                -MAX_MINOR
            } else {
                MAX_MINOR
            };
            Self::of_minor(limit, currency)
        })
    }

    /// Zero in `currency`.
    pub fn zero(currency: Currency) -> Self {
        Self::of_minor(0, currency)
    }

    /// An amount given as a count of minor units (cents for USD).
    ///
    /// # Errors
    /// [`MoneyError::Overflow`] when the count does not fit a decimal.
    pub fn from_minor(minor: i128, currency: Currency) -> Result<Self, MoneyError> {
        if minor.unsigned_abs() > MAX_MINOR.unsigned_abs() {
            return Err(MoneyError::Overflow);
        }
        Ok(Self::of_minor(minor, currency))
    }

    /// The amount as a count of minor units.
    pub fn minor(&self) -> i128 {
        (i128::from(self.high) << 64) | i128::from(self.low)
    }

    /// `minor` must be within `MAX_MINOR`.
    fn of_minor(minor: i128, currency: Currency) -> Self {
        debug_assert!(minor.unsigned_abs() <= MAX_MINOR.unsigned_abs());
        Self {
            // Truncation is the split: the low 64 bits, then the rest, which
            // fits 33 bits with the sign.
            low: minor as u64,
            high: (minor >> 64) as i64,
            currency,
        }
    }

    /// `amount` on the currency's scale, or `None` when it has too many
    /// digits to carry the currency's decimals.
    fn on_scale(mut amount: Decimal, currency: Currency) -> Option<Self> {
        amount.rescale(currency.minor_units());
        // `rescale` leaves a value too large for the scale on a coarser one.
        (amount.scale() == currency.minor_units())
            .then(|| Self::of_minor(amount.mantissa(), currency))
    }

    /// The checked result of integer arithmetic on minor units.
    fn checked(minor: Option<i128>, currency: Currency) -> Result<Self, MoneyError> {
        minor
            .filter(|m| m.unsigned_abs() <= MAX_MINOR.unsigned_abs())
            .map(|m| Self::of_minor(m, currency))
            .ok_or(MoneyError::Overflow)
    }

    /// The decimal amount.
    pub fn amount(&self) -> Decimal {
        let minor = self.minor();
        let magnitude = minor.unsigned_abs();
        // Within `MAX_MINOR`, the magnitude is exactly the three 32-bit words
        // of a decimal's mantissa.
        Decimal::from_parts(
            magnitude as u32,
            (magnitude >> 32) as u32,
            (magnitude >> 64) as u32,
            minor < 0,
            self.currency.minor_units(),
        )
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// True when the amount is zero.
    pub fn is_zero(&self) -> bool {
        self.minor() == 0
    }

    /// True when the amount is below zero.
    pub fn is_negative(&self) -> bool {
        self.high < 0
    }

    /// Checks that this amount may be a unit price: greater than zero and at
    /// most [`Money::MAX_UNIT_PRICE`].
    ///
    /// # Errors
    /// [`MoneyError::NotPositive`] or [`MoneyError::TooLarge`].
    ///
    /// ```
    /// # use order_core::{Currency, Money};
    /// assert!(Money::parse("19.99", Currency::USD).unwrap().check_unit_price().is_ok());
    /// assert!(Money::parse("0", Currency::USD).unwrap().check_unit_price().is_err());
    /// assert!(Money::parse("1000000000000.01", Currency::USD).unwrap().check_unit_price().is_err());
    /// ```
    pub fn check_unit_price(&self) -> Result<(), MoneyError> {
        if self.minor() <= 0 {
            return Err(MoneyError::NotPositive {
                amount: self.amount(),
            });
        }
        self.within(Self::MAX_UNIT_PRICE)
    }

    /// Checks that this amount may be a line or order amount: at most
    /// [`Money::MAX_AMOUNT`] either side of zero.
    ///
    /// # Errors
    /// [`MoneyError::TooLarge`].
    pub fn check_amount(&self) -> Result<(), MoneyError> {
        self.within(Self::MAX_AMOUNT)
    }

    /// `max` is one of the whole-number bounds above.
    fn within(&self, max: Decimal) -> Result<(), MoneyError> {
        // At most 10^14 × 10^4 minor units: no overflow.
        let limit = max.mantissa() * power_of_ten(self.currency.minor_units());
        if self.minor().unsigned_abs() <= limit.unsigned_abs() {
            Ok(())
        } else {
            Err(MoneyError::TooLarge {
                amount: self.amount(),
                max,
            })
        }
    }

    fn same_currency(&self, other: &Self) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }

    /// `self + other`.
    ///
    /// # Errors
    /// [`MoneyError::CurrencyMismatch`] or [`MoneyError::Overflow`].
    pub fn checked_add(&self, other: &Self) -> Result<Self, MoneyError> {
        self.same_currency(other)?;
        Self::checked(self.minor().checked_add(other.minor()), self.currency)
    }

    /// `self - other`.
    ///
    /// # Errors
    /// [`MoneyError::CurrencyMismatch`] or [`MoneyError::Overflow`].
    pub fn checked_sub(&self, other: &Self) -> Result<Self, MoneyError> {
        self.same_currency(other)?;
        Self::checked(self.minor().checked_sub(other.minor()), self.currency)
    }

    /// `self × n`, exact (multiplying by a whole number needs no rounding).
    ///
    /// # Errors
    /// [`MoneyError::Overflow`].
    pub fn checked_mul(&self, n: u32) -> Result<Self, MoneyError> {
        Self::checked(self.minor().checked_mul(i128::from(n)), self.currency)
    }

    /// Sums amounts that must all be in `currency`.
    ///
    /// # Errors
    /// [`MoneyError::CurrencyMismatch`] or [`MoneyError::Overflow`].
    pub fn sum<'a>(
        currency: Currency,
        items: impl IntoIterator<Item = &'a Self>,
    ) -> Result<Self, MoneyError> {
        items
            .into_iter()
            .try_fold(Self::zero(currency), |acc, m| acc.checked_add(m))
    }

    /// The smaller of two amounts in one currency.
    ///
    /// # Errors
    /// [`MoneyError::CurrencyMismatch`].
    pub fn min(&self, other: &Self) -> Result<Self, MoneyError> {
        self.same_currency(other)?;
        Ok(if self.minor() <= other.minor() {
            *self
        } else {
            *other
        })
    }

    /// Compares two amounts in one currency.
    ///
    /// # Errors
    /// [`MoneyError::CurrencyMismatch`].
    pub fn cmp_amount(&self, other: &Self) -> Result<std::cmp::Ordering, MoneyError> {
        self.same_currency(other)?;
        Ok(self.minor().cmp(&other.minor()))
    }
}

// Debug and Serialize show the decimal amount, as they did when `Money` held
// one: the event payloads are a published contract.
impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Money")
            .field("amount", &self.amount())
            .field("currency", &self.currency)
            .finish()
    }
}

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut money = serializer.serialize_struct("Money", 2)?;
        money.serialize_field("amount", &self.amount())?;
        money.serialize_field("currency", &self.currency)?;
        money.end()
    }
}

/// The wire shape of [`Money`], checked by [`Money::new`] on the way in.
#[derive(Deserialize)]
struct MoneyRepr {
    amount: Decimal,
    currency: Currency,
}

impl TryFrom<MoneyRepr> for Money {
    type Error = MoneyError;
    fn try_from(value: MoneyRepr) -> Result<Self, Self::Error> {
        Self::new(value.amount, value.currency)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount(), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(minor: i128) -> Money {
        Money::from_minor(minor, Currency::USD).unwrap()
    }

    #[test]
    fn the_currency_table_is_sorted_for_binary_search() {
        assert!(CURRENCIES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn minor_units_follow_iso_4217() {
        assert_eq!(Currency::parse("USD").unwrap().minor_units(), 2);
        assert_eq!(Currency::parse("JPY").unwrap().minor_units(), 0);
        assert_eq!(Currency::parse("KWD").unwrap().minor_units(), 3);
        assert_eq!(Currency::KWD, Currency::parse("KWD").unwrap());
    }

    #[test]
    fn an_unknown_currency_is_rejected() {
        assert!(matches!(
            Currency::parse("XYZ"),
            Err(MoneyError::UnknownCurrency { .. })
        ));
    }

    #[test]
    fn an_amount_finer_than_the_minor_unit_is_rejected() {
        assert!(Money::new(Decimal::new(1005, 3), Currency::USD).is_err());
        assert!(Money::new(Decimal::new(1000, 3), Currency::USD).is_ok());
        assert!(Money::new(Decimal::new(1005, 3), Currency::KWD).is_ok());
    }

    #[test]
    fn amounts_always_carry_the_currency_scale() {
        let m = Money::new(Decimal::new(5, 0), Currency::USD).unwrap();
        assert_eq!(m.amount().scale(), 2);
        assert_eq!(m.minor(), 500);
        assert_eq!(m.to_string(), "5.00 USD");
    }

    #[test]
    fn mixing_currencies_is_an_error() {
        let eur = Money::zero(Currency::EUR);
        assert!(matches!(
            usd(1).checked_add(&eur),
            Err(MoneyError::CurrencyMismatch { .. })
        ));
    }

    #[test]
    fn arithmetic_is_exact() {
        let a = usd(10);
        let b = usd(20);
        assert_eq!(a.checked_add(&b).unwrap(), usd(30));
        assert_eq!(a.checked_sub(&b).unwrap(), usd(-10));
        assert_eq!(usd(333).checked_mul(3).unwrap(), usd(999));
    }

    #[test]
    fn rounding_follows_the_stated_mode() {
        let half = Decimal::new(1005, 3);
        assert_eq!(
            Money::round(half, Currency::USD, RoundingMode::HalfEven),
            usd(100)
        );
        assert_eq!(
            Money::round(half, Currency::USD, RoundingMode::HalfUp),
            usd(101)
        );
        assert_eq!(
            Money::round(half, Currency::USD, RoundingMode::Down),
            usd(100)
        );
    }

    #[test]
    fn the_bounds_are_ten_to_the_twelfth_and_fourteenth() {
        assert_eq!(Money::MAX_UNIT_PRICE, Decimal::from(1_000_000_000_000_i64));
        assert_eq!(Money::MAX_AMOUNT, Decimal::from(100_000_000_000_000_i64));
        // Every amount within the bound, in minor units of the finest
        // currency (4 decimals), fits a signed 64-bit integer.
        let finest = Money::new(Money::MAX_AMOUNT, Currency::parse("CLF").unwrap()).unwrap();
        assert!(i64::try_from(finest.minor()).is_ok());
    }

    #[test]
    fn a_unit_price_is_positive_and_at_most_the_bound() {
        let price = |text: &str| {
            Money::parse(text, Currency::USD)
                .unwrap()
                .check_unit_price()
        };
        assert_eq!(price("0.01"), Ok(()));
        assert_eq!(price("1000000000000.00"), Ok(()));
        assert!(matches!(price("0"), Err(MoneyError::NotPositive { .. })));
        assert!(matches!(
            price("-40.00"),
            Err(MoneyError::NotPositive { .. })
        ));
        for too_large in [
            "1000000000000.01",
            "9999999999999999.99",
            "99999999999999999999.99",
            "999999999999999999999.99",
        ] {
            assert!(
                matches!(price(too_large), Err(MoneyError::TooLarge { .. })),
                "{too_large}"
            );
        }
    }

    #[test]
    fn a_line_or_order_amount_is_at_most_the_bound_either_side_of_zero() {
        let amount = |text: &str| Money::parse(text, Currency::KWD).unwrap().check_amount();
        assert_eq!(amount("100000000000000.000"), Ok(()));
        assert_eq!(amount("-100000000000000.000"), Ok(()));
        assert_eq!(amount("0"), Ok(()));
        assert!(matches!(
            amount("100000000000000.001"),
            Err(MoneyError::TooLarge { .. })
        ));
        assert!(matches!(
            amount("-100000000000000.001"),
            Err(MoneyError::TooLarge { .. })
        ));
    }

    #[test]
    fn an_amount_too_large_for_the_minor_unit_is_an_overflow_not_a_wrong_scale() {
        // 28 digits and one decimal cannot carry USD's two decimals.
        assert_eq!(
            Money::parse("7922816251426433759354395033.5", Currency::USD),
            Err(MoneyError::Overflow)
        );
        let large = Money::parse("79228162514264337593543950.33", Currency::USD).unwrap();
        assert_eq!(large.amount().scale(), 2);
    }

    #[test]
    fn parsing_rejects_exponents_and_garbage() {
        assert!(Money::parse("1e3", Currency::USD).is_err());
        assert!(Money::parse("abc", Currency::USD).is_err());
        assert!(Money::parse("", Currency::USD).is_err());
        assert_eq!(Money::parse("12.30", Currency::USD).unwrap(), usd(1230));
    }

    #[test]
    fn minor_units_round_trip_up_to_the_decimal_limit() {
        for minor in [
            0,
            1,
            -1,
            (1 << 64) - 1,
            1 << 64,
            -(1 << 64),
            MAX_MINOR,
            -MAX_MINOR,
        ] {
            let money = usd(minor);
            assert_eq!(money.minor(), minor);
            assert_eq!(money.amount(), Decimal::from_i128_with_scale(minor, 2));
            assert_eq!(money.is_negative(), minor < 0);
        }
    }

    #[test]
    fn a_count_beyond_a_decimal_mantissa_is_an_overflow() {
        assert_eq!(
            Money::from_minor(MAX_MINOR + 1, Currency::USD),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            usd(MAX_MINOR).checked_add(&usd(1)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            usd(-MAX_MINOR).checked_sub(&usd(1)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(usd(MAX_MINOR).checked_mul(2), Err(MoneyError::Overflow));
        assert_eq!(
            usd(MAX_MINOR).checked_mul(u32::MAX),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn debug_and_serde_show_the_decimal_amount() {
        let price = usd(-1999);
        assert_eq!(
            format!("{price:?}"),
            "Money { amount: -19.99, currency: Currency { code: [85, 83, 68], minor_units: 2 } }"
        );
        let json = serde_json::to_string(&price).unwrap();
        assert_eq!(json, r#"{"amount":"-19.99","currency":"USD"}"#);
        assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), price);
    }

    fn any_mode() -> impl proptest::strategy::Strategy<Value = RoundingMode> {
        proptest::sample::select(vec![
            RoundingMode::HalfEven,
            RoundingMode::HalfUp,
            RoundingMode::HalfDown,
            RoundingMode::Down,
            RoundingMode::Up,
        ])
    }

    proptest::proptest! {
        #[test]
        fn integer_arithmetic_agrees_with_decimal_arithmetic(
            a in -(1_i128 << 90)..(1_i128 << 90),
            b in -(1_i128 << 90)..(1_i128 << 90),
            n in 0u32..=10_000,
        ) {
            let (x, y) = (usd(a), usd(b));
            proptest::prop_assert_eq!(x.checked_add(&y).unwrap().amount(), x.amount() + y.amount());
            proptest::prop_assert_eq!(x.checked_sub(&y).unwrap().amount(), x.amount() - y.amount());
            proptest::prop_assert_eq!(x.cmp_amount(&y).unwrap(), x.amount().cmp(&y.amount()));
            let product = x.amount().checked_mul(Decimal::from(n)).filter(|p| p.scale() == 2);
            proptest::prop_assert_eq!(x.checked_mul(n).ok().map(|m| m.amount()), product);
        }

        #[test]
        fn integer_rounding_agrees_with_decimal_rounding(
            n in -(1_i128 << 95)..(1_i128 << 95),
            scale in 0u32..=28,
            mode in any_mode(),
        ) {
            let rounded = mode.div(n, 10_i128.pow(scale));
            let decimal = mode.round(Decimal::from_i128_with_scale(n, scale), 0);
            proptest::prop_assert_eq!(Decimal::from(rounded), decimal);
        }
    }
}
