//! Bounded, validated text values: SKUs, names, notes, codes, carriers,
//! reasons. Each trims its input and rejects empty, over-long or malformed
//! text, naming the field.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// Checks the shared rules (trimmed, non-empty, bounded, no control
/// characters) and returns the trimmed text.
pub(crate) fn bounded<'a>(
    field: &str,
    raw: &'a str,
    max: usize,
) -> Result<&'a str, ValidationError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(ValidationError::Empty {
            field: field.into(),
        });
    }
    // Most text is ASCII (codes, references, SKUs): one byte a character,
    // and its control characters are the bytes below 0x20 and 0x7f, so one
    // pass over the bytes answers both questions without decoding UTF-8.
    let ascii = trimmed.is_ascii();
    let len = if ascii {
        trimmed.len()
    } else {
        trimmed.chars().count()
    };
    if len > max {
        return Err(ValidationError::TooLong {
            field: field.into(),
            max,
            len,
        });
    }
    let control = if ascii {
        trimmed
            .bytes()
            .any(|b| (b < 0x20 && b != b'\n') || b == 0x7f)
    } else {
        trimmed.chars().any(|c| c.is_control() && c != '\n')
    };
    if control {
        return Err(ValidationError::BadFormat {
            field: field.into(),
            rule: "must not contain control characters",
        });
    }
    Ok(trimmed)
}

macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:expr) => {
        bounded_text!($(#[$doc])* $name, $field, $max, |_s: &str| Ok(()));
    };
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:expr, $extra:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
        #[serde(try_from = "String")]
        // Shared, not owned: orders, events and records are cloned often,
        // and text never changes once parsed.
        pub struct $name(Arc<str>);

        impl $name {
            /// The most characters this value may have.
            pub const MAX_LEN: usize = $max;

            /// Parses trimmed text.
            ///
            /// # Errors
            /// A [`ValidationError`] naming the field when the text is empty,
            /// longer than the bound, or malformed.
            pub fn parse(raw: &str) -> Result<Self, ValidationError> {
                let text = bounded($field, raw, $max)?;
                let extra: fn(&str) -> Result<(), &'static str> = $extra;
                extra(text).map_err(|rule| ValidationError::BadFormat { field: $field.into(), rule })?;
                Ok(Self(text.into()))
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValidationError;
            fn try_from(raw: String) -> Result<Self, Self::Error> {
                Self::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0.as_ref().to_owned()
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

fn code_chars(s: &str) -> Result<(), &'static str> {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
    {
        Ok(())
    } else {
        Err("may contain only ASCII letters, digits and - _ . /")
    }
}

bounded_text!(
    /// A stock-keeping unit: ASCII letters, digits and `- _ . /`, at most 64.
    Sku,
    "sku",
    64,
    code_chars
);
bounded_text!(
    /// A product's display name as it was when the order was placed.
    ProductName,
    "name",
    200
);
bounded_text!(
    /// Free-text notes on an order, at most 2,000 characters.
    Notes,
    "notes",
    2_000
);
bounded_text!(
    /// A coupon code as the customer typed it.
    CouponCode,
    "coupon_code",
    64,
    code_chars
);
bounded_text!(
    /// A shipping method known to the shipping policy ("standard", "express").
    ShippingMethod,
    "shipping_method",
    64,
    code_chars
);
bounded_text!(
    /// A tax class known to the tax policy ("standard", "reduced", "zero").
    TaxClass,
    "tax_class",
    64,
    code_chars
);
bounded_text!(
    /// A carrier's name ("UPS", "DHL Express").
    Carrier,
    "carrier",
    100
);
bounded_text!(
    /// A carrier's tracking number.
    TrackingNumber,
    "tracking_number",
    100,
    code_chars
);
bounded_text!(
    /// Why something happened (a cancellation, a return, a refund).
    Reason,
    "reason",
    500
);
bounded_text!(
    /// Who did something: a user id, "system", a service name.
    Actor,
    "actor",
    200
);
bounded_text!(
    /// A payment gateway's reference for a transaction.
    GatewayReference,
    "gateway_reference",
    200
);

bounded_text!(
    /// How the customer pays, as the seeds name it (`credit_card`,
    /// `paypal`, `bank_transfer`): ASCII letters, digits and `- _ . /`, at
    /// most 64. The engine passes it to the gateway and keeps it on the
    /// order; which methods exist is the gateway's business.
    PaymentMethod,
    "payment_method",
    64,
    code_chars
);

/// A payment instrument's token from the payment provider's client side (a
/// card token, a wallet nonce), at most 512 characters. It is passed to the
/// gateway and never stored nor logged: `Debug` does not show it and it has
/// no `Serialize`.
#[derive(Clone, PartialEq, Eq)]
pub struct PaymentToken(Arc<str>);

impl PaymentToken {
    /// Parses trimmed text.
    ///
    /// # Errors
    /// A [`ValidationError`] on `payment_token` when the text is empty,
    /// longer than 512 characters, or has control characters.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        bounded("payment_token", raw, 512).map(|text| Self(text.into()))
    }

    /// The token, for the gateway request.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PaymentToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PaymentToken(redacted)")
    }
}

impl Actor {
    /// The engine itself (expiry, completion, compensation).
    pub fn system() -> Self {
        Self("system".into())
    }
}

fn webhook_url(s: &str) -> Result<(), &'static str> {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or("must be an http:// or https:// URL")?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must be an http:// or https:// URL with a host and no spaces");
    }
    Ok(())
}

bounded_text!(
    /// Where a webhook subscription's deliveries go: an `http://` or
    /// `https://` URL with a host.
    WebhookUrl,
    "url",
    2_000,
    webhook_url
);

fn webhook_secret(s: &str) -> Result<(), &'static str> {
    let encoded = s
        .strip_prefix("whsec_")
        .ok_or("must be whsec_ followed by the base64 of 24 to 64 random bytes")?;
    let base64 = encoded
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='));
    if base64 && (32..=88).contains(&encoded.len()) {
        Ok(())
    } else {
        Err("must be whsec_ followed by the base64 of 24 to 64 random bytes")
    }
}

bounded_text!(
    /// The key deliveries are signed with, in the Standard Webhooks form
    /// (`whsec_` and the base64 of 24 to 64 random bytes).
    WebhookSecret,
    "secret",
    94,
    webhook_secret
);

fn event_type_chars(s: &str) -> Result<(), &'static str> {
    if s == "*"
        || (s.contains('.')
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_')))
    {
        Ok(())
    } else {
        Err("must be an event type such as order.created, or *")
    }
}

bounded_text!(
    /// An event type a webhook subscription asks for (`order.created`), or
    /// `*` for every type.
    EventTypeName,
    "event_types",
    100,
    event_type_chars
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed() {
        assert_eq!(Sku::parse("  ABC-1 ").unwrap().as_str(), "ABC-1");
    }

    #[test]
    fn blank_text_is_empty() {
        assert!(matches!(
            Notes::parse("   "),
            Err(ValidationError::Empty { .. })
        ));
    }

    #[test]
    fn over_long_text_names_the_field_and_bound() {
        let err = Sku::parse(&"A".repeat(65)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "sku: must be at most 64 characters (got 65)"
        );
    }

    #[test]
    fn a_sku_with_spaces_is_malformed() {
        assert!(matches!(
            Sku::parse("A B"),
            Err(ValidationError::BadFormat { .. })
        ));
    }

    #[test]
    fn control_characters_are_refused() {
        assert!(ProductName::parse("bad\u{0}name").is_err());
    }

    #[test]
    fn ascii_and_other_text_follow_the_same_rules() {
        // Lengths count characters, not bytes.
        assert!(ProductName::parse(&"é".repeat(200)).is_ok());
        assert!(ProductName::parse(&"é".repeat(201)).is_err());
        assert!(ProductName::parse(&"e".repeat(201)).is_err());
        // Control characters, ASCII (DEL, tab) or not (NEL), are refused;
        // a newline is not.
        for bad in ["a\u{7f}b", "a\tb", "é\u{7f}", "a\u{85}b"] {
            assert!(Notes::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Notes::parse("one\ntwo").is_ok());
        assert!(Notes::parse("été\nhiver").is_ok());
    }

    #[test]
    fn text_serializes_as_a_plain_string() {
        let sku = Sku::parse(" ABC-1 ").unwrap();
        assert_eq!(serde_json::to_string(&sku).unwrap(), r#""ABC-1""#);
        assert_eq!(serde_json::from_str::<Sku>(r#"" ABC-1""#).unwrap(), sku);
        assert!(serde_json::from_str::<Sku>(r#""A B""#).is_err());
        assert_eq!(format!("{sku:?}"), r#"Sku("ABC-1")"#);
        assert_eq!(String::from(sku), "ABC-1");
    }
}
