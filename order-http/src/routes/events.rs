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
use crate::extract::{AppQuery, id};
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
    let limit = params.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(order_core::ValidationError::OutOfRange {
            field: "limit".into(),
            value: i64::try_from(limit).unwrap_or(i64::MAX),
            min: 1,
            max: 500,
        }
        .into());
    }
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

fn required<'a>(field: &str, value: Option<&'a str>) -> ApiResult<&'a str> {
    value.ok_or_else(|| {
        order_core::ValidationError::Empty {
            field: field.to_owned(),
        }
        .into()
    })
}

#[utoipa::path(post, path = "/api/v1/payments/events", tag = "events", request_body = PaymentEventRequestBody,
    params(("X-Signature" = Option<String>, Header, nullable = false, description = "sha256=<hex HMAC of the body>, instead of a service token")),
    responses((status = 200, body = OrderResponseBody),
        (status = 403, response = Problem), (status = 404, response = Problem), (status = 409, response = Problem), (status = 422, response = Problem)),
    security(("bearer" = [])))]
/// The payment provider's webhook: `payment.processed`, `payment.failed`,
/// `payment.refunded`; each event id is applied once. Takes a service token
/// or an HMAC signature.
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
    let event: PaymentEventRequestBody =
        serde_json::from_slice(&body).map_err(|err| ApiError::BadRequest {
            detail: format!("body: {err}"),
            field: None,
        })?;
    let order_id = id("order_id", &event.order_id.to_string(), |s| s.parse())?;
    let order = state.orders.get(order_id).await?;
    let currency = order.currency();
    let amount = |text: Option<&str>| -> ApiResult<order_core::Money> {
        order_core::Money::parse(required("amount", text)?, currency).map_err(|source| {
            ApiError::from(order_core::ValidationError::Money {
                field: "amount".into(),
                source,
            })
        })
    };
    let reference = |text: Option<&str>| -> ApiResult<order_core::GatewayReference> {
        Ok(order_core::GatewayReference::parse(required(
            "reference",
            text,
        )?)?)
    };
    let kind = match event.kind.as_str() {
        "payment.processed" => order_core::PaymentEventKind::Processed {
            amount: amount(event.amount.as_deref())?,
            reference: reference(event.reference.as_deref())?,
        },
        "payment.failed" => order_core::PaymentEventKind::Failed {
            code: event.code.clone().unwrap_or_else(|| "failed".into()),
            reason: event
                .reason
                .clone()
                .unwrap_or_else(|| "the provider reported a failure".into()),
        },
        "payment.refunded" => order_core::PaymentEventKind::Refunded {
            amount: amount(event.amount.as_deref())?,
            reference: reference(event.reference.as_deref())?,
        },
        _ => {
            return Err(order_core::ValidationError::BadFormat {
                field: "type".into(),
                rule: "must be payment.processed, payment.failed or payment.refunded",
            }
            .into());
        }
    };
    if event.id.trim().is_empty() || event.id.len() > 200 {
        return Err(order_core::ValidationError::BadFormat {
            field: "id".into(),
            rule: "must be 1 to 200 characters",
        }
        .into());
    }
    let applied = state
        .orders
        .apply_payment_event(
            &order_core::PaymentEvent {
                event_id: event.id,
                order_id,
                kind,
            },
            &actor,
        )
        .await?;
    Ok(axum::response::IntoResponse::into_response(axum::Json(
        OrderResponseBody::from(&applied),
    )))
}
