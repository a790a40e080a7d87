//! The wire format: request bodies (`…RequestBody`, unknown fields refused)
//! with their conversion into domain values, and response bodies built from
//! domain values. Money is a decimal string with its currency beside it.

use chrono::{DateTime, Utc};
use order_core::ports::Product;
use order_core::pricing::Totals;
use order_core::report::Report;
use order_core::{
    Address, AddressInput, Currency, CustomerId, EventRecord, LineQuantity, Money, NewLine, Order,
    OrderLine, PaymentEntry, ProductId, ProductKind, Quantity, Return, Shipment, StatusChange,
    VariantId,
};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::ApiError;

/// Deserializes a field that may be absent (unchanged), `null` (cleared) or
/// a value (set).
fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

fn at<T>(field: &str, result: Result<T, order_core::ValidationError>) -> Result<T, ApiError> {
    result.map_err(|err| ApiError::from(err.at(field)))
}

/// An amount as its decimal text, for responses.
pub fn amount(m: &Money) -> String {
    m.amount().to_string()
}

fn money(field: &str, text: &str, currency: Currency) -> Result<Money, ApiError> {
    Money::parse(text, currency).map_err(|source| {
        ApiError::from(order_core::ValidationError::Money {
            field: field.to_owned(),
            source,
        })
    })
}

fn currency(code: &str) -> Result<Currency, ApiError> {
    Currency::parse(code).map_err(|source| {
        ApiError::from(order_core::ValidationError::Money {
            field: "currency".into(),
            source,
        })
    })
}

/// A postal address.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressBody {
    /// Recipient.
    #[schema(value_type = crate::openapi::Text200)]
    pub name: String,
    /// Recipient's first name, kept apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::openapi::OptionalText100>)]
    pub first_name: Option<String>,
    /// Recipient's last name, kept apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::openapi::OptionalText100>)]
    pub last_name: Option<String>,
    /// First line.
    #[schema(value_type = crate::openapi::Text200)]
    pub line1: String,
    /// Second line.
    #[serde(default)]
    #[schema(value_type = Option<crate::openapi::OptionalText200>)]
    pub line2: Option<String>,
    /// City.
    #[schema(value_type = crate::openapi::Text100)]
    pub city: String,
    /// Region or state.
    #[serde(default)]
    #[schema(value_type = Option<crate::openapi::OptionalText100>)]
    pub region: Option<String>,
    /// Postal code.
    #[schema(value_type = crate::openapi::Text20)]
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 country, e.g. `US`.
    #[schema(value_type = crate::openapi::CountryCode)]
    pub country: String,
    /// Phone.
    #[serde(default)]
    #[schema(value_type = Option<crate::openapi::Phone>)]
    pub phone: Option<String>,
    /// E-mail for delivery notices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::openapi::Email>)]
    pub email: Option<String>,
}

impl AddressBody {
    fn try_into_domain(self, field: &str) -> Result<Address, ApiError> {
        at(
            field,
            Address::parse(AddressInput {
                name: self.name,
                first_name: self.first_name,
                last_name: self.last_name,
                line1: self.line1,
                line2: self.line2,
                city: self.city,
                region: self.region,
                postal_code: self.postal_code,
                country: self.country,
                phone: self.phone,
                email: self.email,
            }),
        )
    }

    fn from_domain(a: &Address) -> Self {
        Self {
            name: a.name().to_owned(),
            first_name: a.first_name().map(str::to_owned),
            last_name: a.last_name().map(str::to_owned),
            line1: a.line1().to_owned(),
            line2: a.line2().map(str::to_owned),
            city: a.city().to_owned(),
            region: a.region().map(str::to_owned),
            postal_code: a.postal_code().to_owned(),
            country: a.country().as_str().to_owned(),
            phone: a.phone().map(str::to_owned),
            email: a.email().map(str::to_owned),
        }
    }
}

/// One line of a new order.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLineBody {
    /// The product.
    #[schema(value_type = crate::openapi::ExternalId)]
    pub product_id: Uuid,
    /// The variant.
    #[serde(default)]
    #[schema(value_type = Option<crate::openapi::ExternalId>)]
    pub variant_id: Option<Uuid>,
    /// Units, 1 to 10,000.
    #[schema(minimum = 1, maximum = 10000)]
    #[serde(deserialize_with = "crate::whole::deserialize")]
    pub quantity: u32,
    /// The unit price the customer saw (decimal string); placement is
    /// refused if the catalog's differs.
    #[serde(default)]
    #[schema(value_type = Option<crate::openapi::Decimal>)]
    pub expected_unit_price: Option<String>,
}

/// `POST /api/v1/orders`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrderRequestBody {
    /// The customer; customers may omit it (their token names them).
    #[serde(default)]
    #[schema(value_type = Option<crate::openapi::ExternalId>)]
    pub customer_id: Option<Uuid>,
    /// ISO 4217 currency, e.g. `USD`.
    #[schema(value_type = crate::openapi::CurrencyCode)]
    pub currency: String,
    /// What to buy.
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Vec<NewLineBody>,
    /// Where physical goods go.
    #[serde(default)]
    pub shipping_address: Option<AddressBody>,
    /// Where the invoice goes.
    #[serde(default)]
    pub billing_address: Option<AddressBody>,
    /// `standard`, `express`, …
    #[serde(default)]
    #[schema(value_type = Option<crate::openapi::Code64>)]
    pub shipping_method: Option<String>,
    /// How the customer means to pay (`credit_card`, `paypal`): kept on
    /// the order and passed to the payment gateway at checkout.
    #[serde(default)]
    #[schema(value_type = Option<crate::openapi::PaymentMethod>)]
    pub payment_method: Option<String>,
    /// A coupon.
    #[serde(default)]
    #[schema(value_type = Option<crate::openapi::Code64>)]
    pub coupon_code: Option<String>,
    /// Notes.
    #[serde(default)]
    #[schema(value_type = Option<crate::openapi::Text2000>)]
    pub notes: Option<String>,
}

impl CreateOrderRequestBody {
    /// The domain request, for `customer`.
    ///
    /// # Errors
    /// 422 naming the first invalid field.
    pub fn try_into_domain(self, customer: CustomerId) -> Result<order_core::PlaceOrder, ApiError> {
        let currency = currency(&self.currency)?;
        let mut lines = Vec::with_capacity(self.lines.len());
        for (i, line) in self.lines.into_iter().enumerate() {
            let field = format!("lines[{i}]");
            lines.push(NewLine {
                product_id: at(&field, ProductId::new(line.product_id))?,
                variant_id: line
                    .variant_id
                    .map(VariantId::new)
                    .transpose()
                    .map_err(|e| ApiError::from(e.at(&field)))?,
                quantity: at(&field, Quantity::new(line.quantity))?,
                expected_unit_price: line
                    .expected_unit_price
                    .as_deref()
                    .map(|p| money(&format!("{field}.expected_unit_price"), p, currency))
                    .transpose()?,
            });
        }
        Ok(order_core::PlaceOrder {
            customer_id: customer,
            currency,
            lines,
            shipping_address: self
                .shipping_address
                .map(|a| a.try_into_domain("shipping_address"))
                .transpose()?,
            billing_address: self
                .billing_address
                .map(|a| a.try_into_domain("billing_address"))
                .transpose()?,
            shipping_method: self
                .shipping_method
                .as_deref()
                .map(order_core::ShippingMethod::parse)
                .transpose()?,
            payment_method: self
                .payment_method
                .as_deref()
                .map(order_core::PaymentMethod::parse)
                .transpose()?,
            coupon: self
                .coupon_code
                .as_deref()
                .map(order_core::CouponCode::parse)
                .transpose()?,
            notes: self
                .notes
                .as_deref()
                .map(order_core::Notes::parse)
                .transpose()?,
        })
    }
}

/// `PATCH /api/v1/orders/{id}`: absent fields stay, `null` clears notes or
/// the billing address.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchOrderRequestBody {
    /// New notes, or `null` to clear them.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<crate::openapi::Text2000>)]
    pub notes: Option<Option<String>>,
    /// New shipping address.
    #[serde(default)]
    pub shipping_address: Option<AddressBody>,
    /// New billing address, or `null` to clear it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<AddressBody>)]
    pub billing_address: Option<Option<AddressBody>>,
    /// New shipping method (re-prices a pending, unpaid order).
    #[serde(default)]
    #[schema(value_type = Option<crate::openapi::Code64>)]
    pub shipping_method: Option<String>,
}

impl PatchOrderRequestBody {
    /// The domain change.
    ///
    /// # Errors
    /// 422 naming the first invalid field.
    pub fn try_into_domain(self) -> Result<order_core::DetailsChange, ApiError> {
        Ok(order_core::DetailsChange {
            notes: self
                .notes
                .map(|n| n.as_deref().map(order_core::Notes::parse).transpose())
                .transpose()?,
            shipping_address: self
                .shipping_address
                .map(|a| a.try_into_domain("shipping_address"))
                .transpose()?,
            billing_address: self
                .billing_address
                .map(|b| b.map(|a| a.try_into_domain("billing_address")).transpose())
                .transpose()?,
            shipping_method: self
                .shipping_method
                .as_deref()
                .map(order_core::ShippingMethod::parse)
                .transpose()?,
        })
    }
}

/// `POST /api/v1/orders/{id}/items`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddItemRequestBody {
    /// The product.
    #[schema(value_type = crate::openapi::ExternalId)]
    pub product_id: Uuid,
    /// The variant.
    #[serde(default)]
    #[schema(value_type = Option<crate::openapi::ExternalId>)]
    pub variant_id: Option<Uuid>,
    /// Units.
    #[schema(minimum = 1, maximum = 10000)]
    #[serde(deserialize_with = "crate::whole::deserialize")]
    pub quantity: u32,
}

/// `PATCH /api/v1/orders/{id}/items/{line_id}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateItemRequestBody {
    /// The new quantity.
    #[schema(minimum = 1, maximum = 10000)]
    #[serde(deserialize_with = "crate::whole::deserialize")]
    pub quantity: u32,
}

/// What checkout pays with (`POST /api/v1/orders/{id}/pay`); the body is
/// optional, and so is each field.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayRequestBody {
    /// How the customer pays (`credit_card`, `paypal`): recorded on the
    /// attempt (it becomes the order's payment method) and passed to the
    /// payment gateway; the order's own method when absent.
    #[serde(default)]
    #[schema(value_type = Option<crate::openapi::PaymentMethod>)]
    pub payment_method: Option<String>,
    /// The payment provider's token for the instrument (from its client
    /// side): passed to the gateway, never stored.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 512)]
    pub payment_token: Option<String>,
}

impl PayRequestBody {
    /// The instrument.
    ///
    /// # Errors
    /// A validation error naming `payment_method` or `payment_token`.
    pub fn try_into_domain(self) -> Result<order_core::PaymentInstrument, ApiError> {
        Ok(order_core::PaymentInstrument {
            method: self
                .payment_method
                .as_deref()
                .map(order_core::PaymentMethod::parse)
                .transpose()?,
            token: self
                .payment_token
                .as_deref()
                .map(order_core::PaymentToken::parse)
                .transpose()?,
        })
    }
}

/// Why (cancel, return, refund).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    /// Why.
    #[schema(value_type = crate::openapi::Text500)]
    pub reason: String,
}

/// Units of a line.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineQuantityBody {
    /// The line.
    #[schema(value_type = crate::openapi::Uuid7)]
    pub line_id: Uuid,
    /// Units.
    #[schema(minimum = 1, maximum = 10000)]
    #[serde(deserialize_with = "crate::whole::deserialize")]
    pub quantity: u32,
}

fn parts(lines: Vec<LineQuantityBody>) -> Result<Vec<LineQuantity>, ApiError> {
    lines
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let field = format!("lines[{i}]");
            Ok(LineQuantity {
                line_id: at(&field, order_core::LineId::new(l.line_id))?,
                quantity: at(&field, Quantity::new(l.quantity))?,
            })
        })
        .collect()
}

/// What a shipment request turns into: the units, the carrier, the
/// tracking number.
pub type ShipmentParts = (
    Vec<LineQuantity>,
    Option<order_core::Carrier>,
    Option<order_core::TrackingNumber>,
);

/// `POST /api/v1/orders/{id}/shipments`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateShipmentRequestBody {
    /// What is in it.
    #[schema(min_items = 1)]
    pub lines: Vec<LineQuantityBody>,
    /// The carrier (required for physical goods).
    #[serde(default)]
    #[schema(value_type = Option<crate::openapi::Text100>)]
    pub carrier: Option<String>,
    /// The tracking number.
    #[serde(default)]
    #[schema(value_type = Option<crate::openapi::Code100>)]
    pub tracking_number: Option<String>,
}

impl CreateShipmentRequestBody {
    /// The domain parts.
    ///
    /// # Errors
    /// 422 naming the first invalid field.
    pub fn try_into_domain(self) -> Result<ShipmentParts, ApiError> {
        Ok((
            parts(self.lines)?,
            self.carrier
                .as_deref()
                .map(order_core::Carrier::parse)
                .transpose()?,
            self.tracking_number
                .as_deref()
                .map(order_core::TrackingNumber::parse)
                .transpose()?,
        ))
    }
}

/// `POST /api/v1/orders/{id}/returns`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateReturnRequestBody {
    /// What comes back.
    #[schema(min_items = 1)]
    pub lines: Vec<LineQuantityBody>,
    /// Why.
    #[schema(value_type = crate::openapi::Text500)]
    pub reason: String,
}

impl CreateReturnRequestBody {
    /// The domain parts.
    ///
    /// # Errors
    /// 422 naming the first invalid field.
    pub fn try_into_domain(self) -> Result<(Vec<LineQuantity>, order_core::Reason), ApiError> {
        Ok((parts(self.lines)?, order_core::Reason::parse(&self.reason)?))
    }
}

/// `POST /api/v1/orders/{id}/returns/{return_id}/receive`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveReturnRequestBody {
    /// Refund the return's amount now.
    #[serde(default)]
    pub refund: bool,
}

/// `POST /api/v1/orders/{id}/refunds`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequestBody {
    /// The amount, a decimal string in the order's currency.
    #[schema(value_type = crate::openapi::Decimal)]
    pub amount: String,
    /// Why.
    #[schema(value_type = crate::openapi::Text500)]
    pub reason: String,
}

impl RefundRequestBody {
    /// The domain parts for an order in `currency`.
    ///
    /// # Errors
    /// 422 for a malformed amount or reason.
    pub fn try_into_domain(
        self,
        currency: Currency,
    ) -> Result<(Money, order_core::Reason), ApiError> {
        Ok((
            money("amount", &self.amount, currency)?,
            order_core::Reason::parse(&self.reason)?,
        ))
    }
}

/// `POST /api/v1/orders/{id}/dry-run`: an operation to preview, with the
/// body its own route takes and `action` naming it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum DryRunRequestBody {
    /// `POST /orders/{id}/items`.
    AddItem {
        /// The product.
        #[schema(value_type = crate::openapi::ExternalId)]
        product_id: Uuid,
        /// The variant.
        #[serde(default)]
        #[schema(value_type = Option<crate::openapi::ExternalId>)]
        variant_id: Option<Uuid>,
        /// Units.
        #[schema(minimum = 1, maximum = 10000)]
        #[serde(deserialize_with = "crate::whole::deserialize")]
        quantity: u32,
    },
    /// `PATCH /orders/{id}/items/{line_id}`.
    UpdateItem {
        /// The line.
        #[schema(value_type = crate::openapi::Uuid7)]
        line_id: Uuid,
        /// The new quantity.
        #[schema(minimum = 1, maximum = 10000)]
        #[serde(deserialize_with = "crate::whole::deserialize")]
        quantity: u32,
    },
    /// `DELETE /orders/{id}/items/{line_id}`.
    RemoveItem {
        /// The line.
        #[schema(value_type = crate::openapi::Uuid7)]
        line_id: Uuid,
    },
    /// `PATCH /orders/{id}`.
    UpdateDetails {
        /// The change (boxed: addresses are large).
        change: Box<PatchOrderRequestBody>,
    },
    /// `POST /orders/{id}/pay`.
    #[serde(alias = "start_payment")]
    Pay,
    /// `POST /orders/{id}/processing`.
    StartProcessing,
    /// `POST /orders/{id}/shipments`.
    Ship {
        /// What.
        #[schema(min_items = 1)]
        lines: Vec<LineQuantityBody>,
        /// Carrier.
        #[serde(default)]
        #[schema(value_type = Option<crate::openapi::Text100>)]
        carrier: Option<String>,
        /// Tracking number.
        #[serde(default)]
        #[schema(value_type = Option<crate::openapi::Code100>)]
        tracking_number: Option<String>,
    },
    /// `POST /orders/{id}/shipments/{shipment_id}/deliver`.
    Deliver {
        /// The shipment.
        #[schema(value_type = crate::openapi::Uuid7)]
        shipment_id: Uuid,
    },
    /// `POST /orders/{id}/complete`.
    Complete,
    /// `POST /orders/{id}/cancel`.
    Cancel {
        /// Why.
        #[schema(value_type = crate::openapi::Text500)]
        reason: String,
    },
    /// `POST /orders/{id}/returns`.
    RequestReturn {
        /// What.
        #[schema(min_items = 1)]
        lines: Vec<LineQuantityBody>,
        /// Why.
        #[schema(value_type = crate::openapi::Text500)]
        reason: String,
    },
    /// `POST /orders/{id}/returns/{return_id}/receive`.
    ReceiveReturn {
        /// The return.
        #[schema(value_type = crate::openapi::Uuid7)]
        return_id: Uuid,
        /// Refund its share.
        #[serde(default)]
        refund: bool,
    },
    /// `POST /orders/{id}/refunds`.
    Refund {
        /// The amount, a decimal string in the order's currency.
        #[schema(value_type = crate::openapi::Decimal)]
        amount: String,
        /// Why.
        #[schema(value_type = crate::openapi::Text500)]
        reason: String,
    },
}

impl DryRunRequestBody {
    /// The operation, for an order in `currency`.
    ///
    /// # Errors
    /// 422 naming the first invalid field, as the operation's own route.
    pub fn try_into_domain(self, currency: Currency) -> Result<order_core::Operation, ApiError> {
        use order_core::{LineEdit, Operation};
        Ok(match self {
            Self::AddItem {
                product_id,
                variant_id,
                quantity,
            } => Operation::EditLines(vec![LineEdit::Add {
                product_id: at("product_id", ProductId::new(product_id))?,
                variant_id: variant_id
                    .map(|v| at("variant_id", VariantId::new(v)))
                    .transpose()?,
                quantity: at("quantity", Quantity::new(quantity))?,
            }]),
            Self::UpdateItem { line_id, quantity } => {
                Operation::EditLines(vec![LineEdit::SetQuantity {
                    line_id: at("line_id", order_core::LineId::new(line_id))?,
                    quantity: at("quantity", Quantity::new(quantity))?,
                }])
            }
            Self::RemoveItem { line_id } => Operation::EditLines(vec![LineEdit::Remove {
                line_id: at("line_id", order_core::LineId::new(line_id))?,
            }]),
            Self::UpdateDetails { change } => {
                Operation::UpdateDetails(Box::new(change.try_into_domain()?))
            }
            Self::Pay => Operation::Pay,
            Self::StartProcessing => Operation::StartProcessing,
            Self::Ship {
                lines,
                carrier,
                tracking_number,
            } => {
                let (lines, carrier, tracking_number) = CreateShipmentRequestBody {
                    lines,
                    carrier,
                    tracking_number,
                }
                .try_into_domain()?;
                Operation::Ship {
                    lines,
                    carrier,
                    tracking_number,
                }
            }
            Self::Deliver { shipment_id } => Operation::Deliver {
                shipment_id: at("shipment_id", order_core::ShipmentId::new(shipment_id))?,
            },
            Self::Complete => Operation::Complete,
            Self::Cancel { reason } => Operation::Cancel {
                reason: at("reason", order_core::Reason::parse(&reason))?,
            },
            Self::RequestReturn { lines, reason } => {
                let (lines, reason) =
                    CreateReturnRequestBody { lines, reason }.try_into_domain()?;
                Operation::RequestReturn { lines, reason }
            }
            Self::ReceiveReturn { return_id, refund } => Operation::ReceiveReturn {
                return_id: at("return_id", order_core::ReturnId::new(return_id))?,
                refund,
            },
            Self::Refund { amount, reason } => {
                let (amount, reason) =
                    RefundRequestBody { amount, reason }.try_into_domain(currency)?;
                Operation::Refund { amount, reason }
            }
        })
    }
}

/// The webhook's body, in either shape: the engine's (`id`, `type`,
/// `order_id`, a decimal-string `amount`, `reference`, `code`, `reason`) or
/// the payment service's (`paymentId`, `orderId`, `userId`, a numeric
/// `amount`, `currency`, `paymentMethod`, `transactionId`, `processedAt`,
/// `failureReason`, `failureCode`, `failedAt`), whose type comes from the
/// `ce-type` header. Other fields are ignored. Only documents the body:
/// `order_events::inbound::decode` reads it.
#[derive(Debug, Clone, ToSchema)]
pub struct PaymentEventRequestBody {
    /// The provider's event id; each is applied once (else the `ce-id`
    /// header, else `<type>:<paymentId>`).
    #[schema(value_type = Option<crate::openapi::ProviderEventId>)]
    pub id: Option<String>,
    /// `payment.processed`, `payment.failed` or `payment.refunded` (else
    /// the `ce-type` header).
    #[schema(rename = "type", value_type = Option<crate::openapi::PaymentEventType>)]
    pub kind: Option<String>,
    /// The order (or `orderId`).
    #[schema(value_type = Option<crate::openapi::Uuid7>)]
    pub order_id: Option<Uuid>,
    /// The order, in the payment service's name.
    #[schema(rename = "orderId", value_type = Option<crate::openapi::Uuid7>)]
    pub order_id_camel: Option<Uuid>,
    /// The payment service's payment id.
    #[schema(rename = "paymentId", value_type = Option<crate::openapi::Text200>)]
    pub payment_id: Option<String>,
    /// The amount (processed, refunded): a decimal string or a JSON number,
    /// read exactly; at most the currency's minor units.
    #[schema(value_type = Option<String>, example = "99.99")]
    pub amount: Option<String>,
    /// If given, it must be the order's currency.
    #[schema(value_type = Option<crate::openapi::CurrencyCode>)]
    pub currency: Option<String>,
    /// The provider's reference (processed, refunded), or `transactionId`.
    #[schema(value_type = Option<crate::openapi::Text200>)]
    pub reference: Option<String>,
    /// The provider's transaction id: one capture or refund per id.
    #[schema(rename = "transactionId", value_type = Option<crate::openapi::Text200>)]
    pub transaction_id: Option<String>,
    /// The failure code (failed), or `failureCode`.
    pub code: Option<String>,
    /// The failure reason (failed), or `failureReason`.
    pub reason: Option<String>,
    /// The payment service's failure code.
    #[schema(rename = "failureCode")]
    pub failure_code: Option<String>,
    /// The payment service's failure reason.
    #[schema(rename = "failureReason")]
    pub failure_reason: Option<String>,
}

/// Money in an order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TotalsBody {
    /// Σ line subtotals.
    #[schema(value_type = crate::openapi::Decimal)]
    pub subtotal: String,
    /// Σ line discounts.
    #[schema(value_type = crate::openapi::Decimal)]
    pub discount: String,
    /// Σ line taxes.
    #[schema(value_type = crate::openapi::Decimal)]
    pub tax: String,
    /// Shipping.
    #[schema(value_type = crate::openapi::Decimal)]
    pub shipping: String,
    /// subtotal − discount + tax + shipping.
    #[schema(value_type = crate::openapi::Decimal)]
    pub total: String,
}

impl From<&Totals> for TotalsBody {
    fn from(t: &Totals) -> Self {
        Self {
            subtotal: amount(&t.subtotal),
            discount: amount(&t.discount),
            tax: amount(&t.tax),
            shipping: amount(&t.shipping),
            total: amount(&t.total),
        }
    }
}

/// Where a line's units are.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuantitiesBody {
    /// Ordered.
    pub ordered: u32,
    /// Cancelled.
    pub cancelled: u32,
    /// Shipped.
    pub shipped: u32,
    /// Delivered.
    pub delivered: u32,
    /// Returned and received.
    pub returned: u32,
    /// In open returns.
    pub return_requested: u32,
}

/// One line.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LineBody {
    /// Line id.
    #[schema(value_type = crate::openapi::Uuid7)]
    pub id: Uuid,
    /// Product.
    #[schema(value_type = crate::openapi::ExternalId)]
    pub product_id: Uuid,
    /// Variant.
    #[schema(value_type = Option<crate::openapi::ExternalId>)]
    pub variant_id: Option<Uuid>,
    /// SKU.
    #[schema(value_type = crate::openapi::Sku)]
    pub sku: String,
    /// Name.
    pub name: String,
    /// `physical` or `digital`.
    #[schema(value_type = crate::openapi::ProductKind)]
    pub kind: String,
    /// Units.
    pub quantity: u32,
    /// Unit price.
    #[schema(value_type = crate::openapi::Decimal)]
    pub unit_price: String,
    /// Tax rate, percent.
    #[schema(value_type = crate::openapi::Decimal)]
    pub tax_rate: String,
    /// Net of tax, before discount.
    #[schema(value_type = crate::openapi::Decimal)]
    pub subtotal: String,
    /// Discount.
    #[schema(value_type = crate::openapi::Decimal)]
    pub discount: String,
    /// Tax.
    #[schema(value_type = crate::openapi::Decimal)]
    pub tax: String,
    /// What the line costs.
    #[schema(value_type = crate::openapi::Decimal)]
    pub total: String,
    /// The quantity ledger.
    pub quantities: QuantitiesBody,
}

fn kind_name(kind: ProductKind) -> &'static str {
    match kind {
        ProductKind::Physical => "physical",
        ProductKind::Digital => "digital",
    }
}

impl From<&OrderLine> for LineBody {
    fn from(l: &OrderLine) -> Self {
        Self {
            id: l.id.as_uuid(),
            product_id: l.product_id.as_uuid(),
            variant_id: l.variant_id.map(|v| v.as_uuid()),
            sku: l.sku.to_string(),
            name: l.name.to_string(),
            kind: kind_name(l.kind).to_owned(),
            quantity: l.quantity.get(),
            unit_price: amount(&l.unit_price),
            tax_rate: l.tax_rate.value().to_string(),
            subtotal: amount(&l.amounts.subtotal),
            discount: amount(&l.amounts.discount),
            tax: amount(&l.amounts.tax),
            total: amount(&l.amounts.total),
            quantities: QuantitiesBody {
                ordered: l.quantities.ordered,
                cancelled: l.quantities.cancelled,
                shipped: l.quantities.shipped,
                delivered: l.quantities.delivered,
                returned: l.quantities.returned,
                return_requested: l.quantities.return_requested,
            },
        }
    }
}

/// One payment ledger entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentEntryBody {
    /// Entry id.
    #[schema(value_type = crate::openapi::Uuid7)]
    pub id: Uuid,
    /// `authorize`, `capture`, `void`, `refund`.
    pub kind: String,
    /// Amount.
    #[schema(value_type = crate::openapi::Decimal)]
    pub amount: String,
    /// Gateway reference.
    pub reference: Option<String>,
    /// Why.
    pub reason: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

impl From<&PaymentEntry> for PaymentEntryBody {
    fn from(e: &PaymentEntry) -> Self {
        Self {
            id: e.id.as_uuid(),
            kind: e.kind.as_str().to_owned(),
            amount: amount(&e.amount),
            reference: e.reference.as_ref().map(ToString::to_string),
            reason: e.reason.as_ref().map(ToString::to_string),
            at: e.at,
        }
    }
}

/// The payment ledger and its balances.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentsBody {
    /// Σ authorizations.
    #[schema(value_type = crate::openapi::Decimal)]
    pub authorized: String,
    /// Σ captures.
    #[schema(value_type = crate::openapi::Decimal)]
    pub captured: String,
    /// Σ refunds.
    #[schema(value_type = crate::openapi::Decimal)]
    pub refunded: String,
    /// Captured minus refunded.
    #[schema(value_type = crate::openapi::Decimal)]
    pub refundable: String,
    /// Entries, oldest first.
    pub entries: Vec<PaymentEntryBody>,
}

/// A shipment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShipmentBody {
    /// Shipment id.
    #[schema(value_type = crate::openapi::Uuid7)]
    pub id: Uuid,
    /// What is in it.
    pub lines: Vec<LineQuantityBody>,
    /// Carrier.
    pub carrier: Option<String>,
    /// Tracking number.
    pub tracking_number: Option<String>,
    /// When it left.
    pub shipped_at: DateTime<Utc>,
    /// When it arrived.
    pub delivered_at: Option<DateTime<Utc>>,
}

fn part_bodies(lines: &[LineQuantity]) -> Vec<LineQuantityBody> {
    lines
        .iter()
        .map(|l| LineQuantityBody {
            line_id: l.line_id.as_uuid(),
            quantity: l.quantity.get(),
        })
        .collect()
}

impl From<&Shipment> for ShipmentBody {
    fn from(s: &Shipment) -> Self {
        Self {
            id: s.id.as_uuid(),
            lines: part_bodies(&s.lines),
            carrier: s.carrier.as_ref().map(ToString::to_string),
            tracking_number: s.tracking_number.as_ref().map(ToString::to_string),
            shipped_at: s.shipped_at,
            delivered_at: s.delivered_at,
        }
    }
}

/// A return.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReturnBody {
    /// Return id.
    #[schema(value_type = crate::openapi::Uuid7)]
    pub id: Uuid,
    /// What comes back.
    pub lines: Vec<LineQuantityBody>,
    /// Why.
    pub reason: String,
    /// The share of the order these units were paid with.
    #[schema(value_type = crate::openapi::Decimal)]
    pub refund_amount: String,
    /// When asked for.
    pub requested_at: DateTime<Utc>,
    /// When received.
    pub received_at: Option<DateTime<Utc>>,
}

impl From<&Return> for ReturnBody {
    fn from(r: &Return) -> Self {
        Self {
            id: r.id.as_uuid(),
            lines: part_bodies(&r.lines),
            reason: r.reason.to_string(),
            refund_amount: amount(&r.refund_amount),
            requested_at: r.requested_at,
            received_at: r.received_at,
        }
    }
}

/// Why and by whom an order was cancelled.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CancellationBody {
    /// Why.
    pub reason: String,
    /// Who.
    pub actor: String,
}

/// An order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderResponseBody {
    /// Order id.
    #[schema(value_type = crate::openapi::Uuid7)]
    pub id: Uuid,
    /// Order number.
    #[schema(value_type = crate::openapi::OrderNumber)]
    pub number: String,
    /// Customer.
    #[schema(value_type = crate::openapi::ExternalId)]
    pub customer_id: Uuid,
    /// Currency of every amount.
    #[schema(value_type = crate::openapi::CurrencyCode)]
    pub currency: String,
    /// Lifecycle status.
    #[schema(value_type = crate::openapi::OrderStatus)]
    pub status: String,
    /// Payment status.
    #[schema(value_type = crate::openapi::PaymentStatus)]
    pub payment_status: String,
    /// Lines.
    pub lines: Vec<LineBody>,
    /// Shipping address.
    pub shipping_address: Option<AddressBody>,
    /// Billing address.
    pub billing_address: Option<AddressBody>,
    /// Shipping method.
    pub shipping_method: Option<String>,
    /// How the customer pays, when known.
    pub payment_method: Option<String>,
    /// Coupon.
    pub coupon_code: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// Totals.
    pub totals: TotalsBody,
    /// Payments.
    pub payments: PaymentsBody,
    /// Shipments.
    pub shipments: Vec<ShipmentBody>,
    /// Returns.
    pub returns: Vec<ReturnBody>,
    /// Cancellation.
    pub cancellation: Option<CancellationBody>,
    /// Version, for `If-Match`.
    pub version: u64,
    /// Placed.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Confirmed.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// Cancelled.
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Delivered.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Completed.
    pub completed_at: Option<DateTime<Utc>>,
}

impl From<&Order> for OrderResponseBody {
    fn from(o: &Order) -> Self {
        let p = o.payments();
        Self {
            id: o.id().as_uuid(),
            number: o.number().to_string(),
            customer_id: o.customer_id().as_uuid(),
            currency: o.currency().to_string(),
            status: o.status().to_string(),
            payment_status: o.payment_status().to_string(),
            lines: o.lines().iter().map(LineBody::from).collect(),
            shipping_address: o.shipping_address().map(AddressBody::from_domain),
            billing_address: o.billing_address().map(AddressBody::from_domain),
            shipping_method: o.shipping_method().map(ToString::to_string),
            payment_method: o.payment_method().map(ToString::to_string),
            coupon_code: o.coupon().map(ToString::to_string),
            notes: o.notes().map(ToString::to_string),
            totals: TotalsBody::from(o.totals()),
            payments: PaymentsBody {
                authorized: amount(&p.authorized()),
                captured: amount(&p.captured()),
                refunded: amount(&p.refunded()),
                refundable: p.refundable().map(|m| amount(&m)).unwrap_or_default(),
                entries: p.entries().iter().map(PaymentEntryBody::from).collect(),
            },
            shipments: o.shipments().iter().map(ShipmentBody::from).collect(),
            returns: o.returns().iter().map(ReturnBody::from).collect(),
            cancellation: o.cancellation().map(|(r, a)| CancellationBody {
                reason: r.to_string(),
                actor: a.to_string(),
            }),
            version: o.version(),
            created_at: o.created_at(),
            updated_at: o.updated_at(),
            confirmed_at: o.confirmed_at(),
            cancelled_at: o.cancelled_at(),
            delivered_at: o.delivered_at(),
            completed_at: o.completed_at(),
        }
    }
}

/// A page of orders.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderPageBody {
    /// The orders.
    pub orders: Vec<OrderResponseBody>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// One status change.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryEntryBody {
    /// From.
    #[schema(value_type = Option<crate::openapi::OrderStatus>)]
    pub from: Option<String>,
    /// To.
    #[schema(value_type = crate::openapi::OrderStatus)]
    pub to: String,
    /// Why.
    pub reason: String,
    /// Who.
    pub actor: String,
    /// When.
    pub at: DateTime<Utc>,
}

impl From<&StatusChange> for HistoryEntryBody {
    fn from(h: &StatusChange) -> Self {
        Self {
            from: h.from.map(|s| s.to_string()),
            to: h.to.to_string(),
            reason: h.reason.clone(),
            actor: h.actor.to_string(),
            at: h.at,
        }
    }
}

/// An event, as the timeline and the feed show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventBody {
    /// Global feed position (feed only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<u64>,
    /// Event id; consumers deduplicate by it.
    #[schema(value_type = crate::openapi::Uuid7)]
    pub id: Uuid,
    /// `order.created`, `order.shipped`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// The order.
    #[schema(value_type = crate::openapi::Uuid7)]
    pub order_id: Uuid,
    /// Per-order sequence.
    pub sequence: u64,
    /// When.
    pub occurred_at: DateTime<Utc>,
    /// Who.
    pub actor: String,
    /// The event's data.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

impl EventBody {
    /// The body for `record` at `position`.
    pub fn new(record: &EventRecord, position: Option<u64>) -> Self {
        Self {
            position,
            id: record.id.as_uuid(),
            kind: record.event_type().to_owned(),
            order_id: record.order_id.as_uuid(),
            sequence: record.sequence,
            occurred_at: record.occurred_at,
            actor: record.actor.to_string(),
            data: serde_json::to_value(&record.event).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// The order's timeline.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryBody {
    /// Status changes.
    pub status_changes: Vec<HistoryEntryBody>,
    /// Every event.
    pub events: Vec<EventBody>,
}

/// A page of the event feed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventPageBody {
    /// Events after the requested position.
    pub events: Vec<EventBody>,
    /// Pass as `after` for the next page.
    pub next_after: u64,
}

/// A preview.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DryRunResponseBody {
    /// The events the command would cause.
    pub events: Vec<String>,
    /// The order after them.
    pub order: OrderResponseBody,
}

/// An invoice.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvoiceBody {
    /// Invoice number (the order number).
    #[schema(value_type = crate::openapi::OrderNumber)]
    pub invoice_number: String,
    /// Order id.
    #[schema(value_type = crate::openapi::Uuid7)]
    pub order_id: Uuid,
    /// When the invoice was issued: the order's confirmation; `null` for a
    /// pro-forma invoice of an order not confirmed yet.
    pub issued_at: Option<DateTime<Utc>>,
    /// Billed to (the billing address, else the shipping address).
    pub bill_to: Option<AddressBody>,
    /// Currency.
    #[schema(value_type = crate::openapi::CurrencyCode)]
    pub currency: String,
    /// Lines.
    pub lines: Vec<LineBody>,
    /// Totals.
    pub totals: TotalsBody,
    /// Captured.
    #[schema(value_type = crate::openapi::Decimal)]
    pub paid: String,
    /// Refunded out of what was captured.
    #[schema(value_type = crate::openapi::Decimal)]
    pub refunded: String,
    /// Paid minus refunded.
    #[schema(value_type = crate::openapi::Decimal)]
    pub net_paid: String,
    /// Still owed: the total minus what was captured; 0 once cancelled.
    #[schema(value_type = crate::openapi::Decimal)]
    pub due: String,
}

impl From<&order_core::Invoice> for InvoiceBody {
    fn from(invoice: &order_core::Invoice) -> Self {
        Self {
            invoice_number: invoice.number.to_string(),
            order_id: invoice.order_id.as_uuid(),
            issued_at: invoice.issued_at,
            bill_to: invoice.bill_to.as_ref().map(AddressBody::from_domain),
            currency: invoice.currency.to_string(),
            lines: invoice.lines.iter().map(LineBody::from).collect(),
            totals: TotalsBody::from(&invoice.totals),
            paid: amount(&invoice.paid),
            refunded: amount(&invoice.refunded),
            net_paid: amount(&invoice.net_paid),
            due: amount(&invoice.due),
        }
    }
}

/// Where the parcels are.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrackingBody {
    /// Order status.
    #[schema(value_type = crate::openapi::OrderStatus)]
    pub status: String,
    /// Shipments with carrier and tracking number.
    pub shipments: Vec<ShipmentBody>,
}

/// A product.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductBody {
    /// Product id.
    #[schema(value_type = crate::openapi::ExternalId)]
    pub product_id: Uuid,
    /// Variant id.
    #[serde(default)]
    #[schema(value_type = Option<crate::openapi::ExternalId>)]
    pub variant_id: Option<Uuid>,
    /// SKU.
    #[schema(value_type = crate::openapi::Sku)]
    pub sku: String,
    /// Name.
    #[schema(value_type = crate::openapi::Text200)]
    pub name: String,
    /// Price, a decimal string: greater than zero, at most 1000000000000.
    #[schema(value_type = crate::openapi::Decimal)]
    pub unit_price: String,
    /// Currency.
    #[schema(value_type = crate::openapi::CurrencyCode)]
    pub currency: String,
    /// Tax class.
    #[schema(value_type = crate::openapi::Code64)]
    pub tax_class: String,
    /// `physical` or `digital`.
    #[schema(value_type = crate::openapi::ProductKind)]
    pub kind: String,
    /// For sale.
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

impl ProductBody {
    /// The domain product, checked against the engine's bounds
    /// (`Product::check`: a price greater than zero, at most 10^12).
    ///
    /// # Errors
    /// 422 naming the first invalid field.
    pub fn try_into_domain(self) -> Result<Product, ApiError> {
        let currency = currency(&self.currency)?;
        let kind = match self.kind.as_str() {
            "physical" => ProductKind::Physical,
            "digital" => ProductKind::Digital,
            _ => {
                return Err(order_core::ValidationError::BadFormat {
                    field: "kind".into(),
                    rule: "must be physical or digital",
                }
                .into());
            }
        };
        let product = Product {
            product_id: at("product_id", ProductId::new(self.product_id))?,
            variant_id: self.variant_id.map(VariantId::new).transpose()?,
            sku: order_core::Sku::parse(&self.sku)?,
            name: order_core::ProductName::parse(&self.name)?,
            unit_price: money("unit_price", &self.unit_price, currency)?,
            tax_class: order_core::TaxClass::parse(&self.tax_class)?,
            kind,
            active: self.active,
        };
        product.check()?;
        Ok(product)
    }
}

impl From<&Product> for ProductBody {
    fn from(p: &Product) -> Self {
        Self {
            product_id: p.product_id.as_uuid(),
            variant_id: p.variant_id.map(|v| v.as_uuid()),
            sku: p.sku.to_string(),
            name: p.name.to_string(),
            unit_price: amount(&p.unit_price),
            currency: p.unit_price.currency().to_string(),
            tax_class: p.tax_class.to_string(),
            kind: kind_name(p.kind).to_owned(),
            active: p.active,
        }
    }
}

/// `PUT /api/v1/stock/{sku}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockRequestBody {
    /// Units on hand, at most 2147483647.
    #[schema(maximum = 2147483647)]
    #[serde(deserialize_with = "crate::whole::deserialize")]
    pub on_hand: u32,
}

/// A stock level.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StockBody {
    /// SKU.
    #[schema(value_type = crate::openapi::Sku)]
    pub sku: String,
    /// Units on hand.
    pub on_hand: u32,
    /// Units held for unpaid orders.
    pub reserved: u32,
    /// On hand minus reserved.
    pub available: u32,
}

/// Money figures in one currency.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CurrencyFiguresBody {
    /// Currency.
    #[schema(value_type = crate::openapi::CurrencyCode)]
    pub currency: String,
    /// Orders that took money.
    pub paid_orders: u64,
    /// Σ the totals of the paid orders.
    #[schema(value_type = crate::openapi::Decimal)]
    pub gross_sales: String,
    /// Σ their refunds.
    #[schema(value_type = crate::openapi::Decimal)]
    pub refunded: String,
    /// Captured minus refunded.
    #[schema(value_type = crate::openapi::Decimal)]
    pub revenue: String,
    /// Gross sales per paid order.
    #[schema(value_type = crate::openapi::Decimal)]
    pub average_order_value: String,
}

/// A report over a period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportBody {
    /// Start (inclusive).
    pub from: DateTime<Utc>,
    /// End (exclusive).
    pub to: DateTime<Utc>,
    /// Orders placed.
    pub orders: u64,
    /// Orders per status.
    #[schema(value_type = Object)]
    pub by_status: std::collections::BTreeMap<String, u64>,
    /// Money per currency.
    pub currencies: Vec<CurrencyFiguresBody>,
    /// Payment attempts.
    pub payment_attempts: u64,
    /// Failed attempts.
    pub failed_payment_attempts: u64,
    /// Failed per attempt, as a decimal string.
    #[schema(value_type = crate::openapi::Decimal)]
    pub payment_failure_rate: String,
    /// Mean seconds from confirmation to delivery.
    pub average_seconds_to_fulfilment: Option<i64>,
}

impl From<&Report> for ReportBody {
    fn from(r: &Report) -> Self {
        Self {
            from: r.from,
            to: r.to,
            orders: r.orders,
            by_status: r
                .by_status
                .iter()
                .map(|(s, n)| (s.to_string(), *n))
                .collect(),
            currencies: r
                .currencies
                .iter()
                .map(|(c, f)| CurrencyFiguresBody {
                    currency: c.to_string(),
                    paid_orders: f.paid_orders,
                    gross_sales: amount(&f.gross_sales),
                    refunded: amount(&f.refunded),
                    revenue: amount(&f.revenue),
                    average_order_value: amount(&f.average_order_value),
                })
                .collect(),
            payment_attempts: r.payment_attempts,
            failed_payment_attempts: r.failed_payment_attempts,
            payment_failure_rate: r.payment_failure_rate.to_string(),
            average_seconds_to_fulfilment: r.average_time_to_fulfilment.map(|d| d.num_seconds()),
        }
    }
}
