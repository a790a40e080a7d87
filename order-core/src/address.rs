//! Postal [`Address`]es and the [`CountryCode`] that tax and shipping key on.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::text::bounded;

/// An ISO 3166-1 alpha-2 country code ("US", "DE").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// Parses two ASCII upper-case letters.
    ///
    /// # Errors
    /// [`ValidationError::BadFormat`] for anything else.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw.trim().as_bytes() {
            [a, b] if a.is_ascii_uppercase() && b.is_ascii_uppercase() => Ok(Self([*a, *b])),
            _ => Err(ValidationError::BadFormat {
                field: "country".into(),
                rule: "must be an ISO 3166-1 alpha-2 code such as US",
            }),
        }
    }

    /// The two letters.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("ZZ")
    }
}

impl TryFrom<String> for CountryCode {
    type Error = ValidationError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<CountryCode> for String {
    fn from(c: CountryCode) -> Self {
        c.as_str().to_owned()
    }
}

/// The raw fields of an address, as a caller supplies them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddressInput {
    /// Recipient's name; when blank, the first and last names joined.
    pub name: String,
    /// Recipient's first name, when the caller keeps it apart (the seeds'
    /// `first_name`).
    pub first_name: Option<String>,
    /// Recipient's last name, when the caller keeps it apart.
    pub last_name: Option<String>,
    /// First address line.
    pub line1: String,
    /// Second address line, if any.
    pub line2: Option<String>,
    /// City or locality.
    pub city: String,
    /// State, province or region, if the country uses one.
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 country.
    pub country: String,
    /// Phone number for the carrier, if any.
    pub phone: Option<String>,
    /// E-mail address for delivery notices, if any.
    pub email: Option<String>,
}

/// A validated postal address. Every field is trimmed, non-empty where
/// required and bounded.
#[derive(Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "AddressRepr")]
// Shared, not owned: an address is copied into every clone of its order and
// never changes once parsed.
pub struct Address(Arc<Fields>);

#[derive(PartialEq, Eq, Hash, Serialize)]
#[serde(rename = "Address")]
struct Fields {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_name: Option<String>,
    line1: String,
    line2: Option<String>,
    city: String,
    region: Option<String>,
    postal_code: String,
    country: CountryCode,
    phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
}

#[derive(Deserialize)]
struct AddressRepr {
    name: String,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    line1: String,
    line2: Option<String>,
    city: String,
    region: Option<String>,
    postal_code: String,
    country: String,
    phone: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

impl TryFrom<AddressRepr> for Address {
    type Error = ValidationError;
    fn try_from(r: AddressRepr) -> Result<Self, Self::Error> {
        Self::parse(AddressInput {
            name: r.name,
            first_name: r.first_name,
            last_name: r.last_name,
            line1: r.line1,
            line2: r.line2,
            city: r.city,
            region: r.region,
            postal_code: r.postal_code,
            country: r.country,
            phone: r.phone,
            email: r.email,
        })
    }
}

fn optional(
    field: &str,
    raw: Option<String>,
    max: usize,
) -> Result<Option<String>, ValidationError> {
    match raw {
        Some(text) if !text.trim().is_empty() => {
            bounded(field, &text, max).map(|t| Some(t.to_owned()))
        }
        _ => Ok(None),
    }
}

/// The e-mail shape the engine takes (no spaces or control characters
/// anywhere): a local part of 1 to 64 characters without `@`, then `@` and 2
/// to 4 labels of 1 to 63 characters without `@` or `.`, joined by dots.
fn is_email(text: &str) -> bool {
    let allowed = |c: char| !c.is_whitespace() && !c.is_control() && c != '@';
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    let labels: Vec<&str> = domain.split('.').collect();
    (1..=64).contains(&local.chars().count())
        && local.chars().all(allowed)
        && (2..=4).contains(&labels.len())
        && labels
            .iter()
            .all(|label| (1..=63).contains(&label.chars().count()) && label.chars().all(allowed))
}

impl Address {
    /// Validates every field; the error names the first field that is wrong.
    ///
    /// # Errors
    /// [`ValidationError`] with field `name` (blank, with no first or last
    /// name either), `first_name`, `last_name`, `line1`, `line2`, `city`,
    /// `region`, `postal_code`, `country`, `phone` or `email`.
    pub fn parse(input: AddressInput) -> Result<Self, ValidationError> {
        let phone = optional("phone", input.phone, 32)?;
        if let Some(p) = &phone {
            let ok = p
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')' | '.'));
            if !ok {
                return Err(ValidationError::BadFormat {
                    field: "phone".into(),
                    rule: "may contain only digits, spaces and + - ( ) .",
                });
            }
        }
        let email = optional("email", input.email, 320)?;
        if email.as_deref().is_some_and(|e| !is_email(e)) {
            return Err(ValidationError::BadFormat {
                field: "email".into(),
                rule: "must be an e-mail address: 1 to 64 characters, @, then 2 to 4 dot-separated labels of 1 to 63, no spaces",
            });
        }
        let first_name = optional("first_name", input.first_name, 100)?;
        let last_name = optional("last_name", input.last_name, 100)?;
        let name = if input.name.trim().is_empty() {
            let joined = [first_name.as_deref(), last_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            bounded("name", &joined, 200)?.to_owned()
        } else {
            bounded("name", &input.name, 200)?.to_owned()
        };
        Ok(Self(Arc::new(Fields {
            name,
            first_name,
            last_name,
            line1: bounded("line1", &input.line1, 200)?.to_owned(),
            line2: optional("line2", input.line2, 200)?,
            city: bounded("city", &input.city, 100)?.to_owned(),
            region: optional("region", input.region, 100)?,
            postal_code: bounded("postal_code", &input.postal_code, 20)?.to_owned(),
            country: CountryCode::parse(&input.country)?,
            phone,
            email,
        })))
    }

    /// Recipient's name.
    pub fn name(&self) -> &str {
        &self.0.name
    }
    /// Recipient's first name, when it was given apart.
    pub fn first_name(&self) -> Option<&str> {
        self.0.first_name.as_deref()
    }
    /// Recipient's last name, when it was given apart.
    pub fn last_name(&self) -> Option<&str> {
        self.0.last_name.as_deref()
    }
    /// First address line.
    pub fn line1(&self) -> &str {
        &self.0.line1
    }
    /// Second address line.
    pub fn line2(&self) -> Option<&str> {
        self.0.line2.as_deref()
    }
    /// City.
    pub fn city(&self) -> &str {
        &self.0.city
    }
    /// Region.
    pub fn region(&self) -> Option<&str> {
        self.0.region.as_deref()
    }
    /// Postal code.
    pub fn postal_code(&self) -> &str {
        &self.0.postal_code
    }
    /// Country.
    pub fn country(&self) -> CountryCode {
        self.0.country
    }
    /// Phone.
    pub fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    /// E-mail address.
    pub fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
}

// Debug and Serialize show the fields, as they did before the fields were
// shared.
impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = &self.0;
        f.debug_struct("Address")
            .field("name", &a.name)
            .field("first_name", &a.first_name)
            .field("last_name", &a.last_name)
            .field("line1", &a.line1)
            .field("line2", &a.line2)
            .field("city", &a.city)
            .field("region", &a.region)
            .field("postal_code", &a.postal_code)
            .field("country", &a.country)
            .field("phone", &a.phone)
            .field("email", &a.email)
            .finish()
    }
}

impl Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> AddressInput {
        AddressInput {
            name: "Jane Doe".into(),
            line1: "742 Evergreen Terrace".into(),
            line2: Some("  ".into()),
            city: "Springfield".into(),
            region: Some("OR".into()),
            postal_code: "97475".into(),
            country: "US".into(),
            phone: Some("+1-555-0100".into()),
            ..AddressInput::default()
        }
    }

    #[test]
    fn a_complete_address_parses_and_blank_optionals_become_none() {
        let a = Address::parse(input()).unwrap();
        assert_eq!(a.line2(), None);
        assert_eq!(a.country().as_str(), "US");
    }

    #[test]
    fn an_empty_city_is_named() {
        let err = Address::parse(AddressInput {
            city: " ".into(),
            ..input()
        })
        .unwrap_err();
        assert_eq!(err.field(), "city");
    }

    #[test]
    fn a_lower_case_country_is_refused() {
        let err = Address::parse(AddressInput {
            country: "us".into(),
            ..input()
        })
        .unwrap_err();
        assert_eq!(err.field(), "country");
    }

    #[test]
    fn an_address_serializes_and_prints_its_fields() {
        let a = Address::parse(input()).unwrap();
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "name": "Jane Doe",
                "line1": "742 Evergreen Terrace",
                "line2": null,
                "city": "Springfield",
                "region": "OR",
                "postal_code": "97475",
                "country": "US",
                "phone": "+1-555-0100",
            })
        );
        assert_eq!(serde_json::from_value::<Address>(json).unwrap(), a);
        assert!(format!("{a:?}").starts_with(r#"Address { name: "Jane Doe", first_name: None"#));
    }

    #[test]
    fn first_and_last_names_make_the_name_when_none_is_given_and_round_trip() {
        let a = Address::parse(AddressInput {
            name: String::new(),
            first_name: Some("Jane".into()),
            last_name: Some(" Doe ".into()),
            email: Some("jane@example.com".into()),
            ..input()
        })
        .unwrap();
        assert_eq!(a.name(), "Jane Doe");
        assert_eq!((a.first_name(), a.last_name()), (Some("Jane"), Some("Doe")));
        assert_eq!(a.email(), Some("jane@example.com"));
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["first_name"], "Jane");
        assert_eq!(json["email"], "jane@example.com");
        assert_eq!(serde_json::from_value::<Address>(json).unwrap(), a);
    }

    #[test]
    fn no_name_at_all_is_named_and_a_bad_email_is_refused() {
        let unnamed = Address::parse(AddressInput {
            name: " ".into(),
            ..input()
        })
        .unwrap_err();
        assert_eq!(unnamed.field(), "name");
        let err = Address::parse(AddressInput {
            email: Some("jane at example".into()),
            ..input()
        })
        .unwrap_err();
        assert_eq!(err.field(), "email");
    }
}
