//! Writes decided on the orders the service just committed (ADR 0013): a
//! write that follows another on the same order reads nothing back, and a
//! second process (another replica on the same store) that changed the
//! order meanwhile makes the first one refuse or decide again, never write
//! over it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use order_core::order::{Compensation, Resolution};
use order_core::ports::{
    Change, FigureGroup, IdempotencyClaim, IdempotencyKey, OrderFigures, OrderPage, OrderQuery,
    OrderStore,
};
use order_core::{
    Actor, Carrier, CompensationId, Currency, DetailsChange, EventRecord, LineQuantities,
    LineQuantity, Money, Notes, Operation, Order, OrderError, OrderId, OrderNumber, OrderService,
    OrderStatus, PaymentStatus, Reason, Scope, ServiceConfig, StatusGoal, StoreError, StoredEvent,
};
use order_testkit::Harness;
use order_testkit::builder::{PlaceOrderBuilder, customer};
use order_testkit::memory::InMemoryOrderStore;
use proptest::prelude::*;

/// The in-memory store, counting the orders read and the changes written,
/// and checking each change's promise about its lines.
#[derive(Default)]
struct Counting {
    inner: InMemoryOrderStore,
    reads: AtomicUsize,
    commits: AtomicUsize,
    /// Changes that said they leave the stored lines alone.
    lines_kept: AtomicUsize,
    /// Of those, changes whose lines differ from the stored version's they
    /// were decided against (a store trusting them would lose the lines).
    lines_kept_wrongly: AtomicUsize,
}

impl Counting {
    /// (orders read, changes written) so far.
    fn calls(&self) -> (usize, usize) {
        (
            self.reads.load(Ordering::SeqCst),
            self.commits.load(Ordering::SeqCst),
        )
    }
}

#[async_trait]
impl OrderFigures for Counting {
    async fn figures(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<FigureGroup>, StoreError> {
        self.inner.figures(from, to).await
    }
}

#[async_trait]
impl OrderStore for Counting {
    async fn get(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.get(id).await
    }
    async fn get_by_number(&self, number: &OrderNumber) -> Result<Option<Order>, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.get_by_number(number).await
    }
    async fn commit(&self, change: Change<'_>) -> Result<(), StoreError> {
        self.commits.fetch_add(1, Ordering::SeqCst);
        if !change.lines_changed {
            self.lines_kept.fetch_add(1, Ordering::SeqCst);
            let stored = self.inner.get(change.order.id()).await?;
            if let Some(stored) = stored.filter(|s| s.version() == change.expected_version)
                && stored.lines() != change.order.lines()
            {
                self.lines_kept_wrongly.fetch_add(1, Ordering::SeqCst);
            }
        }
        self.inner.commit(change).await
    }
    async fn list(&self, query: &OrderQuery) -> Result<OrderPage, StoreError> {
        self.inner.list(query).await
    }
    async fn events(&self, id: OrderId) -> Result<Vec<EventRecord>, StoreError> {
        self.inner.events(id).await
    }
    async fn feed(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.feed(after, limit).await
    }
    async fn unpublished(&self, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.unpublished(limit).await
    }
    async fn mark_published(&self, positions: &[u64]) -> Result<(), StoreError> {
        self.inner.mark_published(positions).await
    }
    async fn claim_idempotency_key(
        &self,
        key: &IdempotencyKey,
        fingerprint: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<IdempotencyClaim, StoreError> {
        self.inner
            .claim_idempotency_key(key, fingerprint, now, lease)
            .await
    }
    async fn release_idempotency_key(&self, key: &IdempotencyKey) -> Result<(), StoreError> {
        self.inner.release_idempotency_key(key).await
    }
    async fn inbound_event_processed(&self, event_id: &str) -> Result<bool, StoreError> {
        self.inner.inbound_event_processed(event_id).await
    }
    async fn record_compensation(&self, compensation: &Compensation) -> Result<(), StoreError> {
        self.inner.record_compensation(compensation).await
    }
    async fn compensations(&self) -> Result<Vec<Compensation>, StoreError> {
        self.inner.compensations().await
    }
    async fn resolve_compensation(
        &self,
        id: CompensationId,
        resolution: &Resolution,
    ) -> Result<Option<Compensation>, StoreError> {
        self.inner.resolve_compensation(id, resolution).await
    }
}

/// Two processes on one store: `first` and `second` share the store and
/// every other port, each with its own recent orders.
struct Replicas {
    h: Harness,
    store: Arc<Counting>,
    first: OrderService,
    second: OrderService,
}

impl Replicas {
    fn new() -> Self {
        Self::with(ServiceConfig::default())
    }

    fn with(config: ServiceConfig) -> Self {
        let store = Arc::new(Counting::default());
        let h = Harness::with_store(store.clone());
        let first = h.service_with(config);
        let second = h.service_with(config);
        Self {
            h,
            store,
            first,
            second,
        }
    }

    async fn place(&self) -> Order {
        let request = PlaceOrderBuilder::new(customer(1))
            .line(&self.h.product("TSHIRT"), 2)
            .line(&self.h.product("MUG"), 1)
            .build();
        self.first.place(request, None, &actor()).await.unwrap()
    }

    /// The order's events in the store, with sequences 1..=n and no gap,
    /// folded: the store's order must be exactly that.
    async fn stored(&self, id: OrderId) -> Order {
        let events = self.store.events(id).await.unwrap();
        for (index, record) in events.iter().enumerate() {
            assert_eq!(record.sequence, index as u64 + 1, "versions are contiguous");
        }
        let folded = Order::from_events(&events).expect("a complete history");
        let stored = self.store.get(id).await.unwrap().expect("stored");
        assert_eq!(stored, folded, "the stored order is its events");
        stored
    }
}

fn actor() -> Actor {
    Actor::parse("tester").unwrap()
}

fn noted(text: &str) -> DetailsChange {
    DetailsChange {
        notes: Some(Some(Notes::parse(text).unwrap())),
        ..DetailsChange::default()
    }
}

fn all_lines(order: &Order) -> Vec<LineQuantity> {
    order
        .lines()
        .iter()
        .map(|line| LineQuantity {
            line_id: line.id,
            quantity: line.quantity,
        })
        .collect()
}

fn ups() -> Option<Carrier> {
    Some(Carrier::parse("UPS").unwrap())
}

#[tokio::test]
async fn paying_an_order_just_placed_reads_nothing_back() {
    let world = Replicas::new();
    let placed = world.place().await;
    let before = world.store.calls();
    let paid = world.first.pay(placed.id(), &actor()).await.unwrap();
    let (reads, commits) = world.store.calls();
    assert_eq!(reads - before.0, 0, "no order read before pay's writes");
    assert_eq!(
        commits - before.1,
        2,
        "the claim, then the gateway's answer"
    );
    assert_eq!(paid.status(), OrderStatus::Confirmed);
    assert_eq!(world.stored(placed.id()).await, paid);
}

/// A store may leave an order's lines alone when the change says it does
/// not touch them: a payment and a status change say so, a cancellation
/// (it cancels the lines' units) does not.
#[tokio::test]
async fn only_changes_that_touch_no_line_say_so() {
    let world = Replicas::new();
    let placed = world.place().await;
    world.first.pay(placed.id(), &actor()).await.unwrap();
    assert_eq!(
        world.store.lines_kept.load(Ordering::SeqCst),
        2,
        "the attempt's claim and the capture both leave the lines alone"
    );
    world
        .first
        .perform(placed.id(), None, Operation::StartProcessing, &actor())
        .await
        .unwrap();
    assert_eq!(world.store.lines_kept.load(Ordering::SeqCst), 3);
    let pending = world.place().await;
    let reason = Reason::parse("changed my mind").unwrap();
    world
        .first
        .perform(pending.id(), None, Operation::Cancel { reason }, &actor())
        .await
        .unwrap();
    assert_eq!(
        world.store.lines_kept.load(Ordering::SeqCst),
        3,
        "a cancellation writes the lines"
    );
    assert_eq!(world.store.lines_kept_wrongly.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_customer_paying_their_own_order_reads_nothing_back_and_another_finds_nothing() {
    let world = Replicas::new();
    let placed = world.place().await;
    let before = world.store.calls();
    let stranger = world
        .first
        .pay_in(placed.id(), Scope::Customer(customer(2)), &actor())
        .await
        .unwrap_err();
    assert!(matches!(stranger, OrderError::NotFound(_)), "{stranger}");
    let paid = world
        .first
        .pay_in(placed.id(), Scope::Customer(customer(1)), &actor())
        .await
        .unwrap();
    assert_eq!(paid.payment_status(), PaymentStatus::Paid);
    assert_eq!(world.store.calls().0 - before.0, 0);
    assert!(world.h.gateway.operations().len() >= 2);
}

#[tokio::test]
async fn fulfilment_after_payment_reads_nothing_back() {
    let world = Replicas::new();
    let placed = world.place().await;
    world.first.pay(placed.id(), &actor()).await.unwrap();
    let before = world.store.calls();
    let processing = world
        .first
        .start_processing(placed.id(), None, &actor())
        .await
        .unwrap();
    let shipped = world
        .first
        .ship(
            placed.id(),
            Some(processing.version()),
            all_lines(&processing),
            ups(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    let shipment = shipped.shipments()[0].id;
    let delivered = world
        .first
        .deliver(placed.id(), None, shipment, &actor())
        .await
        .unwrap();
    let (reads, commits) = world.store.calls();
    assert_eq!((reads - before.0, commits - before.1), (0, 3));
    assert_eq!(delivered.status(), OrderStatus::Delivered);
    assert_eq!(world.stored(placed.id()).await, delivered);
}

#[tokio::test]
async fn with_no_recent_orders_kept_every_write_reads_the_order() {
    let world = Replicas::with(ServiceConfig {
        recent_orders: 0,
        ..ServiceConfig::default()
    });
    let placed = world.place().await;
    let before = world.store.calls();
    world.first.pay(placed.id(), &actor()).await.unwrap();
    assert_eq!(world.store.calls().0 - before.0, 1);
}

#[tokio::test]
async fn a_kept_order_past_its_time_to_live_is_read_again() {
    let world = Replicas::new();
    let placed = world.place().await;
    world.h.clock.advance(chrono::Duration::seconds(30));
    let before = world.store.calls();
    world.first.pay(placed.id(), &actor()).await.unwrap();
    assert_eq!(world.store.calls().0 - before.0, 1);
}

#[tokio::test]
async fn reading_an_order_always_asks_the_store() {
    let world = Replicas::new();
    let placed = world.place().await;
    world
        .second
        .update_details(placed.id(), None, noted("ring twice"), &actor())
        .await
        .unwrap();
    let before = world.store.calls();
    let read = world.first.get(placed.id()).await.unwrap();
    assert_eq!(world.store.calls().0 - before.0, 1);
    assert_eq!(read.version(), 2);
    assert_eq!(read.notes().map(Notes::as_str), Some("ring twice"));
}

#[tokio::test]
async fn paying_an_order_another_replica_cancelled_is_refused_and_moves_no_money() {
    let world = Replicas::new();
    let placed = world.place().await;
    let cancelled = world
        .second
        .cancel(
            placed.id(),
            None,
            Reason::parse("changed my mind").unwrap(),
            &actor(),
        )
        .await
        .unwrap();
    let err = world.first.pay(placed.id(), &actor()).await.unwrap_err();
    assert!(matches!(err, OrderError::Transition(_)), "{err}");
    assert!(world.h.gateway.operations().is_empty(), "no money moved");
    assert_eq!(world.stored(placed.id()).await, cancelled);
}

#[tokio::test]
async fn paying_an_order_another_replica_noted_keeps_the_note() {
    let world = Replicas::new();
    let placed = world.place().await;
    world
        .second
        .update_details(placed.id(), None, noted("gift wrap"), &actor())
        .await
        .unwrap();
    let paid = world.first.pay(placed.id(), &actor()).await.unwrap();
    assert_eq!(paid.payment_status(), PaymentStatus::Paid);
    assert_eq!(paid.notes().map(Notes::as_str), Some("gift wrap"));
    assert_eq!(world.stored(placed.id()).await, paid);
    // The stale attempt was refused before the gateway: one attempt, paid once.
    assert_eq!(paid.payment_attempts(), 1);
    assert_eq!(world.h.gateway.operations().len(), 2);
}

#[tokio::test]
async fn paying_an_order_another_replica_paid_is_refused_and_charges_nothing() {
    let world = Replicas::new();
    let placed = world.place().await;
    let paid = world.second.pay(placed.id(), &actor()).await.unwrap();
    let operations = world.h.gateway.operations().len();
    let err = world.first.pay(placed.id(), &actor()).await.unwrap_err();
    assert!(matches!(err, OrderError::Transition(_)), "{err}");
    assert_eq!(world.h.gateway.operations().len(), operations);
    assert_eq!(world.stored(placed.id()).await, paid);
}

#[tokio::test]
async fn shipping_what_another_replica_shipped_is_refused_on_the_stores_order() {
    let world = Replicas::new();
    let placed = world.place().await;
    world.first.pay(placed.id(), &actor()).await.unwrap();
    let processing = world
        .first
        .start_processing(placed.id(), None, &actor())
        .await
        .unwrap();
    let shipped = world
        .second
        .ship(
            placed.id(),
            None,
            all_lines(&processing),
            ups(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    let err = world
        .first
        .ship(
            placed.id(),
            None,
            all_lines(&processing),
            ups(),
            None,
            &actor(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, OrderError::Transition(_) | OrderError::Rule(_)),
        "{err}"
    );
    let stored = world.stored(placed.id()).await;
    assert_eq!(stored, shipped);
    assert_eq!(stored.shipments().len(), 1);
}

#[tokio::test]
async fn shipping_after_another_replica_noted_the_order_keeps_the_note() {
    let world = Replicas::new();
    let placed = world.place().await;
    world.first.pay(placed.id(), &actor()).await.unwrap();
    let processing = world
        .first
        .start_processing(placed.id(), None, &actor())
        .await
        .unwrap();
    world
        .second
        .update_details(placed.id(), None, noted("back door"), &actor())
        .await
        .unwrap();
    let shipped = world
        .first
        .ship(
            placed.id(),
            None,
            all_lines(&processing),
            ups(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    assert_eq!(shipped.status(), OrderStatus::Shipped);
    assert_eq!(shipped.notes().map(Notes::as_str), Some("back door"));
    assert_eq!(world.stored(placed.id()).await, shipped);
}

#[tokio::test]
async fn shipping_an_order_another_replica_made_ready_is_not_refused_on_the_kept_one() {
    let world = Replicas::new();
    let placed = world.place().await;
    // The first replica keeps the order pending; the second moves it on.
    world.second.pay(placed.id(), &actor()).await.unwrap();
    world
        .second
        .start_processing(placed.id(), None, &actor())
        .await
        .unwrap();
    let shipped = world
        .first
        .ship(placed.id(), None, all_lines(&placed), ups(), None, &actor())
        .await
        .unwrap();
    assert_eq!(shipped.status(), OrderStatus::Shipped);
    assert_eq!(world.stored(placed.id()).await, shipped);
}

#[tokio::test]
async fn a_version_the_caller_read_elsewhere_is_checked_against_the_store() {
    let world = Replicas::new();
    let placed = world.place().await;
    let noted_elsewhere = world
        .second
        .update_details(placed.id(), None, noted("first"), &actor())
        .await
        .unwrap();
    // A caller who saw version 1 is behind: a conflict naming the store's
    // version, not the kept one.
    let err = world
        .first
        .update_details(placed.id(), Some(1), noted("stale"), &actor())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            OrderError::VersionConflict {
                expected: 1,
                actual: 2,
                ..
            }
        ),
        "{err}"
    );
    // A caller who saw version 2 (on the other replica) is not.
    let updated = world
        .first
        .update_details(
            placed.id(),
            Some(noted_elsewhere.version()),
            noted("second"),
            &actor(),
        )
        .await
        .unwrap();
    assert_eq!(updated.version(), 3);
    assert_eq!(world.stored(placed.id()).await, updated);
}

#[tokio::test]
async fn cancelling_a_paid_order_gives_the_money_back_from_the_stores_order() {
    let world = Replicas::new();
    let placed = world.place().await;
    // The first replica kept the order unpaid; the second took the money.
    world.second.pay(placed.id(), &actor()).await.unwrap();
    let cancelled = world
        .first
        .cancel(
            placed.id(),
            None,
            Reason::parse("out of time").unwrap(),
            &actor(),
        )
        .await
        .unwrap();
    assert_eq!(cancelled.status(), OrderStatus::Cancelled);
    assert_eq!(cancelled.payment_status(), PaymentStatus::Refunded);
    assert_eq!(world.stored(placed.id()).await, cancelled);
}

#[tokio::test]
async fn reaching_a_status_on_a_stale_order_decides_again_on_the_stores() {
    let world = Replicas::new();
    let placed = world.place().await;
    world.first.pay(placed.id(), &actor()).await.unwrap();
    world
        .second
        .update_details(placed.id(), None, noted("fragile"), &actor())
        .await
        .unwrap();
    let processing = world
        .first
        .reach(placed.id(), Scope::All, StatusGoal::Processing, &actor())
        .await
        .unwrap();
    assert_eq!(processing.status(), OrderStatus::Processing);
    assert_eq!(processing.notes().map(Notes::as_str), Some("fragile"));
    assert_eq!(world.stored(placed.id()).await, processing);
}

// ---- interleavings ---------------------------------------------------------

/// One call of either replica on one of the orders.
#[derive(Clone, Debug)]
enum Step {
    Pay,
    Note,
    Process,
    Ship,
    Deliver,
    Cancel,
    Refund,
}

fn arb_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        Just(Step::Pay),
        Just(Step::Note),
        Just(Step::Process),
        Just(Step::Ship),
        Just(Step::Deliver),
        Just(Step::Cancel),
        Just(Step::Refund),
    ]
}

impl Replicas {
    /// What `step` asks of `order`, as a caller who read it would ask.
    async fn operation(&self, order: OrderId, step: &Step, n: usize) -> Option<Operation> {
        let seen = self.first.get(order).await.ok()?;
        Some(match step {
            Step::Pay => Operation::Pay,
            Step::Note => Operation::UpdateDetails(Box::new(noted(&format!("note {n}")))),
            Step::Process => Operation::StartProcessing,
            Step::Ship => Operation::Ship {
                lines: seen.units(LineQuantities::to_ship),
                carrier: ups(),
                tracking_number: None,
            },
            Step::Deliver => Operation::Deliver {
                shipment_id: seen
                    .shipments()
                    .iter()
                    .find(|s| s.delivered_at.is_none())?
                    .id,
            },
            Step::Cancel => Operation::Cancel {
                reason: Reason::parse("interleaved").unwrap(),
            },
            Step::Refund => Operation::Refund {
                amount: Money::from_minor(100, Currency::USD).unwrap(),
                reason: Reason::parse("goodwill").unwrap(),
            },
        })
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Two replicas writing the same orders in any interleaving: every
    /// write either is in the store exactly as its caller was answered or
    /// wrote nothing; versions stay contiguous; the stored order is its
    /// events; the money the gateway moved is what the orders record.
    #[test]
    fn interleaved_replicas_lose_no_write(
        steps in prop::collection::vec((any::<bool>(), 0..2usize, arb_step()), 1..40),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let world = Replicas::new();
            let orders = [world.place().await.id(), world.place().await.id()];
            for (n, (replica, which, step)) in steps.iter().enumerate() {
                let id = orders[*which];
                let before = world.stored(id).await;
                let Some(operation) = world.operation(id, step, n).await else {
                    continue;
                };
                let service = if *replica { &world.second } else { &world.first };
                let outcome = service.perform(id, None, operation.clone(), &actor()).await;
                if let Err(
                    refusal @ (OrderError::Transition(_) | OrderError::Rule(_) | OrderError::Validation(_)),
                ) = &outcome
                {
                    // Refused on the store's order too: the preview decides
                    // on a fresh read, with nothing kept.
                    prop_assert!(
                        world.first.preview(id, operation, &actor()).await.is_err(),
                        "{step:?} was refused ({refusal}) but the store's order allows it"
                    );
                }
                if let Ok(answer) = outcome {
                    let events = world.store.events(id).await.unwrap();
                    let upto: Vec<_> = events
                        .iter()
                        .take_while(|e| e.sequence <= answer.version())
                        .cloned()
                        .collect();
                    prop_assert!(answer.version() > before.version(), "{step:?} wrote");
                    prop_assert_eq!(Order::from_events(&upto), Some(answer));
                }
                world.stored(id).await;
            }
            let mut recorded = Money::zero(Currency::USD);
            for id in orders {
                let order = world.stored(id).await;
                let payments = order.payments();
                let net = payments.captured().checked_sub(&payments.refunded()).unwrap();
                recorded = recorded.checked_add(&net).unwrap();
            }
            let moved = world.h.gateway.net_captured().unwrap_or(recorded);
            prop_assert_eq!(moved, recorded);
            prop_assert_eq!(
                world.store.lines_kept_wrongly.load(Ordering::SeqCst), 0,
                "a change said it left lines alone that it changed"
            );
            Ok(())
        })?;
    }
}
