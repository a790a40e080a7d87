//! # order-http
//!
//! The HTTP face of the order engine: a thin axum adapter. A handler
//! extracts, converts to domain values, makes one `OrderService` call and
//! maps the result; every rule lives in order-core. [`router`] builds the
//! whole API; the `order-http` binary composes the engine from its
//! configuration (`compose`): SQLite by default, or PostgreSQL; a payment
//! simulator or an external payment service; policies from a file.
//!
//! # Layout
//! - `routes/`: `orders` (the order API), `events` (feed, payment webhook),
//!   `admin` (catalog, stock, reports), `ops` (health, metrics), `docs`
//!   (OpenAPI, Swagger UI)
//! - `console/`: the admin console, HTML pages at `/admin` (ADR 0012)
//! - `dto`: request and response bodies and their conversions
//! - `error`: [`ApiError`] → RFC 9457 problem documents, one exhaustive map
//! - `extract`: JSON, query, path and header extractors that answer problems
//! - `auth`: JWT bearer tokens, roles, webhook signatures
//! - `metrics`, `metered`, `middleware`: Prometheus metrics (and the port
//!   decorators that feed them), request ids, timeouts, logs
//! - `openapi`: the generated OpenAPI 3.1 document
//! - `whole`: whole numbers as JSON Schema counts them (`3` and `3.0`)
//! - `compat`: the seeds' REST routes over the same use cases
//!   (docs/seed-compat.md)
//! - `state`: [`AppState`]
//! - `config`: the binary's settings; `compose`: the composition root that
//!   builds every port from them; `policies`: the policy file;
//!   `catalog_seed`: the catalog file; `payments`: the payment simulator
//!   and the external payment service's port; `background`: sweeps, outbox
//!   relay and the log publisher
//! - `telemetry`: the binary's logs and OTLP span export (feature `otlp`);
//!   `trace_context`: the W3C `traceparent` of each request, carried to the
//!   remote calls made for it
//! - `grpc`: the gRPC API (order-grpc) beside HTTP, with the same tokens
//! - `remote`: the product, inventory, user and payment services over HTTP
//!   (`order-remote`), as the composition root chooses them

pub mod auth;
pub mod background;
pub mod catalog_seed;
mod compat;
pub mod compose;
pub mod config;
mod console;
pub mod dto;
pub mod error;
pub mod extract;
pub mod grpc;
pub mod metered;
pub mod metrics;
mod middleware;
pub mod openapi;
pub mod payments;
pub mod policies;
pub mod remote;
mod routes;
mod security;
pub mod state;
pub mod telemetry;
mod trace_context;
mod whole;

use axum::Router;
use axum::extract::DefaultBodyLimit;

pub use error::ApiError;
pub use state::{AppContext, AppState, Limits};

/// The whole API: `/api/v1/…`, health, metrics and docs, with request ids,
/// structured request logs, metrics, timeouts and body limits.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(routes::orders::routes())
        .merge(routes::events::routes())
        .merge(routes::admin::routes())
        .merge(routes::compensations::routes())
        .merge(routes::webhooks::routes())
        .merge(compat::api_routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            compat::divert,
        ));
    let app = Router::new()
        .nest("/api/v1", api)
        .merge(compat::routes())
        .merge(routes::ops::routes())
        .merge(routes::docs::routes())
        .merge(console::routes())
        .fallback(middleware::not_found);
    let app = middleware::wrap(app, &state)
        .layer(axum::middleware::from_fn(security::headers))
        .layer(DefaultBodyLimit::max(state.limits.body_bytes));
    let app = match security::cors(&state.cors_origins) {
        Some(cors) => app.layer(cors),
        None => app,
    };
    app.with_state(state)
}
