//! The admin console: server-rendered HTML pages at `/admin` for staff,
//! another adapter over the same use cases as the JSON API (ADR 0012).
//! Pages are maud templates; forms are plain HTML (an action is previewed
//! with a GET, confirmed with a POST that redirects back), so no script is
//! needed. Every page requires the operator's session ([`session`]); every
//! rule stays in order-core: what an order offers is
//! `Order::staff_actions`, what an action would do is
//! `OrderService::preview`, and refusals are the problem documents' text.
//!
//! # Layout
//! - `session`: the login cookie, the [`session::Operator`] extractor, CSRF
//! - `layout`: the page shell, formatting helpers, the stylesheet
//! - `login`, `orders` (the list), `order` (one order and its actions),
//!   `actions` (forms → `Operation`s), `stock` (products and stock),
//!   `reports` (figures and SVG charts), `compensations`

mod actions;
mod compensations;
mod layout;
mod login;
mod order;
mod orders;
mod reports;
pub(crate) mod session;
mod stock;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::error::ApiError;
use crate::state::AppState;

/// What a console page may load: its own stylesheet; forms post only to
/// itself; no scripts, frames or anything else.
const CONSOLE_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The console's routes, mounted at the root (every path starts `/admin`).
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(|| async { Redirect::to("/admin/orders") }))
        .route("/admin/console.css", get(layout::stylesheet))
        .route("/admin/login", get(login::form).post(login::sign_in))
        .route("/admin/logout", post(login::sign_out))
        .route("/admin/orders", get(orders::list))
        .route("/admin/orders/{id}", get(order::show))
        .route("/admin/orders/{id}/preview", get(order::preview))
        .route("/admin/orders/{id}/actions", post(order::perform))
        .route("/admin/products", get(stock::list))
        .route("/admin/products/{sku}/price", post(stock::set_price))
        .route("/admin/stock/{sku}", post(stock::set_stock))
        .route("/admin/reports", get(reports::show))
        .route("/admin/compensations", get(compensations::list))
        .route(
            "/admin/compensations/{id}/resolve",
            post(compensations::resolve),
        )
        .layer(axum::middleware::map_response(policy))
}

/// The console's Content-Security-Policy (the API's own forbids styles and
/// forms), a referrer policy under which browsers name this origin on the
/// console's own form posts (under `no-referrer` they send `Origin: null`,
/// which the CSRF origin check must refuse), and no caching of pages that
/// show orders.
async fn policy(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONSOLE_POLICY),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// A page that could not be shown: the problem's title and detail, as
/// HTML, with the problem's status.
#[derive(Debug)]
pub(crate) struct ConsoleError(ApiError);

impl From<ApiError> for ConsoleError {
    fn from(err: ApiError) -> Self {
        Self(err)
    }
}

impl From<order_core::OrderError> for ConsoleError {
    fn from(err: order_core::OrderError) -> Self {
        Self(err.into())
    }
}

impl From<order_core::ValidationError> for ConsoleError {
    fn from(err: order_core::ValidationError) -> Self {
        Self(err.into())
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        if status.is_server_error() {
            tracing::error!(
                status = status.as_u16(),
                cause = %crate::error::cause_chain(&self.0),
                "console page failed"
            );
        }
        let problem = self.0.problem();
        let body = layout::page(
            &problem.title,
            None,
            maud::html! {
                (layout::banner_problem(&problem))
                p { a href="/admin/orders" { "Back to the orders" } }
            },
        );
        (status, body).into_response()
    }
}

/// A console handler's result.
type Page = Result<Response, ConsoleError>;
