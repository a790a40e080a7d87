//! `GET /admin/compensations`: what the engine's sagas could not undo by
//! themselves (a void, a refund or a stock release that failed after its
//! step), from the store's compensation log, newest first, for staff to
//! settle by hand. Read-only for now: resolving one is the operator API's
//! to add.

use axum::extract::State;
use axum::response::IntoResponse;
use maud::html;

use super::Page;
use super::layout::{self, at, money};
use super::session::Operator;
use crate::state::AppState;

/// `GET /admin/compensations`.
pub(super) async fn list(State(state): State<AppState>, operator: Operator) -> Page {
    let mut entries = state
        .store
        .compensations()
        .await
        .map_err(order_core::OrderError::from)?;
    entries.sort_by_key(|c| std::cmp::Reverse(c.at));
    let body = html! {
        p.muted { "Steps the engine could not undo by itself, to settle by hand." }
        div.scroll { table {
            thead { tr {
                th scope="col" { "When" } th scope="col" { "Order" } th scope="col" { "Step" }
                th.num scope="col" { "Amount" } th scope="col" { "What went wrong" }
            } }
            tbody {
                @for c in &entries {
                    tr {
                        td { (at(c.at)) }
                        td { a href={ "/admin/orders/" (c.order_id) } { "open" } }
                        td { (c.step) }
                        td.num { (c.amount.as_ref().map(money).unwrap_or_default()) }
                        td { (c.detail) }
                    }
                }
                @if entries.is_empty() { tr { td colspan="5" { "Nothing to compensate." } } }
            }
        } }
    };
    Ok(layout::page("Compensations", Some(&operator), body).into_response())
}
