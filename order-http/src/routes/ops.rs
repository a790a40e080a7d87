//! Operations: `/health`, `/health/live`, `/health/ready` (ready only while
//! the store answers, within [`READINESS_TIMEOUT`]) and `/metrics`.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Role;
use crate::error::{ApiResult, cause_chain};
use crate::state::AppState;

/// How long readiness waits for the store. A probe must see "not ready"
/// while the database is down, not time out itself (Kubernetes waits one
/// second by default), however long the pool would wait for a connection.
pub(crate) const READINESS_TIMEOUT: Duration = Duration::from_millis(500);

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
    // Within `READINESS_TIMEOUT`: a probe sees "not ready", never a timeout.
    let failure = match tokio::time::timeout(READINESS_TIMEOUT, state.orders.ping()).await {
        Ok(Ok(())) => {
            return axum::Json(HealthBody {
                status: "ok",
                store: Some("ok"),
            })
            .into_response();
        }
        Ok(Err(err)) => cause_chain(&err),
        Err(_) => format!(
            "the store did not answer within {} ms",
            READINESS_TIMEOUT.as_millis()
        ),
    };
    tracing::warn!(status = 503, cause = %failure, "readiness probe failed");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(HealthBody {
            status: "unavailable",
            store: Some("unavailable"),
        }),
    )
        .into_response()
}

#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain"),
        (status = 401, response = crate::error::Problem), (status = 403, response = crate::error::Problem)),
    security((), ("bearer" = [])))]
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
