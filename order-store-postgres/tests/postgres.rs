//! PostgreSQL under real concurrency: migrations, version races, one
//! idempotency key from many clients, atomic failed writes, no overselling,
//! and the whole lifecycle through `OrderService`. Each test gets a fresh
//! database (see `order_store_postgres::testing`).

use std::sync::Arc;

use order_core::ports::{Change, IdempotencyKey, OrderQuery, OrderStore, StockLevels};
use order_core::{
    Actor, Carrier, DetailsChange, LineQuantity, Notes, Order, OrderError, OrderService,
    OrderStatus, PaymentStatus, Quantity, Reason, ServiceConfig, StockKeeping, StoreError,
};
use order_store_postgres::testing::{empty_pool, fresh_pool};
use order_store_postgres::{MIGRATOR, PgCatalog, PgInventory, PgOrderStore, TokioTimer};
use order_testkit::Harness;
use order_testkit::builder::{OrderBuilder, PlaceOrderBuilder, customer, follow};
use sqlx::PgPool;

fn actor() -> Actor {
    Actor::parse("tester").unwrap()
}

fn reason(text: &str) -> Reason {
    Reason::parse(text).unwrap()
}

/// The testkit's fakes around a PostgreSQL store that keeps the stock, on
/// tokio's timer: real I/O takes real time, and the testkit's instant timer
/// would time every PostgreSQL call out.
fn harness(pool: &PgPool) -> (Arc<PgOrderStore>, Harness, OrderService) {
    let store = Arc::new(PgOrderStore::new(pool.clone()));
    let harness = Harness::with_store(store.clone());
    let service = OrderService::new(
        ports(&harness),
        ServiceConfig {
            stock: StockKeeping::Store,
            ..ServiceConfig::default()
        },
    );
    (store, harness, service)
}

fn ports(harness: &Harness) -> order_core::Ports {
    order_core::Ports {
        timer: Arc::new(TokioTimer),
        ..harness.ports()
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conflicting_transitions_have_exactly_one_winner_per_version() {
    let Some(pool) = fresh_pool().await else {
        return;
    };
    let (store, h, service) = harness(&pool);
    let order = service
        .place(
            PlaceOrderBuilder::new(customer(1))
                .line(&h.product("MUG"), 1)
                .build(),
            None,
            &actor(),
        )
        .await
        .unwrap();

    // 32 clients change the order, each against the version it read.
    let mut tasks = Vec::new();
    for i in 0..32 {
        let service = service.clone();
        let id = order.id();
        tasks.push(tokio::spawn(async move {
            let change = DetailsChange {
                notes: Some(Some(Notes::parse(&format!("client {i}")).unwrap())),
                ..DetailsChange::default()
            };
            service.update_details(id, Some(1), change, &actor()).await
        }));
    }
    let mut won = 0;
    let mut conflicts = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(order) => {
                won += 1;
                assert_eq!(order.version(), 2);
            }
            Err(OrderError::VersionConflict { expected: 1, .. }) => conflicts += 1,
            Err(other) => panic!("unexpected {other}"),
        }
    }
    assert_eq!((won, conflicts), (1, 31));

    // The same at the store: 32 changes decided against version 2.
    let current = store.get(order.id()).await.unwrap().unwrap();
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let store = store.clone();
        let base = current.clone();
        tasks.push(tokio::spawn(async move {
            let events = base
                .decide(
                    &order_core::Command::Cancel {
                        reason: reason("race"),
                    },
                    base.updated_at(),
                )
                .unwrap();
            let (after, records) = follow(&base, events, base.updated_at());
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
        }));
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1);
    assert!(
        outcomes
            .iter()
            .filter(|o| o.is_err())
            .all(|o| matches!(o, Err(StoreError::VersionConflict { expected: 2, .. })))
    );
    assert_eq!(
        store.events(order.id()).await.unwrap().len(),
        3,
        "one event per version"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_idempotency_key_from_32_clients_places_one_order_and_answers_alike() {
    let Some(pool) = fresh_pool().await else {
        return;
    };
    let (_, h, service) = harness(&pool);
    let request = PlaceOrderBuilder::new(customer(9))
        .line(&h.product("TSHIRT"), 2)
        .build();
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let service = service.clone();
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            let key = IdempotencyKey::parse("checkout-42").unwrap();
            service.place(request, Some(&key), &actor()).await
        }));
    }
    let mut answers: Vec<Order> = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap().unwrap());
    }
    assert!(
        answers.windows(2).all(|w| w[0] == w[1]),
        "32 identical answers"
    );
    assert_eq!(count(&pool, "orders").await, 1);
    assert_eq!(count(&pool, "outbox_events").await, 1);
}

#[tokio::test]
async fn a_failed_write_leaves_no_outbox_or_history_row() {
    let Some(pool) = fresh_pool().await else {
        return;
    };
    let (store, h, service) = harness(&pool);
    let shirt = h.product("TSHIRT");
    store.set_on_hand(&shirt.sku, 1).await.unwrap();

    // Refused by stock inside the write: nothing of the order is written.
    let err = service
        .place(
            PlaceOrderBuilder::new(customer(1)).line(&shirt, 5).build(),
            None,
            &actor(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, OrderError::OutOfStock(_)), "{err}");
    for table in [
        "orders",
        "order_lines",
        "order_status_history",
        "outbox_events",
        "stock_reservations",
    ] {
        assert_eq!(count(&pool, table).await, 0, "{table}");
    }

    // Refused by a duplicate inbound event inside the write: no new rows.
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
    let (outbox, history) = (
        count(&pool, "outbox_events").await,
        count(&pool, "order_status_history").await,
    );
    let events = order
        .decide(
            &order_core::Command::Cancel {
                reason: reason("dup"),
            },
            order.created_at(),
        )
        .unwrap();
    let (after, records) = follow(&order, events, order.created_at());
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
    assert_eq!(count(&pool, "outbox_events").await, outbox);
    assert_eq!(count(&pool, "order_status_history").await, history);
    assert_eq!(
        store.get(order.id()).await.unwrap().unwrap().status(),
        OrderStatus::Pending
    );
}

async fn race_for_ten_units(service: OrderService, h: &Harness) -> (usize, usize) {
    let mug = h.product("MUG");
    let mut tasks = Vec::new();
    for i in 0..64 {
        let service = service.clone();
        let request = PlaceOrderBuilder::new(customer(i)).line(&mug, 1).build();
        tasks.push(tokio::spawn(async move {
            service.place(request, None, &actor()).await
        }));
    }
    let (mut placed, mut refused) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => placed += 1,
            Err(OrderError::OutOfStock(detail)) => {
                assert!(detail.to_string().contains("MUG"), "{detail}");
                refused += 1;
            }
            Err(other) => panic!("unexpected {other}"),
        }
    }
    (placed, refused)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_placements_for_ten_units_never_oversell_when_the_store_keeps_stock() {
    let Some(pool) = fresh_pool().await else {
        return;
    };
    let (store, h, service) = harness(&pool);
    let mug = h.product("MUG");
    store.set_on_hand(&mug.sku, 10).await.unwrap();
    assert_eq!(race_for_ten_units(service, &h).await, (10, 54));
    let level = store.level(&mug.sku).await.unwrap().unwrap();
    assert_eq!((level.on_hand, level.reserved), (10, 10));
    assert_eq!(count(&pool, "orders").await, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_placements_for_ten_units_never_oversell_through_pg_inventory() {
    let Some(pool) = fresh_pool().await else {
        return;
    };
    let store = Arc::new(PgOrderStore::new(pool.clone()));
    let inventory = Arc::new(PgInventory::new(pool.clone()));
    let mut h = Harness::with_store(store.clone());
    let mug = h.product("MUG");
    inventory.set_on_hand(&mug.sku, 10).await.unwrap();
    let ports = order_core::Ports {
        inventory: inventory.clone(),
        ..ports(&h)
    };
    let service = OrderService::new(ports, ServiceConfig::default());
    h.store = store;
    assert_eq!(race_for_ten_units(service, &h).await, (10, 54));
    let level = inventory.level(&mug.sku).await.unwrap().unwrap();
    assert_eq!((level.on_hand, level.reserved), (10, 10));
}

#[tokio::test]
async fn the_whole_lifecycle_round_trips_through_postgres() {
    let Some(pool) = fresh_pool().await else {
        return;
    };
    let (store, h, service) = harness(&pool);
    let catalog = PgCatalog::new(pool.clone());
    for sku in ["TSHIRT", "BOOK", "MUG"] {
        catalog.upsert(&h.product(sku)).await.unwrap();
    }
    let ports = order_core::Ports {
        catalog: Arc::new(catalog),
        ..ports(&h)
    };
    let service = OrderService::new(ports, *service.config());
    let shirt = h.product("TSHIRT");
    store.set_on_hand(&shirt.sku, 5).await.unwrap();
    let request = PlaceOrderBuilder::new(customer(7))
        .line(&shirt, 3)
        .line(&h.product("BOOK"), 1)
        .line(&h.product("MUG"), 2)
        .coupon("SAVE10")
        .build();
    let order = service.place(request, None, &actor()).await.unwrap();
    let id = order.id();
    service
        .edit_lines(
            id,
            None,
            &[order_core::LineEdit::Remove {
                line_id: order.lines()[2].id,
            }],
            &actor(),
        )
        .await
        .unwrap();
    service.pay(id, &actor()).await.unwrap();
    let processing = service.start_processing(id, None, &actor()).await.unwrap();
    let shirt_line = processing.lines()[0].id;
    let book_line = processing.lines()[1].id;
    let ups = Some(Carrier::parse("UPS").unwrap());
    let q = |n| Quantity::new(n).unwrap();
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
    for shipment in shipped.shipments().to_vec() {
        service
            .deliver(id, None, shipment.id, &actor())
            .await
            .unwrap();
    }
    let returned = service
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
    let after = service
        .receive_return(id, None, returned.returns()[0].id, true, &actor())
        .await
        .unwrap();
    assert_eq!(after.status(), OrderStatus::Delivered);
    assert_eq!(after.payment_status(), PaymentStatus::PartiallyRefunded);

    let stored = store.get(id).await.unwrap().unwrap();
    assert_eq!(
        stored, after,
        "the store gives back exactly what was committed"
    );
    assert_eq!(
        Order::from_events(&store.events(id).await.unwrap()),
        Some(after.clone())
    );
    let by_number = store.get_by_number(after.number()).await.unwrap().unwrap();
    assert_eq!(by_number.id(), id);
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
    assert_eq!(page.orders, vec![after]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_queries_use_indexes_not_sequential_scans() {
    let Some(pool) = fresh_pool().await else {
        return;
    };
    let store = PgOrderStore::new(pool.clone());
    order_store_postgres::testing::seed_orders(&store, 3_000).await;
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
    let events = order
        .decide(
            &order_core::Command::Cancel {
                reason: reason("plan"),
            },
            order.created_at(),
        )
        .unwrap();
    let (after, records) = follow(&order, events, order.created_at());
    for plan in store.explain_hot_queries(&after, &records).await.unwrap() {
        for table in [
            "orders",
            "order_lines",
            "outbox_events",
            "payment_entries",
            "order_status_history",
            "shipments",
            "returns",
            "idempotency_keys",
            "stock_reservations",
        ] {
            assert!(
                !plan.plan.contains(&format!("Seq Scan on {table} "))
                    && !plan.plan.ends_with(&format!("Seq Scan on {table}")),
                "{}: sequential scan on {table}\n{}",
                plan.name,
                plan.plan
            );
        }
    }
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
