//! [`ApiError`]: every error the API returns, as RFC 9457
//! `application/problem+json`. The mapping from `OrderError` to a status is
//! one exhaustive match, so a new domain error forces a decision here.
//! Server errors are logged with their cause (the whole source chain) and
//! answered generically: no text of a dependency's error — a database's, a
//! payment service's — reaches a response body.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use order_core::{OrderError, PortError, RuleViolation, StoreError, ValidationError};
use serde::Serialize;
use utoipa::ToSchema;

/// The problem document (RFC 9457) every error response carries.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (`/problems/<code>`).
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong this time.
    pub detail: String,
    /// A stable machine-readable code.
    pub code: &'static str,
    /// The offending field, when one is to blame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The order's status, for refused transitions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_status: Option<String>,
    /// The order's payment status, for refused transitions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_status: Option<String>,
    /// The refused action, for refused transitions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
}

/// An error the API answers with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// What the engine refused or failed at.
    #[error(transparent)]
    Order(#[from] OrderError),
    /// A version precondition (`If-Match`) did not hold.
    #[error("the order is at version {actual}, the request expected {expected}")]
    PreconditionFailed {
        /// The version the client sent.
        expected: u64,
        /// The version found.
        actual: u64,
    },
    /// A port refused a well-formed value (a SKU taken by another product,
    /// fewer units on hand than are held).
    #[error("{field}: {detail}")]
    Refused {
        /// The field the refusal is about.
        field: &'static str,
        /// Why.
        detail: String,
    },
    /// The request is malformed: unreadable JSON, a bad header or query.
    #[error("{detail}")]
    BadRequest {
        /// What is malformed.
        detail: String,
        /// The offending field, if known.
        field: Option<String>,
    },
    /// The body is larger than the configured limit.
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit.
        limit: usize,
    },
    /// The route exists, but not for this method.
    #[error("this method is not allowed on this route")]
    MethodNotAllowed,
    /// The body is not JSON.
    #[error("the request body must be application/json")]
    UnsupportedMediaType,
    /// The body did not arrive within the body read time limit.
    #[error("the request body did not arrive within {} s", limit.as_secs_f64())]
    RequestTimeout {
        /// The limit.
        limit: std::time::Duration,
    },
    /// No or bad credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// No such resource (route or record).
    #[error("{0}")]
    NotFound(String),
    /// A dependency failed; the cause is logged, never sent.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<ValidationError> for ApiError {
    fn from(err: ValidationError) -> Self {
        Self::Order(OrderError::Validation(err))
    }
}

struct Kind {
    status: StatusCode,
    code: &'static str,
    title: &'static str,
}

const fn kind(status: StatusCode, code: &'static str, title: &'static str) -> Kind {
    Kind {
        status,
        code,
        title,
    }
}

fn rule_kind(rule: &RuleViolation) -> Kind {
    use RuleViolation as R;
    match rule {
        R::PriceChanged { .. } => kind(StatusCode::CONFLICT, "price_changed", "The price changed"),
        R::ReturnWindowClosed { .. } | R::ReturnWindowOpen { .. } | R::OpenReturn(_) => kind(
            StatusCode::CONFLICT,
            "return_window",
            "Not allowed at this point of the return window",
        ),
        R::UnknownLine(_) | R::UnknownShipment(_) | R::UnknownReturn(_) => kind(
            StatusCode::NOT_FOUND,
            "not_found",
            "Not found on this order",
        ),
        R::AlreadyDelivered(_)
        | R::AlreadyReceived(_)
        | R::NotStale { .. }
        | R::FieldFrozen { .. }
        | R::StockNotReserved => kind(
            StatusCode::CONFLICT,
            "conflict",
            "Conflicts with the order's state",
        ),
        R::RefundExceedsCaptured { .. }
        | R::CaptureExceedsAuthorized { .. }
        | R::PaymentAmountMismatch { .. } => kind(
            StatusCode::UNPROCESSABLE_ENTITY,
            "amount_rejected",
            "The amount is not allowed",
        ),
        R::ShipsMoreThanOrdered { .. }
        | R::ReturnsMoreThanShipped { .. }
        | R::DigitalNotReturnable { .. }
        | R::BadLineSelection { .. }
        | R::LastLine => kind(
            StatusCode::UNPROCESSABLE_ENTITY,
            "quantity_rejected",
            "The quantities are not allowed",
        ),
        R::UnknownProduct { .. } | R::ProductInactive { .. } | R::UnknownCustomer => kind(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_reference",
            "A referenced record does not exist",
        ),
        R::CouponRejected { .. } | R::ShippingUnavailable { .. } | R::TaxUnavailable { .. } => {
            kind(
                StatusCode::UNPROCESSABLE_ENTITY,
                "policy_refused",
                "A pricing policy refused the order",
            )
        }
        R::NonPositiveAmount | R::Money(_) => kind(
            StatusCode::UNPROCESSABLE_ENTITY,
            "amount_rejected",
            "The amount is not allowed",
        ),
    }
}

/// The one place where engine errors become HTTP statuses.
fn order_kind(err: &OrderError) -> Kind {
    match err {
        OrderError::Validation(_) => kind(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "The request is invalid",
        ),
        OrderError::Transition(_) => kind(
            StatusCode::CONFLICT,
            "invalid_transition",
            "Not allowed in the order's current state",
        ),
        OrderError::Rule(rule) => rule_kind(rule),
        OrderError::NotFound(_) => {
            kind(StatusCode::NOT_FOUND, "order_not_found", "Order not found")
        }
        OrderError::VersionConflict { .. } => kind(
            StatusCode::CONFLICT,
            "version_conflict",
            "The order changed concurrently",
        ),
        OrderError::OutOfStock(_) => kind(StatusCode::CONFLICT, "out_of_stock", "Not enough stock"),
        OrderError::PaymentDeclined { .. } => kind(
            StatusCode::PAYMENT_REQUIRED,
            "payment_declined",
            "The payment was declined",
        ),
        OrderError::IdempotencyKeyReused { .. } => kind(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "The idempotency key was used for another request",
        ),
        OrderError::IdempotencyInFlight { .. } => kind(
            StatusCode::CONFLICT,
            "idempotency_in_flight",
            "A request with this idempotency key is in progress",
        ),
        OrderError::Unavailable { .. } => kind(
            StatusCode::SERVICE_UNAVAILABLE,
            "dependency_unavailable",
            "A dependency is unavailable",
        ),
        OrderError::Store(StoreError::Unavailable(_)) => kind(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            "The store is unavailable",
        ),
        OrderError::Store(_) => kind(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
        ),
    }
}

impl ApiError {
    fn kind(&self) -> Kind {
        match self {
            Self::Order(err) => order_kind(err),
            Self::PreconditionFailed { .. } => kind(
                StatusCode::PRECONDITION_FAILED,
                "version_mismatch",
                "The order's version does not match If-Match",
            ),
            Self::Refused { .. } => kind(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "The request is invalid",
            ),
            Self::BadRequest { .. } => kind(
                StatusCode::BAD_REQUEST,
                "malformed_request",
                "The request is malformed",
            ),
            Self::PayloadTooLarge { .. } => kind(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "The request body is too large",
            ),
            Self::RequestTimeout { .. } => kind(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "The request body did not arrive in time",
            ),
            Self::UnsupportedMediaType => kind(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Unsupported media type",
            ),
            Self::MethodNotAllowed => kind(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "Method not allowed",
            ),
            Self::Unauthorized(_) => kind(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Authentication required",
            ),
            Self::Forbidden(_) => kind(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Not allowed for this caller",
            ),
            Self::NotFound(_) => kind(StatusCode::NOT_FOUND, "not_found", "Not found"),
            Self::Internal(_) => kind(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
            ),
        }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        self.kind().status
    }

    /// What a 5xx says: which dependency failed, never its error's text
    /// (that is logged) — but a refusal, whose text is the port's answer to
    /// the caller ("refunds are made by the payment service…").
    fn server_detail(&self) -> String {
        match self {
            Self::Order(OrderError::Unavailable {
                source: PortError::Refused(_),
                ..
            }) => self.to_string(),
            Self::Order(OrderError::Unavailable { port, .. }) if *port == TIME_LIMIT => {
                "the request did not finish within the time limit; try again later".to_owned()
            }
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

    /// The problem document for this error.
    pub fn problem(&self) -> Problem {
        let Kind {
            status,
            code,
            title,
        } = self.kind();
        let detail = if status.is_server_error() {
            self.server_detail()
        } else {
            self.to_string()
        };
        let mut problem = Problem {
            kind: format!("/problems/{code}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            code,
            field: None,
            current_status: None,
            payment_status: None,
            action: None,
        };
        match self {
            Self::Order(OrderError::Validation(v)) => problem.field = Some(v.field().to_owned()),
            Self::Order(OrderError::Transition(t)) => {
                problem.current_status = Some(t.from.to_string());
                problem.payment_status = Some(t.payment.to_string());
                problem.action = Some(t.action.to_string());
            }
            Self::BadRequest { field, .. } => problem.field.clone_from(field),
            Self::Refused { field, .. } => problem.field = Some((*field).to_owned()),
            _ => {}
        }
        problem
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(
                status = status.as_u16(),
                cause = %cause_chain(&self),
                "request failed"
            );
        }
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

/// The port name of the request time limit's `OrderError::Unavailable`.
pub(crate) const TIME_LIMIT: &str = "request";

/// `err` and its sources, `: `-separated, each once (a wrapper that repeats
/// its source's text adds nothing).
pub(crate) fn cause_chain(err: &(dyn std::error::Error + 'static)) -> String {
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

/// A handler's result.
pub type ApiResult<T> = Result<T, ApiError>;
