//! The layers around every route: request ids, one structured log line per
//! request (inside a span carrying the request id, so every line logged
//! while serving it carries it too), metrics, the request timeout, panic
//! capture, and the guarantee that every error leaves as a problem
//! document.

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tracing::Instrument;

use crate::error::ApiError;
use crate::state::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Unknown routes answer a problem, like everything else.
pub(crate) async fn not_found(request: Request) -> ApiError {
    ApiError::NotFound(format!(
        "no route for {} {}",
        request.method(),
        request.uri().path()
    ))
}

/// Wraps `app` in the layers, outermost last.
pub(crate) fn wrap(app: Router<AppState>, state: &AppState) -> Router<AppState> {
    app.layer(axum::middleware::from_fn_with_state(state.clone(), observe))
        .layer(CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                ApiError::Internal("a handler panicked".into()).into_response()
            },
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Times the request against the limit, logs it, counts it, and turns any
/// plain error response (a rejection from the router itself) into a problem.
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let span =
        tracing::info_span!("request", request_id = %request_id, method = %method, route = %route);
    let limit = state.limits.timeout;
    async {
        let response = match tokio::time::timeout(limit, next.run(request)).await {
            Ok(response) => problem_if_plain(response, state.limits.body_bytes),
            Err(_) => ApiError::Order(order_core::OrderError::Unavailable {
                port: "request",
                source: order_core::PortError::Timeout,
            })
            .into_response(),
        };
        let took = started.elapsed();
        let status = response.status().as_u16();
        state
            .metrics
            .http_request(method.as_str(), &route, status, took);
        tracing::info!(
            status,
            latency_ms = took.as_secs_f64() * 1000.0,
            "request served"
        );
        response
    }
    .instrument(span)
    .await
}

fn problem_if_plain(response: Response, body_limit: usize) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    // JSON bodies were written on purpose (a problem, or a health answer);
    // only the router's and extractors' plain-text rejections are rewritten.
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| {
            let v = v.as_bytes();
            v.starts_with(b"application/problem+json") || v.starts_with(b"application/json")
        });
    if is_json {
        return response;
    }
    let error = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge { limit: body_limit },
        StatusCode::NOT_FOUND => ApiError::NotFound("not found".into()),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
        s if s.is_server_error() => ApiError::Internal(format!("a layer answered {s}").into()),
        s => ApiError::BadRequest {
            detail: format!("the request was refused ({s})"),
            field: None,
        },
    };
    let mut converted = error.into_response();
    if let Some(id) = response.headers().get(REQUEST_ID) {
        converted.headers_mut().insert(REQUEST_ID, id.clone());
    }
    converted
}
