//! The seeds' REST routes, as a compatibility layer over the same use cases
//! the clean API calls (docs/seed-compat.md has the route tables). One
//! module per seed shapes its requests and responses: `kubestock`
//! (`/orders…`), `node` (`/api/v1/orders…` beside the clean API),
//! `saga` (`/api/orders…`), `contracts` (its create body everywhere, its
//! `Order` entity on `/orders`). `names` maps each seed's status names to
//! the engine's statuses and to the [`order_core::StatusGoal`] a "set
//! status" asks for; `body` reads the seeds' bodies; `shared` makes the
//! service calls. No rule lives here: the state machine decides every move.
//!
//! The clean API keeps its routes. The node seed shares
//! `POST /api/v1/orders` with it: [`divert`] hands a body in the seeds'
//! shape (`items`, or `userId`, and no `lines`) to the node seed's create;
//! every other body reaches the clean route unchanged. A clean body never
//! carries those fields (it refuses unknown fields), so no request the clean
//! API accepts is diverted.
//!
//! The compatibility routes are not in the OpenAPI document: it describes
//! the clean API, the contract new clients are built against.

mod body;
mod contracts;
mod kubestock;
mod names;
mod node;
mod saga;
mod shared;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::handler::Handler as _;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::state::AppState;

/// The seeds' routes outside `/api/v1`: kubestock's and the contracts
/// seed's `/orders…`, the saga service's `/api/orders…`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .merge(kubestock::routes())
        .merge(saga::routes())
}

/// The node seed's routes the clean API does not have, relative to
/// `/api/v1`.
pub(crate) fn api_routes() -> Router<AppState> {
    node::routes()
}

/// The fields that tell a create body in the seeds' shape from the clean
/// API's.
#[derive(Deserialize)]
struct Probe {
    #[serde(default, rename = "userId")]
    user_id: Option<IgnoredAny>,
    #[serde(default)]
    items: Option<IgnoredAny>,
    #[serde(default)]
    lines: Option<IgnoredAny>,
}

fn is_seed_body(bytes: &[u8]) -> bool {
    serde_json::from_slice::<Probe>(bytes).is_ok_and(|probe| {
        probe.lines.is_none() && (probe.user_id.is_some() || probe.items.is_some())
    })
}

fn is_json(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"))
}

/// Middleware of `/api/v1`: a `POST /orders` whose JSON body is in the
/// seeds' shape is placed by the node seed's create and answered in its
/// shape; everything else passes on untouched.
pub(crate) async fn divert(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::POST || request.uri().path() != "/orders" || !is_json(&request) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, state.limits.body_bytes).await {
        Ok(bytes) => bytes,
        Err(err) => {
            return crate::extract::unreadable(&err, state.limits.body_bytes).into_response();
        }
    };
    let seed = is_seed_body(&bytes);
    let request = Request::from_parts(parts, Body::from(bytes));
    if seed {
        node::create.call(request, state).await
    } else {
        next.run(request).await
    }
}

#[cfg(test)]
mod tests {
    use super::is_seed_body;

    #[test]
    fn a_body_with_items_or_user_id_and_no_lines_is_the_seeds() {
        assert!(is_seed_body(
            br#"{"userId":"u","items":[],"currency":"USD"}"#
        ));
        assert!(is_seed_body(br#"{"customer_id":"u","items":[]}"#));
        assert!(!is_seed_body(br#"{"currency":"USD","lines":[]}"#));
        assert!(!is_seed_body(br#"{"userId":"u","lines":[]}"#));
        assert!(!is_seed_body(b"not json"));
    }
}
