//! # order-store-sqlite
//!
//! SQLite adapters for order-core: the durable, embedded store of a
//! one-process deployment, in one file and with no server.
//! - [`connect`]: opens (creating if missing) a database file or a
//!   throwaway in-memory database, with WAL, foreign keys and a busy
//!   timeout, and applies [`MIGRATOR`].
//! - [`SqliteOrderStore`]: the `OrderStore` port — orders, the outbox,
//!   idempotency keys, processed inbound events and the compensation log —
//!   each change in one `BEGIN IMMEDIATE` transaction with compare-and-set
//!   on the version; it keeps the stock too (`StockLevels`), applying a
//!   change's stock effects in that same transaction.
//! - [`SqliteCatalog`]: products and prices (`Catalog`, `CatalogAdmin`).
//! - [`SqliteInventory`]: the same stock behind the `Inventory` port, for
//!   services that keep stock outside the store.
//! - [`SqliteOrderNumbers`]: `ORD-<year>-<sequence>` from a counter row.
//! - [`SqliteWebhookStore`]: outbound webhook subscriptions and deliveries
//!   (the `WebhookStore` port).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use order_store_sqlite::{SqliteCatalog, SqliteOrderNumbers, SqliteOrderStore, connect};
//!
//! let pool = connect("sqlite://data/orders.db", 8).await?;
//! let store = SqliteOrderStore::new(pool.clone());
//! let catalog = SqliteCatalog::new(pool.clone());
//! let numbers = SqliteOrderNumbers::new(pool, 20);
//! # Ok(()) }
//! ```
//!
//! # Layout
//! `open` (URLs, connection settings, migrations), `store` (the order store:
//! reads, the write of a change, outbox, idempotency), `document` (the
//! order's JSON document and the text encoding of times), `stock` (stock SQL
//! shared by the store and the inventory), `inventory`, `catalog`,
//! `numbers`, `webhooks`, `error` (database errors to store and port kinds).

mod catalog;
mod document;
mod error;
mod inventory;
mod numbers;
mod open;
mod stock;
mod store;
mod webhooks;

pub use catalog::SqliteCatalog;
pub use inventory::SqliteInventory;
pub use numbers::SqliteOrderNumbers;
pub use open::{OpenError, connect};
pub use store::SqliteOrderStore;
pub use webhooks::SqliteWebhookStore;

/// The schema's migrations, embedded; [`connect`] runs them. Committed
/// migrations are never edited, new ones are added.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
