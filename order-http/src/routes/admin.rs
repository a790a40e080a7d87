//! `/api/v1/products`, `/api/v1/stock`, `/api/v1/reports`: the admin side —
//! the local catalog and stock, so the binary is usable alone, and reports.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Caller, Role};
use crate::dto::{ProductBody, ReportBody, StockBody, StockRequestBody};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{AppJson, AppQuery, id};
use crate::openapi as doc;
use crate::state::AppState;

/// The admin routes, relative to `/api/v1`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/products", post(upsert_product).get(list_products))
        .route("/stock/{sku}", get(get_stock).put(set_stock))
        .route("/reports", get(report))
}

pub(crate) fn unavailable(err: order_core::PortError) -> ApiError {
    match err {
        // The catalog or the stock refused the value (a taken SKU, fewer
        // units than are held): the client's request is at fault.
        order_core::PortError::Refused(detail) => ApiError::Refused {
            field: "sku",
            detail,
        },
        other => ApiError::Order(order_core::OrderError::Unavailable {
            port: "catalog",
            source: other,
        }),
    }
}

#[utoipa::path(post, path = "/api/v1/products", tag = "admin",
    request_body = ProductBody,
    responses((status = 200, body = ProductBody),
        (status = 403, response = Problem), (status = 422, response = Problem)),
    security(("bearer" = [])))]
/// Adds or replaces a product (admin).
pub(crate) async fn upsert_product(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<ProductBody>,
) -> ApiResult<axum::Json<ProductBody>> {
    caller.require(&[Role::Admin])?;
    let product = body.try_into_domain()?;
    state.catalog.upsert(&product).await.map_err(unavailable)?;
    Ok(axum::Json(ProductBody::from(&product)))
}

/// Page of `GET /api/v1/products`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProductParams {
    /// Start after this SKU.
    #[param(value_type = Option<doc::Sku>)]
    after: Option<String>,
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    #[serde(default, deserialize_with = "crate::whole::text_option")]
    limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/products", tag = "admin",
    params(ProductParams),
    responses((status = 200, body = [ProductBody]),
        (status = 422, response = Problem)),
    security(("bearer" = [])))]
/// Lists products by SKU (any authenticated caller).
pub(crate) async fn list_products(
    State(state): State<AppState>,
    _caller: Caller,
    AppQuery(params): AppQuery<ProductParams>,
) -> ApiResult<axum::Json<Vec<ProductBody>>> {
    let after = params
        .after
        .as_deref()
        .map(order_core::Sku::parse)
        .transpose()?;
    let limit = crate::extract::page_limit(params.limit, 50, 200)?;
    let products = state
        .catalog
        .list(after.as_ref(), limit)
        .await
        .map_err(unavailable)?;
    Ok(axum::Json(products.iter().map(ProductBody::from).collect()))
}

fn stock_body(sku: &order_core::Sku, level: order_core::ports::StockLevel) -> StockBody {
    StockBody {
        sku: sku.to_string(),
        on_hand: level.on_hand,
        reserved: level.reserved,
        available: level.on_hand.saturating_sub(level.reserved),
    }
}

#[utoipa::path(get, path = "/api/v1/stock/{sku}", tag = "admin",
    params(("sku" = doc::Sku, Path, description = "SKU")),
    responses((status = 200, body = StockBody),
        (status = 403, response = Problem), (status = 404, response = Problem)),
    security(("bearer" = [])))]
/// A SKU's stock level (admin).
pub(crate) async fn get_stock(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<axum::Json<StockBody>> {
    caller.require(&[Role::Admin])?;
    let sku = id("sku", &raw, order_core::Sku::parse)?;
    let level = state
        .stock
        .level(&sku)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| ApiError::NotFound(format!("{sku} is not tracked")))?;
    Ok(axum::Json(stock_body(&sku, level)))
}

#[utoipa::path(put, path = "/api/v1/stock/{sku}", tag = "admin",
    params(("sku" = doc::Sku, Path, description = "SKU")),
    request_body = StockRequestBody,
    responses((status = 200, body = StockBody),
        (status = 403, response = Problem), (status = 422, response = Problem)),
    security(("bearer" = [])))]
/// Sets a SKU's units on hand (admin); never below what is held.
pub(crate) async fn set_stock(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    AppJson(body): AppJson<StockRequestBody>,
) -> ApiResult<(StatusCode, axum::Json<StockBody>)> {
    caller.require(&[Role::Admin])?;
    let sku = id("sku", &raw, order_core::Sku::parse)?;
    let units = order_core::ports::StockLevel::check_on_hand(body.on_hand)?;
    let level = state
        .stock
        .set_on_hand(&sku, units)
        .await
        .map_err(unavailable)?;
    Ok((StatusCode::OK, axum::Json(stock_body(&sku, level))))
}

/// The period of `GET /api/v1/reports`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportParams {
    /// Start, inclusive (RFC 3339).
    from: DateTime<Utc>,
    /// End, exclusive (RFC 3339).
    to: DateTime<Utc>,
}

#[utoipa::path(get, path = "/api/v1/reports", tag = "admin",
    params(ReportParams),
    responses((status = 200, body = ReportBody),
        (status = 403, response = Problem), (status = 422, response = Problem)),
    security(("bearer" = [])))]
/// Counts by status, revenue, average order value, payment failure rate and
/// time to fulfilment for orders placed in a period (admin).
pub(crate) async fn report(
    State(state): State<AppState>,
    caller: Caller,
    AppQuery(params): AppQuery<ReportParams>,
) -> ApiResult<axum::Json<ReportBody>> {
    caller.require(&[Role::Admin])?;
    let report = state.orders.report(params.from, params.to).await?;
    Ok(axum::Json(ReportBody::from(&report)))
}
