//! `/api/v1/orders`: placing, reading, listing, changing and moving orders
//! through their life. Each handler extracts, converts to domain values,
//! makes one service call and maps the result; rules live in order-core.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use order_core::ports::{Cursor, OrderQuery, SortOrder};
use order_core::{
    Action, LineEdit, LineId, Operation, Order, OrderError, OrderId, OrderNumber, OrderStatus,
    PaymentStatus, Quantity, ReturnId, Scope, ShipmentId,
};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Caller, Role};
use crate::dto::*;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{AppJson, AppQuery, OptionalAppJson, id, idempotency_key, if_match};
use crate::openapi as doc;
use crate::state::AppState;

/// The order routes, relative to `/api/v1`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/orders", post(create_order).get(list_orders))
        .route("/orders/by-number/{number}", get(get_order_by_number))
        .route("/orders/{id}", get(get_order).patch(patch_order))
        .route("/orders/{id}/items", get(list_items).post(add_item))
        .route(
            "/orders/{id}/items/{line_id}",
            patch(update_item).delete(remove_item),
        )
        .route("/orders/{id}/pay", post(pay))
        .route("/orders/{id}/cancel", post(cancel))
        .route("/orders/{id}/processing", post(start_processing))
        .route("/orders/{id}/shipments", post(create_shipment))
        .route(
            "/orders/{id}/shipments/{shipment_id}/deliver",
            post(deliver),
        )
        .route("/orders/{id}/complete", post(complete))
        .route("/orders/{id}/returns", post(request_return))
        .route(
            "/orders/{id}/returns/{return_id}/receive",
            post(receive_return),
        )
        .route("/orders/{id}/refunds", post(refund))
        .route("/orders/{id}/history", get(history))
        .route("/orders/{id}/invoice", get(invoice))
        .route("/orders/{id}/tracking", get(tracking))
        .route("/orders/{id}/dry-run", post(dry_run))
}

const STAFF: &[Role] = &[Role::Admin];
const FULFILMENT: &[Role] = &[Role::Admin, Role::Service];
const ANYONE: &[Role] = &[Role::Customer, Role::Admin, Role::Service];

pub(crate) fn order_id(raw: &str) -> ApiResult<OrderId> {
    id("id", raw, |s| s.parse())
}

/// The order as JSON with its version as the `ETag`.
fn order_response(status: StatusCode, order: &Order) -> Response {
    let mut response = (status, axum::Json(OrderResponseBody::from(order))).into_response();
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", order.version())) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    if status == StatusCode::CREATED
        && let Ok(location) = HeaderValue::from_str(&format!("/api/v1/orders/{}", order.id()))
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// Loads an order the caller may see; another customer's order is a 404,
/// so its existence does not leak.
pub(crate) async fn visible(state: &AppState, caller: &Caller, id: OrderId) -> ApiResult<Order> {
    let order = state.orders.get(id).await?;
    if caller.may_see(&order) {
        Ok(order)
    } else {
        Err(OrderError::NotFound(order_core::error::OrderRef::Id(id)).into())
    }
}

/// The id of an order the caller may act on, read only when the caller's
/// scope is narrower than every order (a customer): staff reach every id,
/// and the use case itself answers 404 for one that does not exist.
async fn reachable(state: &AppState, caller: &Caller, id: OrderId) -> ApiResult<OrderId> {
    match caller.scope() {
        Scope::All => Ok(id),
        Scope::Customer(_) => Ok(visible(state, caller, id).await?.id()),
    }
}

/// A stale `If-Match` is 412; without `If-Match` a lost race stays 409.
fn precondition(expected: Option<u64>) -> impl FnOnce(OrderError) -> ApiError {
    move |err| match (expected, err) {
        (
            Some(_),
            OrderError::VersionConflict {
                expected, actual, ..
            },
        ) => ApiError::PreconditionFailed { expected, actual },
        (_, other) => ApiError::Order(other),
    }
}

#[utoipa::path(post, path = "/api/v1/orders", tag = "orders",
    params(("Idempotency-Key" = Option<doc::IdempotencyKey>, Header, nullable = false, description = "Retries with the same key return the first answer")),
    request_body = CreateOrderRequestBody,
    responses((status = 201, body = OrderResponseBody),
        (status = 403, response = Problem), (status = 409, response = Problem), (status = 422, response = Problem)),
    security(("bearer" = [])))]
/// Places an order. Prices come from the catalog; stock is reserved.
pub(crate) async fn create_order(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    AppJson(body): AppJson<CreateOrderRequestBody>,
) -> ApiResult<Response> {
    caller.require(ANYONE)?;
    let key = idempotency_key(&headers)?;
    let customer = match (caller.customer_id(), body.customer_id) {
        (Some(own), None) => own,
        (Some(own), Some(named)) if own.as_uuid() == named => own,
        (Some(_), Some(_)) => {
            return Err(ApiError::Forbidden(
                "customers place orders for themselves".into(),
            ));
        }
        (None, Some(named)) => id("customer_id", &named.to_string(), |s| s.parse())?,
        (None, None) => {
            return Err(order_core::ValidationError::Empty {
                field: "customer_id".into(),
            }
            .into());
        }
    };
    let request = body.try_into_domain(customer)?;
    // The placement runs on a task of its own: when the request times out,
    // it still finishes, so its idempotency key is completed or released
    // at once rather than held in flight for the whole lease.
    let actor = caller.actor();
    let placing = order_remote::trace::carried(async move {
        state.orders.place(request, key.as_ref(), &actor).await
    });
    let order = tokio::spawn(placing)
        .await
        .map_err(|failure| ApiError::Internal(Box::new(failure)))??;
    Ok(order_response(StatusCode::CREATED, &order))
}

#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders",
    params(("id" = doc::Uuid7, Path, description = "Order id")),
    responses((status = 200, body = OrderResponseBody),
        (status = 404, response = Problem)),
    security(("bearer" = [])))]
/// An order.
pub(crate) async fn get_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let order = visible(&state, &caller, order_id(&raw)?).await?;
    Ok(order_response(StatusCode::OK, &order))
}

#[utoipa::path(get, path = "/api/v1/orders/by-number/{number}", tag = "orders",
    params(("number" = doc::OrderNumber, Path, description = "Order number, e.g. ORD-2026-000001")),
    responses((status = 200, body = OrderResponseBody),
        (status = 404, response = Problem)),
    security(("bearer" = [])))]
/// An order by its number.
pub(crate) async fn get_order_by_number(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let number = id("number", &raw, OrderNumber::parse)?;
    let order = state.orders.get_by_number(&number).await?;
    if !caller.may_see(&order) {
        return Err(
            OrderError::NotFound(order_core::error::OrderRef::Number(number.to_string())).into(),
        );
    }
    Ok(order_response(StatusCode::OK, &order))
}

/// Filters and page of `GET /api/v1/orders`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListParams {
    /// Only this customer's orders (customers always see only their own).
    #[param(value_type = Option<doc::ExternalId>)]
    customer_id: Option<String>,
    /// Only orders in this status.
    #[param(value_type = Option<doc::OrderStatus>)]
    status: Option<String>,
    /// Only orders in this payment status.
    #[param(value_type = Option<doc::PaymentStatus>)]
    payment_status: Option<String>,
    /// Created at or after (RFC 3339).
    created_from: Option<DateTime<Utc>>,
    /// Created before (RFC 3339).
    created_to: Option<DateTime<Utc>>,
    /// `newest` (default) or `oldest`.
    #[param(value_type = Option<doc::ListOrder>)]
    sort: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    #[serde(default, deserialize_with = "crate::whole::text_option")]
    limit: Option<usize>,
}

pub(crate) fn encode_cursor(cursor: &Cursor) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{}", cursor.created_at.to_rfc3339(), cursor.id))
}

pub(crate) fn decode_cursor(text: &str) -> ApiResult<Cursor> {
    let bad = || ApiError::BadRequest {
        detail: "cursor: not a cursor this API issued".into(),
        field: Some("cursor".into()),
    };
    let raw = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let (at, id) = raw.split_once('|').ok_or_else(bad)?;
    Ok(Cursor {
        created_at: DateTime::parse_from_rfc3339(at)
            .map_err(|_| bad())?
            .with_timezone(&Utc),
        id: id.parse().map_err(|_| bad())?,
    })
}

#[utoipa::path(get, path = "/api/v1/orders", tag = "orders",
    params(ListParams),
    responses((status = 200, body = OrderPageBody),
        (status = 422, response = Problem)),
    security(("bearer" = [])))]
/// Lists orders, newest first, in keyset pages.
pub(crate) async fn list_orders(
    State(state): State<AppState>,
    caller: Caller,
    AppQuery(params): AppQuery<ListParams>,
) -> ApiResult<axum::Json<OrderPageBody>> {
    let named = params
        .customer_id
        .as_deref()
        .map(|c| id("customer_id", c, |s| s.parse()))
        .transpose()?;
    let customer_id = match caller.customer_id() {
        Some(own) => Some(own),
        None => named,
    };
    let sort = match params.sort.as_deref() {
        None | Some("newest") => SortOrder::NewestFirst,
        Some("oldest") => SortOrder::OldestFirst,
        Some(_) => {
            return Err(ApiError::BadRequest {
                detail: "sort: must be newest or oldest".into(),
                field: Some("sort".into()),
            });
        }
    };
    let query = OrderQuery {
        customer_id,
        status: params
            .status
            .as_deref()
            .map(str::parse::<OrderStatus>)
            .transpose()?,
        payment_status: params
            .payment_status
            .as_deref()
            .map(str::parse::<PaymentStatus>)
            .transpose()?,
        created_from: params.created_from,
        created_to: params.created_to,
        sort,
        after: params.cursor.as_deref().map(decode_cursor).transpose()?,
        limit: params.limit.unwrap_or(50),
    };
    let page = state.orders.list(&query).await?;
    Ok(axum::Json(OrderPageBody {
        orders: page.orders.iter().map(OrderResponseBody::from).collect(),
        next_cursor: page.next.as_ref().map(encode_cursor),
    }))
}

#[utoipa::path(patch, path = "/api/v1/orders/{id}", tag = "orders",
    params(("id" = doc::Uuid7, Path, description = "Order id"), ("If-Match" = Option<doc::EntityTag>, Header, nullable = false, description = "The order version the change is based on (its `ETag`); another version is refused with 412")),
    request_body = PatchOrderRequestBody,
    responses((status = 200, body = OrderResponseBody),
        (status = 404, response = Problem), (status = 409, response = Problem), (status = 412, response = Problem), (status = 422, response = Problem)),
    security(("bearer" = [])))]
/// Changes notes, addresses or the shipping method while allowed.
pub(crate) async fn patch_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    headers: HeaderMap,
    AppJson(body): AppJson<PatchOrderRequestBody>,
) -> ApiResult<Response> {
    let id = reachable(&state, &caller, order_id(&raw)?).await?;
    let expected = if_match(&headers)?;
    let order = state
        .orders
        .update_details(id, expected, body.try_into_domain()?, &caller.actor())
        .await
        .map_err(precondition(expected))?;
    Ok(order_response(StatusCode::OK, &order))
}

#[utoipa::path(get, path = "/api/v1/orders/{id}/items", tag = "items",
    params(("id" = doc::Uuid7, Path, description = "Order id")),
    responses((status = 200, body = [LineBody]),
        (status = 404, response = Problem)),
    security(("bearer" = [])))]
/// The order's lines.
pub(crate) async fn list_items(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<axum::Json<Vec<LineBody>>> {
    let order = visible(&state, &caller, order_id(&raw)?).await?;
    Ok(axum::Json(
        order.lines().iter().map(LineBody::from).collect(),
    ))
}

async fn edit(
    state: &AppState,
    caller: &Caller,
    raw: &str,
    headers: &HeaderMap,
    edit: LineEdit,
) -> ApiResult<Response> {
    let id = reachable(state, caller, order_id(raw)?).await?;
    let expected = if_match(headers)?;
    let order = state
        .orders
        .edit_lines(id, expected, &[edit], &caller.actor())
        .await
        .map_err(precondition(expected))?;
    Ok(order_response(StatusCode::OK, &order))
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/items", tag = "items",
    params(("id" = doc::Uuid7, Path, description = "Order id"), ("If-Match" = Option<doc::EntityTag>, Header, nullable = false, description = "The order version the change is based on (its `ETag`); another version is refused with 412")),
    request_body = AddItemRequestBody,
    responses((status = 200, body = OrderResponseBody),
        (status = 404, response = Problem), (status = 409, response = Problem), (status = 412, response = Problem), (status = 422, response = Problem)),
    security(("bearer" = [])))]
/// Adds a product to a pending, unpaid order.
pub(crate) async fn add_item(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    headers: HeaderMap,
    AppJson(body): AppJson<AddItemRequestBody>,
) -> ApiResult<Response> {
    let change = LineEdit::Add {
        product_id: id("product_id", &body.product_id.to_string(), |s| s.parse())?,
        variant_id: body
            .variant_id
            .map(|v| id("variant_id", &v.to_string(), |s| s.parse()))
            .transpose()?,
        quantity: Quantity::new(body.quantity)?,
    };
    edit(&state, &caller, &raw, &headers, change).await
}

#[utoipa::path(patch, path = "/api/v1/orders/{id}/items/{line_id}", tag = "items",
    params(("id" = doc::Uuid7, Path, description = "Order id"), ("line_id" = doc::Uuid7, Path, description = "Line id"), ("If-Match" = Option<doc::EntityTag>, Header, nullable = false, description = "The order version the change is based on (its `ETag`); another version is refused with 412")),
    request_body = UpdateItemRequestBody,
    responses((status = 200, body = OrderResponseBody),
        (status = 404, response = Problem), (status = 409, response = Problem), (status = 412, response = Problem), (status = 422, response = Problem)),
    security(("bearer" = [])))]
/// Changes a line's quantity.
pub(crate) async fn update_item(
    State(state): State<AppState>,
    caller: Caller,
    Path((raw, line)): Path<(String, String)>,
    headers: HeaderMap,
    AppJson(body): AppJson<UpdateItemRequestBody>,
) -> ApiResult<Response> {
    let change = LineEdit::SetQuantity {
        line_id: id("line_id", &line, |s| s.parse::<LineId>())?,
        quantity: Quantity::new(body.quantity)?,
    };
    edit(&state, &caller, &raw, &headers, change).await
}

#[utoipa::path(delete, path = "/api/v1/orders/{id}/items/{line_id}", tag = "items",
    params(("id" = doc::Uuid7, Path, description = "Order id"), ("line_id" = doc::Uuid7, Path, description = "Line id"), ("If-Match" = Option<doc::EntityTag>, Header, nullable = false, description = "The order version the change is based on (its `ETag`); another version is refused with 412")),
    responses((status = 200, body = OrderResponseBody),
        (status = 404, response = Problem), (status = 409, response = Problem), (status = 412, response = Problem), (status = 422, response = Problem)),
    security(("bearer" = [])))]
/// Removes a line.
pub(crate) async fn remove_item(
    State(state): State<AppState>,
    caller: Caller,
    Path((raw, line)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let change = LineEdit::Remove {
        line_id: id("line_id", &line, |s| s.parse::<LineId>())?,
    };
    edit(&state, &caller, &raw, &headers, change).await
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/pay", tag = "lifecycle",
    params(("id" = doc::Uuid7, Path, description = "Order id")),
    request_body(content = Option<PayRequestBody>, description = "What the customer pays with (optional: no body pays with the order's payment method)"),
    responses((status = 200, description = "Paid (or authorized): the order as it is now", body = OrderResponseBody),
        (status = 202, description = "Payment started: an external payment service charges the customer, and a payment event settles the order", body = OrderResponseBody),
        (status = 402, response = Problem), (status = 404, response = Problem), (status = 409, response = Problem), (status = 422, response = Problem)),
    security(("bearer" = [])))]
/// Checkout: authorizes and captures the amount due through the payment
/// gateway (200), or, with an external payment service, records that
/// payment started and answers 202 with the payment `pending`. The
/// payment method (and a provider token) in the body go to the gateway.
pub(crate) async fn pay(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    OptionalAppJson(body): OptionalAppJson<PayRequestBody>,
) -> ApiResult<Response> {
    let id = order_id(&raw)?;
    let instrument = body.try_into_domain()?;
    let order = state
        .orders
        .pay_with(id, caller.scope(), &caller.actor(), &instrument)
        .await?;
    let status = if order.payment_status() == PaymentStatus::Pending {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok(order_response(status, &order))
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/cancel", tag = "lifecycle",
    params(("id" = doc::Uuid7, Path, description = "Order id"), ("If-Match" = Option<doc::EntityTag>, Header, nullable = false, description = "The order version the change is based on (its `ETag`); another version is refused with 412")),
    request_body = ReasonBody,
    responses((status = 200, body = OrderResponseBody),
        (status = 402, response = Problem), (status = 404, response = Problem), (status = 409, response = Problem), (status = 412, response = Problem), (status = 422, response = Problem)),
    security(("bearer" = [])))]
/// Cancels an order that has not shipped; voids or refunds, releases stock.
pub(crate) async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    headers: HeaderMap,
    AppJson(body): AppJson<ReasonBody>,
) -> ApiResult<Response> {
    let id = reachable(&state, &caller, order_id(&raw)?).await?;
    let expected = if_match(&headers)?;
    let reason = order_core::Reason::parse(&body.reason)?;
    let order = state
        .orders
        .cancel(id, expected, reason, &caller.actor())
        .await
        .map_err(precondition(expected))?;
    Ok(order_response(StatusCode::OK, &order))
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/processing", tag = "lifecycle",
    params(("id" = doc::Uuid7, Path, description = "Order id"), ("If-Match" = Option<doc::EntityTag>, Header, nullable = false, description = "The order version the change is based on (its `ETag`); another version is refused with 412")),
    responses((status = 200, body = OrderResponseBody),
        (status = 402, response = Problem), (status = 403, response = Problem), (status = 404, response = Problem), (status = 409, response = Problem), (status = 412, response = Problem), (status = 422, response = Problem)),
    security(("bearer" = [])))]
/// Starts picking and packing (admin, service).
pub(crate) async fn start_processing(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    caller.require(FULFILMENT)?;
    let expected = if_match(&headers)?;
    let order = state
        .orders
        .start_processing(order_id(&raw)?, expected, &caller.actor())
        .await
        .map_err(precondition(expected))?;
    Ok(order_response(StatusCode::OK, &order))
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/shipments", tag = "lifecycle",
    params(("id" = doc::Uuid7, Path, description = "Order id"), ("If-Match" = Option<doc::EntityTag>, Header, nullable = false, description = "The order version the change is based on (its `ETag`); another version is refused with 412")),
    request_body = CreateShipmentRequestBody,
    responses((status = 201, body = OrderResponseBody),
        (status = 403, response = Problem), (status = 404, response = Problem), (status = 409, response = Problem), (status = 412, response = Problem), (status = 422, response = Problem)),
    security(("bearer" = [])))]
/// Ships units (admin, service); partial shipments allowed.
pub(crate) async fn create_shipment(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    headers: HeaderMap,
    AppJson(body): AppJson<CreateShipmentRequestBody>,
) -> ApiResult<Response> {
    caller.require(FULFILMENT)?;
    let expected = if_match(&headers)?;
    let (lines, carrier, tracking) = body.try_into_domain()?;
    let order = state
        .orders
        .ship(
            order_id(&raw)?,
            expected,
            lines,
            carrier,
            tracking,
            &caller.actor(),
        )
        .await
        .map_err(precondition(expected))?;
    Ok(order_response(StatusCode::CREATED, &order))
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/shipments/{shipment_id}/deliver", tag = "lifecycle",
    params(("id" = doc::Uuid7, Path, description = "Order id"), ("shipment_id" = doc::Uuid7, Path, description = "Shipment id"), ("If-Match" = Option<doc::EntityTag>, Header, nullable = false, description = "The order version the change is based on (its `ETag`); another version is refused with 412")),
    responses((status = 200, body = OrderResponseBody),
        (status = 403, response = Problem), (status = 404, response = Problem), (status = 409, response = Problem), (status = 412, response = Problem)),
    security(("bearer" = [])))]
/// Marks a shipment delivered (admin, service).
pub(crate) async fn deliver(
    State(state): State<AppState>,
    caller: Caller,
    Path((raw, shipment)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    caller.require(FULFILMENT)?;
    let expected = if_match(&headers)?;
    let shipment = id("shipment_id", &shipment, |s| s.parse::<ShipmentId>())?;
    let order = state
        .orders
        .deliver(order_id(&raw)?, expected, shipment, &caller.actor())
        .await
        .map_err(precondition(expected))?;
    Ok(order_response(StatusCode::OK, &order))
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/complete", tag = "lifecycle",
    params(("id" = doc::Uuid7, Path, description = "Order id"), ("If-Match" = Option<doc::EntityTag>, Header, nullable = false, description = "The order version the change is based on (its `ETag`); another version is refused with 412")),
    responses((status = 200, body = OrderResponseBody),
        (status = 403, response = Problem), (status = 404, response = Problem), (status = 409, response = Problem), (status = 412, response = Problem)),
    security(("bearer" = [])))]
/// Completes a delivered order after its return window (admin).
pub(crate) async fn complete(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    caller.require(STAFF)?;
    let expected = if_match(&headers)?;
    let order = state
        .orders
        .complete(order_id(&raw)?, expected, &caller.actor())
        .await
        .map_err(precondition(expected))?;
    Ok(order_response(StatusCode::OK, &order))
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/returns", tag = "returns",
    params(("id" = doc::Uuid7, Path, description = "Order id"), ("If-Match" = Option<doc::EntityTag>, Header, nullable = false, description = "The order version the change is based on (its `ETag`); another version is refused with 412")),
    request_body = CreateReturnRequestBody,
    responses((status = 201, body = OrderResponseBody),
        (status = 404, response = Problem), (status = 409, response = Problem), (status = 412, response = Problem), (status = 422, response = Problem)),
    security(("bearer" = [])))]
/// Asks to return shipped units.
pub(crate) async fn request_return(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    headers: HeaderMap,
    AppJson(body): AppJson<CreateReturnRequestBody>,
) -> ApiResult<Response> {
    let id = reachable(&state, &caller, order_id(&raw)?).await?;
    let expected = if_match(&headers)?;
    let (lines, reason) = body.try_into_domain()?;
    let order = state
        .orders
        .request_return(id, expected, lines, reason, &caller.actor())
        .await
        .map_err(precondition(expected))?;
    Ok(order_response(StatusCode::CREATED, &order))
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/returns/{return_id}/receive", tag = "returns",
    params(("id" = doc::Uuid7, Path, description = "Order id"), ("return_id" = doc::Uuid7, Path, description = "Return id"), ("If-Match" = Option<doc::EntityTag>, Header, nullable = false, description = "The order version the change is based on (its `ETag`); another version is refused with 412")),
    request_body = ReceiveReturnRequestBody,
    responses((status = 200, body = OrderResponseBody),
        (status = 402, response = Problem), (status = 403, response = Problem), (status = 404, response = Problem), (status = 409, response = Problem), (status = 412, response = Problem), (status = 422, response = Problem)),
    security(("bearer" = [])))]
/// Receives returned units, restocks them, optionally refunds (admin, service).
pub(crate) async fn receive_return(
    State(state): State<AppState>,
    caller: Caller,
    Path((raw, ret)): Path<(String, String)>,
    headers: HeaderMap,
    AppJson(body): AppJson<ReceiveReturnRequestBody>,
) -> ApiResult<Response> {
    caller.require(FULFILMENT)?;
    let expected = if_match(&headers)?;
    let ret = id("return_id", &ret, |s| s.parse::<ReturnId>())?;
    let order = state
        .orders
        .receive_return(order_id(&raw)?, expected, ret, body.refund, &caller.actor())
        .await
        .map_err(precondition(expected))?;
    Ok(order_response(StatusCode::OK, &order))
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/refunds", tag = "returns",
    params(("id" = doc::Uuid7, Path, description = "Order id")),
    request_body = RefundRequestBody,
    responses((status = 201, body = OrderResponseBody),
        (status = 402, response = Problem), (status = 403, response = Problem), (status = 404, response = Problem), (status = 409, response = Problem), (status = 422, response = Problem)),
    security(("bearer" = [])))]
/// Refunds captured money (admin), never more than captured minus refunded.
pub(crate) async fn refund(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    AppJson(body): AppJson<RefundRequestBody>,
) -> ApiResult<Response> {
    caller.require(STAFF)?;
    let order = state.orders.get(order_id(&raw)?).await?;
    let (amount, reason) = body.try_into_domain(order.currency())?;
    let order = state
        .orders
        .refund(order.id(), amount, reason, &caller.actor())
        .await?;
    Ok(order_response(StatusCode::CREATED, &order))
}

#[utoipa::path(get, path = "/api/v1/orders/{id}/history", tag = "orders",
    params(("id" = doc::Uuid7, Path, description = "Order id")),
    responses((status = 200, body = HistoryBody),
        (status = 404, response = Problem)),
    security(("bearer" = [])))]
/// The timeline: status changes and every event.
pub(crate) async fn history(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<axum::Json<HistoryBody>> {
    let order = visible(&state, &caller, order_id(&raw)?).await?;
    let events = state.orders.events(order.id()).await?;
    Ok(axum::Json(HistoryBody {
        status_changes: order.history().iter().map(HistoryEntryBody::from).collect(),
        events: events.iter().map(|e| EventBody::new(e, None)).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/orders/{id}/invoice", tag = "orders",
    params(("id" = doc::Uuid7, Path, description = "Order id")),
    responses((status = 200, body = InvoiceBody),
        (status = 404, response = Problem)),
    security(("bearer" = [])))]
/// The invoice: final once the order is confirmed (issued at confirmation),
/// pro forma before.
pub(crate) async fn invoice(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<axum::Json<InvoiceBody>> {
    let order = visible(&state, &caller, order_id(&raw)?).await?;
    let invoice = order_core::Invoice::of(&order).map_err(OrderError::from)?;
    Ok(axum::Json(InvoiceBody::from(&invoice)))
}

#[utoipa::path(get, path = "/api/v1/orders/{id}/tracking", tag = "orders",
    params(("id" = doc::Uuid7, Path, description = "Order id")),
    responses((status = 200, body = TrackingBody),
        (status = 404, response = Problem)),
    security(("bearer" = [])))]
/// Where the parcels are.
pub(crate) async fn tracking(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<axum::Json<TrackingBody>> {
    let order = visible(&state, &caller, order_id(&raw)?).await?;
    Ok(axum::Json(TrackingBody {
        status: order.status().to_string(),
        shipments: order.shipments().iter().map(ShipmentBody::from).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/dry-run", tag = "orders",
    params(("id" = doc::Uuid7, Path, description = "Order id")),
    request_body = DryRunRequestBody,
    responses((status = 200, body = DryRunResponseBody),
        (status = 403, response = Problem), (status = 404, response = Problem), (status = 409, response = Problem), (status = 422, response = Problem)),
    security(("bearer" = [])))]
/// What an operation would do, without doing it: the engine runs the
/// operation's own use case with nothing stored, no money moved and no stock
/// held (the payment gateway assumed to approve). The caller needs the role
/// the operation's own route needs.
pub(crate) async fn dry_run(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    AppJson(body): AppJson<DryRunRequestBody>,
) -> ApiResult<axum::Json<DryRunResponseBody>> {
    let order = visible(&state, &caller, order_id(&raw)?).await?;
    let operation = body.try_into_domain(order.currency())?;
    caller.require(roles_for(&operation))?;
    let preview = state
        .orders
        .preview(order.id(), operation, &caller.actor())
        .await?;
    Ok(axum::Json(DryRunResponseBody {
        events: preview
            .events
            .iter()
            .map(|e| e.event_type().to_owned())
            .collect(),
        order: OrderResponseBody::from(&preview.order),
    }))
}

/// Who may perform (and so preview) an operation: the roles its own route
/// requires.
pub(crate) fn roles_for(operation: &Operation) -> &'static [Role] {
    action_roles(operation.action())
}

/// Who may take `action` by hand: the roles of the route that takes it.
/// Actions no route takes by hand (payment outcomes, confirmation, digital
/// delivery, expiry) are the engine's own, and staff's.
pub(crate) fn action_roles(action: Action) -> &'static [Role] {
    match action {
        Action::EditLines
        | Action::UpdateDetails
        | Action::StartPayment
        | Action::Cancel
        | Action::RequestReturn => ANYONE,
        Action::StartProcessing | Action::Ship | Action::Deliver | Action::ReceiveReturn => {
            FULFILMENT
        }
        Action::Complete
        | Action::Refund
        | Action::RecordPayment
        | Action::Confirm
        | Action::DeliverDigital
        | Action::Expire => STAFF,
    }
}
