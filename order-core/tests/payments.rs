//! Money under concurrency and echoes: two callers paying one order, a
//! recording that loses its race, provider events that echo the engine's own
//! captures and refunds, and failure reports for orders whose payment never
//! started. The races are staged deterministically: a rival call runs
//! through a second `OrderService` (a second process on the same store)
//! just before a chosen commit of the call under test.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use order_core::order::Compensation;
use order_core::ports::{
    Change, FigureGroup, IdempotencyClaim, IdempotencyKey, OrderFigures, OrderPage, OrderQuery,
    OrderStore, PaymentGateway,
};
use order_core::{
    Actor, Currency, EventRecord, GatewayReference, Money, Order, OrderError, OrderId, OrderNumber,
    OrderService, OrderStatus, PaymentEvent, PaymentEventKind, PaymentKind, PaymentStatus, Ports,
    Reason, Scope, ServiceConfig, StoreError, StoredEvent,
};
use order_testkit::builder::{PlaceOrderBuilder, customer};
use order_testkit::fakes::{FakePaymentGateway, KeyHandling};
use order_testkit::{Harness, InMemoryOrderStore};

type RivalCall = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;
type RepeatedCall = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// The in-memory store, where a rival call may run just before a chosen
/// commit to an existing order goes through (so that commit meets a real
/// version conflict).
#[derive(Default)]
struct Interleaved {
    inner: Arc<InMemoryOrderStore>,
    rival: Mutex<Option<(usize, RivalCall)>>,
    repeated: Mutex<Option<(usize, usize, RepeatedCall)>>,
}

impl Interleaved {
    /// Runs `rival` before the commit that follows `skip` commits to
    /// existing orders.
    fn before_commit<F, Fut>(&self, skip: usize, rival: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let call: RivalCall = Box::new(move || Box::pin(rival()));
        *self.rival.lock().unwrap() = Some((skip, call));
    }

    /// Runs `rival` before each of the `times` commits that follow `skip`
    /// commits to existing orders.
    fn before_commits<F, Fut>(&self, skip: usize, times: usize, rival: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let call: RepeatedCall = Arc::new(move || Box::pin(rival()));
        *self.repeated.lock().unwrap() = Some((skip, times, call));
    }

    fn repeated_due(&self) -> Option<RepeatedCall> {
        let mut armed = self.repeated.lock().unwrap();
        match armed.take() {
            Some((0, times, call)) => {
                if times > 1 {
                    *armed = Some((0, times - 1, call.clone()));
                }
                Some(call)
            }
            Some((skip, times, call)) => {
                *armed = Some((skip - 1, times, call));
                None
            }
            None => None,
        }
    }

    fn due(&self) -> Option<RivalCall> {
        let mut armed = self.rival.lock().unwrap();
        match armed.take() {
            Some((0, call)) => Some(call),
            Some((skip, call)) => {
                *armed = Some((skip - 1, call));
                None
            }
            None => None,
        }
    }
}

#[async_trait]
impl OrderFigures for Interleaved {
    async fn figures(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<FigureGroup>, StoreError> {
        self.inner.figures(from, to).await
    }
}

#[async_trait]
impl OrderStore for Interleaved {
    async fn get(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        self.inner.get(id).await
    }
    async fn get_by_number(&self, number: &OrderNumber) -> Result<Option<Order>, StoreError> {
        self.inner.get_by_number(number).await
    }
    async fn commit(&self, change: Change<'_>) -> Result<(), StoreError> {
        if change.expected_version > 0 {
            if let Some(rival) = self.due() {
                rival().await;
            }
            if let Some(rival) = self.repeated_due() {
                rival().await;
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
        id: order_core::CompensationId,
        resolution: &order_core::order::Resolution,
    ) -> Result<Option<Compensation>, StoreError> {
        self.inner.resolve_compensation(id, resolution).await
    }
}

/// The service under test and, on the same store, a second process.
struct World {
    h: Harness,
    store: Arc<Interleaved>,
    service: OrderService,
    /// The gateway the second process talks to (the first's, unless the
    /// world was built with a gateway client of its own).
    rival_gateway: Arc<FakePaymentGateway>,
    rival_config: ServiceConfig,
}

impl World {
    fn new() -> Self {
        Self::build(false, ServiceConfig::default())
    }

    /// With `own_gateway`, the second process has a gateway client of its
    /// own; `rival_config` is its configuration.
    fn build(own_gateway: bool, rival_config: ServiceConfig) -> Self {
        let store = Arc::new(Interleaved::default());
        let h = Harness::with_store(store.clone());
        let service = h.service();
        let rival_gateway = if own_gateway {
            Arc::new(FakePaymentGateway::default())
        } else {
            h.gateway.clone()
        };
        Self {
            h,
            store,
            service,
            rival_gateway,
            rival_config,
        }
    }

    /// The second process: the same store (without the staged race), the
    /// same fakes but its gateway client.
    fn rival(&self) -> OrderService {
        let payments: Arc<dyn PaymentGateway> = self.rival_gateway.clone();
        OrderService::new(
            Ports {
                store: self.store.inner.clone(),
                payments,
                ..self.h.ports()
            },
            self.rival_config,
        )
    }

    async fn place(&self) -> Order {
        let shirt = self.h.product("TSHIRT");
        self.h.inventory.set_on_hand(&shirt.sku, 10);
        let request = PlaceOrderBuilder::new(customer(1)).line(&shirt, 1).build();
        self.service.place(request, None, &actor()).await.unwrap()
    }

    /// Captures made at the gateways, minus refunds.
    fn gateway_captures(&self) -> usize {
        let mut ops = self.h.gateway.operations();
        if !Arc::ptr_eq(&self.rival_gateway, &self.h.gateway) {
            ops.extend(self.rival_gateway.operations());
        }
        let captures = ops.iter().filter(|o| o.kind == "capture").count();
        let refunds = ops.iter().filter(|o| o.kind == "refund").count();
        captures - refunds
    }

    async fn compensations(&self) -> Vec<Compensation> {
        self.store.compensations().await.unwrap()
    }
}

fn actor() -> Actor {
    Actor::parse("tester").unwrap()
}

fn usd(minor: i128) -> Money {
    Money::from_minor(minor, Currency::USD).unwrap()
}

fn reference(text: &str) -> GatewayReference {
    GatewayReference::parse(text).unwrap()
}

fn last_reference(gateway: &FakePaymentGateway, kind: &str) -> GatewayReference {
    gateway
        .operations()
        .iter()
        .rev()
        .find(|o| o.kind == kind)
        .map(|o| o.reference.clone())
        .unwrap()
}

fn event(id: &str, order: &Order, kind: PaymentEventKind) -> PaymentEvent {
    PaymentEvent {
        event_id: id.into(),
        order_id: order.id(),
        kind,
    }
}

// ---- two callers, one order -------------------------------------------------

/// Two processes receive `pay` for one order at the same moment: the second
/// pays in full between the first one's read and its first commit. Whatever
/// references the gateway answers with (one operation per key; a new
/// operation per call named after the key; a new operation per call with a
/// new name), and whether the two share a gateway client, the money is taken
/// once and recorded: the first caller is refused before it reaches the
/// gateway. (Before: both answered the order paid, two captures were made
/// and one was never recorded when the references matched.)
#[tokio::test]
async fn two_callers_paying_one_order_at_once_take_its_money_once_whatever_the_gateway_answers() {
    for own_gateway in [false, true] {
        for keys in [
            KeyHandling::Deduplicate,
            KeyHandling::NewOperationSameReference,
            KeyHandling::NewOperationNewReference,
        ] {
            let world = World::build(own_gateway, ServiceConfig::default());
            world.h.gateway.handle_keys(keys);
            world.rival_gateway.handle_keys(keys);
            let order = world.place().await;
            let id = order.id();
            let rival = world.rival();
            let rival_paid = Arc::new(Mutex::new(None));
            let outcome = rival_paid.clone();
            world.store.before_commit(0, move || async move {
                let paid = rival.pay(id, &Actor::parse("rival").unwrap()).await;
                *outcome.lock().unwrap() = Some(paid.map(|o| o.payment_status()));
            });

            let first = world.service.pay(id, &actor()).await;
            let case = format!("{keys:?}, own gateway client: {own_gateway}");
            let rival_paid = rival_paid.lock().unwrap().take();
            assert!(
                matches!(rival_paid, Some(Ok(PaymentStatus::Paid))),
                "{case}: {rival_paid:?}"
            );
            assert!(
                matches!(first, Err(OrderError::Transition(_))),
                "{case}: {first:?}"
            );
            let stored = world.service.get(id).await.unwrap();
            assert_eq!(
                stored.payments().captured(),
                stored.totals().total,
                "{case}"
            );
            assert_eq!(
                world.gateway_captures(),
                1,
                "{case}: every capture at the gateway is the recorded one"
            );
        }
    }
}

/// Checkout claims its attempt before any money moves: a caller arriving
/// while another one's attempt is in flight is refused and reaches no
/// gateway.
#[tokio::test]
async fn a_checkout_while_another_is_in_flight_is_refused_before_the_gateway() {
    let world = World::new();
    let order = world.place().await;
    let id = order.id();
    let rival = world.rival();
    let refused = Arc::new(Mutex::new(None));
    let outcome = refused.clone();
    // The first caller's second commit records what the gateway answered;
    // the rival arrives after its start committed.
    world.store.before_commit(1, move || async move {
        let paid = rival.pay(id, &Actor::parse("rival").unwrap()).await;
        *outcome.lock().unwrap() = Some(paid.map(|o| o.payment_status()));
    });
    let paid = world.service.pay(id, &actor()).await.unwrap();
    assert_eq!(paid.payment_status(), PaymentStatus::Paid);
    let rival = refused.lock().unwrap().take().unwrap();
    assert!(matches!(rival, Err(OrderError::Transition(_))), "{rival:?}");
    assert_eq!(world.gateway_captures(), 1);
    assert_eq!(
        world.h.gateway.operations().len(),
        2,
        "one authorize, one capture"
    );
}

/// A caller that died after claiming its attempt leaves it `pending`; once
/// the attempt is older than the idempotency lease a new checkout resumes
/// it with the same gateway keys, so the gateway answers with the money it
/// already took instead of taking it again.
#[tokio::test]
async fn an_abandoned_attempt_is_resumed_with_its_own_keys_after_the_lease() {
    let world = World::new();
    let order = world.place().await;
    let id = order.id();
    // The first caller claims the attempt and charges, then dies while
    // recording: its call never finishes and is dropped.
    world.store.before_commit(1, std::future::pending::<()>);
    {
        let caller = actor();
        let mut call = std::pin::pin!(world.service.pay(id, &caller));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(call.as_mut().poll(&mut cx).is_pending(), "the caller hangs");
    }
    let stuck = world.service.get(id).await.unwrap();
    assert_eq!(stuck.payment_status(), PaymentStatus::Pending);
    assert_eq!(world.h.gateway.operations().len(), 2, "money was taken");

    let early = world.service.pay(id, &actor()).await;
    assert!(matches!(early, Err(OrderError::Transition(_))), "{early:?}");

    world.h.clock.advance(chrono::Duration::seconds(61));
    let resumed = world.service.pay(id, &actor()).await.unwrap();
    assert_eq!(resumed.status(), OrderStatus::Confirmed);
    assert_eq!(resumed.payments().captured(), resumed.totals().total);
    assert_eq!(
        world.h.gateway.operations().len(),
        2,
        "the resumed attempt replays the operations already made"
    );
}

// ---- a recording that loses its race ---------------------------------------

/// The rival cancels between the capture and its recording: the capture is
/// refunded at the gateway and the cancellation stands.
#[tokio::test]
async fn a_capture_whose_recording_loses_to_a_cancellation_is_refunded() {
    let world = World::new();
    let order = world.place().await;
    let id = order.id();
    let rival = world.rival();
    world.store.before_commit(1, move || async move {
        let reason = Reason::parse("changed my mind").unwrap();
        rival
            .cancel(id, None, reason, &Actor::parse("rival").unwrap())
            .await
            .unwrap();
    });
    let lost = world.service.pay(id, &actor()).await;
    assert!(
        matches!(lost, Err(OrderError::VersionConflict { .. })),
        "{lost:?}"
    );
    let stored = world.service.get(id).await.unwrap();
    assert_eq!(stored.status(), OrderStatus::Cancelled);
    assert!(stored.payments().captured().is_zero());
    assert_eq!(world.gateway_captures(), 0, "the capture was refunded");
    assert!(world.compensations().await.is_empty());
}

/// Every try to record the payment loses to an unrelated change (the notes,
/// four times in a row): the capture is refunded and the attempt is closed
/// as failed, so the next checkout is a new attempt with new gateway keys,
/// never a replay of the capture just refunded.
#[tokio::test]
async fn a_checkout_that_keeps_losing_gives_back_and_closes_its_attempt() {
    let world = World::new();
    let order = world.place().await;
    let id = order.id();
    let rival = world.rival();
    world.store.before_commits(1, 4, move || {
        let rival = rival.clone();
        async move {
            let notes = order_core::Notes::parse("changed concurrently").unwrap();
            let change = order_core::DetailsChange {
                notes: Some(Some(notes)),
                ..order_core::DetailsChange::default()
            };
            rival
                .update_details(id, None, change, &Actor::parse("rival").unwrap())
                .await
                .unwrap();
        }
    });
    let lost = world.service.pay(id, &actor()).await;
    assert!(
        matches!(lost, Err(OrderError::VersionConflict { .. })),
        "{lost:?}"
    );
    let closed = world.service.get(id).await.unwrap();
    assert_eq!(closed.payment_status(), PaymentStatus::Failed);
    assert_eq!(world.gateway_captures(), 0, "the capture was refunded");

    world.h.clock.advance(chrono::Duration::seconds(61));
    let paid = world.service.pay(id, &actor()).await.unwrap();
    assert_eq!(paid.payment_status(), PaymentStatus::Paid);
    assert_eq!(paid.payment_attempts(), 2);
    assert_eq!(world.gateway_captures(), 1, "a new capture, not a replay");
}

/// A resumption of the same attempt (another process, after the lease)
/// records the payment first. With a gateway that deduplicates keys its
/// entry is this very operation (same key, same reference), so the caller
/// answers the order as paid and gives nothing back; with a gateway that
/// made a second operation under the key, the caller's own capture is
/// refunded.
#[tokio::test]
async fn a_recording_that_loses_to_a_resumption_gives_back_only_money_the_order_does_not_hold() {
    for keys in [
        KeyHandling::Deduplicate,
        KeyHandling::NewOperationNewReference,
    ] {
        let world = World::build(
            false,
            ServiceConfig {
                idempotency_lease: Duration::ZERO,
                ..ServiceConfig::default()
            },
        );
        world.h.gateway.handle_keys(keys);
        let order = world.place().await;
        let id = order.id();
        let rival = world.rival();
        world.store.before_commit(1, move || async move {
            let resumed = rival.pay(id, &Actor::parse("rival").unwrap()).await;
            assert_eq!(resumed.unwrap().payment_status(), PaymentStatus::Paid);
        });
        let outcome = world.service.pay(id, &actor()).await;
        let stored = world.service.get(id).await.unwrap();
        assert_eq!(stored.payments().captured(), stored.totals().total);
        assert_eq!(world.gateway_captures(), 1, "{keys:?}");
        match keys {
            KeyHandling::Deduplicate => {
                assert_eq!(
                    outcome.unwrap(),
                    stored,
                    "the caller's money is the recorded one"
                );
            }
            _ => assert!(outcome.is_err(), "{keys:?}: {outcome:?}"),
        }
        assert!(world.compensations().await.is_empty(), "{keys:?}");
    }
}

/// The provider's `payment.processed` for the engine's own capture arrives
/// between the capture and its recording, and is applied first: it names
/// the very operation, so nothing is refunded.
#[tokio::test]
async fn a_capture_recorded_first_by_the_providers_event_is_kept() {
    let world = World::new();
    let order = world.place().await;
    let id = order.id();
    let rival = world.rival();
    let gateway = world.h.gateway.clone();
    let total = order.totals().total;
    world.store.before_commit(1, move || async move {
        let capture = last_reference(&gateway, "capture");
        let echo = PaymentEvent {
            event_id: "evt_echo".into(),
            order_id: id,
            kind: PaymentEventKind::Processed {
                amount: total,
                reference: capture,
            },
        };
        rival
            .apply_payment_event(&echo, &Actor::parse("provider").unwrap())
            .await
            .unwrap();
    });
    let paid = world.service.pay(id, &actor()).await.unwrap();
    assert_eq!(paid.payment_status(), PaymentStatus::Paid);
    assert_eq!(paid.payments().captured(), total);
    assert_eq!(world.gateway_captures(), 1, "nothing was refunded");
}

// ---- echoes -----------------------------------------------------------------

/// `payment.refunded` echoing a refund the engine made (same gateway
/// reference, a new event id) books nothing and answers the order. (Before:
/// refunded 8.00 for one 4.00 refund.)
#[tokio::test]
async fn a_refund_event_echoing_the_engines_own_refund_is_not_booked_twice() {
    let world = World::new();
    let order = world.place().await;
    world.service.pay(order.id(), &actor()).await.unwrap();
    let refunded = world
        .service
        .refund(
            order.id(),
            usd(400),
            Reason::parse("goodwill").unwrap(),
            &actor(),
        )
        .await
        .unwrap();
    let refund = refunded
        .payments()
        .entries()
        .iter()
        .find(|e| e.kind == PaymentKind::Refund)
        .and_then(|e| e.reference.clone())
        .unwrap();
    let echo = event(
        "evt_refund_echo",
        &order,
        PaymentEventKind::Refunded {
            amount: usd(400),
            reference: refund,
        },
    );
    let answered = world
        .service
        .apply_payment_event(&echo, &actor())
        .await
        .unwrap();
    assert_eq!(answered.payments().refunded(), usd(400));
    assert_eq!(answered, refunded, "the echo changes nothing");
    assert_eq!(
        world
            .service
            .get(order.id())
            .await
            .unwrap()
            .payments()
            .refunded(),
        usd(400)
    );
}

/// The echo of a refund arrives while the engine is still recording it, and
/// is applied first: the engine's recording finds its refund there and
/// books it no second time.
#[tokio::test]
async fn a_refund_whose_echo_is_applied_first_is_booked_once() {
    let world = World::new();
    let order = world.place().await;
    let id = order.id();
    world.service.pay(id, &actor()).await.unwrap();
    let rival = world.rival();
    let gateway = world.h.gateway.clone();
    world.store.before_commit(0, move || async move {
        let echo = PaymentEvent {
            event_id: "evt_refund_first".into(),
            order_id: id,
            kind: PaymentEventKind::Refunded {
                amount: usd(400),
                reference: last_reference(&gateway, "refund"),
            },
        };
        rival
            .apply_payment_event(&echo, &Actor::parse("provider").unwrap())
            .await
            .unwrap();
    });
    let refunded = world
        .service
        .refund(id, usd(400), Reason::parse("goodwill").unwrap(), &actor())
        .await
        .unwrap();
    assert_eq!(refunded.payments().refunded(), usd(400));
    assert!(world.compensations().await.is_empty());
}

/// `payment.processed` echoing the engine's own capture of a paid order
/// answers the order as it is. (Before: 409, as if it were a second
/// payment.)
#[tokio::test]
async fn a_processed_event_echoing_the_engines_own_capture_answers_the_order() {
    let world = World::new();
    let order = world.place().await;
    let paid = world.service.pay(order.id(), &actor()).await.unwrap();
    let capture = paid.payments().capture_reference().cloned().unwrap();
    let echo = event(
        "evt_capture_echo",
        &order,
        PaymentEventKind::Processed {
            amount: paid.totals().total,
            reference: capture,
        },
    );
    let answered = world
        .service
        .apply_payment_event(&echo, &actor())
        .await
        .unwrap();
    assert_eq!(answered, paid);
}

/// A refund reported by the provider with a reference the ledger does not
/// hold is booked as before.
#[tokio::test]
async fn a_refund_made_outside_the_engine_is_still_booked() {
    let world = World::new();
    let order = world.place().await;
    world.service.pay(order.id(), &actor()).await.unwrap();
    let outside = event(
        "evt_refund_outside",
        &order,
        PaymentEventKind::Refunded {
            amount: usd(250),
            reference: reference("re_outside_1"),
        },
    );
    let booked = world
        .service
        .apply_payment_event(&outside, &actor())
        .await
        .unwrap();
    assert_eq!(booked.payments().refunded(), usd(250));
    assert_eq!(booked.payment_status(), PaymentStatus::PartiallyRefunded);
}

// ---- failure reports --------------------------------------------------------

/// `payment.failed` for a pending order whose payment never started is
/// recorded as the provider's attempt, started and failed, as
/// `payment.processed` for the same order is recorded as started and
/// captured: the stock is released and a checkout may follow, with fresh
/// gateway keys. (Before: refused with a transition error, 409.)
#[tokio::test]
async fn a_failure_report_for_an_unpaid_order_records_the_failed_attempt() {
    let world = World::new();
    let order = world.place().await;
    assert_eq!(world.h.inventory.reserved_for(order.id()), 1);
    let failed = event(
        "evt_failed_unpaid",
        &order,
        PaymentEventKind::Failed {
            code: "card_declined".into(),
            reason: "declined by the issuer".into(),
        },
    );
    let recorded = world
        .service
        .apply_payment_event(&failed, &actor())
        .await
        .unwrap();
    assert_eq!(recorded.status(), OrderStatus::Pending);
    assert_eq!(recorded.payment_status(), PaymentStatus::Failed);
    assert_eq!(recorded.payment_attempts(), 1);
    assert_eq!(world.h.inventory.reserved_for(order.id()), 0);
    let types: Vec<_> = world
        .service
        .events(order.id())
        .await
        .unwrap()
        .iter()
        .map(|e| e.event_type())
        .collect();
    assert_eq!(
        types,
        [
            "order.created",
            "order.payment_started",
            "order.payment_failed"
        ]
    );

    let paid = world.service.pay(order.id(), &actor()).await.unwrap();
    assert_eq!(paid.status(), OrderStatus::Confirmed);
    assert_eq!(paid.payment_attempts(), 2);
    assert!(world.h.inventory.committed(order.id()));
}

fn capture_on_processing() -> ServiceConfig {
    ServiceConfig {
        capture: order_core::CaptureMode::OnProcessing,
        ..ServiceConfig::default()
    }
}

#[tokio::test]
async fn a_processing_capture_that_loses_to_an_unrelated_change_is_recorded_on_the_fresh_order() {
    let world = World::build(false, capture_on_processing());
    let service = world.h.service_with(capture_on_processing());
    let order = world.place().await;
    let id = order.id();
    service.pay(id, &actor()).await.unwrap();
    let rival = world.rival();
    world.store.before_commit(0, move || async move {
        let change = order_core::DetailsChange {
            notes: Some(Some(order_core::Notes::parse("leave at the door").unwrap())),
            ..order_core::DetailsChange::default()
        };
        rival
            .update_details(id, None, change, &Actor::parse("rival").unwrap())
            .await
            .unwrap();
    });
    let processing = service.start_processing(id, None, &actor()).await.unwrap();
    assert_eq!(processing.status(), OrderStatus::Processing);
    assert_eq!(processing.payments().captured(), order.totals().total);
    assert_eq!(
        processing.notes().map(|n| n.as_str()),
        Some("leave at the door")
    );
    assert_eq!(world.gateway_captures(), 1);
}

#[tokio::test]
async fn a_processing_capture_that_loses_to_a_cancellation_is_refunded() {
    let world = World::build(false, capture_on_processing());
    let service = world.h.service_with(capture_on_processing());
    let order = world.place().await;
    let id = order.id();
    service.pay(id, &actor()).await.unwrap();
    let rival = world.rival();
    world.store.before_commit(0, move || async move {
        let reason = Reason::parse("changed my mind").unwrap();
        rival
            .cancel(id, None, reason, &Actor::parse("rival").unwrap())
            .await
            .unwrap();
    });
    let lost = service.start_processing(id, None, &actor()).await;
    assert!(lost.is_err(), "{lost:?}");
    let stored = service.get(id).await.unwrap();
    assert_eq!(stored.status(), OrderStatus::Cancelled);
    assert_eq!(world.gateway_captures(), 0, "the capture was refunded");
}

/// A customer reaches only their own orders: paying another customer's
/// order answers it as missing, with no gateway called and nothing
/// written, from the one read the payment starts with.
#[tokio::test]
async fn a_customer_paying_another_customers_order_finds_nothing_and_nothing_is_charged() {
    let world = World::new();
    let order = world.place().await;
    let refused = world
        .service
        .pay_in(order.id(), Scope::Customer(customer(2)), &actor())
        .await;
    assert!(
        matches!(refused, Err(OrderError::NotFound(_))),
        "{refused:?}"
    );
    assert!(world.h.gateway.operations().is_empty());
    let unchanged = world.service.get(order.id()).await.unwrap();
    assert_eq!(unchanged.version(), order.version());

    let paid = world
        .service
        .pay_in(order.id(), Scope::Customer(customer(1)), &actor())
        .await
        .unwrap();
    assert_eq!(paid.payment_status(), PaymentStatus::Paid);
}
