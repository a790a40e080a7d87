//! `/admin/products`: the catalog by SKU with each SKU's stock (on hand,
//! reserved for unpaid orders, available), and forms to change a price and
//! the units on hand, through the same ports as the admin API.

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use order_core::ports::{Product, StockLevel};
use order_core::{Money, Sku, ValidationError};

use super::actions::Fields;
use super::layout;
use super::session::{self, Operator, encode};
use super::{ConsoleError, Page};
use crate::error::ApiError;
use crate::extract::id;
use crate::routes::admin::unavailable;
use crate::state::AppState;

/// Products per page.
const PAGE: usize = 50;
/// Products read to find the one a form names, from the start of the page
/// it was on (more than a page, in case products were added meanwhile).
const LOOKUP: usize = 200;

fn after(fields: &Fields) -> Result<Option<Sku>, ApiError> {
    fields
        .get("after")
        .map(|s| id("after", s, Sku::parse))
        .transpose()
}

fn row(
    operator: &Operator,
    product: &Product,
    level: Option<StockLevel>,
    page_after: &str,
) -> Markup {
    let sku = product.sku.as_str();
    html! {
        tr {
            td { (sku) }
            td { (product.name.as_str()) }
            td { @if product.active { "for sale" } @else { span.muted { "inactive" } } }
            td {
                form.row method="post" action={ "/admin/products/" (encode(sku)) "/price" } {
                    input type="hidden" name="csrf" value=(operator.csrf());
                    input type="hidden" name="after" value=(page_after);
                    input.qty name="price" inputmode="decimal" required value=(product.unit_price.amount())
                        aria-label={ "Price of " (sku) " in " (product.unit_price.currency().code()) };
                    span.muted { (product.unit_price.currency().code()) }
                    button.secondary type="submit" { "Save" }
                }
            }
            td {
                form.row method="post" action={ "/admin/stock/" (encode(sku)) } {
                    input type="hidden" name="csrf" value=(operator.csrf());
                    input type="hidden" name="after" value=(page_after);
                    input.qty type="number" min="0" name="on_hand" required
                        value=(level.map_or(0, |l| l.on_hand)) aria-label={ "Units of " (sku) " on hand" };
                    button.secondary type="submit" { "Save" }
                }
            }
            td.num { (level.map_or(0, |l| l.reserved)) }
            td.num { (level.map_or(0, |l| l.on_hand.saturating_sub(l.reserved))) }
        }
    }
}

/// The page of products after `after`, with `notice` above it.
async fn render(
    state: &AppState,
    operator: &Operator,
    fields: &Fields,
    notice: Option<Markup>,
    status: StatusCode,
) -> Page {
    let start = after(fields)?;
    let products = state
        .catalog
        .list(start.as_ref(), PAGE)
        .await
        .map_err(unavailable)?;
    let mut levels = Vec::with_capacity(products.len());
    for product in &products {
        levels.push(state.stock.level(&product.sku).await.map_err(unavailable)?);
    }
    let page_after = start.as_ref().map_or("", Sku::as_str);
    let body = html! {
        @if let Some(notice) = notice { (notice) }
        div.scroll { table.products {
            thead { tr {
                th scope="col" { "SKU" } th scope="col" { "Name" } th scope="col" { "Sale" }
                th scope="col" { "Unit price" } th scope="col" { "On hand" }
                th.num scope="col" { "Reserved" } th.num scope="col" { "Available" }
            } }
            tbody {
                @for (product, level) in products.iter().zip(&levels) {
                    (row(operator, product, *level, page_after))
                }
                @if products.is_empty() { tr { td colspan="7" { "No products." } } }
            }
        } }
        nav.pager aria-label="Pages" {
            @if start.is_some() { a href="/admin/products" { "« First" } } @else { span {} }
            @if products.len() == PAGE {
                @if let Some(last) = products.last() {
                    a rel="next" href={ "/admin/products?after=" (encode(last.sku.as_str())) } { "Next »" }
                }
            }
        }
    };
    Ok((
        status,
        layout::page("Products & stock", Some(operator), body),
    )
        .into_response())
}

/// `GET /admin/products`.
pub(super) async fn list(
    State(state): State<AppState>,
    operator: Operator,
    Query(fields): Query<Fields>,
) -> Page {
    let notice = match (fields.get("done"), fields.get("sku")) {
        (Some("price"), Some(sku)) => {
            Some(layout::banner_done(&format!("Saved the price of {sku}.")))
        }
        (Some("stock"), Some(sku)) => {
            Some(layout::banner_done(&format!("Saved the stock of {sku}.")))
        }
        _ => None,
    };
    render(&state, &operator, &fields, notice, StatusCode::OK).await
}

fn back(fields: &Fields, done: &str, sku: &Sku) -> Response {
    let after = fields
        .get("after")
        .map(|a| format!("&after={}", encode(a)))
        .unwrap_or_default();
    Redirect::to(&format!(
        "/admin/products?done={done}&sku={}{after}",
        encode(sku.as_str())
    ))
    .into_response()
}

async fn refused(state: &AppState, operator: &Operator, fields: &Fields, err: &ApiError) -> Page {
    let banner = layout::banner_problem(&err.problem());
    render(state, operator, fields, Some(banner), err.status()).await
}

/// `POST /admin/products/{sku}/price`.
pub(super) async fn set_price(
    State(state): State<AppState>,
    operator: Operator,
    headers: HeaderMap,
    Path(raw): Path<String>,
    Form(fields): Form<Fields>,
) -> Result<Response, ConsoleError> {
    session::same_origin(&headers)?;
    operator.check_csrf(fields.get("csrf"))?;
    let attempt = async {
        let sku = id("sku", &raw, Sku::parse)?;
        // The product is on the page the form came from.
        let start = after(&fields)?;
        let mut product = state
            .catalog
            .list(start.as_ref(), LOOKUP)
            .await
            .map_err(unavailable)?
            .into_iter()
            .find(|p| p.sku == sku)
            .ok_or_else(|| ApiError::NotFound(format!("no product has the SKU {sku}")))?;
        let raw_price = fields.get("price").unwrap_or_default();
        product.unit_price =
            Money::parse(raw_price, product.unit_price.currency()).map_err(|source| {
                ApiError::from(ValidationError::Money {
                    field: "price".into(),
                    source,
                })
            })?;
        product.check()?;
        state.catalog.upsert(&product).await.map_err(unavailable)?;
        Ok::<_, ApiError>(sku)
    }
    .await;
    match attempt {
        Ok(sku) => Ok(back(&fields, "price", &sku)),
        Err(err) => refused(&state, &operator, &fields, &err).await,
    }
}

/// `POST /admin/stock/{sku}`.
pub(super) async fn set_stock(
    State(state): State<AppState>,
    operator: Operator,
    headers: HeaderMap,
    Path(raw): Path<String>,
    Form(fields): Form<Fields>,
) -> Result<Response, ConsoleError> {
    session::same_origin(&headers)?;
    operator.check_csrf(fields.get("csrf"))?;
    let attempt = async {
        let sku = id("sku", &raw, Sku::parse)?;
        let units = fields
            .get("on_hand")
            .unwrap_or_default()
            .parse::<u32>()
            .map_err(|_| ApiError::BadRequest {
                detail: "on_hand: must be a whole number of units, 0 or more".into(),
                field: Some("on_hand".into()),
            })?;
        let units = StockLevel::check_on_hand(units)?;
        state
            .stock
            .set_on_hand(&sku, units)
            .await
            .map_err(unavailable)?;
        Ok::<_, ApiError>(sku)
    }
    .await;
    match attempt {
        Ok(sku) => Ok(back(&fields, "stock", &sku)),
        Err(err) => refused(&state, &operator, &fields, &err).await,
    }
}
