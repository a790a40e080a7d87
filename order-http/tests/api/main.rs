//! Black-box API tests: every request goes through `order_http::router`
//! with `tower::ServiceExt::oneshot`: over the in-memory store and the
//! testkit's fakes, or (`composed`) over the service exactly as the binary
//! composes it. No request may answer a 5xx unless a test sabotages a
//! dependency on purpose.

mod admin;
mod auth;
mod bounds;
mod common;
mod compat;
mod composed;
mod console;
mod errors;
mod events;
mod ops;
mod orders;
mod preview;
mod security;
mod timeouts;
mod webhooks;
