//! What the seeds' routes share: who may call what (the clean API's
//! roles), placing an order from a seed's body, reaching a status a seed
//! names, and listing. Each makes the same `OrderService` call the clean
//! API makes; the seeds' modules only shape requests and responses.

use axum::http::{HeaderMap, StatusCode};
use order_core::ports::{OrderQuery, SortOrder};
use order_core::{CustomerId, Order, OrderStatus, PaymentStatus, StatusGoal, ValidationError};

use super::body::{PaymentBody, SeedCreateBody};
use super::names::{self, GoalDetails};
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiResult};
use crate::extract::{idempotency_key, page_limit};
use crate::routes::orders::{decode_cursor, encode_cursor, order_id, visible};
use crate::state::AppState;

/// Admin only.
pub(crate) const STAFF: &[Role] = &[Role::Admin];
/// Admin and services.
pub(crate) const FULFILMENT: &[Role] = &[Role::Admin, Role::Service];
/// Anyone authenticated (customers on their own orders).
pub(crate) const ANYONE: &[Role] = &[Role::Customer, Role::Admin, Role::Service];

/// The roles the clean API's route for `goal` requires.
fn roles_for(goal: &StatusGoal) -> &'static [Role] {
    match goal {
        StatusGoal::Paid | StatusGoal::Cancelled { .. } | StatusGoal::ReturnRequested { .. } => {
            ANYONE
        }
        StatusGoal::Processing | StatusGoal::Shipped { .. } | StatusGoal::Delivered => FULFILMENT,
        StatusGoal::Completed | StatusGoal::Refunded { .. } => STAFF,
    }
}

/// The customer an order is placed for: a customer's own id (naming
/// another is refused), or the one staff name.
fn customer_for(caller: &Caller, named: Option<CustomerId>) -> ApiResult<CustomerId> {
    match (caller.customer_id(), named) {
        (Some(own), None) => Ok(own),
        (Some(own), Some(named)) if own == named => Ok(own),
        (Some(_), Some(_)) => Err(ApiError::Forbidden(
            "customers place orders for themselves".into(),
        )),
        (None, Some(named)) => Ok(named),
        (None, None) => Err(ValidationError::Empty {
            field: "userId".into(),
        }
        .into()),
    }
}

/// Places the order a seed's body describes, as the clean API's
/// `POST /api/v1/orders` does (with its `Idempotency-Key`); the configured
/// default shipping method when the body names none.
pub(crate) async fn place(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    body: SeedCreateBody,
) -> ApiResult<Order> {
    caller.require(ANYONE)?;
    let key = idempotency_key(headers)?;
    let customer = customer_for(caller, body.customer()?)?;
    let request = body.try_into_domain(customer, state.seed_shipping_method.as_ref())?;
    // As the clean route: the placement finishes on its own task even if
    // the request times out, so its idempotency key is settled at once.
    let state = state.clone();
    let actor = caller.actor();
    tokio::spawn(async move { state.orders.place(request, key.as_ref(), &actor).await })
        .await
        .map_err(|failure| ApiError::Internal(Box::new(failure)))?
        .map_err(ApiError::from)
}

/// Checkout with what the payer pays with, as the clean API's
/// `POST /api/v1/orders/{id}/pay`: 200 when paid, 202 while an external
/// payment service settles it.
pub(crate) async fn pay(
    state: &AppState,
    caller: &Caller,
    raw: &str,
    body: &PaymentBody,
) -> ApiResult<(StatusCode, Order)> {
    let instrument = body.instrument()?;
    let order = state
        .orders
        .pay_with(order_id(raw)?, caller.scope(), &caller.actor(), &instrument)
        .await?;
    let status = if order.payment_status() == PaymentStatus::Pending {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((status, order))
}

/// How a status was asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Asked {
    /// By an action route (`/checkout`, `/ship`, `DELETE`…): the roles of
    /// the clean API's route for the same use case.
    ByAction,
    /// By a "set status" route: staff or a service, and the roles of the
    /// use case.
    BySetStatus,
}

/// Leads the order `raw` to the status a seed calls `name`; the engine runs
/// the use case that leads there and its state machine decides.
pub(crate) async fn reach(
    state: &AppState,
    caller: &Caller,
    raw: &str,
    name: &str,
    details: GoalDetails,
    default_reason: &str,
    asked: Asked,
) -> ApiResult<Order> {
    let order = visible(state, caller, order_id(raw)?).await?;
    let goal = names::goal(
        name,
        details,
        (order.status(), order.payment_status()),
        default_reason,
    )?;
    if asked == Asked::BySetStatus {
        caller.require(FULFILMENT)?;
    }
    caller.require(roles_for(&goal))?;
    Ok(state
        .orders
        .reach(order.id(), caller.scope(), goal, &caller.actor())
        .await?)
}

/// One page of a listing, and the cursor of the next.
#[derive(Debug)]
pub(crate) struct Listing {
    /// The orders, newest first.
    pub(crate) orders: Vec<Order>,
    /// Where the next page starts, if there is one.
    pub(crate) next_cursor: Option<String>,
}

/// What to list.
#[derive(Debug, Default)]
pub(crate) struct Filter<'a> {
    /// Only this customer's (customers always see only their own; naming
    /// another is refused).
    pub(crate) customer: Option<CustomerId>,
    /// Only orders in this status.
    pub(crate) status: Option<OrderStatus>,
    /// Page size, 1 to 200 (50 by default).
    pub(crate) limit: Option<usize>,
    /// A `next_cursor` of an earlier page.
    pub(crate) cursor: Option<&'a str>,
}

/// Lists orders as the clean API's `GET /api/v1/orders` does.
pub(crate) async fn list(
    state: &AppState,
    caller: &Caller,
    filter: Filter<'_>,
) -> ApiResult<Listing> {
    caller.require(ANYONE)?;
    let customer_id = match (caller.customer_id(), filter.customer) {
        (Some(own), Some(named)) if own != named => {
            return Err(ApiError::Forbidden(
                "customers see their own orders only".into(),
            ));
        }
        (Some(own), _) => Some(own),
        (None, named) => named,
    };
    let query = OrderQuery {
        customer_id,
        status: filter.status,
        payment_status: None,
        created_from: None,
        created_to: None,
        sort: SortOrder::NewestFirst,
        after: filter.cursor.map(decode_cursor).transpose()?,
        limit: page_limit(filter.limit, 50, 200)?,
    };
    let page = state.orders.list(&query).await?;
    Ok(Listing {
        orders: page.orders,
        next_cursor: page.next.as_ref().map(encode_cursor),
    })
}
