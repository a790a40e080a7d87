//! The database's own rules on order rows (migrations 0013 and 0014): every
//! rule the per-column CHECKs of migration 0001 kept still refuses a row
//! that breaks it, and names the constraint that did. order-core never
//! writes such a row; these rules catch a bug or another writer.

use order_core::ports::OrderStore;
use order_core::{Currency, Money};
use order_store_postgres::PgOrderStore;
use order_store_postgres::testing::fresh_pool;
use order_testkit::builder::{OrderBuilder, new_order_change};
use sqlx::PgPool;

/// An order of two lines, written by the store, and one payment entry.
async fn stored_order(pool: &PgPool) -> uuid::Uuid {
    let store = PgOrderStore::new(pool.clone());
    let price = Money::new(rust_decimal::Decimal::new(1250, 2), Currency::USD).unwrap();
    let (order, record) = OrderBuilder::default()
        .line("A-1", price, 2)
        .line("B-2", price, 1)
        .build();
    store
        .commit(new_order_change(&order, &record))
        .await
        .unwrap();
    let id = order.id().as_uuid();
    sqlx::query(
        "insert into payment_entries (id, order_id, position, kind, amount, idempotency_key, at)
         values (gen_random_uuid(), $1, 0, 'authorize', 37.5, 'attempt-1', now())",
    )
    .bind(id)
    .execute(pool)
    .await
    .unwrap();
    id
}

/// Applies `change` (an SQL `set` list) to the order's rows of `table`.
async fn change_rows(
    pool: &PgPool,
    table: &str,
    change: &str,
    order: uuid::Uuid,
) -> Result<(), sqlx::Error> {
    let key = if table == "orders" { "id" } else { "order_id" };
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "update {table} set {change} where {key} = $1"
    )))
    .bind(order)
    .execute(pool)
    .await
    .map(drop)
}

/// Each broken rule: the table, the change that breaks it, the constraint
/// that must refuse it.
const BROKEN_RULES: &[(&str, &str, &str)] = &[
    ("orders", "currency = 'usd'", "orders_row"),
    ("orders", "currency = 'U1D'", "orders_row"),
    ("orders", "status = 'lost'", "orders_row"),
    ("orders", "payment_status = 'maybe'", "orders_row"),
    (
        "orders",
        "subtotal = -1, total = total - subtotal - 1",
        "orders_row",
    ),
    ("orders", "discount = -1, total = total + 1", "orders_row"),
    ("orders", "tax = -1, total = total - tax - 1", "orders_row"),
    (
        "orders",
        "shipping = -1, total = total - shipping - 1",
        "orders_row",
    ),
    ("orders", "captured = -0.0001", "orders_row"),
    ("orders", "refunded = -1", "orders_row"),
    ("orders", "total = total + 1", "orders_row"),
    (
        "orders",
        "status = 'cancelled', cancellation_reason = null",
        "orders_row",
    ),
    ("orders", "notes = repeat('n', 2001)", "orders_row"),
    ("orders", "payment_attempts = -1", "orders_row"),
    ("orders", "failed_payment_attempts = -1", "orders_row"),
    ("orders", "version = 0", "orders_row"),
    ("orders", "payment_method = 'card; drop'", "orders_row"),
    ("orders", "payment_method = ''", "orders_row"),
    (
        "orders",
        "subtotal = 100000000000001, total = total + 100000000000001 - subtotal",
        "orders_amount_bounds",
    ),
    ("order_lines", "kind = 'gift'", "order_lines_row"),
    ("order_lines", "unit_price = -1", "order_lines_row"),
    ("order_lines", "tax_rate = -1", "order_lines_row"),
    ("order_lines", "tax_rate = 100.0001", "order_lines_row"),
    (
        "order_lines",
        "subtotal = -1, total = total - subtotal - 1",
        "order_lines_row",
    ),
    (
        "order_lines",
        "discount = -1, total = total + 1",
        "order_lines_row",
    ),
    (
        "order_lines",
        "tax = -1, total = total - tax - 1",
        "order_lines_row",
    ),
    ("order_lines", "total = total + 1", "order_lines_row"),
    (
        "order_lines",
        "quantity = 0, qty_ordered = 0",
        "order_lines_row",
    ),
    (
        "order_lines",
        "qty_ordered = quantity + 1",
        "order_lines_row",
    ),
    ("order_lines", "position = -1", "order_lines_row"),
    ("order_lines", "qty_cancelled = -1", "order_lines_row"),
    ("order_lines", "qty_shipped = -1", "order_lines_row"),
    ("order_lines", "qty_delivered = -1", "order_lines_row"),
    ("order_lines", "qty_returned = -1", "order_lines_row"),
    (
        "order_lines",
        "qty_return_requested = -1",
        "order_lines_row",
    ),
    (
        "order_lines",
        "qty_cancelled = qty_ordered + 1",
        "order_lines_row",
    ),
    (
        "order_lines",
        "qty_cancelled = 1, qty_shipped = qty_ordered",
        "order_lines_row",
    ),
    ("order_lines", "qty_delivered = 1", "order_lines_row"),
    ("order_lines", "qty_returned = 1", "order_lines_row"),
    (
        "order_lines",
        "qty_shipped = 1, qty_returned = 1, qty_return_requested = 1",
        "order_lines_row",
    ),
    (
        "order_lines",
        "unit_price = 1000000000001",
        "order_lines_amount_bounds",
    ),
    (
        "order_lines",
        "subtotal = 100000000000001, total = total + 100000000000001 - subtotal",
        "order_lines_amount_bounds",
    ),
    ("payment_entries", "kind = 'gift'", "payment_entries_row"),
    ("payment_entries", "amount = -1", "payment_entries_row"),
    ("payment_entries", "position = -1", "payment_entries_row"),
    (
        "payment_entries",
        "amount = 100000000000001",
        "payment_entries_amount_bounds",
    ),
];

#[tokio::test]
async fn every_broken_rule_is_refused_by_the_constraint_that_keeps_it() {
    let Some(pool) = fresh_pool().await else {
        return;
    };
    let order = stored_order(&pool).await;
    for (table, change, constraint) in BROKEN_RULES {
        let refused = change_rows(&pool, table, change, order)
            .await
            .expect_err(change);
        let db = refused.as_database_error().expect("a database error");
        assert_eq!(db.code().as_deref(), Some("23514"), "{change}: {db}");
        assert_eq!(db.constraint(), Some(*constraint), "{change}");
    }
}

#[tokio::test]
async fn a_row_within_every_rule_is_accepted() {
    let Some(pool) = fresh_pool().await else {
        return;
    };
    let order = stored_order(&pool).await;
    let within = [
        (
            "orders",
            "status = 'cancelled', cancellation_reason = 'customer'",
        ),
        (
            "orders",
            "notes = repeat('n', 2000), payment_method = 'card/visa-1.0_x'",
        ),
        ("orders", "payment_method = null, notes = null"),
        (
            "order_lines",
            "qty_shipped = 1, qty_delivered = 1, qty_returned = 1",
        ),
        ("order_lines", "tax_rate = 100"),
        ("payment_entries", "kind = 'refund', amount = 0"),
    ];
    for (table, change) in within {
        change_rows(&pool, table, change, order)
            .await
            .expect(change);
    }
}

#[tokio::test]
async fn the_rules_are_validated_and_the_money_bounds_are_not() {
    let Some(pool) = fresh_pool().await else {
        return;
    };
    let constraints: Vec<(String, bool)> = sqlx::query_as(
        "select conname::text, convalidated from pg_constraint
          where conrelid in ('orders'::regclass, 'order_lines'::regclass,
                             'payment_entries'::regclass)
            and contype = 'c'
          order by conname",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let expected = [
        ("order_lines_amount_bounds", false),
        ("order_lines_row", true),
        ("orders_amount_bounds", false),
        ("orders_row", true),
        ("payment_entries_amount_bounds", false),
        ("payment_entries_row", true),
    ];
    let expected: Vec<(String, bool)> = expected
        .iter()
        .map(|(name, valid)| ((*name).to_owned(), *valid))
        .collect();
    assert_eq!(constraints, expected);
}
