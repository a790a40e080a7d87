//! Operations: `/health`, `/health/live`, `/health/ready` (ready only while
//! the store answers) and `/metrics`.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Role;
use crate::error::ApiResult;
use crate::state::AppState;

/// The operations routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .route("/metrics", get(metrics))
}

/// A health answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HealthBody {
    /// `ok` or `unavailable`.
    pub(crate) status: &'static str,
    /// The store's state, for readiness.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) store: Option<&'static str>,
}

#[utoipa::path(get, path = "/health", tag = "operations", responses((status = 200, body = HealthBody), (status = 503, body = HealthBody)))]
/// Overall health: live and ready.
pub(crate) async fn health(state: State<AppState>) -> Response {
    ready(state).await
}

#[utoipa::path(get, path = "/health/live", tag = "operations", responses((status = 200, body = HealthBody)))]
/// The process is up.
pub(crate) async fn live() -> axum::Json<HealthBody> {
    axum::Json(HealthBody {
        status: "ok",
        store: None,
    })
}

#[utoipa::path(get, path = "/health/ready", tag = "operations", responses((status = 200, body = HealthBody), (status = 503, body = HealthBody)))]
/// Ready to serve: the store answers.
pub(crate) async fn ready(State(state): State<AppState>) -> Response {
    match state.orders.ping().await {
        Ok(()) => axum::Json(HealthBody {
            status: "ok",
            store: Some("ok"),
        })
        .into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "readiness probe failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(HealthBody {
                    status: "unavailable",
                    store: Some("unavailable"),
                }),
            )
                .into_response()
        }
    }
}

#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
/// Prometheus metrics; open, or for admin and service tokens when
/// configured so.
pub(crate) async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if !state.open_metrics {
        state
            .auth
            .caller(&headers)?
            .require(&[Role::Admin, Role::Service])?;
    }
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response())
}
