//! PostgreSQL under real concurrency: the races and the lifecycle every
//! stock-keeping store must survive (`order_testkit::store_races`), and what
//! is PostgreSQL's own: migrations, the rows a failed write must not leave
//! in child tables, query plans, and lock order under concurrent payments.
//! Each test gets a fresh database (see `order_store_postgres::testing`).

use std::sync::Arc;

use order_core::ports::{OrderQuery, OrderStore, StockLevels};
use order_core::{Actor, OrderService, OrderStatus, ServiceConfig, StockKeeping};
use order_store_postgres::testing::{empty_pool, fresh_pool};
use order_store_postgres::{
    MIGRATOR, PgCatalog, PgInventory, PgOrderNumbers, PgOrderStore, TokioTimer,
};
use order_testkit::Harness;
use order_testkit::builder::{OrderBuilder, PlaceOrderBuilder, customer, new_order_change};
use order_testkit::store_races::{self, Adapters};
use sqlx::PgPool;

fn actor() -> Actor {
    Actor::parse("tester").unwrap()
}

/// The testkit's fakes around a PostgreSQL store that keeps the stock, on
/// tokio's timer: real I/O takes real time, and the testkit's instant timer
/// would time every PostgreSQL call out.
fn harness(pool: &PgPool) -> (Arc<PgOrderStore>, Harness, OrderService) {
    let store = Arc::new(PgOrderStore::new(pool.clone()));
    let harness = Harness::with_store(store.clone());
    let ports = order_core::Ports {
        timer: Arc::new(TokioTimer),
        ..harness.ports()
    };
    let service = OrderService::new(
        ports,
        ServiceConfig {
            stock: StockKeeping::Store,
            ..ServiceConfig::default()
        },
    );
    (store, harness, service)
}

/// The adapters of one fresh database, for `store_races!`.
fn adapters(pool: PgPool) -> Adapters {
    Adapters {
        store: Arc::new(PgOrderStore::new(pool.clone())),
        inventory: Arc::new(PgInventory::new(pool.clone())),
        catalog: Arc::new(PgCatalog::new(pool.clone())),
        numbers: Arc::new(PgOrderNumbers::new(pool, 10)),
    }
}

async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from {table}")))
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn migrations_apply_to_an_empty_database_and_rerun_as_a_no_op() {
    let Some(pool) = empty_pool().await else {
        return;
    };
    MIGRATOR.run(&pool).await.unwrap();
    let applied: i64 = sqlx::query_scalar("select count(*) from _sqlx_migrations where success")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(applied, MIGRATOR.iter().count() as i64);
    MIGRATOR.run(&pool).await.unwrap();
    for table in [
        "orders",
        "order_lines",
        "order_status_history",
        "payment_entries",
        "shipments",
        "shipment_lines",
        "returns",
        "return_lines",
        "outbox_events",
        "idempotency_keys",
        "processed_inbound_events",
        "compensations",
        "products",
        "stock_levels",
        "stock_reservations",
    ] {
        assert_eq!(count(&pool, table).await, 0, "{table}");
    }
}

order_testkit::store_races!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    || match fresh_pool().await {
        Some(pool) => adapters(pool),
        None => return,
    }
);

/// What the port cannot see of the suite's failed writes: the child tables
/// hold the rows of the one committed order, and nothing of the refused
/// placement or of the refused duplicate.
#[tokio::test]
async fn a_failed_write_leaves_no_row_in_any_child_table() {
    let Some(pool) = fresh_pool().await else {
        return;
    };
    let store = Arc::new(PgOrderStore::new(pool.clone()));
    store_races::a_failed_write_leaves_no_outbox_row_and_no_history_entry(store.clone()).await;
    let page = store.list(&OrderQuery::default()).await.unwrap();
    let [order] = page.orders.as_slice() else {
        panic!("one committed order, not {}", page.orders.len());
    };
    for (table, rows) in [
        ("orders", 1),
        ("order_lines", order.lines().len()),
        ("order_status_history", order.history().len()),
        ("outbox_events", 1),
        ("stock_reservations", 0),
    ] {
        assert_eq!(count(&pool, table).await, rows as i64, "{table}");
    }
}

/// The sequencer never steps over a transaction still writing: an event
/// written before other orders' but committed after them gets its position
/// once it commits, after theirs, even when those fill more than one of
/// the sequencer's batches (200 events).
#[tokio::test]
async fn an_event_committed_after_later_writes_is_still_sequenced() {
    const LATER: usize = 250;
    let Some(pool) = fresh_pool().await else {
        return;
    };
    let store = PgOrderStore::new(pool.clone());
    let place = async |store: &PgOrderStore| {
        let (order, record) = OrderBuilder::default().build();
        store
            .commit(new_order_change(&order, &record))
            .await
            .unwrap();
        order.id()
    };
    let first = place(&store).await;
    let mut late = pool.begin().await.unwrap();
    sqlx::query(
        "insert into outbox_events (id, order_id, sequence, event_type, occurred_at, actor, payload)
         select $2, order_id, 2, event_type, occurred_at, actor, payload
           from outbox_events where order_id = $1",
    )
    .bind(first.as_uuid())
    .bind(uuid::Uuid::now_v7())
    .execute(&mut *late)
    .await
    .unwrap();
    let mut expected = vec![(first, 1)];
    for _ in 0..LATER {
        expected.push((place(&store).await, 1));
    }
    let fed = async |store: &PgOrderStore| {
        store
            .feed(0, 1_000)
            .await
            .unwrap()
            .into_iter()
            .map(|event| (event.record.order_id, event.record.sequence))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        fed(&store).await,
        expected,
        "the late event waits for its transaction"
    );
    late.commit().await.unwrap();
    expected.push((first, 2));
    assert_eq!(
        fed(&store).await,
        expected,
        "then it comes after what is already in the feed"
    );
}

/// Every statement of the hot paths, on a database big enough that the
/// planner prefers an index wherever one serves (the example `query_plans`
/// shows the same plans at 100,000 orders and 10,000 products).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_queries_use_indexes_not_sequential_scans() {
    let Some(pool) = fresh_pool().await else {
        return;
    };
    let store = PgOrderStore::new(pool.clone());
    order_store_postgres::testing::seed_products(&pool, 3_000).await;
    order_store_postgres::testing::seed_orders(&store, 6_000).await;
    let plans = store.explain_hot_queries().await.unwrap();
    assert!(plans.len() > 30, "{} plans", plans.len());
    for plan in &plans {
        for table in [
            "orders",
            "order_lines",
            "outbox_events",
            "payment_entries",
            "order_status_history",
            "shipments",
            "shipment_lines",
            "returns",
            "idempotency_keys",
            "stock_reservations",
            "stock_levels",
            "products",
        ] {
            assert!(
                !plan.plan.contains(&format!("Seq Scan on {table} "))
                    && !plan.plan.contains(&format!("Seq Scan on {table}\n"))
                    && !plan.plan.ends_with(&format!("Seq Scan on {table}")),
                "{}: sequential scan on {table}\n{}",
                plan.name,
                plan.plan
            );
        }
    }
    // With statistics taken when nothing waited, a plan free to reach the
    // batch through the partial index of waiting events walks all of it
    // (dead entries included) instead of looking the rows up.
    let batch = plans
        .iter()
        .find(|plan| plan.name == "position a batch of events")
        .expect("the sequencer's batch is among the plans");
    assert!(
        batch
            .plan
            .contains("Index Scan using outbox_events_pkey on outbox_events o"),
        "the sequencer's update finds its rows by primary key\n{}",
        batch.plan
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_payments_of_orders_sharing_stock_never_deadlock() {
    let Some(pool) = fresh_pool().await else {
        return;
    };
    let (store, h, service) = harness(&pool);
    let skus = ["TSHIRT", "MUG", "BOOK"];
    for sku in skus {
        store
            .set_on_hand(&h.product(sku).sku, 10_000)
            .await
            .unwrap();
    }
    // Half the orders list the products one way, half the other way, so
    // their stock rows come in opposite orders unless locking sorts them.
    let mut ids = Vec::new();
    for i in 0..32u64 {
        let mut request = PlaceOrderBuilder::new(customer(i));
        let order: Vec<&str> = if i % 2 == 0 {
            skus.to_vec()
        } else {
            skus.iter().rev().copied().collect()
        };
        for sku in order {
            request = request.line(&h.product(sku), 1);
        }
        ids.push(
            service
                .place(request.build(), None, &actor())
                .await
                .unwrap()
                .id(),
        );
    }
    let mut tasks = Vec::new();
    for id in ids {
        let service = service.clone();
        tasks.push(tokio::spawn(async move { service.pay(id, &actor()).await }));
    }
    for task in tasks {
        let paid = task.await.unwrap().unwrap();
        assert_eq!(paid.status(), OrderStatus::Confirmed);
    }
    let level = store.level(&h.product("MUG").sku).await.unwrap().unwrap();
    assert_eq!((level.on_hand, level.reserved), (10_000 - 32, 0));
}
