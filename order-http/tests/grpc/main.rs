//! The gRPC API over a real connection: the service composed as the binary
//! composes it (SQLite in memory, the sample policies, the demo catalog),
//! its gRPC server on 127.0.0.1:0, and a client generated from the same
//! proto (order-grpc's) on a tonic channel.

mod access;
mod common;
mod orders;
mod service;
