//! [`OrderNumber`]: the human-readable number printed on invoices
//! (`ORD-2026-000123`). Numbers are issued by the `OrderNumbers` port so a
//! store can back them with a database sequence.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// A unique, human-readable order number: upper-case ASCII letters, digits and
/// dashes, 3 to 32 characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
// Shared, not owned: the number is copied into every clone of its order.
pub struct OrderNumber(Arc<str>);

impl OrderNumber {
    /// Parses an order number.
    ///
    /// # Errors
    /// [`ValidationError::BadFormat`] unless the text is 3–32 characters of
    /// `A-Z`, `0-9` and `-`.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let text = raw.trim();
        let ok = (3..=32).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(text.into()))
        } else {
            Err(ValidationError::BadFormat {
                field: "order_number".into(),
                rule: "must be 3-32 characters of A-Z, 0-9 and -",
            })
        }
    }

    /// The conventional number for the `sequence`-th order of `year`:
    /// `ORD-2026-000123`.
    pub fn from_sequence(year: i32, sequence: u64) -> Self {
        let mut text = String::with_capacity(16);
        text.push_str("ORD-");
        if year < 0 {
            text.push('-');
        }
        // `{:04}` counts a minus sign in the width.
        push_padded(
            &mut text,
            u64::from(year.unsigned_abs()),
            4 - usize::from(year < 0),
        );
        text.push('-');
        push_padded(&mut text, sequence, 6);
        Self(text.into())
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Appends `n` in decimal, with leading zeros up to `width` digits, straight
/// into `text`: no string of its digits and no formatting machinery, which
/// cost more than the rest of an order number (every placement writes one,
/// and every checkout a payment key).
pub(crate) fn push_padded(text: &mut String, n: u64, width: usize) {
    // u64::MAX has 20 digits.
    let mut digits = [0; 20];
    let mut start = digits.len();
    let mut rest = n;
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    text.extend(std::iter::repeat_n(
        '0',
        width.saturating_sub(digits.len() - start),
    ));
    // ASCII digits, so always UTF-8; copied at once rather than a char at a
    // time.
    if let Ok(digits) = std::str::from_utf8(&digits[start..]) {
        text.push_str(digits);
    }
}

impl TryFrom<String> for OrderNumber {
    type Error = ValidationError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<OrderNumber> for String {
    fn from(n: OrderNumber) -> Self {
        n.0.as_ref().to_owned()
    }
}

impl Serialize for OrderNumber {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl fmt::Display for OrderNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_are_zero_padded() {
        assert_eq!(
            OrderNumber::from_sequence(2026, 123).as_str(),
            "ORD-2026-000123"
        );
    }

    #[test]
    fn lower_case_is_refused() {
        assert!(OrderNumber::parse("ord-1").is_err());
    }

    #[test]
    fn a_number_serializes_as_its_text() {
        let number = OrderNumber::from_sequence(2026, 7);
        let json = serde_json::to_string(&number).unwrap();
        assert_eq!(json, r#""ORD-2026-000007""#);
        assert_eq!(serde_json::from_str::<OrderNumber>(&json).unwrap(), number);
    }

    proptest::proptest! {
        #[test]
        fn a_sequence_number_reads_as_the_padded_format(year in -10_000i32..100_000, sequence: u64) {
            let number = OrderNumber::from_sequence(year, sequence);
            proptest::prop_assert_eq!(number.as_str(), format!("ORD-{year:04}-{sequence:06}"));
        }
    }
}
