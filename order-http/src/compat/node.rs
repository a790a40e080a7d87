//! node-order-service's routes, under `/api/v1` beside the clean API, in
//! its shapes (snake_case, as its tables; its statuses `pending`,
//! `payment_pending`, `payment_failed`, `confirmed`, `processing`,
//! `shipped`, `delivered`, `cancelled`, `refunded`). Its
//! `GET /api/v1/orders/:orderId` and `POST /api/v1/orders/:orderId/cancel`
//! are the clean API's own routes and answer as the clean API does; its
//! `POST /api/v1/orders` is the clean API's too, except that a body in the
//! seeds' shape is placed here (see `compat::divert`).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use chrono::{DateTime, Utc};
use order_core::{Address, Order, PaymentInstrument, PaymentMethod, PaymentStatus, PaymentToken};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::body::{Amount, OptionalJson, SeedCreateBody, SeedJson, SetStatusBody};
use super::names::Seed;
use super::shared::{self, Asked, Filter};
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{AppQuery, id};
use crate::routes::orders::order_id;
use crate::state::AppState;

/// The routes the clean API does not have, relative to `/api/v1`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/orders/user/{user_id}", get(by_user))
        .route("/orders/{id}/payment", post(payment))
        .route("/orders/{id}/status", put(set_status))
}

/// An address, snake_case as the seeds' schemas.
#[derive(Debug, Serialize)]
pub(crate) struct AddressBody {
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

/// An `order_items` row.
#[derive(Debug, Serialize)]
struct ItemBody {
    id: Uuid,
    order_id: Uuid,
    product_id: Uuid,
    variant_id: Option<Uuid>,
    sku: String,
    name: String,
    quantity: u32,
    unit_price: Amount,
    subtotal: Amount,
}

/// An `orders` row with its items.
#[derive(Debug, Serialize)]
struct OrderBody {
    id: Uuid,
    order_number: String,
    user_id: Uuid,
    status: String,
    payment_status: String,
    currency: String,
    subtotal: Amount,
    discount_amount: Amount,
    tax_amount: Amount,
    shipping_amount: Amount,
    total_amount: Amount,
    shipping_method: Option<String>,
    shipping_address: Option<AddressBody>,
    billing_address: Option<AddressBody>,
    notes: Option<String>,
    items: Vec<ItemBody>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<&Order> for OrderBody {
    fn from(order: &Order) -> Self {
        let totals = order.totals();
        Self {
            id: order.id().as_uuid(),
            order_number: order.number().to_string(),
            user_id: order.customer_id().as_uuid(),
            status: Seed::Node.status_name(order.status(), order.payment_status()),
            payment_status: order.payment_status().to_string(),
            currency: order.currency().to_string(),
            subtotal: Amount(totals.subtotal),
            discount_amount: Amount(totals.discount),
            tax_amount: Amount(totals.tax),
            shipping_amount: Amount(totals.shipping),
            total_amount: Amount(totals.total),
            shipping_method: order.shipping_method().map(|m| m.as_str().to_owned()),
            shipping_address: order.shipping_address().map(AddressBody::from),
            billing_address: order.billing_address().map(AddressBody::from),
            notes: order.notes().map(|n| n.as_str().to_owned()),
            items: order
                .lines()
                .iter()
                .map(|line| ItemBody {
                    id: line.id.as_uuid(),
                    order_id: order.id().as_uuid(),
                    product_id: line.product_id.as_uuid(),
                    variant_id: line.variant_id.map(|v| v.as_uuid()),
                    sku: line.sku.as_str().to_owned(),
                    name: line.name.as_str().to_owned(),
                    quantity: line.quantity.get(),
                    unit_price: Amount(line.unit_price),
                    subtotal: Amount(line.amounts.subtotal),
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

/// `POST /api/v1/orders` with a seed's body: places the order (`pending`,
/// stock reserved).
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    SeedJson(body): SeedJson<SeedCreateBody>,
) -> ApiResult<Response> {
    let order = shared::place(&state, &caller, &headers, body).await?;
    Ok(answer(StatusCode::CREATED, &order))
}

/// A page of orders.
#[derive(Debug, Serialize)]
struct PageBody {
    orders: Vec<OrderBody>,
    next_cursor: Option<String>,
}

/// The query of `GET /api/v1/orders/user/:userId`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageParams {
    /// 1 to 200, default 50.
    #[serde(default, deserialize_with = "crate::whole::text_option")]
    limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    #[serde(default)]
    cursor: Option<String>,
}

/// `GET /api/v1/orders/user/:userId`: a user's orders, newest first (a
/// customer may ask for their own only).
async fn by_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(user): Path<String>,
    AppQuery(params): AppQuery<PageParams>,
) -> ApiResult<axum::Json<PageBody>> {
    let customer = id("userId", &user, |s| s.parse())?;
    let listing = shared::list(
        &state,
        &caller,
        Filter {
            customer: Some(customer),
            status: None,
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

/// `POST /api/v1/orders/:orderId/payment`'s optional body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PaymentBody {
    /// How the customer pays (`credit_card`, …).
    #[serde(default, alias = "paymentMethod")]
    payment_method: Option<String>,
    /// The payment method's token.
    #[serde(
        default,
        alias = "cardToken",
        alias = "paymentToken",
        alias = "payment_token"
    )]
    token: Option<String>,
}

/// `POST /api/v1/orders/:orderId/payment`: checkout, as the clean API's
/// `POST /api/v1/orders/{id}/pay` (200 `confirmed`; 202
/// `payment_pending` with an external payment service).
async fn payment(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    OptionalJson(body): OptionalJson<PaymentBody>,
) -> ApiResult<Response> {
    let instrument = PaymentInstrument {
        method: body
            .payment_method
            .as_deref()
            .map(PaymentMethod::parse)
            .transpose()?,
        token: body.token.as_deref().map(PaymentToken::parse).transpose()?,
    };
    let order = state
        .orders
        .pay_with(
            order_id(&raw)?,
            caller.scope(),
            &caller.actor(),
            &instrument,
        )
        .await?;
    let status = if order.payment_status() == PaymentStatus::Pending {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok(answer(status, &order))
}

/// `PUT /api/v1/orders/:orderId/status` (admin, service): leads the order
/// to the status the body names; the state machine decides.
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
        "status set by PUT /api/v1/orders/:orderId/status",
        Asked::BySetStatus,
    )
    .await?;
    Ok(answer(StatusCode::OK, &order))
}
