//! The real `order-http` binary, started as a user starts it: the README's
//! walkthrough, an order surviving SIGTERM and a restart on the default
//! SQLite file, the start-up refusals of a misconfigured service,
//! clients that never finish their requests, replicas sharing one
//! PostgreSQL database, the Kubernetes manifests' settings, and gRPC
//! beside HTTP.

mod deploy;
mod fleet;
mod grpc;
mod image;
mod kafka;
mod process;
mod replicas;
mod restart;
mod seeds;
mod settings;
mod slow_clients;
mod startup;
mod walkthrough;
mod webhooks;
