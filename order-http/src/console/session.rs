//! The operator's session: the admin or service token pasted on the login
//! page, kept in an `HttpOnly`, `SameSite=Strict` cookie scoped to
//! `/admin`, and verified on every request by the API's own
//! [`AuthConfig`](crate::auth::AuthConfig) (so it expires with the token).
//! A request without a valid one is sent to the login page, and shows no
//! data.
//!
//! Forms that change anything are protected against cross-site requests
//! twice: the cookie is `SameSite=Strict`, so another site's form arrives
//! without it; and each such form carries a CSRF token derived from the
//! session's own token, which another site cannot read, while a request
//! whose `Origin` is another site's is refused before its form is read.

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE, HOST, ORIGIN};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest, Sha256};

use crate::auth::{Caller, Role};
use crate::error::ApiError;
use crate::state::AppState;

/// The session cookie's name.
pub(crate) const COOKIE_NAME: &str = "order_console";

/// The roles that may use the console.
const OPERATORS: &[Role] = &[Role::Admin, Role::Service];

/// A signed-in operator: who they are and the CSRF token of their session.
#[derive(Clone, Debug)]
pub(crate) struct Operator {
    caller: Caller,
    csrf: String,
}

impl Operator {
    /// The operator as the API knows callers.
    pub(crate) fn caller(&self) -> &Caller {
        &self.caller
    }

    /// The token every state-changing form carries.
    pub(crate) fn csrf(&self) -> &str {
        &self.csrf
    }

    /// Refuses (403) a form whose CSRF token is not this session's.
    pub(crate) fn check_csrf(&self, sent: Option<&str>) -> Result<(), ApiError> {
        let sent = sent.unwrap_or_default();
        // Compared whole, byte by byte, whatever differs first: the token
        // is not to be guessed one character at a time.
        let same = sent.len() == self.csrf.len()
            && sent
                .bytes()
                .zip(self.csrf.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if same {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "the form's CSRF token is not this session's; reload the page and try again".into(),
            ))
        }
    }
}

/// The CSRF token of the session holding `token`.
fn csrf_of(token: &str) -> String {
    hex::encode(Sha256::digest(format!("order-console csrf\n{token}")))
}

/// The caller a token names, when it may use the console.
///
/// # Errors
/// 401 for a bad token, 403 for a customer's.
pub(crate) fn verify(state: &AppState, token: &str) -> Result<Caller, ApiError> {
    let mut headers = HeaderMap::new();
    let value = HeaderValue::from_str(&format!("Bearer {}", token.trim()))
        .map_err(|_| ApiError::Unauthorized("the token has characters no token has".into()))?;
    headers.insert(AUTHORIZATION, value);
    let caller = state.auth.caller(&headers)?;
    caller.require(OPERATORS)?;
    Ok(caller)
}

/// The `Set-Cookie` value that opens a session with `token`: no
/// `Max-Age`, so it ends with the browser session (or the token's expiry,
/// whichever comes first).
pub(crate) fn open(token: &str) -> String {
    format!(
        "{COOKIE_NAME}={}; Path=/admin; HttpOnly; SameSite=Strict",
        token.trim()
    )
}

/// The `Set-Cookie` value that ends the session.
pub(crate) fn close() -> String {
    format!("{COOKIE_NAME}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0")
}

fn session_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

/// Refuses (403) a request sent by a page of another site: its `Origin`
/// (sent by browsers with every POST) names another host than the one it
/// was sent to.
pub(crate) fn same_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(origin) = headers.get(ORIGIN) else {
        return Ok(());
    };
    let host = headers.get(HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest);
    match (origin_host, host) {
        (Some(from), Some(to)) if from.eq_ignore_ascii_case(to) => Ok(()),
        _ => Err(ApiError::Forbidden(
            "this form was sent from another site's page".into(),
        )),
    }
}

/// Why a request has no operator: it is sent to the login page.
#[derive(Debug)]
pub(crate) struct SignIn {
    next: String,
    expired: bool,
}

impl IntoResponse for SignIn {
    fn into_response(self) -> Response {
        let mut target = format!("/admin/login?next={}", encode(&self.next));
        if self.expired {
            target.push_str("&expired=1");
        }
        let mut response = Redirect::to(&target).into_response();
        if self.expired
            && let Ok(cookie) = HeaderValue::from_str(&close())
        {
            response
                .headers_mut()
                .insert(axum::http::header::SET_COOKIE, cookie);
        }
        response
    }
}

/// Percent-encodes a query value (the few characters a path and query may
/// hold that would break one).
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(char::from(byte));
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = SignIn;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Only the path comes back after login: a GET page, never a form.
        let next = if parts.method == axum::http::Method::GET {
            parts
                .uri
                .path_and_query()
                .map_or("/admin/orders", |p| p.as_str())
                .to_owned()
        } else {
            "/admin/orders".to_owned()
        };
        let Some(token) = session_token(&parts.headers) else {
            return Err(SignIn {
                next,
                expired: false,
            });
        };
        match verify(state, token) {
            Ok(caller) => Ok(Self {
                csrf: csrf_of(token),
                caller,
            }),
            Err(_) => Err(SignIn {
                next,
                expired: true,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_from_another_site_is_refused_and_one_from_this_site_is_not() {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_origin(&headers).is_ok());
        headers.insert(ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(same_origin(&headers).is_ok());
        headers.insert(ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(same_origin(&headers).is_err());
        headers.insert(ORIGIN, HeaderValue::from_static("null"));
        assert!(same_origin(&headers).is_err());
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("a=1; order_console=tok.en.sig; b=2"),
        );
        assert_eq!(session_token(&headers), Some("tok.en.sig"));
    }

    #[test]
    fn a_csrf_token_belongs_to_one_session() {
        assert_ne!(csrf_of("one"), csrf_of("two"));
        assert_eq!(csrf_of("one"), csrf_of("one"));
    }
}
