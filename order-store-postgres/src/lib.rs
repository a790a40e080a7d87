//! # order-store-postgres
//!
//! PostgreSQL adapters for order-core, so a one-database deployment needs no
//! other service:
//! - [`PgOrderStore`]: the `OrderStore` port — orders, lines, history, payment
//!   ledger, shipments, returns, the outbox, idempotency keys and processed
//!   inbound events, each change in one transaction with compare-and-set on
//!   the version; stock effects applied in that same transaction.
//! - [`PgCatalog`]: products and prices (the `Catalog` port) with admin
//!   upsert and listing.
//! - [`PgInventory`]: stock levels and reservations (the `Inventory` port)
//!   for deployments that keep stock behind the port, and stock adjustment.
//! - [`PgOrderNumbers`]: order numbers from a database sequence.
//! - [`TokioTimer`]: the `Timer` port on tokio, for services running these
//!   adapters.
//! - [`MIGRATOR`]: the embedded migrations.
//!
//! # Layout
//! `store` (the order store and its write statement), `rows` (mapping rows to
//! the aggregate), `stock` (stock SQL shared by the store and the inventory),
//! `catalog`, `inventory`, `numbers`, `error` (database errors to store
//! kinds), `testing` (a fresh database per test).

mod catalog;
mod error;
mod inventory;
mod numbers;
mod rows;
mod runtime;
mod stock;
mod store;
pub mod testing;

pub use catalog::PgCatalog;
pub use inventory::PgInventory;
pub use numbers::PgOrderNumbers;
pub use runtime::TokioTimer;
pub use store::{PgOrderStore, QueryPlan};

/// The schema's migrations, embedded. Run them with
/// `MIGRATOR.run(&pool).await`; committed migrations are never edited, new
/// ones are added.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
