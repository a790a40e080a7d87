//! `/admin/login` and `/admin/logout`: the operator pastes an admin or
//! service token (the `--dev` start prints ready-made ones); it is checked
//! like any bearer token and kept in the session cookie.

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::actions::Fields;
use super::layout;
use super::session::{self, Operator};
use super::{ConsoleError, Page};
use crate::error::ApiError;
use crate::state::AppState;

/// Where to go after signing in: a console page, never another site.
fn destination(next: Option<&str>) -> &str {
    match next {
        Some(path) if path.starts_with("/admin") && !path.starts_with("/admin/login") => path,
        _ => "/admin/orders",
    }
}

fn render(next: &str, notice: Option<maud::Markup>, status: StatusCode) -> Response {
    let body = html! {
        @if let Some(notice) = notice { (notice) }
        form.card.login method="post" action="/admin/login" {
            p {
                "Paste an admin or service token. It is checked as the API checks bearer "
                "tokens and kept in a cookie of this browser session only."
            }
            input type="hidden" name="next" value=(next);
            label for="token" { "Token" }
            textarea #token name="token" required autocomplete="off" spellcheck="false" {}
            p { button type="submit" { "Sign in" } }
        }
    };
    (status, layout::page("Sign in", None, body)).into_response()
}

/// `GET /admin/login`.
pub(super) async fn form(Query(fields): Query<Fields>) -> Response {
    let expired = fields.get("expired").is_some();
    let notice = expired.then(|| {
        layout::banner_problem(
            &ApiError::Unauthorized("the session's token is no longer valid; sign in again".into())
                .problem(),
        )
    });
    render(destination(fields.get("next")), notice, StatusCode::OK)
}

/// `POST /admin/login`: opens the session, or shows why not.
pub(super) async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(fields): Form<Fields>,
) -> Page {
    session::same_origin(&headers)?;
    let next = destination(fields.get("next")).to_owned();
    let token = fields.get("token").unwrap_or_default().trim();
    match session::verify(&state, token) {
        Ok(_) => {
            let mut response = Redirect::to(&next).into_response();
            let cookie = HeaderValue::from_str(&session::open(token))
                .map_err(|_| ApiError::Unauthorized("that is not a token".into()))?;
            response.headers_mut().insert(header::SET_COOKIE, cookie);
            Ok(response)
        }
        Err(err) => Ok(render(
            &next,
            Some(layout::banner_problem(&err.problem())),
            err.status(),
        )),
    }
}

/// `POST /admin/logout`: ends the session.
pub(super) async fn sign_out(
    operator: Operator,
    headers: HeaderMap,
    Form(fields): Form<Fields>,
) -> Result<Response, ConsoleError> {
    session::same_origin(&headers)?;
    operator.check_csrf(fields.get("csrf"))?;
    let mut response = Redirect::to("/admin/login").into_response();
    if let Ok(cookie) = HeaderValue::from_str(&session::close()) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}
