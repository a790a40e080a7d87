//! [`GrpcError`]: every error the gRPC API answers with, and the one
//! exhaustive map from the engine's errors to gRPC status codes, so a new
//! domain error forces a decision here. It follows the HTTP API's choices:
//! what HTTP answers 422 is INVALID_ARGUMENT, 404 is NOT_FOUND, 409 for a
//! state or rule is FAILED_PRECONDITION, a lost version race is ABORTED
//! (retry from a fresh read), a dependency that cannot answer is
//! UNAVAILABLE. Server failures are logged with their cause and answered
//! INTERNAL without the dependency's text.

use order_core::{
    OrderError, OrderStatus, PaymentStatus, PortError, RuleViolation, StoreError, ValidationError,
};
use tonic::{Code, Status};

/// An error the gRPC API answers with.
#[derive(Debug, thiserror::Error)]
pub enum GrpcError {
    /// What the engine refused or failed at.
    #[error(transparent)]
    Order(#[from] OrderError),
    /// A request field the engine never sees is malformed (an address type,
    /// a sort key).
    #[error("{field}: {detail}")]
    Invalid {
        /// The field, as the proto names it.
        field: String,
        /// What is wrong.
        detail: String,
    },
    /// No command leads to the status asked for; the order stays as it is.
    #[error(
        "no command sets an order's status to {requested}; the order is {status} with payment {payment}"
    )]
    NoCommand {
        /// The status asked for, as sent.
        requested: String,
        /// The order's status.
        status: OrderStatus,
        /// The order's payment status.
        payment: PaymentStatus,
    },
    /// No or bad credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller may not make this call.
    #[error("{0}")]
    PermissionDenied(String),
    /// The server failed; the cause is logged, never sent.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<ValidationError> for GrpcError {
    fn from(err: ValidationError) -> Self {
        Self::Order(OrderError::Validation(err))
    }
}

fn rule_code(rule: &RuleViolation) -> Code {
    use RuleViolation as R;
    match rule {
        R::UnknownLine(_) | R::UnknownShipment(_) | R::UnknownReturn(_) => Code::NotFound,
        R::PriceChanged { .. }
        | R::ReturnWindowClosed { .. }
        | R::ReturnWindowOpen { .. }
        | R::OpenReturn(_)
        | R::AlreadyDelivered(_)
        | R::AlreadyReceived(_)
        | R::NotStale { .. }
        | R::FieldFrozen { .. }
        | R::StockNotReserved => Code::FailedPrecondition,
        R::RefundExceedsCaptured { .. }
        | R::CaptureExceedsAuthorized { .. }
        | R::PaymentAmountMismatch { .. }
        | R::ShipsMoreThanOrdered { .. }
        | R::ReturnsMoreThanShipped { .. }
        | R::DigitalNotReturnable { .. }
        | R::BadLineSelection { .. }
        | R::LastLine
        | R::UnknownProduct { .. }
        | R::ProductInactive { .. }
        | R::UnknownCustomer
        | R::CouponRejected { .. }
        | R::ShippingUnavailable { .. }
        | R::TaxUnavailable { .. }
        | R::NonPositiveAmount
        | R::Money(_) => Code::InvalidArgument,
    }
}

/// The one place where engine errors become gRPC codes.
fn order_code(err: &OrderError) -> Code {
    match err {
        OrderError::Validation(_) | OrderError::IdempotencyKeyReused { .. } => {
            Code::InvalidArgument
        }
        OrderError::Transition(_)
        | OrderError::OutOfStock(_)
        | OrderError::PaymentDeclined { .. } => Code::FailedPrecondition,
        OrderError::Rule(rule) => rule_code(rule),
        OrderError::NotFound(_) => Code::NotFound,
        OrderError::VersionConflict { .. } | OrderError::IdempotencyInFlight { .. } => {
            Code::Aborted
        }
        OrderError::Unavailable { .. } | OrderError::Store(StoreError::Unavailable(_)) => {
            Code::Unavailable
        }
        OrderError::Store(_) => Code::Internal,
    }
}

impl GrpcError {
    /// The gRPC status code this error answers with.
    pub fn code(&self) -> Code {
        match self {
            Self::Order(err) => order_code(err),
            Self::Invalid { .. } => Code::InvalidArgument,
            Self::NoCommand { .. } => Code::FailedPrecondition,
            Self::Unauthenticated(_) => Code::Unauthenticated,
            Self::PermissionDenied(_) => Code::PermissionDenied,
            Self::Internal(_) => Code::Internal,
        }
    }

    /// What a server-side failure says: which dependency failed, never its
    /// error's text (that is logged) — but a port's refusal, whose text is
    /// meant for the caller.
    fn server_message(&self) -> String {
        match self {
            Self::Order(OrderError::Unavailable {
                source: PortError::Refused(_),
                ..
            }) => self.to_string(),
            Self::Order(OrderError::Unavailable {
                port,
                source: PortError::Timeout,
            }) => format!("{port} did not answer in time; try again later"),
            Self::Order(OrderError::Unavailable { port, .. }) => {
                format!("{port} is unavailable; try again later")
            }
            Self::Order(OrderError::Store(StoreError::Unavailable(_))) => {
                "the store is unavailable; try again later".to_owned()
            }
            _ => "the server failed; the cause is logged".to_owned(),
        }
    }
}

/// Metadata keys a refusal carries beside its message, for clients that act
/// on them.
const FIELD: &str = "x-field";
const CURRENT_STATUS: &str = "x-current-status";
const PAYMENT_STATUS: &str = "x-payment-status";

impl From<GrpcError> for Status {
    fn from(err: GrpcError) -> Self {
        let code = err.code();
        let server_side = matches!(code, Code::Internal | Code::Unavailable);
        if server_side {
            tracing::error!(code = ?code, cause = %cause_chain(&err), "gRPC call failed");
        }
        let message = if server_side {
            err.server_message()
        } else {
            err.to_string()
        };
        let mut status = Self::new(code, message);
        let (field, state) = match &err {
            GrpcError::Order(OrderError::Validation(v)) => (Some(v.field().to_owned()), None),
            GrpcError::Invalid { field, .. } => (Some(field.clone()), None),
            GrpcError::Order(OrderError::Transition(t)) => (None, Some((t.from, t.payment))),
            GrpcError::NoCommand {
                status, payment, ..
            } => (None, Some((*status, *payment))),
            _ => (None, None),
        };
        let metadata = status.metadata_mut();
        if let Some(value) = field.and_then(|f| f.parse().ok()) {
            metadata.insert(FIELD, value);
        }
        if let Some((order, payment)) = state {
            for (key, name) in [
                (CURRENT_STATUS, crate::message::status_name(order.as_str())),
                (
                    PAYMENT_STATUS,
                    crate::message::status_name(payment.as_str()),
                ),
            ] {
                if let Ok(value) = name.parse() {
                    metadata.insert(key, value);
                }
            }
        }
        status
    }
}

/// `err` and its sources, `: `-separated, each once.
fn cause_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err.to_string();
    let mut source = err.source();
    while let Some(err) = source {
        let text = err.to_string();
        if !cause.ends_with(&text) {
            cause.push_str(": ");
            cause.push_str(&text);
        }
        source = err.source();
    }
    cause
}

#[cfg(test)]
mod tests {
    use order_core::error::OrderRef;
    use order_core::{Action, OrderId, TransitionError};

    use super::*;

    fn order_id() -> OrderId {
        "0193e6d2-6c1e-7b4e-9a3a-5c1d2e3f4a5b".parse().unwrap()
    }

    #[test]
    fn a_refused_transition_names_the_current_state_in_its_metadata() {
        let status = Status::from(GrpcError::from(OrderError::from(TransitionError {
            from: OrderStatus::Delivered,
            payment: PaymentStatus::Paid,
            action: Action::Cancel,
        })));
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert_eq!(
            status.message(),
            "cannot cancel an order that is delivered with payment paid"
        );
        let meta = |key| status.metadata().get(key).and_then(|v| v.to_str().ok());
        assert_eq!(meta(CURRENT_STATUS), Some("DELIVERED"));
        assert_eq!(meta(PAYMENT_STATUS), Some("PAID"));
    }

    #[test]
    fn a_lost_version_race_is_aborted_so_the_client_retries() {
        let err = GrpcError::from(OrderError::VersionConflict {
            id: order_id(),
            expected: 3,
            actual: 4,
        });
        assert_eq!(err.code(), Code::Aborted);
    }

    #[test]
    fn a_failing_store_is_unavailable_without_its_text() {
        let cause = std::io::Error::other("password authentication failed for user x");
        let status = Status::from(GrpcError::from(OrderError::Store(StoreError::Unavailable(
            Box::new(cause),
        ))));
        assert_eq!(status.code(), Code::Unavailable);
        assert_eq!(
            status.message(),
            "the store is unavailable; try again later"
        );
        let broken = Status::from(GrpcError::from(OrderError::Store(StoreError::Backend(
            Box::new(std::io::Error::other("syntax error at or near")),
        ))));
        assert_eq!(broken.code(), Code::Internal);
        assert!(!broken.message().contains("syntax"), "{}", broken.message());
    }

    #[test]
    fn a_validation_error_names_its_field() {
        let status = Status::from(GrpcError::from(ValidationError::Empty {
            field: "shipping_address.city".into(),
        }));
        assert_eq!(status.code(), Code::InvalidArgument);
        let field = status.metadata().get(FIELD).and_then(|v| v.to_str().ok());
        assert_eq!(field, Some("shipping_address.city"));
        let missing = GrpcError::from(OrderError::NotFound(OrderRef::Id(order_id())));
        assert_eq!(missing.code(), Code::NotFound);
    }
}
