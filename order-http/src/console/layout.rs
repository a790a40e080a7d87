//! The page shell every console page shares (header, navigation, sign-out
//! form, main landmark), the banners, the formatting of money, statuses and
//! ages, and the stylesheet, served from the binary.

use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};
use order_core::{Money, OrderStatus, PaymentStatus};

use super::session::Operator;
use crate::error::Problem;

/// The stylesheet: one small hand-written file, compiled in.
const STYLESHEET: &str = include_str!("console.css");

/// `GET /admin/console.css`.
pub(super) async fn stylesheet() -> Response {
    let mut response = STYLESHEET.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

/// The sections of the navigation.
const SECTIONS: [(&str, &str); 4] = [
    ("/admin/orders", "Orders"),
    ("/admin/products", "Products & stock"),
    ("/admin/reports", "Reports"),
    ("/admin/compensations", "Compensations"),
];

/// A whole page: `title`, the navigation when someone is signed in, and
/// `body` in the main landmark.
pub(super) fn page(title: &str, operator: Option<&Operator>, body: Markup) -> Html<String> {
    let body = maud::PreEscaped(body.into_string());
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Orders console" }
                link rel="stylesheet" href="/admin/console.css";
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    span.brand { "Orders console" }
                    @if let Some(operator) = operator {
                        nav aria-label="Sections" {
                            ul {
                                @for (href, label) in SECTIONS {
                                    li { a href=(href) { (label) } }
                                }
                            }
                        }
                        form.signout method="post" action="/admin/logout" {
                            input type="hidden" name="csrf" value=(operator.csrf());
                            span.who { (operator.caller().actor().as_str()) }
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main #main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    };
    Html(markup.into_string())
}

/// A notice that something was done.
pub(super) fn banner_done(text: &str) -> Markup {
    html! { p.banner.done role="status" { (text) } }
}

/// A refusal or failure: its title and detail.
pub(super) fn banner_problem(problem: &Problem) -> Markup {
    html! {
        div.banner.problem role="alert" {
            strong { (problem.title) }
            " "
            span.detail { (problem.detail) }
        }
    }
}

/// A money amount, right-aligned by the tables' numeric cells.
pub(super) fn money(m: &Money) -> String {
    format!("{} {}", m.amount(), m.currency().code())
}

/// A status as a badge (its colour from the status name).
pub(super) fn status(s: OrderStatus) -> Markup {
    html! { span class={ "badge s-" (s.as_str()) } { (s.as_str().replace('_', " ")) } }
}

/// A payment status as a badge.
pub(super) fn payment(s: PaymentStatus) -> Markup {
    html! { span class={ "badge p-" (s.as_str()) } { (s.as_str().replace('_', " ")) } }
}

/// A time, to the minute, with the exact instant in a `time` element.
pub(super) fn at(t: DateTime<Utc>) -> Markup {
    html! { time datetime=(t.to_rfc3339()) { (t.format("%Y-%m-%d %H:%M")) } }
}

/// How long ago `t` was, in its largest unit.
pub(super) fn age(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - t).num_seconds().max(0);
    match secs {
        0..60 => format!("{secs} s"),
        60..3_600 => format!("{} min", secs / 60),
        3_600..86_400 => format!("{} h", secs / 3_600),
        _ => format!("{} d", secs / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_age_is_said_in_its_largest_unit() {
        let now = Utc::now();
        assert_eq!(age(now - chrono::Duration::seconds(5), now), "5 s");
        assert_eq!(age(now - chrono::Duration::minutes(90), now), "1 h");
        assert_eq!(age(now - chrono::Duration::days(3), now), "3 d");
        assert_eq!(age(now + chrono::Duration::days(3), now), "0 s");
    }
}
