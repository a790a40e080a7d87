//! The SQL of every statement the adapters send, one file per statement
//! under `src/sql/`, embedded at build time.
//!
//! Every text is fixed: values are always bound, never spliced in, and no
//! statement is assembled from parts at run time. So sqlx prepares each one
//! once per connection and reuses it, PostgreSQL can keep its plan, and a
//! reviewer reads in one file what the database runs. Texts made of several
//! files are joined here, at compile time.

use crate::stock::Effect;

/// The text of files under `src/sql/`, joined.
macro_rules! sql {
    ($($file:literal),+) => {
        concat!($(include_str!(concat!("sql/", $file))),+)
    };
}

/// Writes one change to an order with its stock effect: the values
/// (`write/input.sql`), a new order (`write/insert.sql`) or a stored one
/// (`write/update.sql`), what both append (`write/appends.sql`), the effect
/// (`stock/*.sql`) and the count of orders written (`written.sql`). One text
/// per kind of write and effect, so no statement carries the parts another
/// write needs.
pub(crate) fn write_order(new: bool, effect: Option<Effect>) -> &'static str {
    match (new, effect) {
        (true, None) => sql!(
            "write/input.sql",
            "write/insert.sql",
            "write/appends.sql",
            "written.sql"
        ),
        (true, Some(Effect::Reserve)) => sql!(
            "write/input.sql",
            "write/insert.sql",
            "write/appends.sql",
            "stock/reserve.sql",
            "written.sql"
        ),
        (true, Some(Effect::Commit)) => sql!(
            "write/input.sql",
            "write/insert.sql",
            "write/appends.sql",
            "stock/commit.sql",
            "written.sql"
        ),
        (true, Some(Effect::Release)) => sql!(
            "write/input.sql",
            "write/insert.sql",
            "write/appends.sql",
            "stock/release.sql",
            "written.sql"
        ),
        (true, Some(Effect::Restock)) => sql!(
            "write/input.sql",
            "write/insert.sql",
            "write/appends.sql",
            "stock/restock.sql",
            "written.sql"
        ),
        (false, None) => sql!(
            "write/input.sql",
            "write/update.sql",
            "write/appends.sql",
            "written.sql"
        ),
        (false, Some(Effect::Reserve)) => sql!(
            "write/input.sql",
            "write/update.sql",
            "write/appends.sql",
            "stock/reserve.sql",
            "written.sql"
        ),
        (false, Some(Effect::Commit)) => sql!(
            "write/input.sql",
            "write/update.sql",
            "write/appends.sql",
            "stock/commit.sql",
            "written.sql"
        ),
        (false, Some(Effect::Release)) => sql!(
            "write/input.sql",
            "write/update.sql",
            "write/appends.sql",
            "stock/release.sql",
            "written.sql"
        ),
        (false, Some(Effect::Restock)) => sql!(
            "write/input.sql",
            "write/update.sql",
            "write/appends.sql",
            "stock/restock.sql",
            "written.sql"
        ),
    }
}

/// Applies one stock effect on its own (`PgInventory`).
pub(crate) fn stock_alone(effect: Effect) -> &'static str {
    match effect {
        Effect::Reserve => sql!("stock/alone.sql", "stock/reserve.sql", "written.sql"),
        Effect::Commit => sql!("stock/alone.sql", "stock/commit.sql", "written.sql"),
        Effect::Release => sql!("stock/alone.sql", "stock/release.sql", "written.sql"),
        Effect::Restock => sql!("stock/alone.sql", "stock/restock.sql", "written.sql"),
    }
}

/// What is short for a reservation that failed.
pub(crate) const SHORTAGES: &str = sql!("shortages.sql");
/// The stored version of an order.
pub(crate) const ORDER_VERSION: &str = sql!("order_version.sql");

/// An order by id.
pub(crate) const ORDER_BY_ID: &str = sql!("order.sql", "order_by_id.sql");
/// An order by number.
pub(crate) const ORDER_BY_NUMBER: &str = sql!("order.sql", "order_by_number.sql");

/// Pages of orders: one statement per index a listing walks and direction.
pub(crate) mod list {
    /// A customer's orders, newest first.
    pub(crate) const BY_CUSTOMER_NEWEST: &str = sql!("order.sql", "list/by_customer_newest.sql");
    /// A customer's orders, oldest first.
    pub(crate) const BY_CUSTOMER_OLDEST: &str = sql!("order.sql", "list/by_customer_oldest.sql");
    /// The orders in a status, newest first.
    pub(crate) const BY_STATUS_NEWEST: &str = sql!("order.sql", "list/by_status_newest.sql");
    /// The orders in a status, oldest first.
    pub(crate) const BY_STATUS_OLDEST: &str = sql!("order.sql", "list/by_status_oldest.sql");
    /// All orders, newest first.
    pub(crate) const ALL_NEWEST: &str = sql!("order.sql", "list/all_newest.sql");
    /// All orders, oldest first.
    pub(crate) const ALL_OLDEST: &str = sql!("order.sql", "list/all_oldest.sql");
}

/// An order's events.
pub(crate) const EVENTS_OF_ORDER: &str = sql!("events_of_order.sql");
/// The global feed after a position.
pub(crate) const FEED_AFTER: &str = sql!("feed_after.sql");
/// The oldest sequenced, unpublished events.
pub(crate) const UNPUBLISHED_EVENTS: &str = sql!("unpublished_events.sql");
/// Marks events published.
pub(crate) const MARK_PUBLISHED: &str = sql!("mark_published.sql");
/// Whether any event waits for its position.
pub(crate) const OUTBOX_PENDING: &str = sql!("outbox_pending.sql");
/// The sequencer's lock.
pub(crate) const LOCK_SEQUENCER: &str = sql!("lock_sequencer.sql");
/// One batch of the sequencer.
pub(crate) const SEQUENCE_OUTBOX: &str = sql!("sequence_outbox.sql");

/// Claims an idempotency key.
pub(crate) const CLAIM_KEY: &str = sql!("claim_key.sql");
/// Releases an idempotency key.
pub(crate) const RELEASE_KEY: &str = sql!("release_key.sql");
/// Whether an inbound event was processed.
pub(crate) const INBOUND_EVENT_PROCESSED: &str = sql!("inbound_event_processed.sql");
/// Appends to the compensation log.
pub(crate) const RECORD_COMPENSATION: &str = sql!("record_compensation.sql");
/// The compensation log.
pub(crate) const COMPENSATIONS: &str = sql!("compensations.sql");

/// The catalog's products by product id.
pub(crate) const PRODUCTS: &str = sql!("products.sql");
/// A page of the catalog.
pub(crate) const LIST_PRODUCTS: &str = sql!("list_products.sql");
/// Adds or replaces a product.
pub(crate) const UPSERT_PRODUCT: &str = sql!("upsert_product.sql");

/// Sets a SKU's units on hand.
pub(crate) const SET_ON_HAND: &str = sql!("set_on_hand.sql");
/// A SKU's stock level.
pub(crate) const STOCK_LEVEL: &str = sql!("stock_level.sql");

/// A block of order numbers.
pub(crate) const NEXT_ORDER_NUMBERS: &str = sql!("next_order_numbers.sql");
