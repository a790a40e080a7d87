//! `/api/v1/webhooks` and `/api/v1/webhook-deliveries`: admins subscribe
//! URLs to event types, read each subscription's deliveries and their
//! attempts, and send a delivery again. Deliveries are made by
//! `order_webhooks::Dispatcher`, signed per Standard Webhooks.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use chrono::{DateTime, Utc};
use order_core::webhook::{Attempt, Delivery, DeliveryState, Subscription};
use order_core::{
    DeliveryId, EventTypeName, StoreError, SubscriptionId, ValidationError, WebhookSecret,
    WebhookUrl,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{AppJson, AppQuery, id};
use crate::state::AppState;

/// The webhook routes, relative to `/api/v1`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks", post(subscribe).get(subscriptions))
        .route("/webhooks/{id}", delete(unsubscribe))
        .route("/webhooks/{id}/deliveries", get(deliveries))
        .route("/webhook-deliveries/{id}", get(delivery))
        .route("/webhook-deliveries/{id}/redeliver", post(redeliver))
}

/// `POST /api/v1/webhooks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubscriptionRequestBody {
    /// Where deliveries go: `http://` or `https://`.
    #[schema(value_type = crate::openapi::WebhookUrl, example = "https://example.com/hooks/orders")]
    pub(crate) url: String,
    /// The types to receive (see docs/events.md), or `*` for all.
    #[schema(value_type = Vec<crate::openapi::WebhookEventType>, min_items = 1, max_items = 50,
        example = json!(["order.created", "order.confirmed"]))]
    pub(crate) event_types: Vec<String>,
    /// The signing secret (`whsec_` and base64); one is made up when absent.
    #[schema(value_type = Option<crate::openapi::WebhookSecret>)]
    pub(crate) secret: Option<String>,
}

/// A subscription. The secret is shown once, when it is made.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SubscriptionBody {
    /// Its id.
    pub(crate) id: Uuid,
    /// Where deliveries go.
    pub(crate) url: String,
    /// The types it receives.
    pub(crate) event_types: Vec<String>,
    /// When it was made.
    pub(crate) created_at: DateTime<Utc>,
    /// The signing secret (only in the answer to its creation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) secret: Option<String>,
}

impl SubscriptionBody {
    fn of(subscription: &Subscription, with_secret: bool) -> Self {
        Self {
            id: subscription.id.as_uuid(),
            url: subscription.url.as_str().to_owned(),
            event_types: subscription
                .event_types
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect(),
            created_at: subscription.created_at,
            secret: with_secret.then(|| subscription.secret.as_str().to_owned()),
        }
    }
}

/// `GET /api/v1/webhooks`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SubscriptionListBody {
    /// Oldest first.
    pub(crate) subscriptions: Vec<SubscriptionBody>,
}

/// One delivery: one message to one subscription.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeliveryBody {
    /// Its id.
    pub(crate) id: Uuid,
    /// The subscription.
    pub(crate) subscription_id: Uuid,
    /// The message's id (`webhook-id`, `ce-id`).
    #[schema(format = Uuid)]
    pub(crate) message_id: String,
    /// Its type.
    pub(crate) event_type: String,
    /// The event's feed position.
    pub(crate) position: u64,
    /// `pending`, `delivered` or `failed`.
    pub(crate) state: String,
    /// Attempts so far.
    pub(crate) attempts: u32,
    /// When the next attempt is due (pending).
    pub(crate) next_attempt_at: DateTime<Utc>,
    /// When its retry window closes.
    pub(crate) give_up_at: DateTime<Utc>,
    /// The last attempt's HTTP status.
    pub(crate) last_status: Option<u16>,
    /// The last attempt's error.
    pub(crate) last_error: Option<String>,
    /// When it was enqueued.
    pub(crate) created_at: DateTime<Utc>,
}

impl From<&Delivery> for DeliveryBody {
    fn from(d: &Delivery) -> Self {
        Self {
            id: d.id.as_uuid(),
            subscription_id: d.subscription_id.as_uuid(),
            message_id: d.message_id.clone(),
            event_type: d.event_type.clone(),
            position: d.position,
            state: d.state.as_str().to_owned(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            give_up_at: d.give_up_at,
            last_status: d.last_status,
            last_error: d.last_error.clone(),
            created_at: d.created_at,
        }
    }
}

/// `GET /api/v1/webhooks/{id}/deliveries`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeliveryListBody {
    /// Newest first.
    pub(crate) deliveries: Vec<DeliveryBody>,
}

/// One attempt at a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AttemptBody {
    /// 1 for the first.
    pub(crate) number: u32,
    /// When.
    pub(crate) at: DateTime<Utc>,
    /// The receiver's HTTP status, if it answered.
    pub(crate) status: Option<u16>,
    /// What went wrong, if anything.
    pub(crate) error: Option<String>,
    /// How long it took.
    pub(crate) took_ms: u64,
}

impl From<&Attempt> for AttemptBody {
    fn from(a: &Attempt) -> Self {
        Self {
            number: a.number,
            at: a.at,
            status: a.status,
            error: a.error.clone(),
            took_ms: a.took_ms,
        }
    }
}

/// `GET /api/v1/webhook-deliveries/{id}`: a delivery, its attempts and the
/// message as sent.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeliveryDetailBody {
    /// The delivery.
    pub(crate) delivery: DeliveryBody,
    /// Oldest first.
    pub(crate) attempts: Vec<AttemptBody>,
    /// The message's CloudEvents headers, name and value.
    pub(crate) headers: Vec<(String, String)>,
    /// The message's body.
    #[schema(value_type = Object)]
    pub(crate) body: serde_json::Value,
}

fn store_error(error: StoreError) -> ApiError {
    ApiError::Order(error.into())
}

fn subscription_id(raw: &str) -> ApiResult<SubscriptionId> {
    id("id", raw, |s| s.parse())
}

fn delivery_id(raw: &str) -> ApiResult<DeliveryId> {
    id("id", raw, |s| s.parse())
}

/// The requested types, each one the engine publishes or `*`.
fn event_types(raw: &[String]) -> ApiResult<Vec<EventTypeName>> {
    if raw.is_empty() || raw.len() > 50 {
        return Err(ValidationError::BadFormat {
            field: "event_types".into(),
            rule: "must list 1 to 50 event types",
        }
        .into());
    }
    raw.iter()
        .map(|name| {
            let name = EventTypeName::parse(name)?;
            if name.as_str() == "*" || order_events::types::ALL.contains(&name.as_str()) {
                Ok(name)
            } else {
                Err(ValidationError::BadFormat {
                    field: "event_types".into(),
                    rule: "must be types the engine publishes (docs/events.md), or *",
                }
                .into())
            }
        })
        .collect()
}

#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks",
    request_body = SubscriptionRequestBody,
    responses((status = 201, body = SubscriptionBody),
        (status = 403, response = Problem), (status = 422, response = Problem)),
    security(("bearer" = [])))]
/// Subscribes a URL to event types (admin); the answer shows the signing
/// secret, once.
pub(crate) async fn subscribe(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<SubscriptionRequestBody>,
) -> ApiResult<(StatusCode, axum::Json<SubscriptionBody>)> {
    caller.require(&[Role::Admin])?;
    let subscription = Subscription {
        id: SubscriptionId::new(Uuid::now_v7())?,
        url: WebhookUrl::parse(&body.url)?,
        event_types: event_types(&body.event_types)?,
        secret: match &body.secret {
            Some(secret) => WebhookSecret::parse(secret)?,
            None => order_webhooks::signature::new_secret(),
        },
        created_at: Utc::now(),
    };
    state
        .webhooks
        .add_subscription(&subscription)
        .await
        .map_err(store_error)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(SubscriptionBody::of(&subscription, true)),
    ))
}

#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    responses((status = 200, body = SubscriptionListBody),
        (status = 400, response = Problem), (status = 403, response = Problem)),
    security(("bearer" = [])))]
/// Every subscription, without secrets (admin).
pub(crate) async fn subscriptions(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<SubscriptionListBody>> {
    caller.require(&[Role::Admin])?;
    let all = state.webhooks.subscriptions().await.map_err(store_error)?;
    Ok(axum::Json(SubscriptionListBody {
        subscriptions: all.iter().map(|s| SubscriptionBody::of(s, false)).collect(),
    }))
}

#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = crate::openapi::Uuid7, Path, description = "Subscription id")),
    responses((status = 204, description = "Removed, with its deliveries"),
        (status = 403, response = Problem), (status = 404, response = Problem)),
    security(("bearer" = [])))]
/// Removes a subscription and its deliveries (admin).
pub(crate) async fn unsubscribe(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(&[Role::Admin])?;
    let id = subscription_id(&raw)?;
    if state
        .webhooks
        .remove_subscription(id)
        .await
        .map_err(store_error)?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("subscription {id} not found")))
    }
}

/// Page of `GET /api/v1/webhooks/{id}/deliveries`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeliveryParams {
    /// Only deliveries in this state.
    #[param(value_type = Option<String>, pattern = "^(pending|delivered|failed)$")]
    state: Option<String>,
    /// 1 to 500, default 100.
    #[param(minimum = 1, maximum = 500)]
    #[serde(default, deserialize_with = "crate::whole::text_option")]
    limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = crate::openapi::Uuid7, Path, description = "Subscription id"), DeliveryParams),
    responses((status = 200, body = DeliveryListBody),
        (status = 403, response = Problem), (status = 404, response = Problem), (status = 422, response = Problem)),
    security(("bearer" = [])))]
/// A subscription's deliveries, newest first (admin).
pub(crate) async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    AppQuery(params): AppQuery<DeliveryParams>,
) -> ApiResult<axum::Json<DeliveryListBody>> {
    caller.require(&[Role::Admin])?;
    let id = subscription_id(&raw)?;
    let wanted = match params.state.as_deref() {
        None => None,
        Some(name) => Some(DeliveryState::parse(name).ok_or_else(|| {
            ApiError::from(ValidationError::BadFormat {
                field: "state".into(),
                rule: "must be pending, delivered or failed",
            })
        })?),
    };
    let limit = crate::extract::page_limit(params.limit, 100, 500)?;
    let known = state.webhooks.subscriptions().await.map_err(store_error)?;
    if !known.iter().any(|s| s.id == id) {
        return Err(ApiError::NotFound(format!("subscription {id} not found")));
    }
    let list = state
        .webhooks
        .deliveries(id, wanted, limit)
        .await
        .map_err(store_error)?;
    Ok(axum::Json(DeliveryListBody {
        deliveries: list.iter().map(DeliveryBody::from).collect(),
    }))
}

async fn found(state: &AppState, raw: &str) -> ApiResult<(Delivery, Vec<Attempt>)> {
    let id = delivery_id(raw)?;
    state
        .webhooks
        .delivery(id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::NotFound(format!("delivery {id} not found")))
}

fn detail(delivery: &Delivery, attempts: &[Attempt]) -> DeliveryDetailBody {
    DeliveryDetailBody {
        delivery: DeliveryBody::from(delivery),
        attempts: attempts.iter().map(AttemptBody::from).collect(),
        headers: delivery.headers.clone(),
        body: serde_json::from_str(&delivery.body).unwrap_or(serde_json::Value::Null),
    }
}

#[utoipa::path(get, path = "/api/v1/webhook-deliveries/{id}", tag = "webhooks",
    params(("id" = crate::openapi::Uuid7, Path, description = "Delivery id")),
    responses((status = 200, body = DeliveryDetailBody),
        (status = 403, response = Problem), (status = 404, response = Problem)),
    security(("bearer" = [])))]
/// A delivery, every attempt at it and the message as sent (admin).
pub(crate) async fn delivery(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<axum::Json<DeliveryDetailBody>> {
    caller.require(&[Role::Admin])?;
    let (delivery, attempts) = found(&state, &raw).await?;
    Ok(axum::Json(detail(&delivery, &attempts)))
}

#[utoipa::path(post, path = "/api/v1/webhook-deliveries/{id}/redeliver", tag = "webhooks",
    params(("id" = crate::openapi::Uuid7, Path, description = "Delivery id")),
    responses((status = 200, body = DeliveryDetailBody),
        (status = 403, response = Problem), (status = 404, response = Problem)),
    security(("bearer" = [])))]
/// Sends a delivery again at once, with a new retry window (admin); its
/// attempts so far stay in its history.
pub(crate) async fn redeliver(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<axum::Json<DeliveryDetailBody>> {
    caller.require(&[Role::Admin])?;
    let (delivery, attempts) = found(&state, &raw).await?;
    let again = delivery.redelivered(Utc::now(), &state.webhook_retry);
    state
        .webhooks
        .update_delivery(&again)
        .await
        .map_err(store_error)?;
    Ok(axum::Json(detail(&again, &attempts)))
}
