//! `GET /admin/reports`: the core's report over a chosen period (orders
//! placed from one day to another, both included): counts by status,
//! revenue and average order value per currency, payment failure rate and
//! time to fulfilment, with bar charts drawn as inline SVG on the server.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{Duration, NaiveDate, Utc};
use maud::{Markup, html};
use order_core::OrderStatus;
use order_core::report::Report;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::Page;
use super::actions::Fields;
use super::layout::{self, money};
use super::session::Operator;
use crate::error::ApiError;
use crate::state::AppState;

/// The default period: the last 30 days, today included.
const DEFAULT_DAYS: i64 = 30;

/// One bar: its label, its length's value, the text shown beside it and a
/// style class.
struct Bar {
    label: String,
    value: f64,
    shown: String,
    class: &'static str,
}

/// A horizontal bar chart of `bars`, scaled to the largest, with a fixed
/// size per row so the page does not move as it loads.
fn chart(title: &str, bars: &[Bar]) -> Markup {
    const WIDTH: u32 = 540;
    const ROW: u32 = 28;
    const LABEL: f64 = 130.0;
    const SPAN: f64 = 280.0;
    let height = ROW * u32::try_from(bars.len()).unwrap_or(0) + 8;
    let max = bars.iter().map(|b| b.value).fold(0.0_f64, f64::max);
    html! {
        figure {
            svg.chart viewBox={ "0 0 " (WIDTH) " " (height) } width=(WIDTH) height=(height)
                role="img" aria-label=(title) xmlns="http://www.w3.org/2000/svg" {
                title { (title) }
                @for (i, bar) in bars.iter().enumerate() {
                    @let y = f64::from(ROW) * i as f64 + 4.0;
                    @let length = if max > 0.0 { (bar.value / max * SPAN).max(if bar.value > 0.0 { 2.0 } else { 0.0 }) } else { 0.0 };
                    text x="0" y=(format!("{:.0}", y + 16.0)) { (bar.label) }
                    rect.track x=(LABEL) y=(format!("{y:.0}")) width=(SPAN) height="20" rx="3" {}
                    rect class={ "bar " (bar.class) } x=(LABEL) y=(format!("{y:.0}")) width=(format!("{length:.1}")) height="20" rx="3" {}
                    text x=(format!("{:.0}", LABEL + SPAN + 10.0)) y=(format!("{:.0}", y + 16.0)) { (bar.shown) }
                }
            }
        }
    }
}

fn number(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

fn duration(d: Duration) -> String {
    let minutes = d.num_minutes();
    match minutes {
        ..60 => format!("{minutes} min"),
        60..1_440 => format!("{} h {} min", minutes / 60, minutes % 60),
        _ => format!("{} d {} h", minutes / 1_440, minutes % 1_440 / 60),
    }
}

fn day(fields: &Fields, name: &str, default: NaiveDate) -> Result<NaiveDate, ApiError> {
    fields.get(name).map_or(Ok(default), |raw| {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| ApiError::BadRequest {
            detail: format!("{name}: must be a date, YYYY-MM-DD"),
            field: Some(name.to_owned()),
        })
    })
}

fn figures(report: &Report) -> Markup {
    let statuses: Vec<Bar> = OrderStatus::ALL
        .iter()
        .map(|s| {
            let n = report.by_status.get(s).copied().unwrap_or(0);
            Bar {
                label: s.as_str().replace('_', " "),
                value: n as f64,
                shown: n.to_string(),
                class: match s {
                    OrderStatus::Cancelled | OrderStatus::Returned => "bad",
                    OrderStatus::Delivered | OrderStatus::Completed => "ok",
                    _ => "",
                },
            }
        })
        .collect();
    let failed = report.failed_payment_attempts;
    let attempts = report.payment_attempts;
    let payments = [
        Bar {
            label: "succeeded".into(),
            value: attempts.saturating_sub(failed) as f64,
            shown: attempts.saturating_sub(failed).to_string(),
            class: "ok",
        },
        Bar {
            label: "failed".into(),
            value: failed as f64,
            shown: failed.to_string(),
            class: "bad",
        },
    ];
    let rate = (report.payment_failure_rate * Decimal::ONE_HUNDRED).round_dp(1);
    html! {
        section.card aria-labelledby="h-overview" {
            h2 #h-overview { "Overview" }
            dl.facts {
                dt { "Orders placed" } dd #orders-placed { (report.orders) }
                dt { "Payment failure rate" } dd { (rate) " % (" (failed) " of " (attempts) " attempts)" }
                dt { "Time to fulfilment" } dd {
                    @match report.average_time_to_fulfilment {
                        Some(d) => { (duration(d)) span.muted { " on average, confirmation to delivery" } },
                        None => span.muted { "no order delivered" },
                    }
                }
            }
        }
        div.grid {
            section.card aria-labelledby="h-status" {
                h2 #h-status { "Orders by status" }
                (chart("Orders by status", &statuses))
            }
            section.card aria-labelledby="h-attempts" {
                h2 #h-attempts { "Payment attempts" }
                (chart("Payment attempts, succeeded and failed", &payments))
            }
        }
        h2 { "Money, per currency" }
        @if report.currencies.is_empty() { p.muted { "No order took money in this period." } }
        div.grid {
            @for (currency, f) in &report.currencies {
                section.card aria-label={ "Figures in " (currency.code()) } {
                    h2 { (currency.code()) }
                    dl.facts {
                        dt { "Paid orders" } dd { (f.paid_orders) }
                        dt { "Gross sales" } dd { (money(&f.gross_sales)) }
                        dt { "Refunded" } dd { (money(&f.refunded)) }
                        dt { "Revenue" } dd { strong { (money(&f.revenue)) } }
                        dt { "Average order value" } dd { (money(&f.average_order_value)) }
                    }
                    (chart(&format!("Sales, refunds and revenue in {}", currency.code()), &[
                        Bar { label: "gross sales".into(), value: number(f.gross_sales.amount()), shown: money(&f.gross_sales), class: "" },
                        Bar { label: "refunded".into(), value: number(f.refunded.amount()), shown: money(&f.refunded), class: "bad" },
                        Bar { label: "revenue".into(), value: number(f.revenue.amount()), shown: money(&f.revenue), class: "ok" },
                    ]))
                }
            }
        }
    }
}

/// `GET /admin/reports`.
pub(super) async fn show(
    State(state): State<AppState>,
    operator: Operator,
    Query(fields): Query<Fields>,
) -> Page {
    let today = Utc::now().date_naive();
    let period = day(&fields, "to", today).and_then(|to| {
        let from = day(&fields, "from", to - Duration::days(DEFAULT_DAYS - 1))?;
        Ok((from, to))
    });
    let outcome = match &period {
        Ok((from, to)) => {
            let start = from.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
            let end = to
                .succ_opt()
                .unwrap_or(*to)
                .and_hms_opt(0, 0, 0)
                .unwrap_or_default()
                .and_utc();
            state
                .orders
                .report(start, end)
                .await
                .map_err(ApiError::from)
        }
        Err(err) => Err(ApiError::BadRequest {
            detail: err.to_string(),
            field: None,
        }),
    };
    let (from, to) = period
        .as_ref()
        .map_or((String::new(), String::new()), |(f, t)| {
            (f.to_string(), t.to_string())
        });
    let status = outcome
        .as_ref()
        .map_or_else(ApiError::status, |_| StatusCode::OK);
    let body = html! {
        form.card.filters method="get" action="/admin/reports" aria-label="Period" {
            label { "Placed from" input type="date" name="from" value=(from) required; }
            label { "Placed to" input type="date" name="to" value=(to) required; }
            div.row { button type="submit" { "Show" } }
        }
        @match &outcome {
            Ok(report) => (figures(report)),
            Err(err) => (layout::banner_problem(&err.problem())),
        }
    };
    Ok((status, layout::page("Reports", Some(&operator), body)).into_response())
}
