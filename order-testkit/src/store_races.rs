//! Behaviour every stock-keeping store must keep under real concurrency and
//! through a whole order's life, driven through `OrderService`: one winner
//! per version, one order per idempotency key, failed writes that write
//! nothing, no overselling (whether the store or its inventory adapter
//! keeps the stock), and a lifecycle that reads back exactly. Each function
//! is one clause; adapters run all of them through
//! [`store_races!`](crate::store_races!), one test per clause, each on a
//! fresh, empty database. Where [`store_contract`](mod@crate::store_contract)
//! states the port's clauses one call at a time, these state what must hold
//! with many clients at once and the service on top.
//!
//! The cases assert through the ports only; what only SQL can see (rows of
//! child tables, holds) stays in each adapter's own tests. They spawn their
//! clients with `tokio::spawn` and wait on tokio's timer (real I/O takes
//! real time: the fakes' instant timer would time every call out), so they
//! run inside a multi-threaded tokio runtime. They panic (assert) on a
//! broken clause: they are test code.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use order_core::ports::{
    Catalog, CatalogAdmin, Change, IdempotencyKey, Inventory, OrderNumbers, OrderQuery, OrderStore,
    StockLevel, StockLevels, Timer,
};
use order_core::{
    Actor, Carrier, Command, DetailsChange, LineEdit, LineQuantity, Notes, Order, OrderError,
    OrderService, OrderStatus, PaymentStatus, Ports, Quantity, Reason, ServiceConfig, StockKeeping,
    StoreError,
};

use crate::builder::{OrderBuilder, PlaceOrderBuilder, customer, follow};
use crate::harness::Harness;
use crate::store_contract::StockedStore;

/// An inventory adapter that also administers levels.
pub trait StockedInventory: Inventory + StockLevels {}

impl<T: Inventory + StockLevels + ?Sized> StockedInventory for T {}

/// A catalog that can also be written to.
pub trait EditableCatalog: Catalog + CatalogAdmin {}

impl<T: Catalog + CatalogAdmin + ?Sized> EditableCatalog for T {}

/// One database's adapters, fresh and empty: the store under test and the
/// adapters sharing its database, for the cases that need them.
#[allow(missing_debug_implementations)]
pub struct Adapters {
    /// The order store, which also keeps stock.
    pub store: Arc<dyn StockedStore>,
    /// The inventory adapter on the same database.
    pub inventory: Arc<dyn StockedInventory>,
    /// The catalog on the same database.
    pub catalog: Arc<dyn EditableCatalog>,
    /// Order numbers from the same database.
    pub numbers: Arc<dyn OrderNumbers>,
}

/// Sleeps on tokio's clock.
#[derive(Debug)]
struct TokioTimer;

#[async_trait]
impl Timer for TokioTimer {
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

fn actor() -> Actor {
    Actor::parse("tester").expect("valid actor")
}

fn reason(text: &str) -> Reason {
    Reason::parse(text).expect("valid reason")
}

fn quantity(units: u32) -> Quantity {
    Quantity::new(units).expect("valid quantity")
}

/// A service on `ports` and tokio's timer, with `stock` kept as said.
fn service(ports: Ports, stock: StockKeeping) -> OrderService {
    let ports = Ports {
        timer: Arc::new(TokioTimer),
        ..ports
    };
    let config = ServiceConfig {
        stock,
        ..ServiceConfig::default()
    };
    OrderService::new(ports, config)
}

/// Starts `clients` clients at once, `client(i)` each, and gathers their
/// answers in the order they were started.
async fn race<T, F>(clients: u64, client: impl Fn(u64) -> F) -> Vec<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let tasks: Vec<_> = (0..clients).map(|i| tokio::spawn(client(i))).collect();
    let mut answers = Vec::with_capacity(tasks.len());
    for task in tasks {
        answers.push(task.await.expect("the client ran to the end"));
    }
    answers
}

async fn orders(store: &dyn OrderStore) -> Vec<Order> {
    store
        .list(&OrderQuery::default())
        .await
        .expect("list")
        .orders
}

/// 32 clients change one order against the version they read: exactly one
/// wins through the service, and exactly one of 32 commits decided against
/// the next version wins at the store; the others are version conflicts
/// and leave one event per version.
pub async fn conflicting_transitions_have_exactly_one_winner_per_version(
    store: Arc<dyn OrderStore>,
) {
    let h = Harness::with_store(store.clone());
    let service = service(h.ports(), StockKeeping::Store);
    let placed = service
        .place(
            PlaceOrderBuilder::new(customer(1))
                .line(&h.product("MUG"), 1)
                .build(),
            None,
            &actor(),
        )
        .await
        .expect("placed");
    let id = placed.id();

    // 32 clients edit the order, each against version 1.
    let edits = race(32, |i| {
        let service = service.clone();
        async move {
            let change = DetailsChange {
                notes: Some(Some(Notes::parse(&format!("edit {i}")).expect("notes"))),
                ..DetailsChange::default()
            };
            service.update_details(id, Some(1), change, &actor()).await
        }
    })
    .await;
    let (mut winners, mut losers) = (0, 0);
    for edit in edits {
        match edit {
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
    let current = store.get(id).await.expect("get").expect("stored");
    let outcomes = race(32, |_| {
        let (store, base) = (store.clone(), current.clone());
        async move {
            let at = base.updated_at();
            let events = base
                .decide(
                    &Command::Cancel {
                        reason: reason("race"),
                    },
                    at,
                )
                .expect("an edited pending order can be cancelled");
            let (after, records) = follow(&base, events, at);
            store
                .commit(Change {
                    order: &after,
                    expected_version: base.version(),
                    events: &records,
                    idempotency_key: None,
                    inbound_event: None,
                    lines_changed: true,
                    stock: &[],
                })
                .await
        }
    })
    .await;
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
    let events = store.events(id).await.expect("events");
    assert_eq!(
        events.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        vec![1, 2, 3],
        "one event per version"
    );
}

/// 32 clients place the same request under one idempotency key at once:
/// one order is placed, with one event, and all 32 get the same answer.
pub async fn one_idempotency_key_from_32_clients_places_one_order_and_answers_alike(
    store: Arc<dyn OrderStore>,
) {
    let h = Harness::with_store(store.clone());
    let service = service(h.ports(), StockKeeping::Store);
    let request = PlaceOrderBuilder::new(customer(9))
        .line(&h.product("TSHIRT"), 2)
        .build();
    let answers = race(32, |_| {
        let (service, request) = (service.clone(), request.clone());
        async move {
            let key = IdempotencyKey::parse("checkout-42").expect("valid key");
            service.place(request, Some(&key), &actor()).await
        }
    })
    .await;
    let answers: Vec<Order> = answers
        .into_iter()
        .map(|answer| answer.expect("placed"))
        .collect();
    assert!(answers.iter().all(|a| a == &answers[0]), "32 equal answers");
    assert_eq!(orders(&*store).await.len(), 1);
    assert_eq!(store.feed(0, 100).await.expect("feed").len(), 1);
}

/// A write refused inside the store writes nothing: a placement refused for
/// stock leaves no order, no outbox event and no hold; a change refused as
/// a duplicate inbound event leaves the order, its history and the outbox
/// as they were.
pub async fn a_failed_write_leaves_no_outbox_row_and_no_history_entry(
    store: Arc<dyn StockedStore>,
) {
    let h = Harness::with_store(store.clone());
    let service = service(h.ports(), StockKeeping::Store);
    let shirt = h.product("TSHIRT");
    store.set_on_hand(&shirt.sku, 1).await.expect("set level");

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
    assert_eq!(orders(&*store).await, Vec::new(), "no order");
    assert_eq!(
        store.feed(0, 100).await.expect("feed"),
        Vec::new(),
        "no event"
    );
    assert_eq!(
        store.level(&shirt.sku).await.expect("level"),
        Some(StockLevel {
            on_hand: 1,
            reserved: 0
        }),
        "nothing held"
    );

    let (order, record) = OrderBuilder::default().build();
    store
        .commit(Change {
            order: &order,
            expected_version: 0,
            events: std::slice::from_ref(&record),
            idempotency_key: None,
            inbound_event: Some("evt-1"),
            lines_changed: true,
            stock: &[],
        })
        .await
        .expect("first delivery");
    let at = order.created_at();
    let events = order
        .decide(
            &Command::Cancel {
                reason: reason("duplicate"),
            },
            at,
        )
        .expect("a pending order can be cancelled");
    let (after, records) = follow(&order, events, at);
    let duplicate = store
        .commit(Change {
            order: &after,
            expected_version: order.version(),
            events: &records,
            idempotency_key: None,
            inbound_event: Some("evt-1"),
            lines_changed: true,
            stock: &[],
        })
        .await;
    assert!(
        matches!(duplicate, Err(StoreError::DuplicateInboundEvent { .. })),
        "{duplicate:?}"
    );
    assert_eq!(store.feed(0, 100).await.expect("feed").len(), 1);
    assert_eq!(store.events(order.id()).await.expect("events").len(), 1);
    let stored = store.get(order.id()).await.expect("get").expect("stored");
    assert_eq!(stored.status(), OrderStatus::Pending);
    assert_eq!(stored.history(), order.history());
}

/// 64 customers race to buy one mug each; (placed, refused).
async fn race_for_mugs(service: &OrderService, h: &Harness) -> (usize, usize) {
    let mug = h.product("MUG");
    let buyers = race(64, |i| {
        let service = service.clone();
        let request = PlaceOrderBuilder::new(customer(i)).line(&mug, 1).build();
        async move { service.place(request, None, &actor()).await }
    })
    .await;
    let (mut placed, mut refused) = (0, 0);
    for buyer in buyers {
        match buyer {
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

/// With the store keeping the stock, 64 placements for 10 units place
/// exactly 10 orders, each holding its unit, and refuse 54.
pub async fn sixty_four_placements_for_ten_units_never_oversell_when_the_store_keeps_stock(
    store: Arc<dyn StockedStore>,
) {
    let h = Harness::with_store(store.clone());
    let service = service(h.ports(), StockKeeping::Store);
    let mug = h.product("MUG");
    store.set_on_hand(&mug.sku, 10).await.expect("set level");
    assert_eq!(race_for_mugs(&service, &h).await, (10, 54));
    let level = store
        .level(&mug.sku)
        .await
        .expect("level")
        .expect("tracked");
    assert_eq!((level.on_hand, level.reserved), (10, 10));
    assert_eq!(orders(&*store).await.len(), 10);
}

/// With the store's inventory adapter keeping the stock behind the
/// `Inventory` port, 64 placements for 10 units place exactly 10 and
/// refuse 54.
pub async fn sixty_four_placements_for_ten_units_never_oversell_through_the_inventory_adapter(
    store: Arc<dyn OrderStore>,
    inventory: Arc<dyn StockedInventory>,
) {
    let h = Harness::with_store(store);
    let mug = h.product("MUG");
    inventory
        .set_on_hand(&mug.sku, 10)
        .await
        .expect("set level");
    let ports = Ports {
        inventory: inventory.clone(),
        ..h.ports()
    };
    let service = service(ports, StockKeeping::Inventory);
    assert_eq!(race_for_mugs(&service, &h).await, (10, 54));
    let level = inventory
        .level(&mug.sku)
        .await
        .expect("level")
        .expect("tracked");
    assert_eq!((level.on_hand, level.reserved), (10, 10));
}

/// One order through its whole life on the store, catalog and numbers of
/// one database — placed with a coupon, a line removed, paid, shipped in
/// two parts, delivered, partly returned and restocked — reads back exactly
/// what was committed: by id, by number, from its events and in a listing,
/// with the stock it sold and took back.
pub async fn the_whole_lifecycle_round_trips_through_the_store(
    store: Arc<dyn StockedStore>,
    catalog: Arc<dyn EditableCatalog>,
    numbers: Arc<dyn OrderNumbers>,
) {
    let h = Harness::with_store(store.clone());
    for sku in ["TSHIRT", "BOOK", "MUG"] {
        catalog.upsert(&h.product(sku)).await.expect("upsert");
    }
    let ports = Ports {
        catalog,
        numbers,
        ..h.ports()
    };
    let service = service(ports, StockKeeping::Store);
    let shirt = h.product("TSHIRT");
    store.set_on_hand(&shirt.sku, 5).await.expect("set level");

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
        .expect("placed");
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
        .expect("mug removed");
    service.pay(id, &actor()).await.expect("paid");
    let processing = service
        .start_processing(id, None, &actor())
        .await
        .expect("processing");
    let (shirt_line, book_line) = (processing.lines()[0].id, processing.lines()[1].id);
    let ups = Some(Carrier::parse("UPS").expect("valid carrier"));
    let part = |line_id, units| LineQuantity {
        line_id,
        quantity: quantity(units),
    };
    service
        .ship(
            id,
            None,
            vec![part(shirt_line, 2)],
            ups.clone(),
            None,
            &actor(),
        )
        .await
        .expect("first shipment");
    let shipped = service
        .ship(
            id,
            None,
            vec![part(shirt_line, 1), part(book_line, 1)],
            ups,
            None,
            &actor(),
        )
        .await
        .expect("second shipment");
    for shipment in shipped.shipments() {
        service
            .deliver(id, None, shipment.id, &actor())
            .await
            .expect("delivered");
    }
    let returning = service
        .request_return(
            id,
            None,
            vec![part(shirt_line, 1)],
            reason("too small"),
            &actor(),
        )
        .await
        .expect("return requested");
    let done = service
        .receive_return(id, None, returning.returns()[0].id, true, &actor())
        .await
        .expect("return received");
    assert_eq!(done.status(), OrderStatus::Delivered);
    assert_eq!(done.payment_status(), PaymentStatus::PartiallyRefunded);

    assert_eq!(
        store.get(id).await.expect("get").as_ref(),
        Some(&done),
        "the store gives back exactly what was committed"
    );
    assert_eq!(
        Order::from_events(&store.events(id).await.expect("events")).as_ref(),
        Some(&done)
    );
    assert_eq!(
        store
            .get_by_number(done.number())
            .await
            .expect("get by number")
            .as_ref(),
        Some(&done)
    );
    assert!(
        done.number().as_str().ends_with("-000001"),
        "{}",
        done.number()
    );
    let level = store
        .level(&shirt.sku)
        .await
        .expect("level")
        .expect("tracked");
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
        .expect("list");
    assert_eq!(page.orders, vec![done]);
}

/// Stamps one test per clause of [`store_races`](mod@crate::store_races), each
/// on the [`Adapters`] the constructor gives. The clients must really race,
/// so the attribute names a multi-threaded runtime.
///
/// ```text
/// order_testkit::store_races!(
///     #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
///     || match fresh_pool().await {
///         Some(pool) => adapters(pool), // `Adapters` on that one database
///         None => return,               // no server: skipped
///     }
/// );
/// ```
#[macro_export]
macro_rules! store_races {
    (#[$attr:meta] |$($arg:ident : $ty:ty),*| $make:expr) => {
        $crate::store_races!(@cases #[$attr] ($($arg : $ty),*) $make;
            conflicting_transitions_have_exactly_one_winner_per_version(store),
            one_idempotency_key_from_32_clients_places_one_order_and_answers_alike(store),
            a_failed_write_leaves_no_outbox_row_and_no_history_entry(store),
            sixty_four_placements_for_ten_units_never_oversell_when_the_store_keeps_stock(store),
            sixty_four_placements_for_ten_units_never_oversell_through_the_inventory_adapter(
                store, inventory
            ),
            the_whole_lifecycle_round_trips_through_the_store(store, catalog, numbers)
        );
    };
    (#[$attr:meta] || $make:expr) => {
        $crate::store_races!(#[$attr] | | $make);
    };
    (@cases #[$attr:meta] $params:tt $make:expr; $($case:ident($($part:ident),+)),+) => {
        $(
            #[$attr]
            async fn $case $params {
                let adapters: $crate::store_races::Adapters = $make;
                $crate::store_races::$case($(adapters.$part),+).await;
            }
        )+
    };
}

#[cfg(test)]
mod tests {
    //! The in-memory store and the fakes pass the races too.

    use std::sync::Arc;

    use super::Adapters;
    use crate::InMemoryOrderStore;
    use crate::fakes::{FakeCatalog, FakeInventory, FakeOrderNumbers};

    crate::store_races!(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        || Adapters {
            store: Arc::new(InMemoryOrderStore::default()),
            inventory: Arc::new(FakeInventory::default()),
            catalog: Arc::new(FakeCatalog::default()),
            numbers: Arc::new(FakeOrderNumbers::default()),
        }
    );
}
