//! # order-store-postgres
//!
//! PostgreSQL adapters for order-core, so a one-database deployment needs no
//! other service:
//! - [`PgOrderStore`]: the `OrderStore` port — orders, lines, history, payment
//!   ledger, shipments, returns, the outbox, idempotency keys and processed
//!   inbound events, each change in one transaction with compare-and-set on
//!   the version; stock effects applied in that same transaction.
//! - [`PgCatalog`]: products and prices (the `Catalog` port) with admin
//!   upsert and listing; [`CachedCatalog`] answers it from memory, kept
//!   current by the database's change notifications.
//! - [`PgInventory`]: stock levels and reservations (the `Inventory` port)
//!   for deployments that keep stock behind the port, and stock adjustment.
//! - [`PgOrderNumbers`]: order numbers from a database sequence.
//! - [`PgWebhookStore`]: outbound webhook subscriptions and deliveries.
//! - [`PgRelayLease`]: one outbox relay at a time per database (a session
//!   advisory lock).
//! - [`TokioTimer`]: the `Timer` port on tokio, for services running these
//!   adapters.
//! - [`MIGRATOR`]: the embedded migrations.
//! - [`connect`]: a migrated pool from a `DATABASE_URL`, for a service's
//!   composition root, failing with a [`ConnectError`] that says what to fix.
//!
//! # TLS
//! [`connect`] takes libpq's TLS parameters from the URL (rustls does the
//! TLS; no OpenSSL is linked):
//! - `sslmode=verify-full&sslrootcert=/path/to/ca.pem` — encrypted, the
//!   server's certificate must be issued by that CA *and* name the URL's
//!   host. Use this in production. Without `sslrootcert` the Mozilla roots
//!   compiled in are trusted (right for a managed database with a public
//!   certificate).
//! - `sslmode=verify-ca` — encrypted, issued by the CA, any host name.
//! - `sslmode=require` — encrypted, but the certificate is **not** checked
//!   (not even against `sslrootcert`, unlike libpq): protects against
//!   eavesdropping, not against an impostor.
//! - `sslmode=prefer` (the default) — TLS when the server offers it,
//!   unchecked; plain text otherwise. `sslmode=disable` — plain text.
//! - `sslcert` and `sslkey` — a client certificate, for servers that ask
//!   for one.
//!
//! `PGSSLMODE` and `PGSSLROOTCERT` give defaults when the URL says nothing.
//! A server without TLS under `require` or `verify-*` is
//! [`ConnectError::TlsNotOffered`]; a rejected certificate or failed
//! handshake is [`ConnectError::Tls`]. [`describe`] renders a URL for logs
//! without its password.
//!
//! # Layout
//! `sql` (every statement's text, from the files under `src/sql/`), `store`
//! (the order store), `write` (a change as the write statement's values),
//! `read` (rows to the aggregate), `lane` (connections kept between the
//! store's statements, without the pool's ping on release), `stock` (the stock effect's values,
//! shared by the store and the inventory), `outbox` (the feed's sequencer),
//! `plans` (the plans of the hot statements), `catalog`, `inventory`,
//! `numbers`, `error` (database errors to store kinds), `connect` (the pool
//! from a URL, TLS included), `testing` (a fresh database per test, and
//! servers of a test's own).

mod catalog;
mod catalog_cache;
mod connect;
mod error;
mod inventory;
mod lane;
mod lease;
mod numbers;
mod outbox;
mod plans;
mod read;
mod runtime;
mod sql;
mod stock;
mod store;
pub mod testing;
mod webhooks;
mod write;

pub use catalog::PgCatalog;
pub use catalog_cache::{CATALOG_CHANNEL, CachedCatalog, MAX_ENTRIES};
pub use connect::{ACQUIRE_TIMEOUT, ConnectError, connect, describe};
pub use inventory::PgInventory;
pub use lease::{PgRelayLease, RECHECK, RELAY_LOCK};
pub use numbers::PgOrderNumbers;
pub use plans::QueryPlan;
pub use runtime::TokioTimer;
pub use store::PgOrderStore;
pub use webhooks::PgWebhookStore;

/// The schema's migrations, embedded. Run them with
/// `MIGRATOR.run(&pool).await`; committed migrations are never edited, new
/// ones are added.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
