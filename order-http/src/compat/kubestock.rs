//! kubestock-ms-order-management's routes, at the root (`/orders…`), in
//! its shapes: the `Order`, `OrderItem` and `OrderShipment` of its data
//! model (snake_case), its upper-case statuses (`PAID` is the engine's
//! `confirmed`). The contracts seed shares `/orders`: a create body that
//! names its customer `userId` is the contracts seed's and is answered in
//! its shape (see `contracts`).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use order_core::{Order, OrderError, Shipment};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::body::{ActionBody, Amount, OptionalJson, SeedAddressBody, SeedCreateBody, SeedJson};
use super::contracts;
use super::names::{self, Seed};
use super::shared::{self, Asked, Filter};
use crate::auth::Caller;
use crate::dto::InvoiceBody;
use crate::error::{ApiError, ApiResult};
use crate::extract::AppQuery;
use crate::routes::orders::{order_id, visible};
use crate::state::AppState;

/// The routes, at the root.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/orders", post(create).get(list))
        .route("/orders/status/{status}", get(by_status))
        .route(
            "/orders/{id}",
            get(show)
                .put(update)
                .delete(cancel)
                .patch(contracts::update_status),
        )
        .route("/orders/{id}/items", get(contracts::items))
        .route("/orders/{id}/checkout", post(checkout))
        .route("/orders/{id}/ship", post(ship))
        .route("/orders/{id}/deliver", post(deliver))
        .route("/orders/{id}/return", post(return_))
        .route("/orders/{id}/invoice", get(invoice))
        .route("/orders/{id}/tracking", get(tracking))
}

/// `OrderItem`.
#[derive(Debug, Serialize)]
struct ItemBody {
    id: Uuid,
    order_id: Uuid,
    product_id: Uuid,
    sku: String,
    name: String,
    quantity: u32,
    unit_price: Amount,
    subtotal: Amount,
}

/// `OrderShipment`.
#[derive(Debug, Serialize)]
struct ShipmentBody {
    id: Uuid,
    order_id: Uuid,
    tracking_number: Option<String>,
    carrier: Option<String>,
    shipped_at: DateTime<Utc>,
    delivered_at: Option<DateTime<Utc>>,
}

impl ShipmentBody {
    fn new(order: &Order, shipment: &Shipment) -> Self {
        Self {
            id: shipment.id.as_uuid(),
            order_id: order.id().as_uuid(),
            tracking_number: shipment
                .tracking_number
                .as_ref()
                .map(|t| t.as_str().to_owned()),
            carrier: shipment.carrier.as_ref().map(|c| c.as_str().to_owned()),
            shipped_at: shipment.shipped_at,
            delivered_at: shipment.delivered_at,
        }
    }
}

/// `Order`, with its items and shipments.
#[derive(Debug, Serialize)]
pub(crate) struct OrderBody {
    id: Uuid,
    order_number: String,
    customer_id: Uuid,
    status: String,
    currency: String,
    total_amount: Amount,
    subtotal: Amount,
    discount: Amount,
    tax: Amount,
    shipping_cost: Amount,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    items: Vec<ItemBody>,
    shipments: Vec<ShipmentBody>,
}

impl From<&Order> for OrderBody {
    fn from(order: &Order) -> Self {
        let totals = order.totals();
        Self {
            id: order.id().as_uuid(),
            order_number: order.number().to_string(),
            customer_id: order.customer_id().as_uuid(),
            status: Seed::Kubestock.status_name(order.status(), order.payment_status()),
            currency: order.currency().to_string(),
            total_amount: Amount(totals.total),
            subtotal: Amount(totals.subtotal),
            discount: Amount(totals.discount),
            tax: Amount(totals.tax),
            shipping_cost: Amount(totals.shipping),
            created_at: order.created_at(),
            updated_at: order.updated_at(),
            items: order
                .lines()
                .iter()
                .map(|line| ItemBody {
                    id: line.id.as_uuid(),
                    order_id: order.id().as_uuid(),
                    product_id: line.product_id.as_uuid(),
                    sku: line.sku.as_str().to_owned(),
                    name: line.name.as_str().to_owned(),
                    quantity: line.quantity.get(),
                    unit_price: Amount(line.unit_price),
                    subtotal: Amount(line.amounts.subtotal),
                })
                .collect(),
            shipments: order
                .shipments()
                .iter()
                .map(|s| ShipmentBody::new(order, s))
                .collect(),
        }
    }
}

fn answer(status: StatusCode, order: &Order) -> Response {
    (status, axum::Json(OrderBody::from(order))).into_response()
}

/// `POST /orders`: places an order (`PENDING`, stock reserved).
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    SeedJson(body): SeedJson<SeedCreateBody>,
) -> ApiResult<Response> {
    let contracts = body.is_contracts();
    let order = shared::place(&state, &caller, &headers, body).await?;
    if contracts {
        return Ok(contracts::answer(StatusCode::CREATED, &order));
    }
    Ok(answer(StatusCode::CREATED, &order))
}

/// `GET /orders/{id}`.
async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let order = visible(&state, &caller, order_id(&raw)?).await?;
    Ok(answer(StatusCode::OK, &order))
}

/// A page of orders.
#[derive(Debug, Serialize)]
struct PageBody {
    orders: Vec<OrderBody>,
    next_cursor: Option<String>,
}

/// The query of the listings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    /// Only this customer's (staff).
    #[serde(default, alias = "userId", alias = "user_id")]
    customer_id: Option<String>,
    /// Only orders in this status (the seed's names).
    #[serde(default)]
    status: Option<String>,
    /// 1 to 200, default 50.
    #[serde(default, deserialize_with = "crate::whole::text_option")]
    limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    #[serde(default)]
    cursor: Option<String>,
}

async fn page(
    state: &AppState,
    caller: &Caller,
    params: ListParams,
    status: Option<&str>,
) -> ApiResult<axum::Json<PageBody>> {
    let customer = params
        .customer_id
        .as_deref()
        .map(|raw| crate::extract::id("customer_id", raw, |s| s.parse()))
        .transpose()?;
    let status = status
        .or(params.status.as_deref())
        .map(names::status_filter)
        .transpose()?;
    let listing = shared::list(
        state,
        caller,
        Filter {
            customer,
            status,
            limit: params.limit,
            cursor: params.cursor.as_deref(),
        },
    )
    .await?;
    Ok(axum::Json(PageBody {
        orders: listing.orders.iter().map(OrderBody::from).collect(),
        next_cursor: listing.next_cursor,
    }))
}

/// `GET /orders`: a customer's own orders (staff: all, or `customer_id`'s).
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    AppQuery(params): AppQuery<ListParams>,
) -> ApiResult<axum::Json<PageBody>> {
    page(&state, &caller, params, None).await
}

/// `GET /orders/status/{status}`: orders in a status (`PENDING`, `PAID`…).
async fn by_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(status): Path<String>,
    AppQuery(params): AppQuery<ListParams>,
) -> ApiResult<axum::Json<PageBody>> {
    page(&state, &caller, params, Some(&status)).await
}

/// `PUT /orders/{id}`'s body: a status to reach, or details to change.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    /// The status to reach (`PAID`, `PROCESSING`, `SHIPPED`…).
    #[serde(default)]
    status: Option<String>,
    /// Why (with a status), or the order's new notes (without).
    #[serde(default)]
    notes: Option<String>,
    /// Why, with a status.
    #[serde(default)]
    reason: Option<String>,
    /// The carrier, with `SHIPPED`.
    #[serde(default)]
    carrier: Option<String>,
    /// The tracking number, with `SHIPPED`.
    #[serde(default)]
    tracking_number: Option<String>,
    /// A new shipping address.
    #[serde(default)]
    shipping_address: Option<SeedAddressBody>,
    /// A new billing address.
    #[serde(default)]
    billing_address: Option<SeedAddressBody>,
    /// A new shipping method.
    #[serde(default)]
    shipping_method: Option<String>,
}

/// `PUT /orders/{id}` (admin): with `status`, leads the order there (the
/// state machine decides); otherwise changes notes, addresses or the
/// shipping method as the clean API's `PATCH` does.
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    SeedJson(body): SeedJson<UpdateBody>,
) -> ApiResult<Response> {
    caller.require(shared::FULFILMENT)?;
    let order = match body.status {
        Some(status) => {
            if body.shipping_address.is_some()
                || body.billing_address.is_some()
                || body.shipping_method.is_some()
            {
                return Err(ApiError::BadRequest {
                    detail: "status: change the status and the details in separate requests".into(),
                    field: Some("status".into()),
                });
            }
            let details = ActionBody {
                reason: body.reason.or(body.notes),
                carrier: body.carrier,
                tracking_number: body.tracking_number,
            }
            .details()?;
            shared::reach(
                &state,
                &caller,
                &raw,
                &status,
                details,
                "status set by PUT /orders/{id}",
                Asked::BySetStatus,
            )
            .await?
        }
        None => {
            if body.reason.is_some() || body.carrier.is_some() || body.tracking_number.is_some() {
                return Err(ApiError::BadRequest {
                    detail: "status: reason, carrier and tracking_number go with a status".into(),
                    field: Some("status".into()),
                });
            }
            let change = super::body::details_change(
                body.notes.as_deref(),
                body.shipping_address,
                body.billing_address,
                body.shipping_method.as_deref(),
            )?;
            let id = visible(&state, &caller, order_id(&raw)?).await?.id();
            state
                .orders
                .update_details(id, None, change, &caller.actor())
                .await?
        }
    };
    Ok(answer(StatusCode::OK, &order))
}

/// Runs an action route: leads the order to `status`.
async fn act(
    state: &AppState,
    caller: &Caller,
    raw: &str,
    status: &str,
    body: &ActionBody,
    default_reason: &str,
) -> ApiResult<Response> {
    let order = shared::reach(
        state,
        caller,
        raw,
        status,
        body.details()?,
        default_reason,
        Asked::ByAction,
    )
    .await?;
    Ok(answer(StatusCode::OK, &order))
}

/// `DELETE /orders/{id}`: cancels the order.
async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    OptionalJson(body): OptionalJson<ActionBody>,
) -> ApiResult<Response> {
    act(
        &state,
        &caller,
        &raw,
        "CANCELLED",
        &body,
        "cancelled by DELETE /orders/{id}",
    )
    .await
}

/// `POST /orders/{id}/checkout`: pays (`PAID`).
async fn checkout(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    act(
        &state,
        &caller,
        &raw,
        "PAID",
        &ActionBody::default(),
        "checkout",
    )
    .await
}

/// `POST /orders/{id}/ship`: ships every unit still to ship (`SHIPPED`).
async fn ship(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    OptionalJson(body): OptionalJson<ActionBody>,
) -> ApiResult<Response> {
    act(&state, &caller, &raw, "SHIPPED", &body, "shipped").await
}

/// `POST /orders/{id}/deliver`: every shipment in transit delivered.
async fn deliver(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    act(
        &state,
        &caller,
        &raw,
        "DELIVERED",
        &ActionBody::default(),
        "delivered",
    )
    .await
}

/// `POST /orders/{id}/return`: opens a return of every unit that may come
/// back.
async fn return_(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    OptionalJson(body): OptionalJson<ActionBody>,
) -> ApiResult<Response> {
    act(
        &state,
        &caller,
        &raw,
        "RETURNED",
        &body,
        "return requested by POST /orders/{id}/return",
    )
    .await
}

/// `GET /orders/{id}/invoice`: the engine's invoice (pro forma before
/// payment).
async fn invoice(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<axum::Json<InvoiceBody>> {
    let order = visible(&state, &caller, order_id(&raw)?).await?;
    let invoice = order_core::Invoice::of(&order).map_err(OrderError::from)?;
    Ok(axum::Json(InvoiceBody::from(&invoice)))
}

/// `GET /orders/{id}/tracking`'s answer.
#[derive(Debug, Serialize)]
struct TrackingBody {
    order_id: Uuid,
    status: String,
    shipments: Vec<ShipmentBody>,
}

/// `GET /orders/{id}/tracking`: the shipments with carrier and tracking
/// number.
async fn tracking(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<axum::Json<TrackingBody>> {
    let order = visible(&state, &caller, order_id(&raw)?).await?;
    Ok(axum::Json(TrackingBody {
        order_id: order.id().as_uuid(),
        status: Seed::Kubestock.status_name(order.status(), order.payment_status()),
        shipments: order
            .shipments()
            .iter()
            .map(|s| ShipmentBody::new(&order, s))
            .collect(),
    }))
}
