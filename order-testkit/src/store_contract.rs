//! Behaviour every [`OrderStore`] must exhibit. Each function is one clause of
//! the contract documented on the trait; adapters run all of them through
//! [`store_contract!`](crate::store_contract!), one test per clause, each on a
//! fresh, empty store.
//!
//! The cases panic (assert) on a broken clause: they are test code.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use order_core::order::{Compensation, Resolution};
use order_core::ports::{
    Change, FigureGroup, IdempotencyClaim, IdempotencyKey, OrderQuery, OrderStore, SortOrder,
    StockEffect, StockItem, StockLevel, StockLevels,
};
use order_core::{
    Actor, Carrier, Command, CompensationId, Currency, GatewayReference, LineQuantity, Money,
    Order, OrderEvent, OrderId, OrderNumber, OrderStatus, PaymentEntry, PaymentEntryId,
    PaymentKind, PaymentStatus, Reason, ShipmentId, StoreError,
};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, TestRunner};
use uuid::Uuid;

use crate::builder::{OrderBuilder, customer, follow, new_order_change};
use crate::strategy::{arb_lived_order, arb_order};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

fn usd(minor: i128) -> Money {
    Money::from_minor(minor, Currency::USD).unwrap_or_else(|_| Money::zero(Currency::USD))
}

async fn insert(store: &dyn OrderStore, order: &Order, record: &order_core::EventRecord) {
    store
        .commit(new_order_change(order, record))
        .await
        .expect("inserting a new order succeeds");
}

fn cancelled(order: &Order) -> (Order, Vec<order_core::EventRecord>) {
    let reason = Reason::parse("customer asked").expect("valid reason");
    let events = order
        .decide(&Command::Cancel { reason }, t0())
        .expect("a pending order can be cancelled");
    follow(order, events, t0() + chrono::Duration::minutes(1))
}

async fn update(
    store: &dyn OrderStore,
    before: &Order,
    after: &Order,
    records: &[order_core::EventRecord],
) -> Result<(), StoreError> {
    store
        .commit(Change {
            order: after,
            expected_version: before.version(),
            events: records,
            idempotency_key: None,
            inbound_event: None,
            lines_changed: !after.shares_lines_with(before),
            stock: &[],
        })
        .await
}

/// A committed order reads back equal, by id and by number.
pub async fn insert_then_get_round_trips(store: &dyn OrderStore) {
    let (order, record) = OrderBuilder::default()
        .line("A-1", usd(1999), 2)
        .line("B-2", usd(5), 3)
        .build();
    insert(store, &order, &record).await;
    assert_eq!(
        store.get(order.id()).await.expect("get"),
        Some(order.clone())
    );
    assert_eq!(
        store
            .get_by_number(order.number())
            .await
            .expect("get by number"),
        Some(order)
    );
}

/// An unknown id or number reads as `None`, not an error.
pub async fn get_of_unknown_id_is_none(store: &dyn OrderStore) {
    let (order, _) = OrderBuilder::default().build();
    assert_eq!(store.get(order.id()).await.expect("get"), None);
    let number = OrderNumber::parse("ORD-0000-404404").expect("valid number");
    assert_eq!(
        store.get_by_number(&number).await.expect("get by number"),
        None
    );
}

/// Inserting an id twice is `AlreadyExists`.
pub async fn duplicate_insert_is_already_exists(store: &dyn OrderStore) {
    let (order, record) = OrderBuilder::default().build();
    insert(store, &order, &record).await;
    let again = store.commit(new_order_change(&order, &record)).await;
    assert!(
        matches!(again, Err(StoreError::AlreadyExists { .. })),
        "{again:?}"
    );
}

/// Two orders may not share a number.
pub async fn duplicate_number_is_already_exists(store: &dyn OrderStore) {
    let number = OrderNumber::parse("ORD-2026-777777").expect("valid number");
    let (first, r1) = OrderBuilder::default().number(number.clone()).build();
    let (second, r2) = OrderBuilder::default().number(number).build();
    insert(store, &first, &r1).await;
    let again = store
        .commit(Change {
            order: &second,
            expected_version: 0,
            events: std::slice::from_ref(&r2),
            idempotency_key: None,
            inbound_event: None,
            lines_changed: true,
            stock: &[],
        })
        .await;
    assert!(
        matches!(again, Err(StoreError::AlreadyExists { .. })),
        "{again:?}"
    );
    assert_eq!(store.get(second.id()).await.expect("get"), None);
}

/// A change that touches no line leaves the stored lines alone, and one
/// that replaces them rewrites them: both read back whole.
pub async fn lines_are_rewritten_only_by_changes_that_touch_them(store: &dyn OrderStore) {
    let (order, record) = OrderBuilder::default()
        .line("A-1", usd(1999), 2)
        .line("B-2", usd(5), 3)
        .build();
    insert(store, &order, &record).await;
    let (edit, _) = OrderBuilder::default()
        .line("A-1", usd(1999), 1)
        .line("C-3", usd(700), 4)
        .build();
    let (edited, records) = follow(
        &order,
        vec![OrderEvent::LinesChanged {
            lines: edit.lines().to_vec(),
            totals: *edit.totals(),
            reservation_expires_at: None,
        }],
        t0() + chrono::Duration::minutes(1),
    );
    assert!(!edited.shares_lines_with(&order));
    update(store, &order, &edited, &records)
        .await
        .expect("the edit commits");
    assert_eq!(
        store.get(order.id()).await.expect("get"),
        Some(edited.clone())
    );
    let start = Command::StartPayment {
        reservation_expires_at: None,
        payment_method: None,
    };
    let events = edited
        .decide(&start, t0())
        .expect("a pending order starts a payment");
    let (paying, records) = follow(&edited, events, t0() + chrono::Duration::minutes(2));
    assert!(
        paying.shares_lines_with(&edited),
        "starting a payment touches no line"
    );
    update(store, &edited, &paying, &records)
        .await
        .expect("the payment start commits");
    assert_eq!(store.get(order.id()).await.expect("get"), Some(paying));
}

/// A change decided against the stored version is written.
pub async fn update_at_the_read_version_succeeds(store: &dyn OrderStore) {
    let (order, record) = OrderBuilder::default().build();
    insert(store, &order, &record).await;
    let (after, records) = cancelled(&order);
    update(store, &order, &after, &records)
        .await
        .expect("update at the read version");
    let stored = store.get(order.id()).await.expect("get").expect("exists");
    assert_eq!(stored, after);
    assert_eq!(stored.status(), OrderStatus::Cancelled);
    assert_eq!(
        stored.history().len(),
        2,
        "the cancellation is in the history"
    );
}

/// A change decided against an older version is a conflict and writes
/// nothing: no state, no event.
pub async fn stale_version_update_is_a_conflict(store: &dyn OrderStore) {
    let (order, record) = OrderBuilder::default().build();
    insert(store, &order, &record).await;
    let (after, records) = cancelled(&order);
    update(store, &order, &after, &records)
        .await
        .expect("first writer wins");
    let (late, late_records) = cancelled(&order);
    let result = update(store, &order, &late, &late_records).await;
    assert!(
        matches!(
            result,
            Err(StoreError::VersionConflict {
                expected: 1,
                actual: 2,
                ..
            })
        ),
        "{result:?}"
    );
    assert_eq!(store.get(order.id()).await.expect("get"), Some(after));
    assert_eq!(store.events(order.id()).await.expect("events").len(), 2);
}

/// Updating an order that was never inserted is a conflict.
pub async fn update_of_a_missing_order_is_a_conflict(store: &dyn OrderStore) {
    let (order, _) = OrderBuilder::default().build();
    let (after, records) = cancelled(&order);
    let result = update(store, &order, &after, &records).await;
    assert!(
        matches!(result, Err(StoreError::VersionConflict { .. })),
        "{result:?}"
    );
    assert_eq!(store.get(order.id()).await.expect("get"), None);
}

/// Events are kept per order by sequence, and rebuild the order exactly.
pub async fn events_rebuild_the_order(store: &dyn OrderStore) {
    let (order, record) = OrderBuilder::default().line("A-1", usd(250), 4).build();
    insert(store, &order, &record).await;
    let (after, records) = cancelled(&order);
    update(store, &order, &after, &records)
        .await
        .expect("update");
    let events = store.events(order.id()).await.expect("events");
    let sequences: Vec<u64> = events.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, vec![1, 2]);
    assert_eq!(events[1].event_type(), "order.cancelled");
    assert_eq!(Order::from_events(&events), Some(after));
}

/// The feed has strictly increasing positions and pages by `after`.
pub async fn feed_is_ordered_and_pages(store: &dyn OrderStore) {
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (order, record) = OrderBuilder::default().build();
        insert(store, &order, &record).await;
        ids.push(order.id());
    }
    let all = store.feed(0, 100).await.expect("feed");
    assert_eq!(all.len(), 3);
    assert!(all.windows(2).all(|w| w[0].position < w[1].position));
    let order_ids: Vec<OrderId> = all.iter().map(|e| e.record.order_id).collect();
    assert_eq!(order_ids, ids, "the feed follows commit order");
    let rest = store
        .feed(all[0].position, 100)
        .await
        .expect("feed after the first");
    assert_eq!(rest, all[1..].to_vec());
    let one = store.feed(0, 1).await.expect("feed limit");
    assert_eq!(one.len(), 1);
}

/// Unpublished events come oldest first until marked, in whatever order
/// they are marked.
pub async fn unpublished_until_marked(store: &dyn OrderStore) {
    let (order, record) = OrderBuilder::default().build();
    insert(store, &order, &record).await;
    let (after, records) = cancelled(&order);
    update(store, &order, &after, &records)
        .await
        .expect("update");
    let pending = store.unpublished(10).await.expect("unpublished");
    assert_eq!(pending.len(), 2);
    store
        .mark_published(&[pending[1].position])
        .await
        .expect("mark the newer");
    let left = store.unpublished(10).await.expect("unpublished");
    assert_eq!(
        left,
        pending[..1].to_vec(),
        "an older event marked out of turn"
    );
    store
        .mark_published(&[pending[0].position, 999_999])
        .await
        .expect("mark");
    let left = store.unpublished(10).await.expect("unpublished");
    assert_eq!(left, [], "every event marked");
}

/// A new key is claimed; a completed key answers with its order; another
/// request under the key is a mismatch.
pub async fn idempotency_key_returns_the_first_answer(store: &dyn OrderStore) {
    let key = IdempotencyKey::parse("key-1").expect("valid key");
    let lease = Duration::from_secs(60);
    let claim = store
        .claim_idempotency_key(&key, "fp-a", t0(), lease)
        .await
        .expect("claim");
    assert_eq!(claim, IdempotencyClaim::Claimed);
    let (order, record) = OrderBuilder::default().build();
    store
        .commit(Change {
            order: &order,
            expected_version: 0,
            events: std::slice::from_ref(&record),
            idempotency_key: Some(&key),
            inbound_event: None,
            lines_changed: true,
            stock: &[],
        })
        .await
        .expect("commit completes the key");
    let again = store
        .claim_idempotency_key(&key, "fp-a", t0(), lease)
        .await
        .expect("claim again");
    assert_eq!(
        again,
        IdempotencyClaim::Completed {
            order_id: order.id()
        }
    );
    let other = store
        .claim_idempotency_key(&key, "fp-b", t0(), lease)
        .await
        .expect("claim other");
    assert_eq!(other, IdempotencyClaim::Mismatch);
}

/// A claimed key is in flight until its lease runs out, then claimable.
pub async fn idempotency_key_in_flight_until_the_lease_ends(store: &dyn OrderStore) {
    let key = IdempotencyKey::parse("key-2").expect("valid key");
    let lease = Duration::from_secs(60);
    assert_eq!(
        store
            .claim_idempotency_key(&key, "fp", t0(), lease)
            .await
            .expect("claim"),
        IdempotencyClaim::Claimed
    );
    assert_eq!(
        store
            .claim_idempotency_key(&key, "fp", t0() + chrono::Duration::seconds(10), lease)
            .await
            .expect("claim"),
        IdempotencyClaim::InFlight
    );
    assert_eq!(
        store
            .claim_idempotency_key(&key, "fp", t0() + chrono::Duration::seconds(61), lease)
            .await
            .expect("claim"),
        IdempotencyClaim::Claimed
    );
}

/// A released claim can be claimed again at once.
pub async fn released_idempotency_key_is_claimable(store: &dyn OrderStore) {
    let key = IdempotencyKey::parse("key-3").expect("valid key");
    let lease = Duration::from_secs(60);
    store
        .claim_idempotency_key(&key, "fp", t0(), lease)
        .await
        .expect("claim");
    store.release_idempotency_key(&key).await.expect("release");
    assert_eq!(
        store
            .claim_idempotency_key(&key, "fp", t0(), lease)
            .await
            .expect("claim"),
        IdempotencyClaim::Claimed
    );
}

/// An inbound event is processed once; the duplicate writes nothing.
pub async fn inbound_event_is_processed_once(store: &dyn OrderStore) {
    let (order, record) = OrderBuilder::default().build();
    insert(store, &order, &record).await;
    assert!(
        !store
            .inbound_event_processed("evt-1")
            .await
            .expect("lookup")
    );
    let (after, records) = cancelled(&order);
    store
        .commit(Change {
            order: &after,
            expected_version: 1,
            events: &records,
            idempotency_key: None,
            inbound_event: Some("evt-1"),
            lines_changed: true,
            stock: &[],
        })
        .await
        .expect("first delivery");
    assert!(
        store
            .inbound_event_processed("evt-1")
            .await
            .expect("lookup")
    );
    let (next, more) = follow(&after, Vec::new(), t0());
    let duplicate = store
        .commit(Change {
            order: &next,
            expected_version: after.version(),
            events: &more,
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
}

/// Listing filters by customer, status and creation range.
pub async fn list_filters(store: &dyn OrderStore) {
    let alice = customer(1);
    let bob = customer(2);
    let (a1, r1) = OrderBuilder::default()
        .customer(alice)
        .created_at(t0())
        .build();
    let (a2, r2) = OrderBuilder::default()
        .customer(alice)
        .created_at(t0() + chrono::Duration::hours(1))
        .build();
    let (b1, r3) = OrderBuilder::default()
        .customer(bob)
        .created_at(t0() + chrono::Duration::hours(2))
        .build();
    for (o, r) in [(&a1, &r1), (&a2, &r2), (&b1, &r3)] {
        insert(store, o, r).await;
    }
    let (a2_cancelled, records) = cancelled(&a2);
    update(store, &a2, &a2_cancelled, &records)
        .await
        .expect("cancel");

    let ids =
        |page: order_core::ports::OrderPage| page.orders.iter().map(Order::id).collect::<Vec<_>>();
    let by_customer = store
        .list(&OrderQuery {
            customer_id: Some(alice),
            ..OrderQuery::default()
        })
        .await
        .expect("list");
    assert_eq!(ids(by_customer), vec![a2.id(), a1.id()], "newest first");
    let by_status = store
        .list(&OrderQuery {
            status: Some(OrderStatus::Pending),
            sort: SortOrder::OldestFirst,
            ..OrderQuery::default()
        })
        .await
        .expect("list");
    assert_eq!(ids(by_status), vec![a1.id(), b1.id()]);
    let by_range = store
        .list(&OrderQuery {
            created_from: Some(t0() + chrono::Duration::minutes(30)),
            created_to: Some(t0() + chrono::Duration::hours(2)),
            ..OrderQuery::default()
        })
        .await
        .expect("list");
    assert_eq!(
        ids(by_range),
        vec![a2.id()],
        "from is inclusive, to exclusive"
    );
}

/// Keyset pages cover every order once, in order, in both directions, even
/// when orders share a creation time.
pub async fn list_pages_without_gaps_or_repeats(store: &dyn OrderStore) {
    let mut all = Vec::new();
    for i in 0..7 {
        // Pairs share a timestamp, so the id must break ties.
        let at = t0() + chrono::Duration::minutes(i / 2);
        let (order, record) = OrderBuilder::default().created_at(at).build();
        insert(store, &order, &record).await;
        all.push((order.created_at(), order.id()));
    }
    all.sort();
    for sort in [SortOrder::OldestFirst, SortOrder::NewestFirst] {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = store
                .list(&OrderQuery {
                    sort,
                    after,
                    limit: 3,
                    ..OrderQuery::default()
                })
                .await
                .expect("list");
            seen.extend(page.orders.iter().map(|o| (o.created_at(), o.id())));
            match page.next {
                Some(cursor) => after = Some(cursor),
                None => break,
            }
        }
        let mut expected = all.clone();
        if sort == SortOrder::NewestFirst {
            expected.reverse();
        }
        assert_eq!(seen, expected, "{sort:?}");
    }
}

/// Writes a new order with every record since its placement.
async fn insert_lived(store: &dyn OrderStore, order: &Order, records: &[order_core::EventRecord]) {
    store
        .commit(Change {
            order,
            expected_version: 0,
            events: records,
            idempotency_key: None,
            inbound_event: None,
            lines_changed: true,
            stock: &[],
        })
        .await
        .expect("inserting a new order succeeds");
}

/// `order` (with `records` since its placement) after `commands`, each
/// decided `step` after the one before: the order and all its records.
fn lived(
    (order, placed): (Order, order_core::EventRecord),
    steps: &[(chrono::Duration, Command)],
) -> (Order, Vec<order_core::EventRecord>) {
    let mut at = order.created_at();
    let mut order = order;
    let mut records = vec![placed];
    for (after, command) in steps {
        at += *after;
        let events = order
            .decide(command, at)
            .unwrap_or_else(|e| panic!("{command:?}: {e}"));
        let (next, new) = follow(&order, events, at);
        order = next;
        records.extend(new);
    }
    (order, records)
}

/// A payment attempt, holding the stock again (a failed attempt released
/// it).
fn start_payment() -> Command {
    Command::StartPayment {
        reservation_expires_at: Some(t0() + chrono::Duration::days(30)),
        payment_method: None,
    }
}

fn payment_entry(kind: PaymentKind, amount: Money) -> PaymentEntry {
    PaymentEntry {
        id: PaymentEntryId::new(Uuid::now_v7()).expect("v7"),
        kind,
        amount,
        reference: Some(GatewayReference::parse("contract_ref").expect("reference")),
        idempotency_key: format!("contract-{}-{}", kind.as_str(), amount.minor()),
        reason: (kind == PaymentKind::Refund).then(|| Reason::parse("goodwill").expect("reason")),
        return_id: None,
        at: t0(),
    }
}

fn capture_of(total: Money) -> Command {
    Command::RecordCapture {
        entry: payment_entry(PaymentKind::Capture, total),
    }
}

/// Listing filters by payment status, alone and with a customer or a
/// status, and pages through one payment status without gaps or repeats.
pub async fn list_filters_by_payment_status(store: &dyn OrderStore) {
    let minute = chrono::Duration::minutes(1);
    let mut paid = Vec::new();
    let mut paying = Vec::new();
    for i in 0..7_i64 {
        let who = customer(1 + u64::try_from(i % 2).expect("small"));
        // Pairs share a creation time, so the id must break ties.
        let placed = OrderBuilder::default()
            .customer(who)
            .created_at(t0() + chrono::Duration::minutes(i / 2))
            .build();
        let total = placed.0.totals().total;
        let (order, records) = if i % 3 == 0 {
            lived(placed, &[(minute, start_payment())])
        } else {
            lived(
                placed,
                &[(minute, start_payment()), (minute, capture_of(total))],
            )
        };
        insert_lived(store, &order, &records).await;
        if i % 3 == 0 {
            paying.push(order);
        } else {
            paid.push(order);
        }
    }
    let (unpaid, record) = OrderBuilder::default().created_at(t0()).build();
    insert(store, &unpaid, &record).await;

    let key = |o: &Order| (o.created_at(), o.id());
    let ids = |orders: &[Order]| orders.iter().map(key).collect::<Vec<_>>();
    for sort in [SortOrder::NewestFirst, SortOrder::OldestFirst] {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = store
                .list(&OrderQuery {
                    payment_status: Some(PaymentStatus::Paid),
                    sort,
                    after,
                    limit: 2,
                    ..OrderQuery::default()
                })
                .await
                .expect("list");
            assert!(page.orders.len() <= 2);
            seen.extend(ids(&page.orders));
            match page.next {
                Some(cursor) => after = Some(cursor),
                None => break,
            }
        }
        let mut expected = ids(&paid);
        expected.sort();
        if sort == SortOrder::NewestFirst {
            expected.reverse();
        }
        assert_eq!(seen, expected, "paid orders, {sort:?}");
    }
    let pending = store
        .list(&OrderQuery {
            payment_status: Some(PaymentStatus::Pending),
            sort: SortOrder::OldestFirst,
            ..OrderQuery::default()
        })
        .await
        .expect("list");
    let mut expected = ids(&paying);
    expected.sort();
    assert_eq!(ids(&pending.orders), expected, "payments in flight");
    let alice_paid = store
        .list(&OrderQuery {
            customer_id: Some(customer(1)),
            payment_status: Some(PaymentStatus::Paid),
            sort: SortOrder::OldestFirst,
            ..OrderQuery::default()
        })
        .await
        .expect("list");
    let mut expected: Vec<_> = paid
        .iter()
        .filter(|o| o.customer_id() == customer(1))
        .map(key)
        .collect();
    expected.sort();
    assert_eq!(
        ids(&alice_paid.orders),
        expected,
        "a customer's paid orders"
    );
    let pending_unpaid = store
        .list(&OrderQuery {
            status: Some(OrderStatus::Pending),
            payment_status: Some(PaymentStatus::Unpaid),
            ..OrderQuery::default()
        })
        .await
        .expect("list");
    assert_eq!(ids(&pending_unpaid.orders), vec![key(&unpaid)]);
    let confirmed_pending = store
        .list(&OrderQuery {
            status: Some(OrderStatus::Confirmed),
            payment_status: Some(PaymentStatus::Pending),
            ..OrderQuery::default()
        })
        .await
        .expect("list");
    assert!(confirmed_pending.orders.is_empty(), "both filters apply");
}

/// The sums are per status and currency, over the orders created in
/// `[from, to)`: counts, money of the paid orders, payment attempts and
/// the failed ones, and time from confirmation to delivery.
pub async fn figures_sum_orders_per_status_and_currency(store: &dyn OrderStore) {
    let minute = chrono::Duration::minutes(1);
    let eur = |minor| Money::from_minor(minor, Currency::EUR).expect("eur");
    let declined = || Command::RecordPaymentFailure {
        code: "card_declined".into(),
        reason: "insufficient funds".into(),
    };
    let at = |minutes| t0() + chrono::Duration::minutes(minutes);
    let unpaid = lived(
        OrderBuilder::default()
            .line("A", usd(1_000), 1)
            .created_at(at(0))
            .build(),
        &[],
    );
    let retried = lived(
        OrderBuilder::default()
            .line("B", usd(2_000), 1)
            .created_at(at(1))
            .build(),
        &[
            (minute, start_payment()),
            (minute, declined()),
            (minute, start_payment()),
            (minute, capture_of(usd(2_000))),
        ],
    );
    let shipment = ShipmentId::new(Uuid::now_v7()).expect("v7");
    let delivered = {
        let placed = OrderBuilder::default()
            .line("C", usd(1_500), 2)
            .created_at(at(2))
            .build();
        let line = placed.0.lines()[0].id;
        lived(
            placed,
            &[
                (minute, start_payment()),
                (minute, capture_of(usd(3_000))),
                (minute, Command::StartProcessing),
                (
                    minute,
                    Command::Ship {
                        shipment_id: shipment,
                        lines: vec![LineQuantity {
                            line_id: line,
                            quantity: order_core::Quantity::new(2).expect("2"),
                        }],
                        carrier: Some(Carrier::parse("UPS").expect("carrier")),
                        tracking_number: None,
                    },
                ),
                (
                    chrono::Duration::hours(3) - chrono::Duration::minutes(2),
                    Command::Deliver {
                        shipment_id: shipment,
                    },
                ),
                (
                    minute,
                    Command::Refund {
                        entry: payment_entry(PaymentKind::Refund, usd(500)),
                    },
                ),
            ],
        )
    };
    let paying = lived(
        OrderBuilder::default()
            .line("D", eur(4_000), 1)
            .created_at(at(3))
            .build(),
        &[(minute, start_payment())],
    );
    let before = lived(
        OrderBuilder::default()
            .created_at(t0() - chrono::Duration::seconds(1))
            .build(),
        &[],
    );
    let after = lived(
        OrderBuilder::default()
            .created_at(t0() + chrono::Duration::days(1))
            .build(),
        &[(minute, start_payment()), (minute, capture_of(usd(1_000)))],
    );
    for (order, records) in [&unpaid, &retried, &delivered, &paying, &before, &after] {
        insert_lived(store, order, records).await;
    }

    let mut figures = store
        .figures(t0(), t0() + chrono::Duration::days(1))
        .await
        .expect("figures");
    figures.sort_by_key(|g| (g.status, g.currency));
    let group = |status, currency| FigureGroup::empty(status, currency);
    let expected = vec![
        FigureGroup {
            orders: 1,
            ..group(OrderStatus::Pending, Currency::USD)
        },
        FigureGroup {
            orders: 1,
            payment_attempts: 1,
            ..group(OrderStatus::Pending, Currency::EUR)
        },
        FigureGroup {
            orders: 1,
            paid_orders: 1,
            paid_total: usd(2_000),
            captured: usd(2_000),
            payment_attempts: 2,
            failed_payment_attempts: 1,
            ..group(OrderStatus::Confirmed, Currency::USD)
        },
        FigureGroup {
            orders: 1,
            paid_orders: 1,
            paid_total: usd(3_000),
            captured: usd(3_000),
            refunded: usd(500),
            payment_attempts: 1,
            fulfilled: 1,
            fulfilment_time: chrono::Duration::hours(3),
            ..group(OrderStatus::Delivered, Currency::USD)
        },
    ];
    let mut expected = expected;
    expected.sort_by_key(|g| (g.status, g.currency));
    assert_eq!(figures, expected);
    assert_eq!(
        store
            .figures(
                t0() + chrono::Duration::days(2),
                t0() + chrono::Duration::days(3)
            )
            .await
            .expect("figures"),
        vec![],
        "no orders, no groups"
    );
}

/// A store's sums equal the core's fold of the same orders (as the store
/// reads them back), for 48 generated orders in every state of payment and
/// fulfilment (fixed seed), over the whole range and over parts of it.
pub async fn figures_equal_the_fold_of_the_same_orders(store: &dyn OrderStore) {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        proptest::test_runner::TestRng::deterministic_rng(
            proptest::test_runner::RngAlgorithm::ChaCha,
        ),
    );
    let mut ids = Vec::new();
    for _ in 0..48 {
        let (order, records) = arb_lived_order()
            .new_tree(&mut runner)
            .expect("strategy")
            .current();
        insert_lived(store, &order, &records).await;
        ids.push(order.id());
    }
    let mut stored = Vec::new();
    for id in ids {
        stored.push(store.get(id).await.expect("get").expect("stored"));
    }
    let mut times: Vec<DateTime<Utc>> = stored.iter().map(Order::created_at).collect();
    times.sort();
    let first = times[0];
    let last = times[times.len() - 1] + chrono::Duration::microseconds(1);
    let middle = times[times.len() / 2];
    for (from, to) in [(first, last), (first, middle), (middle, last)] {
        let mut figures = store.figures(from, to).await.expect("figures");
        figures.sort_by_key(|g| (g.status, g.currency));
        let mut expected = FigureGroup::fold(
            stored
                .iter()
                .filter(|o| (from..to).contains(&o.created_at())),
        )
        .expect("fold");
        expected.sort_by_key(|g| (g.status, g.currency));
        assert_eq!(figures, expected, "[{from}, {to})");
    }
}

/// The compensation log keeps what it is given, in order.
pub async fn compensations_are_logged(store: &dyn OrderStore) {
    let (order, _) = OrderBuilder::default().build();
    let entry = Compensation {
        id: CompensationId::new(Uuid::now_v7()).expect("v7"),
        order_id: order.id(),
        step: "void authorization".into(),
        amount: Some(usd(1234)),
        detail: "gateway timed out".into(),
        at: t0(),
        resolution: None,
    };
    store.record_compensation(&entry).await.expect("record");
    assert_eq!(store.compensations().await.expect("list"), vec![entry]);
}

/// A compensation is resolved once: the first resolution stays, a second
/// answers it unchanged, and an unknown id is `None`.
pub async fn a_compensation_is_resolved_once(store: &dyn OrderStore) {
    let (order, _) = OrderBuilder::default().build();
    let entries: Vec<Compensation> = (0..2)
        .map(|n| Compensation {
            id: CompensationId::new(Uuid::now_v7()).expect("v7"),
            order_id: order.id(),
            step: format!("release stock reservation {n}"),
            amount: None,
            detail: "inventory unavailable".into(),
            at: t0(),
            resolution: None,
        })
        .collect();
    for entry in &entries {
        store.record_compensation(entry).await.expect("record");
    }
    let first = Resolution {
        by: Actor::parse("admin:ops-1").expect("actor"),
        at: t0() + chrono::Duration::minutes(5),
        note: Some(Reason::parse("released by hand in the WMS").expect("reason")),
    };
    let second = Resolution {
        by: Actor::parse("admin:ops-2").expect("actor"),
        at: t0() + chrono::Duration::minutes(9),
        note: None,
    };
    let resolved = store
        .resolve_compensation(entries[0].id, &first)
        .await
        .expect("resolve")
        .expect("known");
    assert_eq!(resolved.resolution.as_ref(), Some(&first));
    let again = store
        .resolve_compensation(entries[0].id, &second)
        .await
        .expect("resolve again")
        .expect("known");
    assert_eq!(again, resolved, "the first resolution stays");
    let unknown = CompensationId::new(Uuid::now_v7()).expect("v7");
    assert_eq!(
        store
            .resolve_compensation(unknown, &first)
            .await
            .expect("unknown"),
        None
    );
    let log = store.compensations().await.expect("list");
    assert_eq!(log, vec![resolved, entries[1].clone()]);
}

/// Any valid order round-trips unchanged.
pub async fn round_trip_preserves_any_order(
    store: &dyn OrderStore,
    order: Order,
    record: order_core::EventRecord,
) {
    insert(store, &order, &record).await;
    assert_eq!(store.get(order.id()).await.expect("get"), Some(order));
}

/// Sixteen generated orders (fixed seed) round-trip unchanged.
pub async fn generated_orders_round_trip(store: &dyn OrderStore) {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        proptest::test_runner::TestRng::deterministic_rng(
            proptest::test_runner::RngAlgorithm::ChaCha,
        ),
    );
    for _ in 0..16 {
        let (order, record) = arb_order()
            .new_tree(&mut runner)
            .expect("strategy")
            .current();
        round_trip_preserves_any_order(store, order, record).await;
    }
}

/// An amount in `currency` from decimal text.
fn money(text: &str, currency: Currency) -> Money {
    Money::parse(text, currency).expect("a valid amount")
}

/// The largest amounts the engine keeps (ADR 0006) round-trip unchanged:
/// orders whose unit price is `Money::MAX_UNIT_PRICE` and whose totals reach
/// `Money::MAX_AMOUNT`, in currencies with 0, 2 and 4 decimals, and a
/// capture and a refund of the whole largest total.
pub async fn the_largest_amounts_round_trip(store: &dyn OrderStore) {
    let max_price = |currency| Money::new(Money::MAX_UNIT_PRICE, currency).expect("max price");
    let clf = Currency::parse("CLF").expect("a known currency");
    let orders = [
        // 10^12 × 100 = 10^14, the largest total.
        OrderBuilder::default()
            .line("MAX-USD", max_price(Currency::USD), 100)
            .build(),
        OrderBuilder::default()
            .line("MAX-JPY", max_price(Currency::JPY), 100)
            .build(),
        // Every decimal of the finest currency, just under the bound:
        // 999999999999.9999 × 99 + 10^12 = 99999999999999.9901.
        OrderBuilder::default()
            .line("MAX-CLF-1", money("999999999999.9999", clf), 99)
            .line("MAX-CLF-2", max_price(clf), 1)
            .build(),
    ];
    for (order, record) in &orders {
        let totals = order.totals();
        assert_eq!(
            totals.check_bounds(),
            Ok(()),
            "the case stays within the bounds"
        );
        insert(store, order, record).await;
        assert_eq!(
            store.get(order.id()).await.expect("get").as_ref(),
            Some(order)
        );
    }
    assert_eq!(orders[0].0.totals().total.amount(), Money::MAX_AMOUNT);
    assert_eq!(
        orders[2].0.totals().total,
        money("99999999999999.9901", clf)
    );

    // The largest total captured, then refunded in full.
    let (placed, _) = &orders[0];
    let total = placed.totals().total;
    let entry = |kind, n: u32| order_core::PaymentEntry {
        id: order_core::PaymentEntryId::new(uuid::Uuid::from_u128(
            0x0190_0000_0000_7000_8000_0000_0000_0000 | u128::from(n),
        ))
        .expect("a v7 id"),
        kind,
        amount: total,
        reference: Some(order_core::GatewayReference::parse(&format!("max_{n}")).expect("ref")),
        idempotency_key: format!("max-{n}"),
        reason: None,
        return_id: None,
        at: t0(),
    };
    let mut order = placed.clone();
    for command in [
        Command::StartPayment {
            reservation_expires_at: None,
            payment_method: None,
        },
        Command::RecordCapture {
            entry: entry(order_core::PaymentKind::Capture, 1),
        },
        Command::Refund {
            entry: entry(order_core::PaymentKind::Refund, 2),
        },
    ] {
        let events = order.decide(&command, t0()).expect("the command applies");
        let (after, records) = follow(&order, events, t0());
        update(store, &order, &after, &records)
            .await
            .expect("the change commits");
        order = after;
    }
    assert_eq!(order.payments().captured(), total);
    assert_eq!(order.payments().refunded(), total);
    let events = store.events(order.id()).await.expect("events");
    assert_eq!(Order::from_events(&events).as_ref(), Some(&order));
    assert_eq!(store.get(order.id()).await.expect("get"), Some(order));
}

/// A store that keeps stock: it applies a change's stock effects and
/// administers levels.
pub trait StockedStore: OrderStore + StockLevels {}

impl<T: OrderStore + StockLevels + ?Sized> StockedStore for T {}

fn items(sku: &str, units: u32) -> Vec<StockItem> {
    vec![StockItem {
        sku: order_core::Sku::parse(sku).expect("valid sku"),
        quantity: order_core::Quantity::new(units).expect("valid quantity"),
    }]
}

async fn change_with_stock(
    store: &dyn StockedStore,
    expected_version: u64,
    after: &Order,
    records: &[order_core::EventRecord],
    stock: &[StockEffect],
) -> Result<(), StoreError> {
    store
        .commit(Change {
            order: after,
            expected_version,
            events: records,
            idempotency_key: None,
            inbound_event: None,
            lines_changed: true,
            stock,
        })
        .await
}

fn level(on_hand: u32, reserved: u32) -> Option<StockLevel> {
    Some(StockLevel { on_hand, reserved })
}

/// A reservation commits with the order, and a release with its change.
pub async fn stock_is_held_and_released_with_the_change(store: &dyn StockedStore) {
    let sku = order_core::Sku::parse("STOCK-1").expect("valid sku");
    store.set_on_hand(&sku, 5).await.expect("set level");
    let (order, record) = OrderBuilder::default().line("STOCK-1", usd(100), 2).build();
    let reserve = [StockEffect::Reserve {
        items: items("STOCK-1", 2),
        expires_at: t0(),
    }];
    change_with_stock(store, 0, &order, std::slice::from_ref(&record), &reserve)
        .await
        .expect("insert with a reservation");
    assert_eq!(store.level(&sku).await.expect("level"), level(5, 2));
    let (after, records) = cancelled(&order);
    change_with_stock(
        store,
        order.version(),
        &after,
        &records,
        &[StockEffect::Release],
    )
    .await
    .expect("cancel with a release");
    assert_eq!(store.level(&sku).await.expect("level"), level(5, 0));
}

/// A reservation beyond what is on hand names the short SKU and writes
/// nothing: no order, no event, no hold.
pub async fn a_short_reservation_writes_nothing(store: &dyn StockedStore) {
    let sku = order_core::Sku::parse("STOCK-2").expect("valid sku");
    store.set_on_hand(&sku, 1).await.expect("set level");
    let (order, record) = OrderBuilder::default().line("STOCK-2", usd(100), 2).build();
    let reserve = [StockEffect::Reserve {
        items: items("STOCK-2", 2),
        expires_at: t0(),
    }];
    let result = change_with_stock(store, 0, &order, std::slice::from_ref(&record), &reserve).await;
    match result {
        Err(StoreError::OutOfStock(short)) => {
            assert_eq!(short.len(), 1);
            assert_eq!(short[0].sku, sku);
            assert_eq!((short[0].requested, short[0].available), (2, 1));
        }
        other => panic!("expected OutOfStock, got {other:?}"),
    }
    assert_eq!(store.get(order.id()).await.expect("get"), None);
    assert!(store.events(order.id()).await.expect("events").is_empty());
    assert_eq!(store.level(&sku).await.expect("level"), level(1, 0));
}

/// Committed stock leaves the shelf; a restock brings it back once per key.
pub async fn committed_stock_leaves_and_restocks_once(store: &dyn StockedStore) {
    let sku = order_core::Sku::parse("STOCK-3").expect("valid sku");
    store.set_on_hand(&sku, 5).await.expect("set level");
    let (order, record) = OrderBuilder::default().line("STOCK-3", usd(100), 2).build();
    let reserve = [StockEffect::Reserve {
        items: items("STOCK-3", 2),
        expires_at: t0(),
    }];
    change_with_stock(store, 0, &order, std::slice::from_ref(&record), &reserve)
        .await
        .expect("insert");
    let (sold, none) = follow(&order, Vec::new(), t0());
    change_with_stock(store, order.version(), &sold, &none, &[StockEffect::Commit])
        .await
        .expect("commit stock");
    assert_eq!(store.level(&sku).await.expect("level"), level(3, 0));
    let restock = [StockEffect::Restock {
        key: "return:1".into(),
        items: items("STOCK-3", 2),
    }];
    change_with_stock(store, sold.version(), &sold, &none, &restock)
        .await
        .expect("restock");
    change_with_stock(store, sold.version(), &sold, &none, &restock)
        .await
        .expect("restock again");
    assert_eq!(
        store.level(&sku).await.expect("level"),
        level(5, 0),
        "restocked once"
    );
}

/// A SKU without a level is not tracked: reserving it always succeeds.
pub async fn untracked_skus_never_run_out(store: &dyn StockedStore) {
    let (order, record) = OrderBuilder::default()
        .line("NO-LEVEL", usd(100), 9)
        .build();
    let reserve = [StockEffect::Reserve {
        items: items("NO-LEVEL", 9),
        expires_at: t0(),
    }];
    change_with_stock(store, 0, &order, std::slice::from_ref(&record), &reserve)
        .await
        .expect("insert");
    let sku = order_core::Sku::parse("NO-LEVEL").expect("valid sku");
    assert_eq!(store.level(&sku).await.expect("level"), None);
}

/// A level may not drop below what is held.
pub async fn stock_levels_refuse_fewer_than_held(store: &dyn StockedStore) {
    let sku = order_core::Sku::parse("STOCK-4").expect("valid sku");
    store.set_on_hand(&sku, 3).await.expect("set level");
    let (order, record) = OrderBuilder::default().line("STOCK-4", usd(100), 2).build();
    let reserve = [StockEffect::Reserve {
        items: items("STOCK-4", 2),
        expires_at: t0(),
    }];
    change_with_stock(store, 0, &order, std::slice::from_ref(&record), &reserve)
        .await
        .expect("insert");
    assert!(store.set_on_hand(&sku, 1).await.is_err());
    assert_eq!(
        store
            .set_on_hand(&sku, 2)
            .await
            .expect("set to what is held"),
        StockLevel {
            on_hand: 2,
            reserved: 2
        }
    );
}

/// The most units on hand the engine allows round-trip; one more is
/// refused and changes nothing (ADR 0006).
pub async fn the_largest_stock_level_round_trips(store: &dyn StockedStore) {
    let sku = order_core::Sku::parse("STOCK-MAX").expect("valid sku");
    let max = StockLevel::MAX_ON_HAND;
    assert_eq!(
        store
            .set_on_hand(&sku, max)
            .await
            .expect("set the largest level"),
        StockLevel {
            on_hand: max,
            reserved: 0
        }
    );
    assert_eq!(store.level(&sku).await.expect("level"), level(max, 0));
    assert!(
        store.set_on_hand(&sku, max + 1).await.is_err(),
        "more than the largest level is refused"
    );
    let other = order_core::Sku::parse("STOCK-OVER").expect("valid sku");
    assert!(store.set_on_hand(&other, u32::MAX).await.is_err());
    assert_eq!(store.level(&sku).await.expect("level"), level(max, 0));
    assert_eq!(store.level(&other).await.expect("level"), None);

    // A reservation of the largest quantity against the largest level.
    let (order, record) = OrderBuilder::default()
        .line("STOCK-MAX", usd(100), order_core::Quantity::MAX)
        .build();
    let reserve = [StockEffect::Reserve {
        items: items("STOCK-MAX", order_core::Quantity::MAX),
        expires_at: t0(),
    }];
    change_with_stock(store, 0, &order, std::slice::from_ref(&record), &reserve)
        .await
        .expect("insert with a reservation");
    assert_eq!(
        store.level(&sku).await.expect("level"),
        level(max, order_core::Quantity::MAX)
    );
}

/// Stamps one test per clause of the store contract.
///
/// ```text
/// order_testkit::store_contract!(#[tokio::test] || InMemoryOrderStore::default());
/// order_testkit::store_contract!(
///     #[sqlx::test(migrator = "order_store_postgres::MIGRATOR")]
///     |pool: PgPool| PgOrderStore::new(pool)
/// );
/// ```
#[macro_export]
macro_rules! store_contract {
    (#[$attr:meta] |$($arg:ident : $ty:ty),*| $make:expr) => {
        $crate::store_contract!(@cases #[$attr] ($($arg : $ty),*) $make;
            insert_then_get_round_trips,
            get_of_unknown_id_is_none,
            duplicate_insert_is_already_exists,
            duplicate_number_is_already_exists,
            update_at_the_read_version_succeeds,
            lines_are_rewritten_only_by_changes_that_touch_them,
            stale_version_update_is_a_conflict,
            update_of_a_missing_order_is_a_conflict,
            events_rebuild_the_order,
            feed_is_ordered_and_pages,
            unpublished_until_marked,
            idempotency_key_returns_the_first_answer,
            idempotency_key_in_flight_until_the_lease_ends,
            released_idempotency_key_is_claimable,
            inbound_event_is_processed_once,
            list_filters,
            list_pages_without_gaps_or_repeats,
            list_filters_by_payment_status,
            figures_sum_orders_per_status_and_currency,
            figures_equal_the_fold_of_the_same_orders,
            compensations_are_logged,
            a_compensation_is_resolved_once,
            generated_orders_round_trip,
            stock_is_held_and_released_with_the_change,
            a_short_reservation_writes_nothing,
            committed_stock_leaves_and_restocks_once,
            untracked_skus_never_run_out,
            stock_levels_refuse_fewer_than_held,
            the_largest_amounts_round_trip,
            the_largest_stock_level_round_trips
        );
    };
    (#[$attr:meta] || $make:expr) => {
        $crate::store_contract!(#[$attr] | | $make);
    };
    (@cases #[$attr:meta] $params:tt $make:expr; $($case:ident),+) => {
        $(
            #[$attr]
            async fn $case $params {
                let store = $make;
                $crate::store_contract::$case(&store).await;
            }
        )+
    };
}
