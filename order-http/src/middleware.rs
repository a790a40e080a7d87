//! The layers around every route: request ids, one structured log line per
//! request (inside a span carrying the request id, so every line logged
//! while serving it carries it too), metrics, the request timeout, the body
//! read deadline (408), panic capture (logged with the panic's message),
//! the W3C trace context the remote calls carry on (`trace_context`), and
//! the guarantee that every error leaves as a problem document.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt as _;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::{DeadlineBody, TimeoutError};
use tracing::Instrument;

use crate::error::{ApiError, TIME_LIMIT};
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
            |panic: Box<dyn std::any::Any + Send>| {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|m| (*m).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".to_owned());
                ApiError::Internal(format!("a handler panicked: {message}").into()).into_response()
            },
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// The request's body, failing once `limit` has passed since its headers
/// arrived; `expired` says whether it did.
fn with_body_deadline(request: Request, limit: Duration, expired: Arc<AtomicBool>) -> Request {
    request.map(|body| {
        Body::new(DeadlineBody::new(limit, body).map_err(move |err| {
            if err.is::<TimeoutError>() {
                expired.store(true, Ordering::Relaxed);
            }
            err
        }))
    })
}

/// 408, and the connection closed: the rest of the body may still come.
fn body_timeout(limit: Duration) -> Response {
    let mut response = ApiError::RequestTimeout { limit }.into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Times the request against the limit, bounds the time its body may take
/// to arrive, logs it, counts it, and turns any plain error response (a
/// rejection from the router itself) into a problem.
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let expired = Arc::new(AtomicBool::new(false));
    let request = with_body_deadline(request, state.limits.body_timeout, expired.clone());
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    let request_id = request.extensions().get::<RequestId>().cloned();
    let request_id = request_id
        .as_ref()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or_default();
    let trace = crate::trace_context::incoming(request.headers());
    let span = tracing::info_span!("request", request_id = %request_id, method = %method, route = %route, trace_id = %trace.trace_id());
    let trace = crate::trace_context::link(&span, request.headers(), trace);
    let limit = state.limits.timeout;
    let served = order_remote::trace::scope(trace, next.run(request));
    async {
        let response = match tokio::time::timeout(limit, served).await {
            Ok(_) if expired.load(Ordering::Relaxed) => body_timeout(state.limits.body_timeout),
            Ok(response) => problem_if_plain(response, state.limits.body_bytes),
            Err(_) => ApiError::Order(order_core::OrderError::Unavailable {
                port: TIME_LIMIT,
                source: order_core::PortError::Timeout,
            })
            .into_response(),
        };
        let took = started.elapsed();
        let status = response.status().as_u16();
        state
            .metrics
            .http_request(method.as_str(), route, status, took);
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
    // JSON bodies were written on purpose (a problem, or a health answer),
    // and so were the console's HTML pages; only the router's and
    // extractors' plain-text rejections are rewritten.
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| {
            let v = v.as_bytes();
            v.starts_with(b"application/problem+json")
                || v.starts_with(b"application/json")
                || v.starts_with(b"text/html")
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
