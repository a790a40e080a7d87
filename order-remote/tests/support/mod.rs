//! In-process fakes of the four remote contracts (docs/integrations/*.yaml),
//! each a real axum server on 127.0.0.1, with faults to inject per route:
//! a status, a slow answer, a hang, a malformed body, a decline. Every
//! request is logged with its idempotency key and traceparent.

// Each test binary uses part of the fakes; the fakes answer with axum
// responses as they are.
#![allow(dead_code, unreachable_pub, clippy::result_large_err)]

pub mod inventory;
pub mod payments;
pub mod products;
pub mod users;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// One injected fault.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with this status and a JSON error body.
    Status(u16),
    /// Answer normally, after this long.
    Slow(Duration),
    /// Answer 200 with a body that is not the contract's.
    Malformed,
    /// (payments) decline the payment with this code.
    Decline(&'static str),
    /// (inventory commit) the reservation lapsed and the stock is gone.
    Lapsed,
}

/// A request as the fake saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub idempotency_key: Option<String>,
    pub traceparent: Option<String>,
}

/// Faults per route and the request log, shared by a fake's handlers.
#[derive(Default)]
pub struct Faults {
    queued: Mutex<HashMap<&'static str, VecDeque<Fault>>>,
    always: Mutex<HashMap<&'static str, Fault>>,
    seen: Mutex<Vec<Seen>>,
}

impl Faults {
    /// The next `times` requests to `route` meet `fault`.
    pub fn next(&self, route: &'static str, fault: Fault, times: usize) {
        let mut queued = self.queued.lock().unwrap();
        let queue = queued.entry(route).or_default();
        queue.extend(std::iter::repeat_n(fault, times));
    }

    /// Every request to `route` meets `fault` until [`Faults::heal`].
    pub fn always(&self, route: &'static str, fault: Fault) {
        self.always.lock().unwrap().insert(route, fault);
    }

    /// No more faults.
    pub fn heal(&self) {
        self.queued.lock().unwrap().clear();
        self.always.lock().unwrap().clear();
    }

    /// The fault for this request to `route`, if any.
    pub fn take(&self, route: &'static str) -> Option<Fault> {
        if let Some(fault) = self.always.lock().unwrap().get(route) {
            return Some(fault.clone());
        }
        self.queued
            .lock()
            .unwrap()
            .get_mut(route)
            .and_then(VecDeque::pop_front)
    }

    /// Applies the generic faults: a status or a malformed body answers
    /// now; a slow answer waits first. The others are the handler's.
    pub async fn apply(&self, route: &'static str) -> Result<Option<Fault>, Response> {
        match self.take(route) {
            Some(Fault::Slow(wait)) => {
                tokio::time::sleep(wait).await;
                Ok(None)
            }
            other => answer(other),
        }
    }

    /// Requests seen, oldest first.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// How many requests matched `method` and a path starting with `prefix`.
    pub fn count(&self, method: &str, prefix: &str) -> usize {
        self.seen()
            .iter()
            .filter(|s| s.method == method && s.path.starts_with(prefix))
            .count()
    }
}

fn seen_of(request: &Request) -> Seen {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    Seen {
        method: request.method().to_string(),
        path: request
            .uri()
            .path_and_query()
            .map_or_else(String::new, ToString::to_string),
        idempotency_key: header("idempotency-key"),
        traceparent: header("traceparent"),
    }
}

async fn log(State(faults): State<Arc<Faults>>, request: Request, next: Next) -> Response {
    let seen = seen_of(&request);
    faults.seen.lock().unwrap().push(seen);
    next.run(request).await
}

/// A running fake: its address and faults.
pub struct Server {
    pub addr: SocketAddr,
    pub faults: Arc<Faults>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Serves `router` on a free port, logging every request into `faults`.
    pub async fn start(router: Router, faults: Arc<Faults>) -> Self {
        let router = router.layer(axum::middleware::from_fn_with_state(faults.clone(), log));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self { addr, faults, task }
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving: its port refuses connections from now on.
    pub fn stop(&self) {
        self.task.abort();
    }
}

/// A status or a malformed body answers now; other faults are the
/// handler's.
pub fn answer(fault: Option<Fault>) -> Result<Option<Fault>, Response> {
    match fault {
        Some(Fault::Status(status)) => Err((
            StatusCode::from_u16(status).unwrap(),
            axum::Json(serde_json::json!({ "message": "injected fault" })),
        )
            .into_response()),
        Some(Fault::Malformed) => Err((StatusCode::OK, "{\"this is\": not json").into_response()),
        other => Ok(other),
    }
}

/// A URL nothing listens on: connections are refused.
pub async fn refused_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// A JSON answer.
pub fn json(status: u16, value: serde_json::Value) -> Response {
    (StatusCode::from_u16(status).unwrap(), axum::Json(value)).into_response()
}
