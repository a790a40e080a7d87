//! SQLite under real concurrency and real files: the races and the
//! lifecycle every stock-keeping store must survive
//! (`order_testkit::store_races`), and what is SQLite's own: migrations,
//! the rows behind the suite's writes, durability across reopening, the
//! in-memory database, and the catalog and number adapters. Each test gets
//! its own database file.

mod common;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use common::TempDatabase;
use order_core::ports::{
    Catalog, CatalogAdmin, OrderNumbers, OrderStore, ProductKey, StockLevels, Timer,
};
use order_core::{Actor, OrderService, PortError, Ports, ServiceConfig, StockKeeping};
use order_store_sqlite::{
    MIGRATOR, OpenError, SqliteCatalog, SqliteInventory, SqliteOrderNumbers, SqliteOrderStore,
    connect,
};
use order_testkit::Harness;
use order_testkit::builder::{OrderBuilder, PlaceOrderBuilder, customer, new_order_change};
use order_testkit::store_races::{self, Adapters};
use sqlx::SqlitePool;

/// Real sleeps: the testkit's instant timer would make waiting for an
/// in-flight idempotent request a busy loop.
struct TokioTimer;

#[async_trait]
impl Timer for TokioTimer {
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

fn actor() -> Actor {
    Actor::parse("tester").unwrap()
}

/// The testkit's fakes around a SQLite store that keeps the stock.
fn service_on(pool: &SqlitePool) -> (Arc<SqliteOrderStore>, Harness, OrderService) {
    let store = Arc::new(SqliteOrderStore::new(pool.clone()));
    let harness = Harness::with_store(store.clone());
    let ports = Ports {
        timer: Arc::new(TokioTimer),
        ..harness.ports()
    };
    let config = ServiceConfig {
        stock: StockKeeping::Store,
        ..ServiceConfig::default()
    };
    let service = OrderService::new(ports, config);
    (store, harness, service)
}

async fn rows(pool: &SqlitePool, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from {table}")))
        .fetch_one(pool)
        .await
        .unwrap()
}

const TABLES: [&str; 9] = [
    "orders",
    "outbox",
    "idempotency_keys",
    "inbound_events",
    "compensations",
    "products",
    "stock",
    "stock_holds",
    "stock_restocks",
];

#[tokio::test]
async fn migrations_apply_to_an_empty_file_and_rerun_as_a_no_op() {
    let db = TempDatabase::new();
    assert!(!db.path().exists());
    let pool = db.pool().await;
    let applied: i64 = sqlx::query_scalar("select count(*) from _sqlx_migrations where success")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(applied, MIGRATOR.iter().count() as i64);
    MIGRATOR.run(&pool).await.unwrap();
    pool.close().await;

    let reopened = db.pool().await;
    let applied_again: i64 = sqlx::query_scalar("select count(*) from _sqlx_migrations")
        .fetch_one(&reopened)
        .await
        .unwrap();
    assert_eq!(applied_again, applied);
    for table in TABLES {
        assert_eq!(rows(&reopened, table).await, 0, "{table}");
    }
    let journal: String = sqlx::query_scalar("pragma journal_mode")
        .fetch_one(&reopened)
        .await
        .unwrap();
    assert_eq!(journal, "wal");
}

order_testkit::store_races!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    || adapters().await
);

/// The adapters of a fresh database file, removed after the test.
async fn adapters() -> Adapters {
    let db = TempDatabase::new();
    let pool = db.pool().await;
    db.remove_when_closed(&pool);
    Adapters {
        store: Arc::new(SqliteOrderStore::new(pool.clone())),
        inventory: Arc::new(SqliteInventory::new(pool.clone())),
        catalog: Arc::new(SqliteCatalog::new(pool.clone())),
        numbers: Arc::new(SqliteOrderNumbers::new(pool, 10)),
    }
}

/// Runs a `store_races` case on a fresh file, then counts the rows behind
/// it that the port cannot see.
async fn rows_after<F: Future<Output = ()>>(
    case: impl FnOnce(Arc<SqliteOrderStore>) -> F,
    expected: &[(&str, i64)],
) {
    let db = TempDatabase::new();
    let pool = db.pool().await;
    case(Arc::new(SqliteOrderStore::new(pool.clone()))).await;
    for &(table, count) in expected {
        assert_eq!(rows(&pool, table).await, count, "{table}");
    }
}

#[tokio::test]
async fn a_failed_write_leaves_no_hold_and_no_row_of_its_own() {
    rows_after(
        |store| store_races::a_failed_write_leaves_no_outbox_row_and_no_history_entry(store),
        &[
            ("orders", 1),
            ("outbox", 1),
            ("inbound_events", 1),
            ("stock_holds", 0),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_idempotency_key_from_32_clients_is_one_key_row() {
    rows_after(
        |store| {
            store_races::one_idempotency_key_from_32_clients_places_one_order_and_answers_alike(
                store,
            )
        },
        &[("idempotency_keys", 1)],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_order_placed_in_the_race_for_ten_units_holds_its_unit_in_one_row() {
    rows_after(
        |store| {
            store_races::sixty_four_placements_for_ten_units_never_oversell_when_the_store_keeps_stock(
                store,
            )
        },
        &[("orders", 10), ("stock_holds", 10)],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committed_order_its_events_and_its_stock_survive_reopening_the_file() {
    let db = TempDatabase::new();
    let pool = db.pool().await;
    let (store, h, service) = service_on(&pool);
    let mug = h.product("MUG");
    store.set_on_hand(&mug.sku, 4).await.unwrap();
    let placed = service
        .place(
            PlaceOrderBuilder::new(customer(3)).line(&mug, 3).build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    let paid = service.pay(placed.id(), &actor()).await.unwrap();
    let events = store.events(placed.id()).await.unwrap();
    drop(store);
    drop(service);
    pool.close().await;

    let reopened = SqliteOrderStore::new(db.pool().await);
    assert_eq!(
        reopened.get(placed.id()).await.unwrap().as_ref(),
        Some(&paid)
    );
    assert_eq!(reopened.events(placed.id()).await.unwrap(), events);
    assert_eq!(reopened.feed(0, 100).await.unwrap().len(), events.len());
    let level = reopened.level(&mug.sku).await.unwrap().unwrap();
    assert_eq!((level.on_hand, level.reserved), (1, 0), "3 of 4 sold");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_in_memory_database_is_one_database_across_the_pool() {
    let pool = connect("sqlite::memory:", 8).await.unwrap();
    let store = Arc::new(SqliteOrderStore::new(pool.clone()));
    let writers: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let (order, record) = OrderBuilder::default().build();
                store
                    .commit(new_order_change(&order, &record))
                    .await
                    .unwrap();
                order.id()
            })
        })
        .collect();
    let mut ids = Vec::new();
    for writer in writers {
        ids.push(writer.await.unwrap());
    }
    // Every reader, whichever connection it gets, sees every write.
    let readers: Vec<_> = ids
        .iter()
        .map(|id| {
            let (store, id) = (store.clone(), *id);
            tokio::spawn(async move { store.get(id).await.unwrap().is_some() })
        })
        .collect();
    for reader in readers {
        assert!(reader.await.unwrap());
    }
    assert_eq!(rows(&pool, "orders").await, 16);

    let other = connect("sqlite::memory:", 8).await.unwrap();
    assert_eq!(
        rows(&other, "orders").await,
        0,
        "each pool its own database"
    );
}

#[tokio::test]
async fn a_missing_directory_is_an_open_error_naming_the_file() {
    let db = TempDatabase::new();
    let path = db.path().with_file_name("missing").join("orders.db");
    let url = format!("sqlite://{}", path.display());
    let err = connect(&url, 2).await.unwrap_err();
    assert!(
        matches!(&err, OpenError::Open { path: p, .. } if p == &path),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );

    let err = connect("postgres://localhost/orders", 2).await.unwrap_err();
    assert!(matches!(err, OpenError::NotSqlite { .. }), "{err:?}");
    let err = connect("sqlite://orders.db?colour=blue", 2)
        .await
        .unwrap_err();
    assert!(matches!(err, OpenError::BadUrl { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn order_numbers_are_unique_across_pools_sharing_the_file() {
    let db = TempDatabase::new();
    // Two pools on one file stand for two processes.
    let first = Arc::new(SqliteOrderNumbers::new(db.pool().await, 5));
    let second = Arc::new(SqliteOrderNumbers::new(db.pool().await, 5));
    let at = chrono::DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
        .unwrap()
        .to_utc();
    let takers: Vec<_> = (0..40)
        .map(|i| {
            let numbers = if i % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            tokio::spawn(async move { numbers.next(at).await.unwrap() })
        })
        .collect();
    let mut numbers = Vec::new();
    for taker in takers {
        numbers.push(taker.await.unwrap().as_str().to_owned());
    }
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 40, "no number twice");
    assert!(numbers.iter().all(|n| n.starts_with("ORD-2026-")));
}

#[tokio::test]
async fn the_catalog_refuses_a_sku_another_product_has_and_replaces_its_own() {
    let db = TempDatabase::new();
    let catalog = SqliteCatalog::new(db.pool().await);
    let h = Harness::default();
    let (mug, shirt) = (h.product("MUG"), h.product("TSHIRT"));
    catalog.upsert(&mug).await.unwrap();
    catalog.upsert(&shirt).await.unwrap();

    let taken = order_core::ports::Product {
        sku: mug.sku.clone(),
        ..shirt.clone()
    };
    let refused = catalog.upsert(&taken).await;
    assert!(matches!(refused, Err(PortError::Refused(_))), "{refused:?}");

    let cheaper = order_core::ports::Product {
        unit_price: order_core::Money::parse("9.99", mug.unit_price.currency()).unwrap(),
        active: false,
        ..mug.clone()
    };
    catalog.upsert(&cheaper).await.unwrap();
    let key = |p: &order_core::ports::Product| ProductKey {
        product_id: p.product_id,
        variant_id: p.variant_id,
    };
    assert_eq!(
        catalog.products(&[key(&mug), key(&shirt)]).await.unwrap(),
        vec![cheaper.clone(), shirt.clone()]
    );
    let first = catalog.list(None, 1).await.unwrap();
    assert_eq!(first, vec![cheaper]);
    let rest = catalog.list(Some(&first[0].sku), 10).await.unwrap();
    assert_eq!(rest, vec![shirt]);
}
