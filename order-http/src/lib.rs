//! # order-http
//!
//! The HTTP face of the order engine: a thin axum adapter. A handler
//! extracts, converts to domain values, makes one `OrderService` call and
//! maps the result; every rule lives in order-core. [`router`] builds the
//! whole API; the `order-http` binary wires it to PostgreSQL (or to the
//! in-memory adapters when no database is configured).
//!
//! # Layout
//! - `routes/`: `orders` (the order API), `events` (feed, payment webhook),
//!   `admin` (catalog, stock, reports), `ops` (health, metrics), `docs`
//!   (OpenAPI, Swagger UI)
//! - `dto`: request and response bodies and their conversions
//! - `error`: [`ApiError`] → RFC 9457 problem documents, one exhaustive map
//! - `extract`: JSON, query, path and header extractors that answer problems
//! - `auth`: JWT bearer tokens, roles, webhook signatures
//! - `metrics`, `metered`, `middleware`: Prometheus metrics (and the port
//!   decorators that feed them), request ids, timeouts, logs
//! - `openapi`: the generated OpenAPI 3.1 document
//! - `state`: [`AppState`]
//! - `config`, `app`: the binary's settings and wiring
//! - `telemetry`: the binary's logs and OTLP span export (feature `otlp`)

pub mod app;
pub mod auth;
pub mod config;
pub mod dto;
pub mod error;
pub mod extract;
pub mod metered;
pub mod metrics;
mod middleware;
pub mod openapi;
mod routes;
pub mod state;
pub mod telemetry;

use axum::Router;
use axum::extract::DefaultBodyLimit;

pub use error::ApiError;
pub use state::{AppState, Limits};

/// The whole API: `/api/v1/…`, health, metrics and docs, with request ids,
/// structured request logs, metrics, timeouts and body limits.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(routes::orders::routes())
        .merge(routes::events::routes())
        .merge(routes::admin::routes());
    let app = Router::new()
        .nest("/api/v1", api)
        .merge(routes::ops::routes())
        .merge(routes::docs::routes())
        .fallback(middleware::not_found);
    middleware::wrap(app, &state)
        .layer(DefaultBodyLimit::max(state.limits.body_bytes))
        .with_state(state)
}
