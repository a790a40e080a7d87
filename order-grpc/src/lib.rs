//! # order-grpc
//!
//! The gRPC face of the order engine: the Go plan's `order.OrderService`
//! (`proto/order.proto`, vendored as the plan writes it) served with tonic,
//! a thin adapter over the same `OrderService` use cases as the HTTP API.
//! The proto is compiled at build time by protox, a protobuf compiler in
//! Rust, so building needs no `protoc`; the well-known types come from
//! prost-types.
//!
//! # Layout
//! - [`proto`]: the generated messages, server and client (the client is
//!   generic over its transport: bring a tonic channel)
//! - `api`: [`OrderApi`], each call as one use case
//! - `message`: proto messages ↔ domain values (money leaves as `double`
//!   here and only here)
//! - `status`: a requested status → the command that leads there
//! - `list`: numbered pages and totals over keyset pages
//! - `auth`: the [`Authenticate`] port, [`Caller`], [`Role`]
//! - `error`: [`GrpcError`] → gRPC status codes, one exhaustive map
//! - `server`: [`serve`], with health and reflection

mod api;
mod auth;
mod error;
mod list;
mod message;
mod server;
mod status;

pub use api::{IDEMPOTENCY_KEY, OrderApi};
pub use auth::{Authenticate, Caller, Role};
pub use error::GrpcError;
pub use server::{ServeError, ServerLimits, serve};
pub use status::{CARRIER, TRACKING_NUMBER};

/// The code generated from `proto/order.proto`: package `order`.
#[allow(
    missing_docs,
    unreachable_pub,
    missing_debug_implementations,
    clippy::all,
    clippy::pedantic
)]
pub mod proto {
    tonic::include_proto!("order");

    /// The encoded file descriptor set of `order.proto` and its imports, for
    /// server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/order_descriptor.bin"));
}
