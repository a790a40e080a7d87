//! order-management-domain-contracts: its create body (`userId`,
//! `items[{productId, quantity, price}]`, `currency`) is read by every
//! seed's create route (see `body`); on `/orders` a body naming its
//! customer `userId` is answered with the contracts seed's `Order` entity
//! (camelCase, its lower-case statuses: `pending`, `confirmed`,
//! `payment_failed`, `shipped`, `delivered`, `cancelled`, `returned`,
//! `refunded`). Its other key endpoints that kubestock's routes do not
//! already serve: `PATCH /orders/{orderId}` (status) and
//! `GET /orders/{orderId}/items`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use order_core::{Address, Order, OrderLine};
use serde::Serialize;
use uuid::Uuid;

use super::body::{Amount, SeedJson, SetStatusBody};
use super::names::Seed;
use super::shared::{self, Asked};
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::routes::orders::{order_id, visible};
use crate::state::AppState;

/// An address, camelCase.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AddressBody {
    name: String,
    address_line1: String,
    address_line2: Option<String>,
    city: String,
    state: Option<String>,
    postal_code: String,
    country: String,
    phone: Option<String>,
}

impl From<&Address> for AddressBody {
    fn from(a: &Address) -> Self {
        Self {
            name: a.name().to_owned(),
            address_line1: a.line1().to_owned(),
            address_line2: a.line2().map(str::to_owned),
            city: a.city().to_owned(),
            state: a.region().map(str::to_owned),
            postal_code: a.postal_code().to_owned(),
            country: a.country().as_str().to_owned(),
            phone: a.phone().map(str::to_owned),
        }
    }
}

/// `OrderItem`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ItemBody {
    id: Uuid,
    order_id: Uuid,
    product_id: Uuid,
    product_name: String,
    quantity: u32,
    price: Amount,
    subtotal: Amount,
}

impl ItemBody {
    fn new(order: &Order, line: &OrderLine) -> Self {
        Self {
            id: line.id.as_uuid(),
            order_id: order.id().as_uuid(),
            product_id: line.product_id.as_uuid(),
            product_name: line.name.as_str().to_owned(),
            quantity: line.quantity.get(),
            price: Amount(line.unit_price),
            subtotal: Amount(line.amounts.subtotal),
        }
    }
}

/// `Order`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderBody {
    id: Uuid,
    order_number: String,
    user_id: Uuid,
    status: String,
    total_amount: Amount,
    currency: String,
    items: Vec<ItemBody>,
    shipping_address: Option<AddressBody>,
    billing_address: Option<AddressBody>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<&Order> for OrderBody {
    fn from(order: &Order) -> Self {
        Self {
            id: order.id().as_uuid(),
            order_number: order.number().to_string(),
            user_id: order.customer_id().as_uuid(),
            status: Seed::Contracts.status_name(order.status(), order.payment_status()),
            total_amount: Amount(order.totals().total),
            currency: order.currency().to_string(),
            items: order
                .lines()
                .iter()
                .map(|l| ItemBody::new(order, l))
                .collect(),
            shipping_address: order.shipping_address().map(AddressBody::from),
            billing_address: order.billing_address().map(AddressBody::from),
            created_at: order.created_at(),
            updated_at: order.updated_at(),
        }
    }
}

/// The order in the contracts seed's shape.
pub(crate) fn answer(status: StatusCode, order: &Order) -> Response {
    (status, axum::Json(OrderBody::from(order))).into_response()
}

/// `PATCH /orders/{orderId}`: leads the order to the status the body names
/// (admin, service); the state machine decides.
pub(crate) async fn update_status(
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
        "status set by PATCH /orders/{orderId}",
        Asked::BySetStatus,
    )
    .await?;
    Ok(answer(StatusCode::OK, &order))
}

/// `GET /orders/{orderId}/items`.
pub(crate) async fn items(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<axum::Json<Vec<ItemBody>>> {
    let order = visible(&state, &caller, order_id(&raw)?).await?;
    Ok(axum::Json(
        order
            .lines()
            .iter()
            .map(|l| ItemBody::new(&order, l))
            .collect(),
    ))
}
