//! `GET /admin/orders`: the orders, newest first, in keyset pages, with
//! filters for status, payment status, customer, creation dates and an
//! order number search.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, NaiveDate, Utc};
use maud::{Markup, html};
use order_core::ports::{Cursor, OrderQuery, SortOrder};
use order_core::{CustomerId, Order, OrderNumber, OrderStatus, PaymentStatus};

use super::Page;
use super::actions::Fields;
use super::layout;
use super::session::{Operator, encode};
use crate::error::ApiError;
use crate::extract::id;
use crate::routes::orders::{decode_cursor, encode_cursor};
use crate::state::AppState;

/// Rows per page.
const PAGE: usize = 50;

/// The list's filters, parsed.
#[derive(Debug, Default)]
struct Filters {
    status: Option<OrderStatus>,
    payment: Option<PaymentStatus>,
    customer: Option<CustomerId>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    number: Option<OrderNumber>,
    cursor: Option<Cursor>,
}

fn date(fields: &Fields, name: &str) -> Result<Option<NaiveDate>, ApiError> {
    fields
        .get(name)
        .map(|raw| {
            NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| ApiError::BadRequest {
                detail: format!("{name}: must be a date, YYYY-MM-DD"),
                field: Some(name.to_owned()),
            })
        })
        .transpose()
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

impl Filters {
    fn parse(fields: &Fields) -> Result<Self, ApiError> {
        Ok(Self {
            status: fields.get("status").map(str::parse).transpose()?,
            payment: fields.get("payment").map(str::parse).transpose()?,
            customer: fields
                .get("customer")
                .map(|c| id("customer", c, |s| s.parse()))
                .transpose()?,
            from: date(fields, "from")?,
            to: date(fields, "to")?,
            number: fields
                .get("number")
                .map(|n| id("number", n, OrderNumber::parse))
                .transpose()?,
            cursor: fields.get("cursor").map(decode_cursor).transpose()?,
        })
    }

    fn query(&self) -> OrderQuery {
        OrderQuery {
            customer_id: self.customer,
            status: self.status,
            payment_status: self.payment,
            created_from: self.from.map(midnight),
            // The "to" day is included: up to the next midnight.
            created_to: self.to.and_then(|d| d.succ_opt()).map(midnight),
            sort: SortOrder::NewestFirst,
            after: self.cursor,
            limit: PAGE,
        }
    }
}

/// The orders on one page and where the next starts.
async fn rows(
    state: &AppState,
    filters: &Filters,
) -> Result<(Vec<Order>, Option<Cursor>), ApiError> {
    if let Some(number) = &filters.number {
        return match state.orders.get_by_number(number).await {
            Ok(order) => Ok((vec![order], None)),
            Err(order_core::OrderError::NotFound(_)) => Ok((Vec::new(), None)),
            Err(err) => Err(err.into()),
        };
    }
    let page = state.orders.list(&filters.query()).await?;
    Ok((page.orders, page.next))
}

fn select<T: Copy + PartialEq>(
    name: &str,
    label: &str,
    all: &[T],
    chosen: Option<T>,
    text: impl Fn(T) -> &'static str,
) -> Markup {
    html! {
        label {
            (label)
            select name=(name) {
                option value="" { "any" }
                @for &value in all {
                    option value=(text(value)) selected[chosen == Some(value)] {
                        (text(value).replace('_', " "))
                    }
                }
            }
        }
    }
}

/// The query string of the filters, without the cursor.
fn filter_query(fields: &Fields) -> String {
    fields
        .without("cursor")
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `GET /admin/orders`.
pub(super) async fn list(
    State(state): State<AppState>,
    operator: Operator,
    Query(fields): Query<Fields>,
) -> Page {
    let (filters, problem) = match Filters::parse(&fields) {
        Ok(filters) => (filters, None),
        Err(err) => (Filters::default(), Some(err)),
    };
    let (orders, next) = match &problem {
        Some(_) => (Vec::new(), None),
        None => rows(&state, &filters).await?,
    };
    let now = Utc::now();
    let value = |name: &str| fields.get(name).unwrap_or_default().to_owned();
    let body = html! {
        @if let Some(problem) = &problem { (layout::banner_problem(&problem.problem())) }
        form.card.filters method="get" action="/admin/orders" role="search" aria-label="Filter orders" {
            label { "Order number" input name="number" value=(value("number")) placeholder="ORD-2026-000001"; }
            (select("status", "Status", OrderStatus::ALL, filters.status, OrderStatus::as_str))
            (select("payment", "Payment", PaymentStatus::ALL, filters.payment, PaymentStatus::as_str))
            label { "Customer id" input name="customer" value=(value("customer")); }
            label { "Created from" input type="date" name="from" value=(value("from")); }
            label { "Created to" input type="date" name="to" value=(value("to")); }
            div.row {
                button type="submit" { "Filter" }
                a.button.secondary href="/admin/orders" { "Clear" }
            }
        }
        div.scroll {
            table.orders {
                caption.muted { (orders.len()) " orders on this page, newest first" }
                thead { tr {
                    th scope="col" { "Number" } th scope="col" { "Customer" }
                    th scope="col" { "Status" } th scope="col" { "Payment" }
                    th.num scope="col" { "Total" } th.num scope="col" { "Age" }
                } }
                tbody {
                    @for order in &orders {
                        tr {
                            td { a href={ "/admin/orders/" (order.id()) } { (order.number().as_str()) } }
                            td { code { (order.customer_id()) } }
                            td { (layout::status(order.status())) }
                            td { (layout::payment(order.payment_status())) }
                            td.num { (layout::money(&order.totals().total)) }
                            td.num { (layout::age(order.created_at(), now)) }
                        }
                    }
                    @if orders.is_empty() {
                        tr { td colspan="6" { "No orders match." } }
                    }
                }
            }
        }
        nav.pager aria-label="Pages" {
            @if fields.get("cursor").is_some() {
                a href={ "/admin/orders?" (filter_query(&fields)) } { "« Newest" }
            } @else { span {} }
            @if let Some(next) = &next {
                a rel="next" href={ "/admin/orders?" (filter_query(&fields)) "&cursor=" (encode_cursor(next)) } { "Older »" }
            }
        }
    };
    let status = problem.as_ref().map_or(StatusCode::OK, ApiError::status);
    Ok((status, layout::page("Orders", Some(&operator), body)).into_response())
}
