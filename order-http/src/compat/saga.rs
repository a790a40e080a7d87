//! ts-order-service-saga's routes (`/api/orders…`), in its shapes: its
//! `orders` and `order_items` rows (snake_case; an item's unit price is
//! `price`), its statuses `pending`, `paid`, `processing`, `shipped`,
//! `delivered`, `cancelled`, `failed`. Its creation flow takes the payment
//! too: `POST /api/orders` places the order and then pays it, as two
//! calls of the engine's use cases.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use chrono::{DateTime, Utc};
use order_core::{Order, ValidationError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::body::{ActionBody, Amount, OptionalJson, SeedCreateBody, SeedJson, SetStatusBody};
use super::names::{self, Seed};
use super::node::AddressBody;
use super::shared::{self, Asked, Filter};
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{AppQuery, page_limit};
use crate::routes::orders::{order_id, visible};
use crate::state::AppState;

/// The routes, at the root.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/orders", post(create).get(list))
        .route("/api/orders/{id}", get(show))
        .route("/api/orders/{id}/status", patch(set_status))
        .route("/api/orders/{id}/cancel", post(cancel))
}

/// An `order_items` row.
#[derive(Debug, Serialize)]
struct ItemBody {
    id: Uuid,
    order_id: Uuid,
    product_id: Uuid,
    quantity: u32,
    price: Amount,
}

/// An `orders` row with its items.
#[derive(Debug, Serialize)]
struct OrderBody {
    id: Uuid,
    user_id: Uuid,
    status: String,
    total_amount: Amount,
    currency: String,
    shipping_address: Option<AddressBody>,
    items: Vec<ItemBody>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<&Order> for OrderBody {
    fn from(order: &Order) -> Self {
        Self {
            id: order.id().as_uuid(),
            user_id: order.customer_id().as_uuid(),
            status: Seed::Saga.status_name(order.status(), order.payment_status()),
            total_amount: Amount(order.totals().total),
            currency: order.currency().to_string(),
            shipping_address: order.shipping_address().map(AddressBody::from),
            items: order
                .lines()
                .iter()
                .map(|line| ItemBody {
                    id: line.id.as_uuid(),
                    order_id: order.id().as_uuid(),
                    product_id: line.product_id.as_uuid(),
                    quantity: line.quantity.get(),
                    price: Amount(line.unit_price),
                })
                .collect(),
            created_at: order.created_at(),
            updated_at: order.updated_at(),
        }
    }
}

fn answer(status: StatusCode, order: &Order) -> Response {
    (status, axum::Json(OrderBody::from(order))).into_response()
}

/// `POST /api/orders`: places the order, then pays it (`paid`). A declined
/// payment answers 402; the order stays, `failed`, its stock released, and
/// may be paid again by the clean API's checkout.
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    SeedJson(body): SeedJson<SeedCreateBody>,
) -> ApiResult<Response> {
    let placed = shared::place(&state, &caller, &headers, body).await?;
    let paid = state
        .orders
        .pay_in(placed.id(), caller.scope(), &caller.actor())
        .await?;
    Ok(answer(StatusCode::CREATED, &paid))
}

/// `GET /api/orders/:id`.
async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let order = visible(&state, &caller, order_id(&raw)?).await?;
    Ok(answer(StatusCode::OK, &order))
}

/// The query of `GET /api/orders`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    /// The page, from 1.
    #[serde(default, deserialize_with = "crate::whole::text_option")]
    page: Option<usize>,
    /// Orders per page, 1 to 100 (default 10).
    #[serde(default, deserialize_with = "crate::whole::text_option")]
    limit: Option<usize>,
    /// Only orders in this status (the seed's names).
    #[serde(default)]
    status: Option<String>,
}

/// A page of orders.
#[derive(Debug, Serialize)]
struct PageBody {
    orders: Vec<OrderBody>,
    page: usize,
    limit: usize,
    has_more: bool,
}

/// The deepest page a listing walks to (pages are read in order).
const MAX_PAGE: usize = 100;

/// The most orders on a page.
const MAX_LIMIT: usize = 100;

/// `GET /api/orders?page=&limit=`: the caller's orders (staff: all),
/// newest first, by page number.
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    AppQuery(params): AppQuery<ListParams>,
) -> ApiResult<axum::Json<PageBody>> {
    let page = params.page.unwrap_or(1);
    if !(1..=MAX_PAGE).contains(&page) {
        return Err(ValidationError::OutOfRange {
            field: "page".into(),
            value: i64::try_from(page).unwrap_or(i64::MAX),
            min: 1,
            max: i64::try_from(MAX_PAGE).unwrap_or(i64::MAX),
        }
        .into());
    }
    let limit = page_limit(params.limit, 10, MAX_LIMIT)?;
    let status = params
        .status
        .as_deref()
        .map(names::status_filter)
        .transpose()?;
    // Keyset pages, followed to the page asked for; that one is read with
    // one order more, which says whether another page follows.
    let mut cursor: Option<String> = None;
    for _ in 1..page {
        let listing = shared::list(
            &state,
            &caller,
            Filter {
                customer: None,
                status,
                limit: Some(limit),
                cursor: cursor.as_deref(),
            },
        )
        .await?;
        match listing.next_cursor {
            Some(next) => cursor = Some(next),
            None => {
                return Ok(axum::Json(PageBody {
                    orders: Vec::new(),
                    page,
                    limit,
                    has_more: false,
                }));
            }
        }
    }
    let mut listing = shared::list(
        &state,
        &caller,
        Filter {
            customer: None,
            status,
            limit: Some(limit + 1),
            cursor: cursor.as_deref(),
        },
    )
    .await?;
    let has_more = listing.orders.len() > limit;
    listing.orders.truncate(limit);
    Ok(axum::Json(PageBody {
        orders: listing.orders.iter().map(OrderBody::from).collect(),
        page,
        limit,
        has_more,
    }))
}

/// `PATCH /api/orders/:id/status` (admin, service): leads the order to the
/// status the body names; the state machine decides.
async fn set_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    SeedJson(body): SeedJson<SetStatusBody>,
) -> ApiResult<Response> {
    let order = shared::reach(
        &state,
        &caller,
        &raw,
        &body.status,
        body.details()?,
        "status set by PATCH /api/orders/:id/status",
        Asked::BySetStatus,
    )
    .await?;
    Ok(answer(StatusCode::OK, &order))
}

/// `POST /api/orders/:id/cancel`: cancels; a captured payment is refunded
/// and the stock restored (the seed's compensation).
async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    OptionalJson(body): OptionalJson<ActionBody>,
) -> ApiResult<Response> {
    let order = shared::reach(
        &state,
        &caller,
        &raw,
        "cancelled",
        body.details()?,
        "cancelled by POST /api/orders/:id/cancel",
        Asked::ByAction,
    )
    .await?;
    Ok(answer(StatusCode::OK, &order))
}
