//! `/api/v1/events` (the outbox as a feed) and `/api/v1/payments/events`
//! (the payment provider's webhook).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Role;
use crate::dto::{EventBody, EventPageBody, OrderResponseBody, PaymentEventRequestBody};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::AppQuery;
use crate::state::AppState;

/// The event routes, relative to `/api/v1`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/events", get(feed))
        .route("/payments/events", post(payment_event))
}

/// Page of `GET /api/v1/events`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct FeedParams {
    /// Only events after this position (0 for the start).
    #[serde(default, deserialize_with = "crate::whole::text")]
    #[param(value_type = Option<crate::openapi::FeedPosition>)]
    after: u64,
    /// 1 to 500, default 100.
    #[param(minimum = 1, maximum = 500)]
    #[serde(default, deserialize_with = "crate::whole::text_option")]
    limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/events", tag = "events",
    params(FeedParams),
    responses((status = 200, body = EventPageBody),
        (status = 403, response = Problem), (status = 422, response = Problem)),
    security(("bearer" = [])))]
/// The event feed, in commit order (admin, service).
pub(crate) async fn feed(
    State(state): State<AppState>,
    caller: crate::auth::Caller,
    AppQuery(params): AppQuery<FeedParams>,
) -> ApiResult<axum::Json<EventPageBody>> {
    caller.require(&[Role::Admin, Role::Service])?;
    let limit = crate::extract::page_limit(params.limit, 100, 500)?;
    let events = state
        .store
        .feed(params.after, limit)
        .await
        .map_err(|e| ApiError::Order(e.into()))?;
    let next_after = events.last().map_or(params.after, |e| e.position);
    Ok(axum::Json(EventPageBody {
        events: events
            .iter()
            .map(|e| EventBody::new(&e.record, Some(e.position)))
            .collect(),
        next_after,
    }))
}

#[utoipa::path(post, path = "/api/v1/payments/events", tag = "events", request_body = PaymentEventRequestBody,
    params(("X-Signature" = Option<String>, Header, nullable = false, description = "sha256=<hex HMAC of the body>, instead of a service token"),
        ("ce-type" = Option<String>, Header, nullable = false, description = "CloudEvents type: payment.processed, payment.failed or payment.refunded (for bodies without a type)"),
        ("ce-id" = Option<String>, Header, nullable = false, description = "CloudEvents id: the event is applied once by it")),
    responses((status = 200, body = OrderResponseBody),
        (status = 403, response = Problem), (status = 404, response = Problem), (status = 409, response = Problem), (status = 422, response = Problem)),
    security(("bearer" = [])))]
/// The payment provider's webhook: `payment.processed`, `payment.failed`,
/// `payment.refunded`, in the engine's shape or the payment service's (the
/// seed's bodies, typed by a CloudEvents `ce-type` header); each event id is
/// applied once, each provider transaction once. Takes a service token or
/// an HMAC signature.
pub(crate) async fn payment_event(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let actor = match state.auth.caller(&headers) {
        Ok(caller) => {
            caller.require(&[Role::Service])?;
            caller.actor()
        }
        Err(_) => {
            state.auth.verify_signature(&headers, &body)?;
            order_core::Actor::parse("service:payment-webhook")
                .unwrap_or_else(|_| order_core::Actor::system())
        }
    };
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let payment = order_events::inbound::decode(header("ce-type"), header("ce-id"), &body)
        .map_err(|error| decode_error(&error))?;
    let applied = order_events::inbound::apply(&state.orders, &payment, &actor)
        .await
        .map_err(|error| ApiError::Order(error.0))?;
    Ok(axum::response::IntoResponse::into_response(axum::Json(
        OrderResponseBody::from(&applied),
    )))
}

/// A body that is not JSON is malformed (400); a readable event missing or
/// misstating a field fails validation naming it (422).
fn decode_error(error: &order_events::inbound::DecodeError) -> ApiError {
    match error.validation() {
        Some(invalid) => invalid.into(),
        None => ApiError::BadRequest {
            detail: error.to_string(),
            field: None,
        },
    }
}
