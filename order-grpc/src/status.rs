//! `UpdateOrderStatus`: the status a caller asks for, in the engine's words
//! or the seeds' (`PAID`, `payment_successful`, `CANCELED`…, in any case),
//! becomes the one command that leads there, and the state machine decides:
//! a command the order's state does not allow is refused naming that state.
//! A status no command leads to — back to `PENDING`; `PAYMENT_FAILED`, which
//! only a gateway's answer records; `PARTIALLY_SHIPPED` and `RETURNED`,
//! which need the units — is refused the same way, naming the state.

use order_core::{
    Carrier, LineQuantity, Operation, Order, Quantity, Reason, TrackingNumber, ValidationError,
};
use tonic::metadata::MetadataMap;

use crate::auth::{ANYONE, FULFILMENT, Role, STAFF};
use crate::error::GrpcError;

/// The command a requested status leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// `CONFIRMED`, `PAID`, `PAYMENT_SUCCESSFUL`, `PAYMENT_PENDING`: checkout.
    Pay,
    /// `PROCESSING`.
    StartProcessing,
    /// `SHIPPED`: every unit still to ship, in one shipment.
    Ship,
    /// `DELIVERED`: every shipment not yet delivered.
    Deliver,
    /// `COMPLETED`.
    Complete,
    /// `CANCELLED` (or `CANCELED`).
    Cancel,
    /// `REFUNDED`: everything still refundable.
    Refund,
}

/// Where a requested status leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// To a command.
    Step(Step),
    /// Nowhere: no command sets this status.
    Unreachable,
}

/// The metadata keys that carry a shipment's carrier and tracking number
/// (the proto's request has no field for them).
pub const CARRIER: &str = "x-carrier";
/// See [`CARRIER`].
pub const TRACKING_NUMBER: &str = "x-tracking-number";

const KNOWN: &str = "PENDING, CONFIRMED, PAID, PAYMENT_SUCCESSFUL, PAYMENT_PENDING, \
    PAYMENT_FAILED, PROCESSING, PARTIALLY_SHIPPED, SHIPPED, DELIVERED, COMPLETED, \
    CANCELLED, RETURNED, REFUNDED, PARTIALLY_REFUNDED";

/// Reads a requested status.
///
/// # Errors
/// INVALID_ARGUMENT naming `status` for a name no seed or engine uses.
pub(crate) fn target(raw: &str) -> Result<Target, GrpcError> {
    let name = raw.trim().to_ascii_lowercase().replace(['-', ' '], "_");
    let step = match name.as_str() {
        "confirmed" | "paid" | "payment_successful" | "payment_pending" => Step::Pay,
        "processing" => Step::StartProcessing,
        "shipped" => Step::Ship,
        "delivered" => Step::Deliver,
        "completed" => Step::Complete,
        "cancelled" | "canceled" => Step::Cancel,
        "refunded" => Step::Refund,
        "pending" | "payment_failed" | "failed" | "partially_shipped" | "returned"
        | "partially_refunded" => return Ok(Target::Unreachable),
        _ => {
            return Err(GrpcError::Invalid {
                field: "status".into(),
                detail: format!("unknown status {raw:?}; one of {KNOWN}"),
            });
        }
    };
    Ok(Target::Step(step))
}

impl Step {
    /// Who may take this step: the roles its HTTP route needs.
    pub(crate) fn roles(self) -> &'static [Role] {
        match self {
            Self::Pay | Self::Cancel => ANYONE,
            Self::StartProcessing | Self::Ship | Self::Deliver => FULFILMENT,
            Self::Complete | Self::Refund => STAFF,
        }
    }

    /// The engine's operations for this step on `order`, in order: one, but
    /// one per undelivered shipment for [`Step::Deliver`] (none when nothing
    /// awaits delivery). `notes` become the reason of a cancellation or a
    /// refund; `metadata` may carry a shipment's carrier and tracking
    /// number. Not for [`Step::Pay`], which runs within the caller's scope.
    pub(crate) fn operations(
        self,
        order: &Order,
        notes: Option<&str>,
        metadata: &MetadataMap,
    ) -> Result<Vec<Operation>, GrpcError> {
        let reason = || {
            let text = notes.filter(|n| !n.trim().is_empty());
            Reason::parse(text.unwrap_or("status set over gRPC")).map_err(|e| e.at("notes"))
        };
        let operation = match self {
            Self::Pay => Operation::Pay,
            Self::StartProcessing => Operation::StartProcessing,
            Self::Ship => Operation::Ship {
                lines: order
                    .lines()
                    .iter()
                    .filter_map(|line| {
                        let units = Quantity::new(line.quantities.to_ship()).ok()?;
                        Some(LineQuantity {
                            line_id: line.id,
                            quantity: units,
                        })
                    })
                    .collect(),
                carrier: text_metadata(metadata, CARRIER, Carrier::parse)?,
                tracking_number: text_metadata(metadata, TRACKING_NUMBER, TrackingNumber::parse)?,
            },
            Self::Deliver => {
                return Ok(order
                    .shipments()
                    .iter()
                    .filter(|s| s.delivered_at.is_none())
                    .map(|s| Operation::Deliver { shipment_id: s.id })
                    .collect());
            }
            Self::Complete => Operation::Complete,
            Self::Cancel => Operation::Cancel { reason: reason()? },
            Self::Refund => Operation::Refund {
                amount: order
                    .payments()
                    .refundable()
                    .map_err(order_core::OrderError::from)?,
                reason: reason()?,
            },
        };
        Ok(vec![operation])
    }
}

fn text_metadata<T>(
    metadata: &MetadataMap,
    key: &'static str,
    parse: impl Fn(&str) -> Result<T, ValidationError>,
) -> Result<Option<T>, GrpcError> {
    let Some(value) = metadata.get(key) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| GrpcError::Invalid {
        field: key.to_owned(),
        detail: "must be printable ASCII".into(),
    })?;
    parse(text).map(Some).map_err(|err| GrpcError::Invalid {
        field: key.to_owned(),
        detail: err.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_and_engine_names_lead_to_the_same_command() {
        for name in ["PAID", "confirmed", "payment_successful", "PAYMENT-PENDING"] {
            assert_eq!(target(name).unwrap(), Target::Step(Step::Pay), "{name}");
        }
        assert_eq!(target(" Canceled ").unwrap(), Target::Step(Step::Cancel));
        assert_eq!(target("SHIPPED").unwrap(), Target::Step(Step::Ship));
    }

    #[test]
    fn a_status_no_command_sets_is_unreachable_not_unknown() {
        for name in ["PENDING", "PAYMENT_FAILED", "returned"] {
            assert_eq!(target(name).unwrap(), Target::Unreachable, "{name}");
        }
    }

    #[test]
    fn an_unknown_status_names_the_field() {
        let err = target("LOST").unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
        assert!(
            err.to_string()
                .starts_with("status: unknown status \"LOST\"")
        );
    }
}
