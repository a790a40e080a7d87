//! SQLite under real concurrency and real files: migrations, version races,
//! one idempotency key from many clients, atomic failed writes, no
//! overselling, the whole lifecycle through `OrderService`, durability
//! across reopening, the in-memory database, and the catalog and number
//! adapters. Each test gets its own database file.

mod common;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use common::TempDatabase;
use order_core::ports::{
    Catalog, CatalogAdmin, Change, IdempotencyKey, OrderNumbers, OrderQuery, OrderStore,
    ProductKey, StockLevels, Timer,
};
use order_core::{
    Actor, Carrier, Command, DetailsChange, LineEdit, LineQuantity, Notes, Order, OrderError,
    OrderService, OrderStatus, PaymentStatus, PortError, Ports, Quantity, Reason, ServiceConfig,
    StockKeeping, StoreError,
};
use order_store_sqlite::{
    MIGRATOR, OpenError, SqliteCatalog, SqliteInventory, SqliteOrderNumbers, SqliteOrderStore,
    connect,
};
use order_testkit::Harness;
use order_testkit::builder::{OrderBuilder, PlaceOrderBuilder, customer, follow};
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

fn reason(text: &str) -> Reason {
    Reason::parse(text).unwrap()
}

fn ports(harness: &Harness) -> Ports {
    Ports {
        timer: Arc::new(TokioTimer),
        ..harness.ports()
    }
}

/// The testkit's fakes around a SQLite store that keeps the stock.
fn service_on(pool: &SqlitePool) -> (Arc<SqliteOrderStore>, Harness, OrderService) {
    let store = Arc::new(SqliteOrderStore::new(pool.clone()));
    let harness = Harness::with_store(store.clone());
    let config = ServiceConfig {
        stock: StockKeeping::Store,
        ..ServiceConfig::default()
    };
    let service = OrderService::new(ports(&harness), config);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conflicting_transitions_have_exactly_one_winner_per_version() {
    let db = TempDatabase::new();
    let pool = db.pool().await;
    let (store, h, service) = service_on(&pool);
    let placed = service
        .place(
            PlaceOrderBuilder::new(customer(1))
                .line(&h.product("MUG"), 1)
                .build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    let id = placed.id();

    // 32 clients edit the order, each against version 1.
    let edits: Vec<_> = (0..32)
        .map(|i| {
            let service = service.clone();
            tokio::spawn(async move {
                let change = DetailsChange {
                    notes: Some(Some(Notes::parse(&format!("edit {i}")).unwrap())),
                    ..DetailsChange::default()
                };
                service.update_details(id, Some(1), change, &actor()).await
            })
        })
        .collect();
    let (mut winners, mut losers) = (0, 0);
    for edit in edits {
        match edit.await.unwrap() {
            Ok(order) => {
                assert_eq!(order.version(), 2);
                winners += 1;
            }
            Err(OrderError::VersionConflict { expected: 1, .. }) => losers += 1,
            Err(other) => panic!("unexpected {other}"),
        }
    }
    assert_eq!((winners, losers), (1, 31));

    // And straight at the store: 32 cancellations decided against version 2.
    let current = store.get(id).await.unwrap().unwrap();
    let commits: Vec<_> = (0..32)
        .map(|_| {
            let store = store.clone();
            let base = current.clone();
            tokio::spawn(async move {
                let at = base.updated_at();
                let events = base
                    .decide(
                        &Command::Cancel {
                            reason: reason("race"),
                        },
                        at,
                    )
                    .unwrap();
                let (after, records) = follow(&base, events, at);
                store
                    .commit(Change {
                        order: &after,
                        expected_version: base.version(),
                        events: &records,
                        idempotency_key: None,
                        inbound_event: None,
                        stock: &[],
                    })
                    .await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for commit in commits {
        outcomes.push(commit.await.unwrap());
    }
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1);
    for outcome in outcomes.iter().filter(|o| o.is_err()) {
        assert!(
            matches!(
                outcome,
                Err(StoreError::VersionConflict {
                    expected: 2,
                    actual: 3,
                    ..
                })
            ),
            "{outcome:?}"
        );
    }
    let events = store.events(id).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        vec![1, 2, 3],
        "one event per version"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_idempotency_key_from_32_clients_places_one_order_and_answers_alike() {
    let db = TempDatabase::new();
    let pool = db.pool().await;
    let (_, h, service) = service_on(&pool);
    let request = PlaceOrderBuilder::new(customer(9))
        .line(&h.product("TSHIRT"), 2)
        .build();
    let clients: Vec<_> = (0..32)
        .map(|_| {
            let service = service.clone();
            let request = request.clone();
            tokio::spawn(async move {
                let key = IdempotencyKey::parse("checkout-42").unwrap();
                service.place(request, Some(&key), &actor()).await
            })
        })
        .collect();
    let mut answers: Vec<Order> = Vec::new();
    for client in clients {
        answers.push(client.await.unwrap().unwrap());
    }
    assert!(answers.iter().all(|a| a == &answers[0]), "32 equal answers");
    assert_eq!(rows(&pool, "orders").await, 1);
    assert_eq!(rows(&pool, "outbox").await, 1);
    assert_eq!(rows(&pool, "idempotency_keys").await, 1);
}

#[tokio::test]
async fn a_failed_write_leaves_no_outbox_row_and_no_history_entry() {
    let db = TempDatabase::new();
    let pool = db.pool().await;
    let (store, h, service) = service_on(&pool);
    let shirt = h.product("TSHIRT");
    store.set_on_hand(&shirt.sku, 1).await.unwrap();

    // Refused by stock inside the write: nothing of the order is written.
    let refused = service
        .place(
            PlaceOrderBuilder::new(customer(1)).line(&shirt, 5).build(),
            None,
            &actor(),
        )
        .await;
    assert!(
        matches!(refused, Err(OrderError::OutOfStock(_))),
        "{refused:?}"
    );
    for table in ["orders", "outbox", "stock_holds"] {
        assert_eq!(rows(&pool, table).await, 0, "{table}");
    }

    // Refused as a duplicate inbound event inside the write: the order,
    // its history and its outbox stay as they were.
    let (order, record) = OrderBuilder::default().build();
    store
        .commit(Change {
            order: &order,
            expected_version: 0,
            events: std::slice::from_ref(&record),
            idempotency_key: None,
            inbound_event: Some("evt-1"),
            stock: &[],
        })
        .await
        .unwrap();
    let at = order.created_at();
    let events = order
        .decide(
            &Command::Cancel {
                reason: reason("duplicate"),
            },
            at,
        )
        .unwrap();
    let (after, records) = follow(&order, events, at);
    let duplicate = store
        .commit(Change {
            order: &after,
            expected_version: order.version(),
            events: &records,
            idempotency_key: None,
            inbound_event: Some("evt-1"),
            stock: &[],
        })
        .await;
    assert!(
        matches!(duplicate, Err(StoreError::DuplicateInboundEvent { .. })),
        "{duplicate:?}"
    );
    assert_eq!(rows(&pool, "outbox").await, 1);
    let stored = store.get(order.id()).await.unwrap().unwrap();
    assert_eq!(stored.status(), OrderStatus::Pending);
    assert_eq!(stored.history(), order.history());
}

/// 64 customers race to buy one mug each; (placed, refused).
async fn race_for_mugs(service: &OrderService, h: &Harness) -> (usize, usize) {
    let mug = h.product("MUG");
    let buyers: Vec<_> = (0..64)
        .map(|i| {
            let service = service.clone();
            let request = PlaceOrderBuilder::new(customer(i)).line(&mug, 1).build();
            tokio::spawn(async move { service.place(request, None, &actor()).await })
        })
        .collect();
    let (mut placed, mut refused) = (0, 0);
    for buyer in buyers {
        match buyer.await.unwrap() {
            Ok(_) => placed += 1,
            Err(OrderError::OutOfStock(short)) => {
                assert!(short.to_string().contains("MUG"), "{short}");
                refused += 1;
            }
            Err(other) => panic!("unexpected {other}"),
        }
    }
    (placed, refused)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_placements_for_ten_units_never_oversell_when_the_store_keeps_stock() {
    let db = TempDatabase::new();
    let pool = db.pool().await;
    let (store, h, service) = service_on(&pool);
    let mug = h.product("MUG");
    store.set_on_hand(&mug.sku, 10).await.unwrap();
    assert_eq!(race_for_mugs(&service, &h).await, (10, 54));
    let level = store.level(&mug.sku).await.unwrap().unwrap();
    assert_eq!((level.on_hand, level.reserved), (10, 10));
    assert_eq!(rows(&pool, "orders").await, 10);
    assert_eq!(rows(&pool, "stock_holds").await, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_placements_for_ten_units_never_oversell_through_sqlite_inventory() {
    let db = TempDatabase::new();
    let pool = db.pool().await;
    let store = Arc::new(SqliteOrderStore::new(pool.clone()));
    let inventory = Arc::new(SqliteInventory::new(pool.clone()));
    let h = Harness::with_store(store);
    let mug = h.product("MUG");
    inventory.set_on_hand(&mug.sku, 10).await.unwrap();
    let ports = Ports {
        inventory: inventory.clone(),
        ..ports(&h)
    };
    let service = OrderService::new(ports, ServiceConfig::default());
    assert_eq!(race_for_mugs(&service, &h).await, (10, 54));
    let level = inventory.level(&mug.sku).await.unwrap().unwrap();
    assert_eq!((level.on_hand, level.reserved), (10, 10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_lifecycle_round_trips_through_sqlite() {
    let db = TempDatabase::new();
    let pool = db.pool().await;
    let (store, h, service) = service_on(&pool);
    let catalog = SqliteCatalog::new(pool.clone());
    for sku in ["TSHIRT", "BOOK", "MUG"] {
        catalog.upsert(&h.product(sku)).await.unwrap();
    }
    let ports = Ports {
        catalog: Arc::new(catalog),
        numbers: Arc::new(SqliteOrderNumbers::new(pool.clone(), 10)),
        ..ports(&h)
    };
    let service = OrderService::new(ports, *service.config());
    let shirt = h.product("TSHIRT");
    store.set_on_hand(&shirt.sku, 5).await.unwrap();
    let q = |n| Quantity::new(n).unwrap();

    let placed = service
        .place(
            PlaceOrderBuilder::new(customer(7))
                .line(&shirt, 3)
                .line(&h.product("BOOK"), 1)
                .line(&h.product("MUG"), 2)
                .coupon("SAVE10")
                .build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    let id = placed.id();
    let mug_line = placed.lines()[2].id;
    service
        .edit_lines(
            id,
            None,
            &[LineEdit::Remove { line_id: mug_line }],
            &actor(),
        )
        .await
        .unwrap();
    service.pay(id, &actor()).await.unwrap();
    let processing = service.start_processing(id, None, &actor()).await.unwrap();
    let (shirt_line, book_line) = (processing.lines()[0].id, processing.lines()[1].id);
    let ups = Some(Carrier::parse("UPS").unwrap());
    service
        .ship(
            id,
            None,
            vec![LineQuantity {
                line_id: shirt_line,
                quantity: q(2),
            }],
            ups.clone(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    let shipped = service
        .ship(
            id,
            None,
            vec![
                LineQuantity {
                    line_id: shirt_line,
                    quantity: q(1),
                },
                LineQuantity {
                    line_id: book_line,
                    quantity: q(1),
                },
            ],
            ups,
            None,
            &actor(),
        )
        .await
        .unwrap();
    for shipment in shipped.shipments() {
        service
            .deliver(id, None, shipment.id, &actor())
            .await
            .unwrap();
    }
    let returning = service
        .request_return(
            id,
            None,
            vec![LineQuantity {
                line_id: shirt_line,
                quantity: q(1),
            }],
            reason("too small"),
            &actor(),
        )
        .await
        .unwrap();
    let done = service
        .receive_return(id, None, returning.returns()[0].id, true, &actor())
        .await
        .unwrap();
    assert_eq!(done.status(), OrderStatus::Delivered);
    assert_eq!(done.payment_status(), PaymentStatus::PartiallyRefunded);

    assert_eq!(store.get(id).await.unwrap().as_ref(), Some(&done));
    assert_eq!(
        Order::from_events(&store.events(id).await.unwrap()).as_ref(),
        Some(&done)
    );
    assert_eq!(
        store.get_by_number(done.number()).await.unwrap().as_ref(),
        Some(&done)
    );
    assert!(
        done.number().as_str().ends_with("-000001"),
        "{}",
        done.number()
    );
    let level = store.level(&shirt.sku).await.unwrap().unwrap();
    assert_eq!(
        (level.on_hand, level.reserved),
        (3, 0),
        "3 sold, 1 of them returned and restocked"
    );
    let page = store
        .list(&OrderQuery {
            customer_id: Some(customer(7)),
            ..OrderQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.orders, vec![done]);
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
                    .commit(Change {
                        order: &order,
                        expected_version: 0,
                        events: std::slice::from_ref(&record),
                        idempotency_key: None,
                        inbound_event: None,
                        stock: &[],
                    })
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
