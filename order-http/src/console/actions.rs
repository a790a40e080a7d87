//! The console's action forms: their fields, read as sent, and turned into
//! the `Operation` the core previews and performs. Parsing only: whether an
//! operation is allowed, and what it does, is the core's to say.

use order_core::{
    Action, Carrier, LineQuantity, Money, Operation, Order, Quantity, Reason, ReturnId, ShipmentId,
    TrackingNumber, ValidationError,
};
use serde::Deserialize;

use crate::error::ApiError;
use crate::extract::id;

/// A form's (or query's) fields, in the order sent. Read as pairs so that
/// no form is refused for its shape before the console can say which
/// field is wrong.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(transparent)]
pub(crate) struct Fields(Vec<(String, String)>);

impl Fields {
    /// The first value of `name`, if sent and not blank.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty())
    }

    /// Every field but `except`, to carry a form on to its confirmation.
    pub(crate) fn without<'a>(
        &'a self,
        except: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.0
            .iter()
            .filter(move |(key, _)| key != except)
            .map(|(key, value)| (key.as_str(), value.as_str()))
    }
}

/// What an action is called on its button.
pub(crate) const fn label(action: Action) -> &'static str {
    match action {
        Action::StartProcessing => "Start processing",
        Action::Ship => "Ship",
        Action::Deliver => "Mark delivered",
        Action::ReceiveReturn => "Receive return",
        Action::Refund => "Refund",
        Action::Cancel => "Cancel order",
        Action::EditLines => "Edit lines",
        Action::UpdateDetails => "Update details",
        Action::StartPayment => "Pay",
        Action::RecordPayment => "Record payment",
        Action::Confirm => "Confirm",
        Action::DeliverDigital => "Deliver digitally",
        Action::Complete => "Complete",
        Action::Expire => "Expire",
        Action::RequestReturn => "Request a return",
    }
}

/// What the order page says once an action was done.
pub(crate) fn done(action: Action) -> String {
    format!("Done: {}.", label(action).to_lowercase())
}

fn required<'a>(fields: &'a Fields, name: &str) -> Result<&'a str, ApiError> {
    fields.get(name).ok_or_else(|| {
        ApiError::from(ValidationError::Empty {
            field: name.to_owned(),
        })
    })
}

fn optional<T>(
    fields: &Fields,
    name: &str,
    parse: impl Fn(&str) -> Result<T, ValidationError>,
) -> Result<Option<T>, ApiError> {
    fields
        .get(name)
        .map(|raw| parse(raw).map_err(|e| ApiError::from(e.at(name))))
        .transpose()
}

/// The name of a line's quantity field on the ship form.
pub(crate) fn quantity_field(line: &order_core::OrderLine) -> String {
    format!("qty.{}", line.id)
}

/// The action a form names.
///
/// # Errors
/// 422 naming `action` when it is missing or not an action.
pub(crate) fn action(fields: &Fields) -> Result<Action, ApiError> {
    Ok(required(fields, "action")?.parse::<Action>()?)
}

/// The version of the order the operator saw, which the form carries.
///
/// # Errors
/// 422 naming `version` when it is missing or not a number.
pub(crate) fn version(fields: &Fields) -> Result<u64, ApiError> {
    required(fields, "version")?
        .parse()
        .map_err(|_| ApiError::BadRequest {
            detail: "version: must be the order's version, a whole number".into(),
            field: Some("version".into()),
        })
}

/// The operation an action form asks of `order`.
///
/// # Errors
/// 422 naming the field that is missing or malformed.
pub(crate) fn operation(order: &Order, fields: &Fields) -> Result<Operation, ApiError> {
    Ok(match action(fields)? {
        Action::StartProcessing => Operation::StartProcessing,
        Action::Ship => {
            let mut lines = Vec::new();
            for line in order.lines() {
                let name = quantity_field(line);
                let units = match fields.get(&name) {
                    None => 0,
                    Some(raw) => raw.parse::<u32>().map_err(|_| ApiError::BadRequest {
                        detail: format!("{}: the units to ship must be a whole number", line.sku),
                        field: Some(name.clone()),
                    })?,
                };
                if units > 0 {
                    lines.push(LineQuantity {
                        line_id: line.id,
                        quantity: Quantity::new(units).map_err(|e| e.at(&name))?,
                    });
                }
            }
            Operation::Ship {
                lines,
                carrier: optional(fields, "carrier", Carrier::parse)?,
                tracking_number: optional(fields, "tracking", TrackingNumber::parse)?,
            }
        }
        Action::Deliver => Operation::Deliver {
            shipment_id: id("shipment", required(fields, "shipment")?, |s| {
                s.parse::<ShipmentId>()
            })?,
        },
        Action::ReceiveReturn => Operation::ReceiveReturn {
            return_id: id("return", required(fields, "return")?, |s| {
                s.parse::<ReturnId>()
            })?,
            refund: fields.get("refund").is_some(),
        },
        Action::Refund => Operation::Refund {
            amount: Money::parse(required(fields, "amount")?, order.currency()).map_err(
                |source| {
                    ApiError::from(ValidationError::Money {
                        field: "amount".into(),
                        source,
                    })
                },
            )?,
            reason: Reason::parse(required(fields, "reason")?).map_err(|e| e.at("reason"))?,
        },
        Action::Cancel => Operation::Cancel {
            reason: Reason::parse(required(fields, "reason")?).map_err(|e| e.at("reason"))?,
        },
        other @ (Action::EditLines
        | Action::UpdateDetails
        | Action::StartPayment
        | Action::RecordPayment
        | Action::Confirm
        | Action::DeliverDigital
        | Action::Complete
        | Action::Expire
        | Action::RequestReturn) => {
            return Err(ApiError::BadRequest {
                detail: format!(
                    "action: the console does not {}",
                    label(other).to_lowercase()
                ),
                field: Some("action".into()),
            });
        }
    })
}
