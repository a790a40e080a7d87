//! The seeds' request bodies and what they share: the create body every
//! seed posts (the contracts seed's `userId`, `items[{productId, quantity,
//! price}]`, `currency`, and the snake_case names of the seeds' schemas),
//! the address the seeds' schemas describe, the "set status" body, an
//! optional JSON body for action routes the seeds call without one, and
//! amounts as exact JSON numbers.

use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, header};
use order_core::{
    Address, AddressInput, Carrier, CouponCode, Currency, CustomerId, DetailsChange, Money,
    NewLine, Notes, PaymentInstrument, PaymentMethod, PaymentToken, PlaceOrder, ProductId,
    Quantity, Reason, ShippingMethod, TrackingNumber, ValidationError, VariantId,
};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

use super::names::GoalDetails;
use crate::error::ApiError;
use crate::extract::{AppJson, id, unless_blank};
use crate::state::AppState;

/// An order's amount as an exact JSON number (`49.99`), as the seeds write
/// amounts: the decimal's own text, never through a float.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Amount(pub(crate) Money);

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(self.0.amount().to_string())
            .map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

/// A field's text as a domain value, the error naming the field.
fn parse<T>(
    field: &str,
    raw: Option<&str>,
    parse: impl Fn(&str) -> Result<T, ValidationError>,
) -> Result<Option<T>, ApiError> {
    raw.map(|text| parse(text).map_err(|err| ApiError::from(err.at(field))))
        .transpose()
}

/// An exact decimal from a JSON number or string (`49.99`, `"49.99"`).
fn decimal(field: &str, raw: &RawValue) -> Result<Decimal, ApiError> {
    let text = raw.get();
    let literal = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    if literal.contains(['e', 'E']) {
        return Err(ApiError::BadRequest {
            detail: format!("{field}: must be a plain decimal such as 49.99, without an exponent"),
            field: Some(field.to_owned()),
        });
    }
    Decimal::from_str_exact(literal.trim()).map_err(|_| ApiError::BadRequest {
        detail: format!("{field}: must be a decimal number such as 49.99"),
        field: Some(field.to_owned()),
    })
}

/// An address as the seeds' schemas write it: the Go plan's `first_name`,
/// `last_name`, `address_line1`, `state`, `postal_code`, `phone`, `email`
/// (or their camelCase), or the engine's own names.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SeedAddressBody {
    /// The recipient, whole.
    #[serde(default)]
    name: Option<String>,
    /// Given name.
    #[serde(default, alias = "firstName")]
    first_name: Option<String>,
    /// Family name.
    #[serde(default, alias = "lastName")]
    last_name: Option<String>,
    /// First line.
    #[serde(
        default,
        alias = "address_line1",
        alias = "addressLine1",
        alias = "street"
    )]
    line1: Option<String>,
    /// Second line.
    #[serde(default, alias = "address_line2", alias = "addressLine2")]
    line2: Option<String>,
    /// City.
    #[serde(default)]
    city: Option<String>,
    /// State or region.
    #[serde(default, alias = "state")]
    region: Option<String>,
    /// Postal code.
    #[serde(
        default,
        alias = "postalCode",
        alias = "zip",
        alias = "zipCode",
        alias = "zip_code"
    )]
    postal_code: Option<String>,
    /// ISO 3166-1 alpha-2 country.
    #[serde(default)]
    country: Option<String>,
    /// Phone.
    #[serde(default)]
    phone: Option<String>,
    /// E-mail.
    #[serde(default)]
    email: Option<String>,
    /// `SHIPPING` or `BILLING` (the Go plan's; the field it is sent in says
    /// which).
    #[serde(default, alias = "addressType")]
    address_type: Option<String>,
}

impl SeedAddressBody {
    /// The domain address; the recipient is `name`, or (order-core joins
    /// them) the first and last names, which the address keeps too. The
    /// address type is the field the address came in.
    fn try_into_domain(self, field: &str) -> Result<Address, ApiError> {
        // The field the address came in says which address it is; the Go
        // plan's `address_type` only repeats it.
        let _ = self.address_type;
        Address::parse(AddressInput {
            name: self.name.unwrap_or_default(),
            first_name: self.first_name,
            last_name: self.last_name,
            email: self.email,
            line1: self.line1.unwrap_or_default(),
            line2: self.line2,
            city: self.city.unwrap_or_default(),
            region: self.region,
            postal_code: self.postal_code.unwrap_or_default(),
            country: self.country.unwrap_or_default(),
            phone: self.phone,
        })
        .map_err(|err| ApiError::from(err.at(field)))
    }
}

/// One item of a seed's order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SeedItemBody {
    /// The product (a UUID).
    #[serde(alias = "productId")]
    product_id: String,
    /// The variant (a UUID).
    #[serde(default, alias = "variantId")]
    variant_id: Option<String>,
    /// Units.
    #[serde(deserialize_with = "crate::whole::deserialize")]
    quantity: u32,
    /// The unit price the client saw; placement is refused if the
    /// catalog's differs (prices come from the catalog).
    #[serde(default, alias = "unit_price", alias = "unitPrice")]
    price: Option<Box<RawValue>>,
}

/// The body every seed posts to create an order, in the contracts seed's
/// camelCase or the seeds' snake_case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SeedCreateBody {
    /// The customer, as the contracts seed names it (the body is then the
    /// contracts seed's, and so is the answer on a route both share);
    /// customers may omit it (their token names them).
    #[serde(default, rename = "userId")]
    user_id_camel: Option<String>,
    /// The customer, as the seeds' schemas name it.
    #[serde(default, alias = "customer_id", alias = "customerId")]
    user_id: Option<String>,
    /// ISO 4217; `USD` when absent, the seeds' schema default.
    #[serde(default)]
    currency: Option<String>,
    /// What to buy.
    items: Vec<SeedItemBody>,
    /// Where physical goods go.
    #[serde(default, alias = "shippingAddress")]
    shipping_address: Option<SeedAddressBody>,
    /// Where the invoice goes.
    #[serde(default, alias = "billingAddress")]
    billing_address: Option<SeedAddressBody>,
    /// How physical goods travel; the configured default when absent.
    #[serde(default, alias = "shippingMethod")]
    shipping_method: Option<String>,
    /// How the customer pays (`credit_card`, …).
    #[serde(default, alias = "paymentMethod")]
    payment_method: Option<String>,
    /// A coupon.
    #[serde(default, alias = "couponCode")]
    coupon_code: Option<String>,
    /// Notes.
    #[serde(default)]
    notes: Option<String>,
}

/// The currency an order is placed in when a seed's body names none: the
/// seeds' schemas default their `currency` column to it.
const DEFAULT_CURRENCY: &str = "USD";

impl SeedCreateBody {
    /// The customer the body names, if it names one.
    ///
    /// # Errors
    /// 400 naming `userId` when it is not a UUID.
    pub(crate) fn customer(&self) -> Result<Option<CustomerId>, ApiError> {
        match (&self.user_id_camel, &self.user_id) {
            (Some(_), Some(_)) => Err(ApiError::BadRequest {
                detail: "userId: give userId or user_id (customer_id), not both".into(),
                field: Some("userId".into()),
            }),
            (Some(raw), None) => id("userId", raw, |s| s.parse()).map(Some),
            (None, Some(raw)) => id("user_id", raw, |s| s.parse()).map(Some),
            (None, None) => Ok(None),
        }
    }

    /// True when the body names its customer as the contracts seed does
    /// (`userId`).
    pub(crate) fn is_contracts(&self) -> bool {
        self.user_id_camel.is_some()
    }

    /// The domain request for `customer`; `default_method` when the body
    /// names no shipping method.
    ///
    /// # Errors
    /// 400 or 422 naming the first invalid field.
    pub(crate) fn try_into_domain(
        self,
        customer: CustomerId,
        default_method: Option<&ShippingMethod>,
    ) -> Result<PlaceOrder, ApiError> {
        let currency = Currency::parse(self.currency.as_deref().unwrap_or(DEFAULT_CURRENCY))
            .map_err(|source| {
                ApiError::from(ValidationError::Money {
                    field: "currency".into(),
                    source,
                })
            })?;
        let mut lines = Vec::with_capacity(self.items.len());
        for (i, item) in self.items.into_iter().enumerate() {
            let field = format!("items[{i}]");
            let product = id(&format!("{field}.productId"), &item.product_id, |s| {
                s.parse::<uuid::Uuid>()
                    .map_err(|_| ValidationError::InvalidId {
                        field: "product_id",
                        rule: "must be a UUID",
                    })
                    .and_then(ProductId::new)
            })?;
            let variant = item
                .variant_id
                .as_deref()
                .map(|raw| {
                    id(&format!("{field}.variantId"), raw, |s| {
                        s.parse::<uuid::Uuid>()
                            .map_err(|_| ValidationError::InvalidId {
                                field: "variant_id",
                                rule: "must be a UUID",
                            })
                            .and_then(VariantId::new)
                    })
                })
                .transpose()?;
            let expected = item
                .price
                .as_deref()
                .map(|raw| {
                    let field = format!("{field}.price");
                    let amount = decimal(&field, raw)?;
                    Money::new(amount, currency)
                        .map_err(|source| ApiError::from(ValidationError::Money { field, source }))
                })
                .transpose()?;
            lines.push(NewLine {
                product_id: product,
                variant_id: variant,
                quantity: Quantity::new(item.quantity)
                    .map_err(|err| ApiError::from(err.at(&field)))?,
                expected_unit_price: expected,
            });
        }
        let shipping_method = match self.shipping_method.as_deref() {
            Some(raw) => parse("shippingMethod", Some(raw), ShippingMethod::parse)?,
            None => default_method.cloned(),
        };
        let payment_method = parse(
            "paymentMethod",
            self.payment_method.as_deref(),
            PaymentMethod::parse,
        )?;
        Ok(PlaceOrder {
            customer_id: customer,
            currency,
            lines,
            shipping_address: self
                .shipping_address
                .map(|a| a.try_into_domain("shippingAddress"))
                .transpose()?,
            billing_address: self
                .billing_address
                .map(|a| a.try_into_domain("billingAddress"))
                .transpose()?,
            shipping_method,
            payment_method,
            coupon: parse("couponCode", self.coupon_code.as_deref(), CouponCode::parse)?,
            notes: parse("notes", self.notes.as_deref(), Notes::parse)?,
        })
    }
}

/// The details change of a seed's update (`PUT /orders/{id}` without a
/// status): notes, addresses, shipping method, as the clean API's `PATCH`.
///
/// # Errors
/// 422 naming the first invalid field.
pub(crate) fn details_change(
    notes: Option<&str>,
    shipping_address: Option<SeedAddressBody>,
    billing_address: Option<SeedAddressBody>,
    shipping_method: Option<&str>,
) -> Result<DetailsChange, ApiError> {
    Ok(DetailsChange {
        notes: parse("notes", notes, Notes::parse)?.map(Some),
        shipping_address: shipping_address
            .map(|a| a.try_into_domain("shipping_address"))
            .transpose()?,
        billing_address: billing_address
            .map(|a| a.try_into_domain("billing_address").map(Some))
            .transpose()?,
        shipping_method: parse("shipping_method", shipping_method, ShippingMethod::parse)?,
    })
}

/// The optional body of the seeds' payment routes (`POST …/payment`,
/// `POST /orders/{id}/checkout`): how the customer pays and the payment
/// method's token (passed to the gateway, never stored).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PaymentBody {
    /// How the customer pays (`credit_card`, …).
    #[serde(default, alias = "paymentMethod")]
    payment_method: Option<String>,
    /// The payment method's token.
    #[serde(
        default,
        alias = "cardToken",
        alias = "paymentToken",
        alias = "payment_token"
    )]
    token: Option<String>,
}

impl PaymentBody {
    /// What the payer pays with.
    ///
    /// # Errors
    /// 422 naming `payment_method` or `payment_token`.
    pub(crate) fn instrument(&self) -> Result<PaymentInstrument, ApiError> {
        Ok(PaymentInstrument {
            method: parse(
                "payment_method",
                self.payment_method.as_deref(),
                PaymentMethod::parse,
            )?,
            token: parse("payment_token", self.token.as_deref(), PaymentToken::parse)?,
        })
    }
}

/// A "set status" body (`PUT …/status`, `PATCH …/status`, the status of
/// `PUT /orders/{id}`): the seed's status name, and optionally why and the
/// parcel's carrier and tracking number.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetStatusBody {
    /// The status to reach, in the seed's vocabulary.
    pub(crate) status: String,
    /// Why (cancel, return, refund).
    #[serde(default, alias = "notes")]
    pub(crate) reason: Option<String>,
    /// The carrier, for `shipped`.
    #[serde(default)]
    pub(crate) carrier: Option<String>,
    /// The tracking number, for `shipped`.
    #[serde(default, alias = "trackingNumber")]
    pub(crate) tracking_number: Option<String>,
}

impl SetStatusBody {
    /// The reason, carrier and tracking number as domain values.
    ///
    /// # Errors
    /// 422 naming the first invalid field.
    pub(crate) fn details(&self) -> Result<GoalDetails, ApiError> {
        ActionBody {
            reason: self.reason.clone(),
            carrier: self.carrier.clone(),
            tracking_number: self.tracking_number.clone(),
        }
        .details()
    }
}

/// The optional body of the seeds' action routes (`/cancel`, `/ship`,
/// `/return`, `DELETE`): why, and the parcel's carrier and tracking number.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActionBody {
    /// Why.
    #[serde(default, alias = "notes")]
    pub(crate) reason: Option<String>,
    /// The carrier.
    #[serde(default)]
    pub(crate) carrier: Option<String>,
    /// The tracking number.
    #[serde(default, alias = "trackingNumber")]
    pub(crate) tracking_number: Option<String>,
}

impl ActionBody {
    /// The reason, carrier and tracking number as domain values.
    ///
    /// # Errors
    /// 422 naming the first invalid field.
    pub(crate) fn details(&self) -> Result<GoalDetails, ApiError> {
        Ok(GoalDetails {
            reason: parse("reason", self.reason.as_deref(), Reason::parse)?,
            carrier: parse("carrier", self.carrier.as_deref(), Carrier::parse)?,
            tracking_number: parse(
                "tracking_number",
                self.tracking_number.as_deref(),
                TrackingNumber::parse,
            )?,
        })
    }
}

/// A seed's JSON body, whatever its content type says: the seeds' own
/// examples post JSON with `curl -d`, which labels it a form. Read as
/// [`AppJson`] reads, with the same problems for bad JSON.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SeedJson<T>(pub(crate) T);

impl<T: DeserializeOwned> FromRequest<AppState> for SeedJson<T> {
    type Rejection = ApiError;

    async fn from_request(mut req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        req.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let AppJson(value) = AppJson::<T>::from_request(req, state).await?;
        Ok(Self(value))
    }
}

/// A JSON body the seeds may leave out: an empty body is `T::default()`;
/// otherwise as [`SeedJson`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct OptionalJson<T>(pub(crate) T);

impl<T: DeserializeOwned + Default> FromRequest<AppState> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(req) = unless_blank(req, state.limits.body_bytes).await? else {
            return Ok(Self(T::default()));
        };
        let SeedJson(value) = SeedJson::<T>::from_request(req, state).await?;
        Ok(Self(value))
    }
}
