//! The payment service's events, as its seed documents them
//! (`payment.processed`, `payment.failed`, `payment.refunded` with
//! `paymentId`, `orderId`, `userId`, a numeric `amount`, `currency`,
//! `paymentMethod`, `transactionId`, `processedAt`, `failureReason`,
//! `failureCode`, `failedAt`) or in the engine's own webhook shape (`id`,
//! `type`, `order_id`, a decimal-string `amount`, `reference`, `code`,
//! `reason`). The seed's bodies carry no type: it comes from the CloudEvents
//! `type` attribute (a `ce_type` / `ce-type` header) or the topic.
//!
//! Decoding reads amounts from their literal text, never through a float;
//! applying checks them against the order's currency exactly and goes
//! through the core's [`OrderService::apply_payment_event`], which applies
//! each event id once and each gateway reference once per kind.

use std::str::FromStr;

use order_core::{
    Actor, Currency, GatewayReference, Money, Order, OrderError, OrderId, OrderService,
    PaymentEvent, PaymentEventKind, ValidationError,
};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;

/// The three payment event types.
pub const TYPES: [&str; 3] = ["payment.processed", "payment.failed", "payment.refunded"];

/// A payment event, decoded; amounts not yet tied to a currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundPayment {
    /// The id the event is applied once by: the CloudEvents id, the body's
    /// `id`, or else `<type>:<paymentId>` (the seed's payment id).
    pub event_id: String,
    /// The order.
    pub order_id: OrderId,
    /// What happened.
    pub kind: InboundKind,
}

/// What a payment event says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundKind {
    /// `payment.processed`: the amount was captured.
    Processed(Settlement),
    /// `payment.failed`.
    Failed {
        /// `failureCode` / `code`.
        code: String,
        /// `failureReason` / `reason`.
        reason: String,
    },
    /// `payment.refunded`: money went back.
    Refunded(Settlement),
}

/// An amount that moved, with the provider's reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    /// Exactly as written.
    pub amount: Decimal,
    /// The currency the event names, if it names one.
    pub currency: Option<String>,
    /// `transactionId` / `reference` (else the refund's or payment's id):
    /// a second event with the same reference is not booked again.
    pub reference: String,
}

/// Why a body cannot be a payment event. Never worth retrying.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not a JSON object of the expected fields.
    #[error("body: {0}")]
    Malformed(String),
    /// No type in the headers, the topic or the body.
    #[error("type: missing (send a ce-type header or a type field)")]
    MissingType,
    /// A type other than the three.
    #[error("type: {0:?} is not payment.processed, payment.failed or payment.refunded")]
    UnknownType(String),
    /// The header's type and the body's differ.
    #[error("type: the header says {header:?}, the body {body:?}")]
    ConflictingType {
        /// From the header or topic.
        header: String,
        /// From the body.
        body: String,
    },
    /// A field the event needs is absent.
    #[error("{0}: missing")]
    Missing(&'static str),
    /// A field's value is not what it must be.
    #[error("{field}: {rule}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// The rule it breaks.
        rule: &'static str,
    },
}

impl DecodeError {
    /// The validation error a readable but unfit event is (none for a body
    /// that is not JSON).
    pub fn validation(&self) -> Option<ValidationError> {
        let field = self.field().to_owned();
        match self {
            Self::Malformed(_) => None,
            Self::MissingType | Self::Missing(_) => Some(ValidationError::Empty { field }),
            Self::UnknownType(_) => Some(ValidationError::BadFormat {
                field,
                rule: "must be payment.processed, payment.failed or payment.refunded",
            }),
            Self::ConflictingType { .. } => Some(ValidationError::BadFormat {
                field,
                rule: "the ce-type header and the body's type must agree",
            }),
            Self::Invalid { rule, .. } => Some(ValidationError::BadFormat { field, rule }),
        }
    }

    /// The field the error is about, for a problem document.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "body",
            Self::MissingType | Self::UnknownType(_) | Self::ConflictingType { .. } => "type",
            Self::Missing(field) | Self::Invalid { field, .. } => field,
        }
    }
}

/// Either shape's fields; unknown fields are ignored, as the seeds' readers
/// must ignore what they do not know.
#[derive(Debug, Deserialize)]
struct Body<'a> {
    id: Option<String>,
    #[serde(rename = "type")]
    event_type: Option<String>,
    #[serde(alias = "orderId")]
    order_id: Option<String>,
    #[serde(borrow)]
    amount: Option<&'a RawValue>,
    currency: Option<String>,
    #[serde(alias = "transactionId")]
    reference: Option<String>,
    #[serde(rename = "refundId")]
    refund_id: Option<String>,
    #[serde(rename = "paymentId")]
    payment_id: Option<String>,
    #[serde(alias = "failureCode")]
    code: Option<String>,
    #[serde(alias = "failureReason")]
    reason: Option<String>,
}

/// Decodes a payment event. `event_type` is the CloudEvents type from a
/// header or the topic's name, `event_id` the CloudEvents id; either may be
/// absent when the body carries it.
///
/// # Errors
/// [`DecodeError`] naming what is wrong.
pub fn decode(
    event_type: Option<&str>,
    event_id: Option<&str>,
    body: &[u8],
) -> Result<InboundPayment, DecodeError> {
    let body: Body<'_> =
        serde_json::from_slice(body).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    let event_type = match (event_type, body.event_type.as_deref()) {
        (Some(header), Some(inside)) if header != inside => {
            return Err(DecodeError::ConflictingType {
                header: header.to_owned(),
                body: inside.to_owned(),
            });
        }
        (Some(known), _) | (None, Some(known)) => known,
        (None, None) => return Err(DecodeError::MissingType),
    };
    if !TYPES.contains(&event_type) {
        return Err(DecodeError::UnknownType(event_type.to_owned()));
    }
    let order_id = body
        .order_id
        .as_deref()
        .ok_or(DecodeError::Missing("orderId"))?;
    let order_id = OrderId::from_str(order_id).map_err(|_| DecodeError::Invalid {
        field: "orderId",
        rule: "must be a UUID",
    })?;
    let event_id = match (event_id, body.id.as_deref(), body.payment_id.as_deref()) {
        (Some(id), _, _) | (None, Some(id), _) => id.to_owned(),
        (None, None, Some(payment)) => format!("{event_type}:{payment}"),
        (None, None, None) => return Err(DecodeError::Missing("paymentId")),
    };
    if event_id.trim().is_empty() || event_id.len() > 200 {
        return Err(DecodeError::Invalid {
            field: "id",
            rule: "must be 1 to 200 characters",
        });
    }
    let settlement = || -> Result<Settlement, DecodeError> {
        Ok(Settlement {
            amount: amount(body.amount.ok_or(DecodeError::Missing("amount"))?)?,
            currency: body.currency.clone(),
            reference: body
                .reference
                .clone()
                .or_else(|| body.refund_id.clone())
                .or_else(|| body.payment_id.clone())
                .ok_or(DecodeError::Missing("transactionId"))?,
        })
    };
    let kind = match event_type {
        "payment.processed" => InboundKind::Processed(settlement()?),
        "payment.refunded" => InboundKind::Refunded(settlement()?),
        _ => InboundKind::Failed {
            code: body.code.clone().unwrap_or_else(|| "failed".into()),
            reason: body
                .reason
                .clone()
                .unwrap_or_else(|| "the provider reported a failure".into()),
        },
    };
    Ok(InboundPayment {
        event_id,
        order_id,
        kind,
    })
}

/// An amount from its JSON literal: a number (`99.99`) or a decimal string
/// (`"99.99"`), read exactly.
fn amount(raw: &RawValue) -> Result<Decimal, DecodeError> {
    let text = raw.get();
    let literal = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    let invalid = |rule: &'static str| DecodeError::Invalid {
        field: "amount",
        rule,
    };
    if literal.contains(['e', 'E']) {
        return Err(invalid("must be a plain decimal, without an exponent"));
    }
    Decimal::from_str_exact(literal).map_err(|_| invalid("must be a decimal number"))
}

/// Why an inbound payment event did not apply.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ApplyError(#[from] pub OrderError);

impl ApplyError {
    /// True when applying again can never succeed (unknown order, wrong
    /// currency or amount, an order that refuses the event): dead-letter
    /// it. False for a dependency's fault or a concurrent write: retry.
    pub fn is_permanent(&self) -> bool {
        !matches!(
            self.0,
            OrderError::Store(_)
                | OrderError::Unavailable { .. }
                | OrderError::VersionConflict { .. }
                | OrderError::IdempotencyInFlight { .. }
        )
    }
}

/// Applies `payment` to its order as `actor`: amounts exactly in the order's
/// currency (an event naming another currency is refused), through
/// [`OrderService::apply_payment_event`].
///
/// # Errors
/// [`ApplyError`]; see [`ApplyError::is_permanent`].
pub async fn apply(
    service: &OrderService,
    payment: &InboundPayment,
    actor: &Actor,
) -> Result<Order, ApplyError> {
    let kind = match &payment.kind {
        InboundKind::Failed { code, reason } => PaymentEventKind::Failed {
            code: code.clone(),
            reason: reason.clone(),
        },
        InboundKind::Processed(settlement) | InboundKind::Refunded(settlement) => {
            let currency = service.get(payment.order_id).await?.currency();
            let (amount, reference) = settle(settlement, currency)?;
            if matches!(payment.kind, InboundKind::Processed(_)) {
                PaymentEventKind::Processed { amount, reference }
            } else {
                PaymentEventKind::Refunded { amount, reference }
            }
        }
    };
    let event = PaymentEvent {
        event_id: payment.event_id.clone(),
        order_id: payment.order_id,
        kind,
    };
    Ok(service.apply_payment_event(&event, actor).await?)
}

/// The settlement's amount in the order's `currency` and its reference.
fn settle(
    settlement: &Settlement,
    currency: Currency,
) -> Result<(Money, GatewayReference), OrderError> {
    if let Some(named) = &settlement.currency
        && Currency::parse(named).ok() != Some(currency)
    {
        return Err(ValidationError::BadFormat {
            field: "currency".into(),
            rule: "must be the order's currency",
        }
        .into());
    }
    let amount =
        Money::new(settlement.amount, currency).map_err(|source| ValidationError::Money {
            field: "amount".into(),
            source,
        })?;
    let reference = GatewayReference::parse(&settlement.reference)?;
    Ok((amount, reference))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER: &str = "0190a0a0-0000-7000-8000-0000000000aa";

    #[test]
    fn the_seeds_processed_body_decodes_with_its_type_from_the_header() {
        let body = format!(
            r#"{{"paymentId":"p-1","orderId":"{ORDER}","userId":"u-1","amount":99.99,"currency":"USD","paymentMethod":"credit_card","transactionId":"ext-12345","processedAt":"2024-01-31T10:05:00Z"}}"#
        );
        let payment = decode(Some("payment.processed"), None, body.as_bytes()).unwrap();
        assert_eq!(payment.event_id, "payment.processed:p-1");
        assert_eq!(
            payment.kind,
            InboundKind::Processed(Settlement {
                amount: Decimal::from_str_exact("99.99").unwrap(),
                currency: Some("USD".into()),
                reference: "ext-12345".into(),
            })
        );
    }

    #[test]
    fn the_seeds_failed_body_keeps_its_code_and_reason() {
        let body = format!(
            r#"{{"paymentId":"p-2","orderId":"{ORDER}","userId":"u-1","amount":99.99,"currency":"USD","failureReason":"Insufficient funds","failureCode":"INSUFFICIENT_FUNDS","failedAt":"2024-01-31T10:05:00Z"}}"#
        );
        let payment = decode(Some("payment.failed"), Some("ce-1"), body.as_bytes()).unwrap();
        assert_eq!(payment.event_id, "ce-1");
        assert_eq!(
            payment.kind,
            InboundKind::Failed {
                code: "INSUFFICIENT_FUNDS".into(),
                reason: "Insufficient funds".into()
            }
        );
    }

    #[test]
    fn the_engines_own_body_decodes_without_a_header() {
        let body = format!(
            r#"{{"id":"evt-9","type":"payment.refunded","order_id":"{ORDER}","amount":"10.00","reference":"re_1"}}"#
        );
        let payment = decode(None, None, body.as_bytes()).unwrap();
        assert_eq!(payment.event_id, "evt-9");
        assert!(matches!(payment.kind, InboundKind::Refunded(ref s) if s.reference == "re_1"));
    }

    #[test]
    fn large_amounts_are_read_exactly_not_through_a_float() {
        let body = format!(
            r#"{{"paymentId":"p","orderId":"{ORDER}","amount":99999999999999.99,"transactionId":"t"}}"#
        );
        let payment = decode(Some("payment.processed"), None, body.as_bytes()).unwrap();
        let InboundKind::Processed(settlement) = payment.kind else {
            panic!("processed expected")
        };
        assert_eq!(settlement.amount.to_string(), "99999999999999.99");
    }

    #[test]
    fn a_missing_or_unknown_or_conflicting_type_is_refused() {
        let body = format!(r#"{{"paymentId":"p","orderId":"{ORDER}"}}"#);
        assert_eq!(
            decode(None, None, body.as_bytes()),
            Err(DecodeError::MissingType)
        );
        assert!(matches!(
            decode(Some("payment.lost"), None, body.as_bytes()),
            Err(DecodeError::UnknownType(_))
        ));
        let typed = format!(r#"{{"type":"payment.failed","paymentId":"p","orderId":"{ORDER}"}}"#);
        assert!(matches!(
            decode(Some("payment.processed"), None, typed.as_bytes()),
            Err(DecodeError::ConflictingType { .. })
        ));
    }

    #[test]
    fn malformed_bodies_and_bad_fields_name_what_is_wrong() {
        assert_eq!(
            decode(Some("payment.failed"), None, b"[1]")
                .unwrap_err()
                .field(),
            "body"
        );
        let no_order = br#"{"paymentId":"p"}"#;
        assert_eq!(
            decode(Some("payment.failed"), None, no_order),
            Err(DecodeError::Missing("orderId"))
        );
        let exponent =
            format!(r#"{{"paymentId":"p","orderId":"{ORDER}","amount":1e3,"transactionId":"t"}}"#);
        assert_eq!(
            decode(Some("payment.processed"), None, exponent.as_bytes())
                .unwrap_err()
                .field(),
            "amount"
        );
        let no_amount = format!(r#"{{"paymentId":"p","orderId":"{ORDER}","transactionId":"t"}}"#);
        assert_eq!(
            decode(Some("payment.processed"), None, no_amount.as_bytes()),
            Err(DecodeError::Missing("amount"))
        );
    }
}
