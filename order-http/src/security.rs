//! Browser-facing protections on every response: the security headers the
//! saga seed sets with helmet (`X-Content-Type-Options`, `X-Frame-Options`,
//! `Referrer-Policy`, a Content-Security-Policy — strict for the API, one
//! that lets the vendored Swagger UI run for `/docs` — and their companions),
//! and CORS for the origins configured (`--cors-allowed-origins`; none by
//! default, so browsers on other origins are refused as before).

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The policy of every API response: nothing may be loaded, framed or
/// submitted from it.
pub(crate) const API_POLICY: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The policy of `/docs`: Swagger UI's own scripts, styles (it sets inline
/// styles), icons as data URIs, and calls to this API; nothing else.
pub(crate) const DOCS_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
     frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

/// The headers every response carries (a handler's own win).
const HEADERS: [(HeaderName, &str); 8] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
    (
        header::STRICT_TRANSPORT_SECURITY,
        "max-age=15552000; includeSubDomains",
    ),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    ),
    (
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    ),
    (
        HeaderName::from_static("x-permitted-cross-domain-policies"),
        "none",
    ),
    (header::X_DNS_PREFETCH_CONTROL, "off"),
];

/// Adds the security headers to the response of `request`.
pub(crate) async fn headers(request: Request, next: Next) -> Response {
    let docs = request.uri().path().starts_with("/docs");
    let mut response = next.run(request).await;
    let out = response.headers_mut();
    for (name, value) in HEADERS {
        out.entry(name)
            .or_insert_with(|| HeaderValue::from_static(value));
    }
    out.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert_with(|| HeaderValue::from_static(if docs { DOCS_POLICY } else { API_POLICY }));
    response
}

/// CORS for `origins` (`*` for any), or none when the list is empty.
pub(crate) fn cors(origins: &[HeaderValue]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().cloned())
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::IF_MATCH,
                HeaderName::from_static("idempotency-key"),
            ])
            .expose_headers([
                header::ETAG,
                header::LOCATION,
                HeaderName::from_static("x-request-id"),
            ])
            .max_age(std::time::Duration::from_secs(600)),
    )
}
