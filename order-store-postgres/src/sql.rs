//! The SQL of every statement the adapters send, one file per statement
//! under `src/sql/`, embedded at build time.
//!
//! Every text is fixed: values are always bound, never spliced in, and no
//! statement is assembled from parts at run time. So sqlx prepares each one
//! once per connection and reuses it, PostgreSQL can keep its plan, and a
//! reviewer reads in one file what the database runs. The writes are made
//! of parts, one file each, joined here once per process into one fixed text
//! per shape of write.

use std::sync::OnceLock;

use crate::stock::Effect;

/// The text of files under `src/sql/`, joined.
macro_rules! sql {
    ($($file:literal),+) => {
        concat!($(include_str!(concat!("sql/", $file))),+)
    };
}

/// Which parts the write of a change needs: every write has the values,
/// the order row, its lines, its events and the count written; the other
/// parts only when the change writes to their tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WriteShape {
    /// A new order (`write/insert.sql`), or a stored one (`write/update.sql`).
    pub(crate) new: bool,
    /// A stored order's lines may have changed (`write/update_lines.sql`);
    /// a new order's are always inserted.
    pub(crate) lines: bool,
    /// The order has shipments (`write/*_shipments.sql`).
    pub(crate) shipments: bool,
    /// The order has returns (`write/*_returns.sql`).
    pub(crate) returns: bool,
    /// The change adds status history entries (`write/history.sql`).
    pub(crate) history: bool,
    /// The change adds payment entries (`write/payments.sql`).
    pub(crate) payments: bool,
    /// The change completes an idempotency key (`write/key.sql`).
    pub(crate) key: bool,
    /// The change processes an inbound event (`write/inbound.sql`).
    pub(crate) inbound: bool,
    /// The stock effect (`stock/*.sql`).
    pub(crate) effect: Option<Effect>,
}

impl WriteShape {
    /// A number per shape, `0 .. SHAPES`.
    fn index(self) -> usize {
        let flags = [
            self.new,
            self.lines,
            self.shipments,
            self.returns,
            self.history,
            self.payments,
            self.key,
            self.inbound,
        ]
        .iter()
        .enumerate()
        .fold(0, |index, (bit, set)| index | (usize::from(*set) << bit));
        let effect = match self.effect {
            None => 0,
            Some(Effect::Reserve) => 1,
            Some(Effect::Commit) => 2,
            Some(Effect::Release) => 3,
            Some(Effect::Restock) => 4,
        };
        flags + (effect << 8)
    }
}

/// How many shapes a write can have.
const SHAPES: usize = 5 << 8;

/// The text of the write of a change of `shape`: its parts joined, in
/// order, once per process. Each shape's text is always the same, so it is
/// prepared once per connection like any other statement; a write never
/// carries the parts of tables it does not touch, whose every part would
/// cost the statement its start-up (measured in ADR 0007).
pub(crate) fn write_order(shape: WriteShape) -> &'static str {
    static TEXTS: [OnceLock<String>; SHAPES] = [const { OnceLock::new() }; SHAPES];
    TEXTS[shape.index()].get_or_init(|| {
        let parts = [
            Some(sql!("write/input.sql")),
            Some(if shape.new {
                sql!("write/insert.sql")
            } else {
                sql!("write/update.sql")
            }),
            (shape.lines && !shape.new).then_some(sql!("write/update_lines.sql")),
            match (shape.shipments, shape.new) {
                (false, _) => None,
                (true, true) => Some(sql!("write/insert_shipments.sql")),
                (true, false) => Some(sql!("write/update_shipments.sql")),
            },
            match (shape.returns, shape.new) {
                (false, _) => None,
                (true, true) => Some(sql!("write/insert_returns.sql")),
                (true, false) => Some(sql!("write/update_returns.sql")),
            },
            shape.history.then_some(sql!("write/history.sql")),
            shape.payments.then_some(sql!("write/payments.sql")),
            Some(sql!("write/events.sql")),
            shape.key.then_some(sql!("write/key.sql")),
            shape.inbound.then_some(sql!("write/inbound.sql")),
            shape.effect.map(|effect| stock_effect(effect, shape.new)),
            Some(sql!("written.sql")),
        ];
        parts.into_iter().flatten().collect()
    })
}

/// The part of a statement that applies `effect` to an order, `new` when
/// the order is being placed (so it holds nothing yet).
fn stock_effect(effect: Effect, new: bool) -> &'static str {
    match effect {
        Effect::Reserve if new => sql!("stock/reserve_new.sql"),
        Effect::Reserve => sql!("stock/reserve.sql"),
        Effect::Commit => sql!("stock/commit.sql"),
        Effect::Release => sql!("stock/release.sql"),
        Effect::Restock => sql!("stock/restock.sql"),
    }
}

/// Applies one stock effect on its own (`PgInventory`): its values
/// (`stock/alone.sql`), the effect, the count written.
pub(crate) fn stock_alone(effect: Effect) -> &'static str {
    static TEXTS: [OnceLock<String>; 4] = [const { OnceLock::new() }; 4];
    TEXTS[effect as usize].get_or_init(|| {
        [
            sql!("stock/alone.sql"),
            stock_effect(effect, false),
            sql!("written.sql"),
        ]
        .concat()
    })
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
    /// The orders in a payment status, newest first.
    pub(crate) const BY_PAYMENT_STATUS_NEWEST: &str =
        sql!("order.sql", "list/by_payment_status_newest.sql");
    /// The orders in a payment status, oldest first.
    pub(crate) const BY_PAYMENT_STATUS_OLDEST: &str =
        sql!("order.sql", "list/by_payment_status_oldest.sql");
    /// All orders, newest first.
    pub(crate) const ALL_NEWEST: &str = sql!("order.sql", "list/all_newest.sql");
    /// All orders, oldest first.
    pub(crate) const ALL_OLDEST: &str = sql!("order.sql", "list/all_oldest.sql");
}

/// The orders created in a period, summed per status and currency.
pub(crate) const FIGURES: &str = sql!("figures.sql");

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
/// Resolves a compensation.
pub(crate) const RESOLVE_COMPENSATION: &str = sql!("resolve_compensation.sql");

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

/// Outbound webhooks (`webhooks.rs`).
pub(crate) mod webhooks {
    pub(crate) const ADD_SUBSCRIPTION: &str = sql!("webhooks/add_subscription.sql");
    pub(crate) const SUBSCRIPTIONS: &str = sql!("webhooks/subscriptions.sql");
    pub(crate) const REMOVE_SUBSCRIPTION: &str = sql!("webhooks/remove_subscription.sql");
    pub(crate) const FAN_OUT_POSITION: &str = sql!("webhooks/fan_out_position.sql");
    pub(crate) const MOVE_FAN_OUT: &str = sql!("webhooks/move_fan_out.sql");
    pub(crate) const ENQUEUE: &str = sql!("webhooks/enqueue.sql");
    pub(crate) const DUE: &str = sql!("webhooks/delivery_columns.sql", "webhooks/due.sql");
    pub(crate) const OF_SUBSCRIPTION: &str = sql!(
        "webhooks/delivery_columns.sql",
        "webhooks/of_subscription.sql"
    );
    pub(crate) const BY_ID: &str = sql!("webhooks/delivery_columns.sql", "webhooks/by_id.sql");
    pub(crate) const ATTEMPTS: &str = sql!("webhooks/attempts.sql");
    pub(crate) const RECORD_ATTEMPT: &str = sql!("webhooks/record_attempt.sql");
    pub(crate) const UPDATE_DELIVERY: &str = sql!("webhooks/update_delivery.sql");
}
