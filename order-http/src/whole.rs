//! Whole numbers as JSON Schema and I-JSON count them: `3` and `3.0` are
//! both the integer 3, so a request field documented as an integer takes
//! either. A JSON string is not a number; query strings carry numbers as
//! text (`text`, `text_option`) and get the same rule. Negative, fractional
//! and out-of-range values are refused with serde's usual messages, which
//! the extractors turn into 400 problems.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, Visitor};

/// Deserializes a whole number into `T` (`u32`, `u64`, `usize`).
///
/// # Errors
/// A serde error for anything but a whole number `T` can hold.
pub(crate) fn deserialize<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    deserializer.deserialize_any(Whole::<T, false>(PhantomData))
}

/// A whole number written as text (a query string's value).
///
/// # Errors
/// As [`deserialize`].
pub(crate) fn text<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    deserializer.deserialize_any(Whole::<T, true>(PhantomData))
}

/// [`text`] for an optional query parameter.
///
/// # Errors
/// As [`deserialize`].
pub(crate) fn text_option<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    deserializer.deserialize_option(Maybe::<T, true>(PhantomData))
}

/// Visits a whole number; `TEXT` also takes one written as a string.
struct Whole<T, const TEXT: bool>(PhantomData<T>);

impl<T: TryFrom<u64>, const TEXT: bool> Whole<T, TEXT> {
    fn fit<E: de::Error>(value: u64) -> Result<T, E> {
        T::try_from(value).map_err(|_| {
            E::invalid_value(de::Unexpected::Unsigned(value), &"a smaller whole number")
        })
    }
}

impl<T: TryFrom<u64>, const TEXT: bool> Visitor<'_> for Whole<T, TEXT> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole number")
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<T, E> {
        Self::fit(value)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<T, E> {
        u64::try_from(value)
            .map_err(|_| E::invalid_value(de::Unexpected::Signed(value), &self))
            .and_then(Self::fit)
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<T, E> {
        // Exactly representable whole numbers only: 2^53 and below.
        const EXACT: f64 = 9_007_199_254_740_992.0;
        if value.fract() == 0.0 && (0.0..=EXACT).contains(&value) {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Self::fit(value as u64)
        } else {
            Err(E::invalid_value(de::Unexpected::Float(value), &self))
        }
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
        if !TEXT {
            return Err(E::invalid_type(de::Unexpected::Str(text), &self));
        }
        match text.parse::<u64>() {
            Ok(value) => Self::fit(value),
            Err(_) => match text.parse::<f64>() {
                Ok(value) if value.is_finite() => self.visit_f64(value),
                _ => Err(E::invalid_value(de::Unexpected::Str(text), &self)),
            },
        }
    }
}

struct Maybe<T, const TEXT: bool>(PhantomData<T>);

impl<'de, T: TryFrom<u64>, const TEXT: bool> Visitor<'de> for Maybe<T, TEXT> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole number or nothing")
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<T>, D::Error> {
        deserializer
            .deserialize_any(Whole::<T, TEXT>(PhantomData))
            .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(deserialize_with = "super::deserialize")]
        quantity: u32,
    }

    fn parse(json: &str) -> Result<Body, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn an_integral_float_is_the_whole_number() {
        assert_eq!(
            parse(r#"{"quantity": 124.0}"#).expect("accepted").quantity,
            124
        );
    }

    #[test]
    fn fractions_negatives_and_overflow_are_refused() {
        for json in [
            r#"{"quantity": 1.5}"#,
            r#"{"quantity": -1}"#,
            r#"{"quantity": 4294967296}"#,
            r#"{"quantity": "3"}"#,
        ] {
            assert!(parse(json).is_err(), "{json}");
        }
    }

    #[test]
    fn query_strings_carry_whole_numbers_as_text() {
        #[derive(Debug, Deserialize)]
        struct Query {
            #[serde(default, deserialize_with = "super::text_option")]
            limit: Option<usize>,
        }
        let query: Query = serde_urlencoded::from_str("limit=20.0").expect("accepted");
        assert_eq!(query.limit, Some(20));
        let query: Query = serde_urlencoded::from_str("").expect("accepted");
        assert_eq!(query.limit, None);
        assert!(serde_urlencoded::from_str::<Query>("limit=2.5").is_err());
    }
}
