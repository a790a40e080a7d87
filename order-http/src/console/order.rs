//! One order: its lines with their quantity ledger, totals, addresses,
//! payment ledger, shipments, returns and timeline, and the actions it
//! allows now (`Order::staff_actions`, for the operator's role). An action
//! is previewed first (`GET …/preview`, the core's dry run), then confirmed
//! (`POST …/actions`) against the version the operator saw: a change made
//! meanwhile is shown as a conflict, never overwritten.

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use order_core::{Action, Address, EventRecord, Order, OrderError, OrderId};

use super::actions::{self, Fields};
use super::layout::{self, at, money};
use super::session::{self, Operator};
use super::{ConsoleError, Page};
use crate::error::ApiError;
use crate::extract::id;
use crate::routes::orders::{action_roles, roles_for};
use crate::state::AppState;

fn order_id(raw: &str) -> Result<OrderId, ApiError> {
    id("id", raw, |s| s.parse())
}

/// The actions the order allows now that the operator's role may take.
fn offered(order: &Order, operator: &Operator) -> Vec<Action> {
    order
        .staff_actions()
        .into_iter()
        .filter(|&a| action_roles(a).contains(&operator.caller().role()))
        .collect()
}

fn conflict_banner(expected: u64, actual: u64) -> Markup {
    html! {
        div.banner.conflict role="alert" {
            strong { "Someone else changed this order." }
            " You saw version " (expected) "; it is now at version " (actual)
            ". Nothing was done: check the order as it is now and try again."
        }
    }
}

/// `GET /admin/orders/{id}`.
pub(super) async fn show(
    State(state): State<AppState>,
    operator: Operator,
    Path(raw): Path<String>,
    Query(fields): Query<Fields>,
) -> Page {
    let order = state.orders.get(order_id(&raw)?).await?;
    let notice = fields
        .get("done")
        .and_then(|a| a.parse::<Action>().ok())
        .map(|a| layout::banner_done(&actions::done(a)));
    page(&state, &operator, &order, notice, StatusCode::OK).await
}

/// The order's page with `notice` above it, answered with `status`.
async fn page(
    state: &AppState,
    operator: &Operator,
    order: &Order,
    notice: Option<Markup>,
    status: StatusCode,
) -> Page {
    let events = state.orders.events(order.id()).await?;
    let body = detail(operator, order, &events, notice);
    let title = format!("Order {}", order.number().as_str());
    Ok((status, layout::page(&title, Some(operator), body)).into_response())
}

fn address(a: Option<&Address>) -> Markup {
    html! {
        @match a {
            Some(a) => address {
                (a.name()) br; (a.line1()) br;
                @if let Some(l2) = a.line2() { (l2) br; }
                (a.postal_code()) " " (a.city())
                @if let Some(r) = a.region() { ", " (r) }
                br; (a.country().as_str())
                @if let Some(p) = a.phone() { br; (p) }
            },
            None => span.muted { "none" },
        }
    }
}

fn sku_of(order: &Order, line: order_core::LineId) -> String {
    order
        .line(line)
        .map_or_else(|| line.to_string(), |l| l.sku.to_string())
}

fn parts(order: &Order, lines: &[order_core::LineQuantity]) -> String {
    lines
        .iter()
        .map(|l| format!("{} × {}", sku_of(order, l.line_id), l.quantity.get()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The hidden fields every action form carries.
fn hidden(order: &Order, action: Action) -> Markup {
    html! {
        input type="hidden" name="action" value=(action.as_str());
        input type="hidden" name="version" value=(order.version());
    }
}

fn action_forms(operator: &Operator, order: &Order) -> Markup {
    let offered = offered(order, operator);
    let preview = format!("/admin/orders/{}/preview", order.id());
    let refundable = order.payments().refundable().ok();
    html! {
        @if offered.is_empty() {
            p.muted { "Nothing can be done to this order now." }
        }
        div.actions {
            @for action in &offered {
                @match action {
                    Action::Ship => form.card method="get" action=(preview) aria-labelledby="act-ship" {
                        h3 #act-ship { "Ship" }
                        (hidden(order, Action::Ship))
                        table {
                            thead { tr { th { "SKU" } th.num { "Left" } th.num { "Units" } } }
                            tbody {
                                @for line in order.lines().iter().filter(|l| l.quantities.to_ship() > 0) {
                                    tr {
                                        td { (line.sku) }
                                        td.num { (line.quantities.to_ship()) }
                                        td.num {
                                            input.qty type="number" min="0" max=(line.quantities.to_ship())
                                                name=(actions::quantity_field(line)) value=(line.quantities.to_ship())
                                                aria-label={ "Units of " (line.sku) " to ship" };
                                        }
                                    }
                                }
                            }
                        }
                        div.row {
                            label { "Carrier" input name="carrier" autocomplete="off"; }
                            label { "Tracking number" input name="tracking" autocomplete="off"; }
                        }
                        button type="submit" { "Preview shipment" }
                    },
                    Action::Deliver => {
                        @for shipment in order.shipments().iter().filter(|s| s.delivered_at.is_none()) {
                            form.card method="get" action=(preview) {
                                h3 { "Mark delivered" }
                                (hidden(order, Action::Deliver))
                                input type="hidden" name="shipment" value=(shipment.id);
                                p {
                                    (parts(order, &shipment.lines)) " · "
                                    (shipment.carrier.as_ref().map_or("no carrier", |c| c.as_str())) " "
                                    (shipment.tracking_number.as_ref().map_or("", |t| t.as_str()))
                                }
                                button type="submit" { "Preview delivery" }
                            }
                        }
                    },
                    Action::ReceiveReturn => {
                        @for ret in order.returns().iter().filter(|r| r.received_at.is_none()) {
                            form.card method="get" action=(preview) {
                                h3 { "Receive return" }
                                (hidden(order, Action::ReceiveReturn))
                                input type="hidden" name="return" value=(ret.id);
                                p { (parts(order, &ret.lines)) " · " (ret.reason.as_str()) }
                                label.inline { input type="checkbox" name="refund" value="on" checked; "Refund its share (" (money(&ret.refund_amount)) ")" }
                                button type="submit" { "Preview receipt" }
                            }
                        }
                    },
                    Action::Refund => form.card method="get" action=(preview) aria-labelledby="act-refund" {
                        h3 #act-refund { "Refund" }
                        (hidden(order, Action::Refund))
                        div.row {
                            label { "Amount (" (order.currency().code()) ")"
                                input name="amount" inputmode="decimal" required
                                    placeholder=(refundable.map(|m| m.amount().to_string()).unwrap_or_default()); }
                            label { "Reason" input name="reason" required; }
                        }
                        @if let Some(m) = refundable { p.muted { "Refundable now: " (money(&m)) } }
                        button type="submit" { "Preview refund" }
                    },
                    Action::Cancel => form.card method="get" action=(preview) aria-labelledby="act-cancel" {
                        h3 #act-cancel { "Cancel order" }
                        (hidden(order, Action::Cancel))
                        label { "Reason" input name="reason" required; }
                        button.danger type="submit" { "Preview cancellation" }
                    },
                    other => form.card method="get" action=(preview) {
                        h3 { (actions::label(*other)) }
                        (hidden(order, *other))
                        button type="submit" { "Preview" }
                    },
                }
            }
        }
    }
}

fn detail(
    operator: &Operator,
    order: &Order,
    events: &[EventRecord],
    notice: Option<Markup>,
) -> Markup {
    let totals = order.totals();
    let pay = order.payments();
    html! {
        @if let Some(notice) = notice { (notice) }
        section.card aria-label="Summary" {
            dl.facts {
                dt { "Status" } dd #status { (layout::status(order.status())) }
                dt { "Payment" } dd #payment-status { (layout::payment(order.payment_status())) }
                dt { "Customer" } dd { code { (order.customer_id()) } }
                dt { "Placed" } dd { (at(order.created_at())) }
                dt { "Last change" } dd { (at(order.updated_at())) }
                dt { "Version" } dd #version { (order.version()) }
                dt { "Shipping method" } dd { (order.shipping_method().map_or("none", |m| m.as_str())) }
                @if let Some(notes) = order.notes() { dt { "Notes" } dd { (notes.as_str()) } }
            }
        }
        h2 { "Actions" }
        (action_forms(operator, order))
        h2 { "Lines" }
        div.scroll { table.lines {
            thead { tr {
                th scope="col" { "SKU" } th scope="col" { "Name" } th.num scope="col" { "Unit price" }
                th.num scope="col" { "Ordered" } th.num scope="col" { "Cancelled" } th.num scope="col" { "Shipped" }
                th.num scope="col" { "Delivered" } th.num scope="col" { "Returned" } th.num scope="col" { "Return asked" }
                th.num scope="col" { "Total" }
            } }
            tbody { @for line in order.lines() {
                @let q = &line.quantities;
                tr {
                    td { (line.sku) } td { (line.name.as_str()) } td.num { (money(&line.unit_price)) }
                    td.num { (q.ordered) } td.num { (q.cancelled) } td.num { (q.shipped) }
                    td.num { (q.delivered) } td.num { (q.returned) } td.num { (q.return_requested) }
                    td.num { (money(&line.amounts.total)) }
                }
            } }
        } }
        div.grid {
            section.card aria-labelledby="h-totals" {
                h2 #h-totals { "Totals" }
                dl.facts {
                    dt { "Subtotal" } dd { (money(&totals.subtotal)) }
                    dt { "Discount" } dd { (money(&totals.discount)) }
                    dt { "Tax" } dd { (money(&totals.tax)) }
                    dt { "Shipping" } dd { (money(&totals.shipping)) }
                    dt { "Total" } dd { strong { (money(&totals.total)) } }
                }
            }
            section.card aria-labelledby="h-payments" {
                h2 #h-payments { "Payments" }
                dl.facts {
                    dt { "Authorized" } dd { (money(&pay.authorized())) }
                    dt { "Captured" } dd #captured { (money(&pay.captured())) }
                    dt { "Refunded" } dd #refunded { (money(&pay.refunded())) }
                    dt { "Refundable" } dd { (pay.refundable().map_or_else(|e| e.to_string(), |m| money(&m))) }
                }
            }
            section.card aria-labelledby="h-ship-to" {
                h2 #h-ship-to { "Ship to" }
                (address(order.shipping_address()))
                h2 { "Bill to" }
                (address(order.billing_address()))
            }
        }
        h2 { "Payment ledger" }
        div.scroll { table {
            thead { tr { th scope="col" { "When" } th scope="col" { "Kind" } th.num scope="col" { "Amount" } th scope="col" { "Reference" } th scope="col" { "Reason" } } }
            tbody {
                @for entry in pay.entries() {
                    tr {
                        td { (at(entry.at)) } td { (entry.kind.as_str()) } td.num { (money(&entry.amount)) }
                        td { (entry.reference.as_ref().map_or("", |r| r.as_str())) }
                        td { (entry.reason.as_ref().map_or("", |r| r.as_str())) }
                    }
                }
                @if pay.entries().is_empty() { tr { td colspan="5" { "No payments yet." } } }
            }
        } }
        h2 { "Shipments" }
        div.scroll { table #shipments {
            thead { tr { th scope="col" { "Units" } th scope="col" { "Carrier" } th scope="col" { "Tracking" } th scope="col" { "Shipped" } th scope="col" { "Delivered" } } }
            tbody {
                @for s in order.shipments() {
                    tr {
                        td { (parts(order, &s.lines)) }
                        td { (s.carrier.as_ref().map_or("", |c| c.as_str())) }
                        td { (s.tracking_number.as_ref().map_or("", |t| t.as_str())) }
                        td { (at(s.shipped_at)) }
                        td { @if let Some(d) = s.delivered_at { (at(d)) } @else { span.muted { "in transit" } } }
                    }
                }
                @if order.shipments().is_empty() { tr { td colspan="5" { "Nothing shipped yet." } } }
            }
        } }
        h2 { "Returns" }
        div.scroll { table {
            thead { tr { th scope="col" { "Units" } th scope="col" { "Reason" } th.num scope="col" { "Refund share" } th scope="col" { "Asked" } th scope="col" { "Received" } } }
            tbody {
                @for r in order.returns() {
                    tr {
                        td { (parts(order, &r.lines)) } td { (r.reason.as_str()) }
                        td.num { (money(&r.refund_amount)) } td { (at(r.requested_at)) }
                        td { @if let Some(d) = r.received_at { (at(d)) } @else { span.muted { "not yet" } } }
                    }
                }
                @if order.returns().is_empty() { tr { td colspan="5" { "No returns." } } }
            }
        } }
        h2 { "Timeline" }
        ol.timeline #timeline {
            @for e in events.iter().rev() {
                li {
                    span.seq { (e.sequence) }
                    span { (at(e.occurred_at)) }
                    code { (e.event_type()) }
                    span.muted { (e.actor.as_str()) }
                }
            }
        }
    }
}

/// One before/after row of a preview, shown when the value changes (or
/// always, for the statuses).
fn change(label: &str, before: &str, after: &str, always: bool) -> Markup {
    html! {
        @if always || before != after {
            tr class=[(before != after).then_some("changed")] {
                th scope="row" { (label) } td { (before) } td { (after) }
            }
        }
    }
}

fn units(order: &Order, of: fn(&order_core::LineQuantities) -> u32) -> String {
    order
        .lines()
        .iter()
        .map(|l| of(&l.quantities))
        .sum::<u32>()
        .to_string()
}

fn changes(before: &Order, after: &Order) -> Markup {
    let (b, a) = (before.payments(), after.payments());
    let refundable = |o: &Order| {
        o.payments()
            .refundable()
            .map_or_else(|e| e.to_string(), |m| money(&m))
    };
    html! {
        table.preview {
            thead { tr { th scope="col" { "" } th scope="col" { "Now" } th scope="col" { "After" } } }
            tbody {
                (change("Status", &before.status().to_string(), &after.status().to_string(), true))
                (change("Payment", &before.payment_status().to_string(), &after.payment_status().to_string(), true))
                (change("Captured", &money(&b.captured()), &money(&a.captured()), false))
                (change("Voided", &money(&b.voided()), &money(&a.voided()), false))
                (change("Refunded", &money(&b.refunded()), &money(&a.refunded()), false))
                (change("Refundable", &refundable(before), &refundable(after), false))
                (change("Units shipped", &units(before, |q| q.shipped), &units(after, |q| q.shipped), false))
                (change("Units delivered", &units(before, |q| q.delivered), &units(after, |q| q.delivered), false))
                (change("Units cancelled", &units(before, |q| q.cancelled), &units(after, |q| q.cancelled), false))
                (change("Units returned", &units(before, |q| q.returned), &units(after, |q| q.returned), false))
            }
        }
    }
}

/// `GET /admin/orders/{id}/preview`: what the action would do (the core's
/// dry run), and a button to confirm it.
pub(super) async fn preview(
    State(state): State<AppState>,
    operator: Operator,
    Path(raw): Path<String>,
    Query(fields): Query<Fields>,
) -> Page {
    let order = state.orders.get(order_id(&raw)?).await?;
    let back = format!("/admin/orders/{}", order.id());
    let action = actions::action(&fields).ok();
    let title = format!(
        "{} · {}",
        action.map_or("Preview", actions::label),
        order.number().as_str()
    );
    let outcome = async {
        let seen = actions::version(&fields)?;
        let operation = actions::operation(&order, &fields)?;
        operator.caller().require(roles_for(&operation))?;
        if seen != order.version() {
            return Ok(Err((seen, order.version())));
        }
        let preview = state
            .orders
            .preview(order.id(), operation, &operator.caller().actor())
            .await?;
        Ok::<_, ApiError>(Ok(preview))
    }
    .await;
    let (status, body) = match outcome {
        Err(err) => (
            err.status(),
            html! { (layout::banner_problem(&err.problem())) },
        ),
        Ok(Err((seen, now))) => (StatusCode::CONFLICT, conflict_banner(seen, now)),
        Ok(Ok(preview)) => (
            StatusCode::OK,
            html! {
                section.card aria-labelledby="h-would" {
                    h2 #h-would { "What would happen" }
                    (changes(&order, &preview.order))
                    p { "Events: " @for (i, e) in preview.events.iter().enumerate() {
                        @if i > 0 { ", " } code { (e.event_type()) }
                    } }
                    p.muted { "Nothing has been done yet. A preview assumes the payment provider agrees." }
                }
                form.card method="post" action={ "/admin/orders/" (order.id()) "/actions" } {
                    @for (name, value) in fields.without("csrf") {
                        input type="hidden" name=(name) value=(value);
                    }
                    input type="hidden" name="csrf" value=(operator.csrf());
                    div.row {
                        button #confirm type="submit" { "Confirm: " (action.map_or("act", actions::label).to_lowercase()) }
                        a.button.secondary href=(back) { "Back to the order" }
                    }
                }
            },
        ),
    };
    let body = html! {
        (body)
        p { a href=(back) { "Back to order " (order.number().as_str()) } }
    };
    Ok((status, layout::page(&title, Some(&operator), body)).into_response())
}

/// `POST /admin/orders/{id}/actions`: performs a previewed action on the
/// version the operator saw, then shows the order again.
pub(super) async fn perform(
    State(state): State<AppState>,
    operator: Operator,
    headers: HeaderMap,
    Path(raw): Path<String>,
    Form(fields): Form<Fields>,
) -> Result<Response, ConsoleError> {
    session::same_origin(&headers)?;
    operator.check_csrf(fields.get("csrf"))?;
    let id = order_id(&raw)?;
    let order = state.orders.get(id).await?;
    let attempt = async {
        let seen = actions::version(&fields)?;
        let action = actions::action(&fields)?;
        let operation = actions::operation(&order, &fields)?;
        operator.caller().require(roles_for(&operation))?;
        state
            .orders
            .perform(id, Some(seen), operation, &operator.caller().actor())
            .await?;
        Ok::<_, ApiError>(action)
    }
    .await;
    match attempt {
        Ok(action) => Ok(
            Redirect::to(&format!("/admin/orders/{id}?done={}", action.as_str())).into_response(),
        ),
        Err(err) => {
            let now = state.orders.get(id).await?;
            let banner = match &err {
                ApiError::Order(OrderError::VersionConflict {
                    expected, actual, ..
                }) => conflict_banner(*expected, *actual),
                other => layout::banner_problem(&other.problem()),
            };
            let status = match &err {
                ApiError::Order(OrderError::VersionConflict { .. }) => StatusCode::CONFLICT,
                other => other.status(),
            };
            page(&state, &operator, &now, Some(banner), status).await
        }
    }
}
