//! Criterion benchmarks of order-core's hot paths.
//!
//! Run with `cargo bench -p order-core --bench core` (results are also
//! summarised in `docs/benchmarks.md`). Three benchmarks, each with a target:
//!
//! - `pricing/10_lines_discount_tax` — [`price_lines`] on a 10-line USD order
//!   with a 15 % order discount and mixed tax rates (0 / 5 / 7 / 10 / 19 %),
//!   then [`PricedLines::with_shipping`]. Target ≤ 1 µs.
//! - `transition/decide_apply` — one [`Order::decide`] of
//!   `Command::StartProcessing` on a confirmed, paid order plus
//!   [`Order::apply`] of the resulting event record (built in the loop, as
//!   `OrderService` does). `apply` mutates, so each iteration needs its own
//!   copy of the order: `iter_batched` makes the copies outside the timed
//!   section ([`own_copy`]), in batches of [`CLONES_PER_BATCH`]. Target
//!   ≤ 100 ns. Two companions make the split visible: `transition/decide`
//!   (decide alone, no copy needed) and `transition/clone_order` (what
//!   `OrderService` pays for each copy of an order it makes: orders are
//!   copy-on-write, so a copy shares the state until it is changed).
//! - `service/place_and_pay` — `OrderService::place` then `pay` through the
//!   in-memory adapters of the testkit's `Harness`, on a current-thread Tokio
//!   runtime (`Runtime::block_on` per order). Throughput is one order per
//!   iteration. Target ≥ 150 000 orders/s on one core, i.e. ≤ 6.7 µs.
//!
//! About the service benchmark: the in-memory store keeps every order and
//! event, the fake inventory every hold, and the fake gateway every
//! operation, so memory grows with the number of iterations, and the
//! store's maps with it. The benchmark starts a fresh `Harness` every
//! [`ORDERS_PER_HARNESS`] orders, outside the timed section (`iter_custom`),
//! so that criterion's estimate does not depend on how many iterations it
//! happened to run; within a chunk the stores do grow as usual. (The fake
//! gateway once scanned its whole log on every capture, which made a
//! long-lived `Harness` slower with every order; it keeps indexes now, and
//! the chunks stay so that figures compare with earlier runs.)

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use order_core::pricing::{
    DiscountValue, Percent, PriceLine, PricedLines, PricingPolicy, Totals, price_lines,
};
use order_core::{
    Actor, Command, Currency, EventId, EventRecord, Money, Order, OrderError, OrderService,
    OrderStatus, PaymentStatus, PlaceOrder, Quantity,
};
use order_testkit::Harness;
use order_testkit::builder::{PlaceOrderBuilder, customer};
use rust_decimal::Decimal;
use tokio::runtime::{Builder, Runtime};
use uuid::Uuid;

/// How many copies of the order `transition/decide_apply` makes per batch.
/// A bounded batch keeps the heap warm: with `BatchSize::SmallInput`
/// (thousands of live copies per batch) the allocator had to fault in fresh
/// pages inside the timed `apply` (its history `Vec` grows), which added
/// ~60 ns to the median and a ±65 ns spread that belongs to the harness, not
/// to the code measured.
const CLONES_PER_BATCH: u64 = 128;

/// How many orders one `Harness` takes before the service benchmark starts a
/// fresh one (see the crate docs).
const ORDERS_PER_HARNESS: u64 = 256;

fn fixture<T, E: std::fmt::Display>(value: Result<T, E>, what: &str) -> T {
    match value {
        Ok(v) => v,
        Err(err) => panic!("benchmark fixture {what} is invalid: {err}"),
    }
}

fn usd(minor: i128) -> Money {
    fixture(Money::from_minor(minor, Currency::USD), "amount")
}

fn percent(value: Decimal) -> Percent {
    fixture(Percent::new(value), "percent")
}

// ---- pricing --------------------------------------------------------------

/// Ten lines: varied prices and quantities, tax rates 0 / 5 / 7 / 10 / 19 %
/// (7 % and 19 % give fractional cents, so rounding runs), two lines outside
/// the discount.
fn ten_lines() -> Vec<PriceLine> {
    let rates = [10, 5, 19, 7, 0, 10, 5, 19, 7, 10];
    (0..10u32)
        .map(|i| PriceLine {
            unit_price: usd(999 + 1_337 * i128::from(i)),
            quantity: fixture(Quantity::new(1 + i % 3), "quantity"),
            tax_rate: percent(Decimal::from(rates[i as usize])),
            discountable: i % 5 != 4,
        })
        .collect()
}

/// One iteration of `pricing/10_lines_discount_tax`. Never inlined, so that
/// `callgrind_annotate` can report its instructions per call (see
/// `docs/benchmarks.md`).
#[inline(never)]
fn price_once(
    lines: &[PriceLine],
    discount: &DiscountValue,
    policy: &PricingPolicy,
    shipping: Money,
) -> Totals {
    let priced: PricedLines = price_lines(Currency::USD, lines, Some(discount), policy)
        .unwrap_or_else(|err| panic!("pricing failed: {err}"));
    priced
        .with_shipping(shipping)
        .unwrap_or_else(|err| panic!("shipping failed: {err}"))
}

fn pricing(c: &mut Criterion) {
    let lines = ten_lines();
    let discount = DiscountValue::Percentage(percent(Decimal::from(15)));
    let policy = PricingPolicy::default();
    let shipping = usd(599);
    // Sanity: the benchmarked call succeeds and the identity holds.
    let totals = fixture(
        price_lines(Currency::USD, &lines, Some(&discount), &policy)
            .and_then(|p| p.with_shipping(shipping)),
        "pricing",
    );
    assert!(order_core::order::totals_identity_holds(&totals));
    assert!(!totals.discount.is_zero() && !totals.tax.is_zero());

    let mut group = c.benchmark_group("pricing");
    group.bench_function("10_lines_discount_tax", |b| {
        b.iter(|| {
            price_once(
                black_box(&lines),
                black_box(&discount),
                black_box(&policy),
                black_box(shipping),
            )
        });
    });
    group.finish();
}

// ---- fixtures shared by transition and service ----------------------------

fn current_thread() -> Runtime {
    fixture(
        Builder::new_current_thread().build(),
        "current-thread runtime",
    )
}

fn actor() -> Actor {
    fixture(Actor::parse("bench"), "actor")
}

/// The request every service iteration places: three physical lines with a
/// coupon, shipped `standard` to a US address (so catalog, customers,
/// coupons, tax and shipping are all consulted).
fn request(h: &Harness) -> PlaceOrder {
    PlaceOrderBuilder::new(customer(1))
        .line(&h.product("TSHIRT"), 2)
        .line(&h.product("BOOK"), 1)
        .line(&h.product("MUG"), 1)
        .coupon("SAVE10")
        .build()
}

async fn place_and_pay(
    service: &OrderService,
    request: &PlaceOrder,
    actor: &Actor,
) -> Result<Order, OrderError> {
    let placed = service.place(request.clone(), None, actor).await?;
    service.pay(placed.id(), actor).await
}

/// A confirmed, paid three-line order made through the service once, and the
/// time right after.
fn confirmed_paid_order() -> (Order, DateTime<Utc>) {
    let h = Harness::default();
    let service = h.service();
    let order = fixture(
        current_thread().block_on(place_and_pay(&service, &request(&h), &actor())),
        "place and pay",
    );
    assert_eq!(order.status(), OrderStatus::Confirmed);
    assert_eq!(order.payment_status(), PaymentStatus::Paid);
    let now = order.updated_at() + chrono::Duration::minutes(5);
    (order, now)
}

// ---- transition -----------------------------------------------------------

/// A copy of `order` that shares nothing with it. `Order::clone` shares the
/// state until the first `apply`, which would then copy it inside the timed
/// section: rebuilding from a snapshot makes the copy here, untimed, as
/// `clone` did before orders were copy-on-write.
fn own_copy(order: &Order) -> Order {
    fixture(Order::restore(order.snapshot()), "order snapshot")
}

/// One iteration of `transition/decide_apply`: decide `command`, build each
/// event's record (as `OrderService` does) and apply it. Never inlined, so
/// that `callgrind_annotate` can report its instructions per call.
#[inline(never)]
fn decide_apply_once(
    mut order: Order,
    command: &Command,
    now: DateTime<Utc>,
    event_id: EventId,
    actor: &Actor,
) -> Order {
    let events = order
        .decide(command, now)
        .unwrap_or_else(|err| panic!("decide failed: {err}"));
    for event in events {
        let record = EventRecord {
            id: event_id,
            order_id: order.id(),
            sequence: order.version() + 1,
            occurred_at: now,
            actor: actor.clone(),
            event,
        };
        order.apply(&record);
    }
    order
}

fn transition(c: &mut Criterion) {
    let (order, now) = confirmed_paid_order();
    let command = Command::StartProcessing;
    let actor = Actor::system();
    let event_id = fixture(
        EventId::new(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_00be_0001)),
        "event id",
    );
    // Sanity: the transition is allowed and moves the order on.
    let events = fixture(order.decide(&command, now), "decide");
    assert_eq!(events.len(), 1);

    let decide_apply =
        |order: Order| decide_apply_once(order, black_box(&command), now, event_id, &actor);
    let after = decide_apply(own_copy(&order));
    assert_eq!(after.status(), OrderStatus::Processing);

    let mut group = c.benchmark_group("transition");
    // The copies of the order are made in the untimed setup; the mutated
    // orders are dropped untimed too.
    group.bench_function("decide_apply", |b| {
        b.iter_batched(
            || own_copy(&order),
            decide_apply,
            BatchSize::NumIterations(CLONES_PER_BATCH),
        );
    });
    group.bench_function("decide", |b| {
        b.iter(|| black_box(&order).decide(black_box(&command), now));
    });
    group.bench_function("clone_order", |b| b.iter(|| black_box(&order).clone()));
    group.finish();
}

// ---- service --------------------------------------------------------------

/// One iteration of `service/place_and_pay`. Never inlined, so that
/// `callgrind_annotate` can report its instructions per call.
#[inline(never)]
fn place_and_pay_once(
    rt: &Runtime,
    service: &OrderService,
    request: &PlaceOrder,
    actor: &Actor,
) -> Order {
    rt.block_on(place_and_pay(service, request, actor))
        .unwrap_or_else(|err| panic!("place and pay failed: {err}"))
}

fn service(c: &mut Criterion) {
    let rt = current_thread();
    let actor = actor();
    let mut group = c.benchmark_group("service");
    group.throughput(Throughput::Elements(1));
    group.bench_function("place_and_pay", |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                let chunk = (iters - done).min(ORDERS_PER_HARNESS);
                // Untimed: fresh fakes, their catalog, and the request.
                let h = Harness::default();
                let service = h.service();
                let request = request(&h);
                let start = Instant::now();
                for _ in 0..chunk {
                    black_box(place_and_pay_once(
                        &rt,
                        &service,
                        black_box(&request),
                        &actor,
                    ));
                }
                timed += start.elapsed();
                done += chunk;
                // `h` (and every order it stored) is dropped here, untimed.
            }
            timed
        });
    });
    group.finish();
}

criterion_group!(benches, pricing, transition, service);
criterion_main!(benches);
