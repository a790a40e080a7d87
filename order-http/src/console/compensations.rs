//! `GET /admin/compensations`: what the engine's sagas could not undo by
//! themselves (a void, a refund or a stock release that failed after its
//! step), from the store's compensation log, open ones first, newest first,
//! for staff to settle by hand; `POST /admin/compensations/{id}/resolve`
//! records that an admin did (the operator API's use case,
//! `OrderService::resolve_compensation`).

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use order_core::{CompensationId, Reason};

use super::actions::Fields;
use super::layout::{self, at, money};
use super::session::{self, Operator};
use super::{ConsoleError, Page};
use crate::auth::Role;
use crate::error::ApiError;
use crate::extract::id;
use crate::routes::compensations::as_note;
use crate::state::AppState;

/// `GET /admin/compensations`.
pub(super) async fn list(State(state): State<AppState>, operator: Operator) -> Page {
    let mut entries = state
        .store
        .compensations()
        .await
        .map_err(order_core::OrderError::from)?;
    entries.sort_by_key(|c| (c.resolution.is_some(), std::cmp::Reverse(c.at)));
    let may_resolve = operator.caller().require(&[Role::Admin]).is_ok();
    let body = html! {
        p.muted { "Steps the engine could not undo by itself, to settle by hand." }
        div.scroll { table {
            thead { tr {
                th scope="col" { "When" } th scope="col" { "Order" } th scope="col" { "Step" }
                th.num scope="col" { "Amount" } th scope="col" { "What went wrong" }
                th scope="col" { "Settled" }
            } }
            tbody {
                @for c in &entries {
                    tr {
                        td { (at(c.at)) }
                        td { a href={ "/admin/orders/" (c.order_id) } { "open" } }
                        td { (c.step) }
                        td.num { (c.amount.as_ref().map(money).unwrap_or_default()) }
                        td { (c.detail) }
                        td {
                            @if let Some(r) = &c.resolution {
                                (r.by) ", " (at(r.at))
                                @if let Some(note) = &r.note { ": " (note) }
                            } @else if may_resolve {
                                form method="post" action={ "/admin/compensations/" (c.id) "/resolve" } {
                                    input type="hidden" name="csrf" value=(operator.csrf());
                                    label { "Note " input type="text" name="note" maxlength="500"; }
                                    " "
                                    button type="submit" { "Mark resolved" }
                                }
                            } @else {
                                "open"
                            }
                        }
                    }
                }
                @if entries.is_empty() { tr { td colspan="6" { "Nothing to compensate." } } }
            }
        } }
    };
    Ok(layout::page("Compensations", Some(&operator), body).into_response())
}

/// `POST /admin/compensations/{id}/resolve` (admins): records who settled
/// the step and when, with the operator's note, then shows the list again.
pub(super) async fn resolve(
    State(state): State<AppState>,
    operator: Operator,
    headers: HeaderMap,
    Path(raw): Path<String>,
    axum::Form(fields): axum::Form<Fields>,
) -> Result<Response, ConsoleError> {
    session::same_origin(&headers)?;
    operator.check_csrf(fields.get("csrf"))?;
    operator.caller().require(&[Role::Admin])?;
    let compensation = id("id", &raw, |s| s.parse::<CompensationId>())?;
    let note = fields
        .get("note")
        .map(|text| Reason::parse(text).map_err(as_note))
        .transpose()?;
    state
        .orders
        .resolve_compensation(compensation, note, &operator.caller().actor())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("compensation {compensation} not found")))?;
    Ok(Redirect::to("/admin/compensations").into_response())
}
