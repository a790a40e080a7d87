//! Property tests: random command sequences (`order_testkit::sim`) driven
//! through one `OrderService`, with each invariant of SPEC's state machine
//! and of "Beyond the anchors" checked after every step, plus pure
//! properties of pricing and allocation. One property per invariant, each
//! named as the sentence it checks.
//!
//! Bugs the properties found are kept as plain tests in `regressions` at the
//! end.
//! `PROPTEST_CASES=5000` runs a longer hunt.

use std::collections::{BTreeMap, BTreeSet};

use order_core::allocation::{allocate, allocate_minor};
use order_core::pricing::{
    DiscountValue, Percent, PriceLine, PricingPolicy, RoundingLevel, TaxMode, price_lines,
};
use order_core::status::{order_targets, payment_targets};
use order_core::{
    Action, Currency, EventRecord, Money, Order, OrderEvent, OrderId, OrderStatus, PaymentAction,
    PaymentKind, PaymentStatus,
};
use order_testkit::sim::{self, Op, Scenario, Step, Trace};
use order_testkit::strategy::{
    arb_currency, arb_discount_value, arb_price_lines, arb_pricing_policy,
};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use rust_decimal::Decimal;

/// The longest generated sequence.
const MAX_OPS: usize = 25;

fn config() -> ProptestConfig {
    ProptestConfig {
        // PROPTEST_CASES raises it for a longer hunt.
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(256),
        // Failures print their minimal sequence; nothing is written into
        // the source tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn run(scenario: &Scenario) -> Trace {
    let runtime = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(runtime) => runtime,
        Err(err) => panic!("no tokio runtime: {err}"),
    };
    runtime.block_on(sim::run(&scenario.setup, &scenario.ops))
}

/// `Ok` or a test failure naming the step.
type Checked = Result<(), TestCaseError>;

fn at(index: usize, step: &Step) -> String {
    format!("step {index} ({:?}, {:?})", step.op, step.outcome)
}

fn sub(a: Money, b: Money) -> Result<Money, TestCaseError> {
    a.checked_sub(&b)
        .map_err(|e| TestCaseError::fail(e.to_string()))
}

fn add(a: Money, b: Money) -> Result<Money, TestCaseError> {
    a.checked_add(&b)
        .map_err(|e| TestCaseError::fail(e.to_string()))
}

fn sum<'a>(
    like: Money,
    items: impl IntoIterator<Item = &'a Money>,
) -> Result<Money, TestCaseError> {
    Money::sum(like.currency(), items).map_err(|e| TestCaseError::fail(e.to_string()))
}

// ---- (a) the transition tables --------------------------------------------

/// The order action an event is a fact of; `None` for `Placed`.
fn order_action(event: &OrderEvent) -> Option<Action> {
    Some(match event {
        OrderEvent::Placed(_) => return None,
        OrderEvent::LinesChanged { .. } => Action::EditLines,
        OrderEvent::DetailsChanged { .. } => Action::UpdateDetails,
        OrderEvent::PaymentStarted { .. } => Action::StartPayment,
        OrderEvent::PaymentAuthorized(_)
        | OrderEvent::PaymentCaptured(_)
        | OrderEvent::PaymentFailed { .. }
        | OrderEvent::PaymentVoided(_) => Action::RecordPayment,
        OrderEvent::Refunded(_) => Action::Refund,
        OrderEvent::Confirmed => Action::Confirm,
        OrderEvent::ProcessingStarted => Action::StartProcessing,
        OrderEvent::Shipped(_) => Action::Ship,
        OrderEvent::ShipmentDelivered { .. } => Action::Deliver,
        OrderEvent::DeliveredDigitally { .. } => Action::DeliverDigital,
        OrderEvent::Completed => Action::Complete,
        OrderEvent::Cancelled { expired: true, .. } => Action::Expire,
        OrderEvent::Cancelled { expired: false, .. } => Action::Cancel,
        OrderEvent::ReturnRequested(_) => Action::RequestReturn,
        OrderEvent::ReturnReceived { .. } => Action::ReceiveReturn,
    })
}

/// The payment action an event is a fact of, if it moves money.
fn payment_action(event: &OrderEvent) -> Option<PaymentAction> {
    match event {
        OrderEvent::PaymentStarted { .. } => Some(PaymentAction::Start),
        OrderEvent::PaymentAuthorized(_) => Some(PaymentAction::Authorize),
        OrderEvent::PaymentCaptured(_) => Some(PaymentAction::Capture),
        OrderEvent::PaymentFailed { .. } => Some(PaymentAction::Fail),
        OrderEvent::PaymentVoided(_) => Some(PaymentAction::Void),
        OrderEvent::Refunded(_) => Some(PaymentAction::Refund),
        _ => None,
    }
}

fn check_transitions(trace: &Trace) -> Checked {
    for (i, step) in trace.steps.iter().enumerate() {
        for (id, after) in &step.after {
            // Replay the step's events from the order before it: every event
            // is a row of the order table from the status it met, and every
            // payment status change a row of the payment table.
            let mut state: Option<Order> = step.before.get(id).cloned();
            for record in step.events_of(*id) {
                let Some(current) = state.as_mut() else {
                    prop_assert!(
                        matches!(record.event, OrderEvent::Placed(_)),
                        "{}: a new order starts with order.created, not {}",
                        at(i, step),
                        record.event_type()
                    );
                    state = Order::placed(record);
                    prop_assert!(state.is_some());
                    continue;
                };
                let Some(action) = order_action(&record.event) else {
                    return Err(TestCaseError::fail(format!(
                        "{}: order.created for an existing order",
                        at(i, step)
                    )));
                };
                let (from, paid_from) = (current.status(), current.payment_status());
                // SPEC's rule, independent of the table: never cancel once
                // any unit shipped.
                if matches!(record.event, OrderEvent::Cancelled { .. }) {
                    prop_assert!(
                        current.lines().iter().all(|l| l.quantities.shipped == 0),
                        "{}: cancelled after units shipped",
                        at(i, step)
                    );
                }
                let targets = order_targets(from, action);
                prop_assert!(
                    !targets.is_empty(),
                    "{}: {} ({action}) happened in status {from}, which the table refuses",
                    at(i, step),
                    record.event_type()
                );
                current.apply(record);
                prop_assert!(
                    targets.contains(&current.status()),
                    "{}: {from} -> {} by {action} is not in the table (allowed: {targets:?})",
                    at(i, step),
                    current.status()
                );
                let paid_to = current.payment_status();
                match payment_action(&record.event) {
                    Some(pay) => prop_assert!(
                        payment_targets(paid_from, pay).contains(&paid_to),
                        "{}: payment {paid_from} -> {paid_to} by {pay} is not in the table",
                        at(i, step)
                    ),
                    None => prop_assert_eq!(
                        paid_from,
                        paid_to,
                        "{}: {} changed the payment status",
                        at(i, step),
                        record.event_type()
                    ),
                }
            }
            let reached = state.map(|o| (o.status(), o.payment_status()));
            prop_assert_eq!(
                reached,
                Some((after.status(), after.payment_status())),
                "{}: before -> after is not explained by the step's events",
                at(i, step)
            );
        }
    }
    // Every history entry is a row of the table for the event that caused it,
    // and the entries chain.
    let Some(last) = trace.steps.last() else {
        return Ok(());
    };
    for (id, order) in &last.after {
        let events = trace.events.get(id).map(Vec::as_slice).unwrap_or_default();
        let mut previous: Option<OrderStatus> = None;
        for entry in order.history() {
            prop_assert_eq!(entry.from, previous, "history of {} does not chain", id);
            previous = Some(entry.to);
            let Some(from) = entry.from else {
                prop_assert_eq!(entry.to, OrderStatus::Pending);
                prop_assert_eq!(entry.sequence, 1);
                continue;
            };
            let record = events.iter().find(|r| r.sequence == entry.sequence);
            let action = record.and_then(|r| order_action(&r.event));
            let Some(action) = action else {
                return Err(TestCaseError::fail(format!(
                    "history entry {entry:?} of {id} has no event"
                )));
            };
            prop_assert!(
                order_targets(from, action).contains(&entry.to),
                "history of {id}: {from} -> {} by {action} is not in the table",
                entry.to
            );
        }
        prop_assert_eq!(previous, Some(order.status()));
    }
    Ok(())
}

// ---- (b) reservations ------------------------------------------------------

/// Cancelled (or expired), or payment failed: such an order holds no stock.
fn must_be_free(order: &Order) -> bool {
    order.status() == OrderStatus::Cancelled || order.payment_status() == PaymentStatus::Failed
}

fn check_reservations(trace: &Trace) -> Checked {
    // Orders whose stock handling was logged for an operator: the engine
    // could not release (or commit) it and said so.
    let mut logged: BTreeSet<OrderId> = BTreeSet::new();
    for (i, step) in trace.steps.iter().enumerate() {
        logged.extend(
            step.compensations
                .iter()
                .filter(|c| c.step.contains("stock"))
                .map(|c| c.order_id),
        );
        for (id, order) in &step.after {
            let held = step.reserved.get(id).copied().unwrap_or(0);
            if must_be_free(order) && !logged.contains(id) {
                prop_assert_eq!(
                    held,
                    0,
                    "{}: order {} is {} / payment {} but still holds {} units",
                    at(i, step),
                    id,
                    order.status(),
                    order.payment_status(),
                    held
                );
            }
        }
    }
    Ok(())
}

// ---- (c) money -------------------------------------------------------------

fn check_money(trace: &Trace) -> Checked {
    let operations = trace.harness.gateway.operations();
    let mut logged_refunds: BTreeSet<OrderId> = BTreeSet::new();
    for (i, step) in trace.steps.iter().enumerate() {
        logged_refunds.extend(
            step.compensations
                .iter()
                .filter(|c| c.step.contains("refund"))
                .map(|c| c.order_id),
        );
        let books = &operations[..step.gateway_ops.min(operations.len())];
        for order in step.after.values() {
            let ledger = order.payments();
            let (authorized, captured, refunded) =
                (ledger.authorized(), ledger.captured(), ledger.refunded());
            prop_assert!(
                refunded.amount() <= captured.amount(),
                "{}: order {} refunded {refunded} of {captured} captured",
                at(i, step),
                order.id()
            );
            prop_assert!(
                ledger.is_consistent(),
                "{}: order {} ledger breaks capture <= open authorization (captured {captured} of {authorized} authorized)",
                at(i, step),
                order.id()
            );

            // The gateway's books agree: each entry with a reference the
            // gateway issued is that very operation, …
            let mut capture_refs = BTreeSet::new();
            let mut ledger_gateway_refunds = Money::zero(order.currency());
            for entry in ledger.entries() {
                let Some(reference) = &entry.reference else {
                    continue;
                };
                if entry.kind == PaymentKind::Capture {
                    capture_refs.insert(reference.as_str().to_owned());
                }
                let issued = ["aut_", "cap_", "voi_", "ref_"]
                    .iter()
                    .any(|p| reference.as_str().starts_with(p));
                let op = books.iter().find(|o| &o.reference == reference);
                if issued {
                    prop_assert!(
                        op.is_some(),
                        "{}: {reference} is not in the gateway's books",
                        at(i, step)
                    );
                    if entry.kind == PaymentKind::Refund {
                        ledger_gateway_refunds = add(ledger_gateway_refunds, entry.amount)?;
                    }
                }
                if let Some(op) = op {
                    prop_assert_eq!(op.kind, entry.kind.as_str(), "{}", at(i, step));
                    if entry.kind != PaymentKind::Void {
                        prop_assert_eq!(
                            op.amount,
                            entry.amount,
                            "{}: {} {} in the ledger, {} at the gateway",
                            at(i, step),
                            entry.kind.as_str(),
                            reference,
                            op.amount
                        );
                    }
                }
            }
            // … it never refunded more of this order's captures than it
            // captured, and every refund it made of them is in the ledger
            // (or logged for an operator).
            let zero = Money::zero(order.currency());
            let gw_captured = sum(
                zero,
                books
                    .iter()
                    .filter(|o| o.kind == "capture" && capture_refs.contains(o.reference.as_str()))
                    .map(|o| &o.amount),
            )?;
            let gw_refunded = sum(
                zero,
                books
                    .iter()
                    .filter(|o| {
                        o.kind == "refund"
                            && o.target
                                .as_ref()
                                .is_some_and(|t| capture_refs.contains(t.as_str()))
                    })
                    .map(|o| &o.amount),
            )?;
            prop_assert!(
                gw_refunded.amount() <= gw_captured.amount(),
                "{}: the gateway refunded {gw_refunded} of {gw_captured} for {}",
                at(i, step),
                order.id()
            );
            if !logged_refunds.contains(&order.id()) {
                prop_assert_eq!(
                    gw_refunded,
                    ledger_gateway_refunds,
                    "{}: the gateway refunded {} for {}, the ledger shows {}",
                    at(i, step),
                    gw_refunded,
                    order.id(),
                    ledger_gateway_refunds
                );
            }
        }
        // Every capture the gateway made is one an order records, or was
        // refunded in full, or was logged for an operator: no money taken
        // and forgotten (two checkouts racing, a recording that lost).
        let recorded: BTreeSet<&str> = step
            .after
            .values()
            .flat_map(|o| o.payments().entries())
            .filter(|e| e.kind == PaymentKind::Capture)
            .filter_map(|e| e.reference.as_ref().map(|r| r.as_str()))
            .collect();
        for capture in books.iter().filter(|o| o.kind == "capture") {
            let refunded: Decimal = books
                .iter()
                .filter(|o| o.kind == "refund" && o.target.as_ref() == Some(&capture.reference))
                .map(|o| o.amount.amount())
                .sum();
            prop_assert!(
                recorded.contains(capture.reference.as_str())
                    || refunded >= capture.amount.amount()
                    || !logged_refunds.is_empty()
                    || step.compensations.iter().any(|c| c.step.contains("record")),
                "{}: the gateway captured {} ({}) and no order records it",
                at(i, step),
                capture.amount,
                capture.reference
            );
        }
        let total = |kind: &str| -> Decimal {
            books
                .iter()
                .filter(|o| o.kind == kind)
                .map(|o| o.amount.amount())
                .sum()
        };
        prop_assert!(
            total("refund") <= total("capture"),
            "{}: the gateway refunded more than it captured",
            at(i, step)
        );
    }
    Ok(())
}

// ---- (d) totals ------------------------------------------------------------

fn check_totals(order: &Order) -> Checked {
    let t = order.totals();
    let expected = add(add(sub(t.subtotal, t.discount)?, t.tax)?, t.shipping)?;
    prop_assert_eq!(
        t.total,
        expected,
        "total = subtotal - discount + tax + shipping"
    );
    for line in order.lines() {
        let a = &line.amounts;
        prop_assert_eq!(
            a.total,
            add(sub(a.subtotal, a.discount)?, a.tax)?,
            "line total = subtotal - discount + tax"
        );
        prop_assert!(!a.discount.is_negative(), "negative line discount");
    }
    let lines = order.lines();
    let zero = Money::zero(order.currency());
    prop_assert_eq!(
        sum(zero, lines.iter().map(|l| &l.amounts.subtotal))?,
        t.subtotal
    );
    prop_assert_eq!(
        sum(zero, lines.iter().map(|l| &l.amounts.discount))?,
        t.discount
    );
    prop_assert_eq!(sum(zero, lines.iter().map(|l| &l.amounts.tax))?, t.tax);
    prop_assert_eq!(
        add(
            sum(zero, lines.iter().map(|l| &l.amounts.total))?,
            t.shipping
        )?,
        t.total
    );
    Ok(())
}

fn check_all_totals(trace: &Trace) -> Checked {
    for (i, step) in trace.steps.iter().enumerate() {
        for order in step.after.values() {
            check_totals(order)
                .map_err(|e| TestCaseError::fail(format!("{}: {e}", at(i, step))))?;
        }
    }
    Ok(())
}

// ---- (e) line quantities ---------------------------------------------------

fn check_quantities(trace: &Trace) -> Checked {
    for (i, step) in trace.steps.iter().enumerate() {
        for order in step.after.values() {
            for line in order.lines() {
                let q = line.quantities;
                prop_assert!(
                    q.cancelled <= q.ordered
                        && q.shipped <= q.ordered - q.cancelled
                        && q.returned + q.return_requested <= q.shipped
                        && q.is_consistent(),
                    "{}: line {} of {} has {q:?}",
                    at(i, step),
                    line.id,
                    order.id()
                );
            }
        }
    }
    Ok(())
}

// ---- (f) versions, sequences, folds ----------------------------------------

/// True for `pay`, with or without faults or a race.
fn is_checkout(op: &Op) -> bool {
    match op {
        Op::Pay { .. } => true,
        Op::Faulty { op, .. } | Op::Raced { op, .. } => is_checkout(op),
        _ => false,
    }
}

fn check_versions(trace: &Trace) -> Checked {
    let mut last_position = 0;
    for (i, step) in trace.steps.iter().enumerate() {
        // The in-memory store refuses a change only when it is malformed
        // (events whose sequences are not expected_version+1 ..= the new
        // version, or a version that does not match them): the engine must
        // never hand it one.
        prop_assert!(
            !matches!(step.outcome, sim::Outcome::StoreFailed(_)),
            "{}: the store refused the change as malformed",
            at(i, step)
        );
        if step.outcome.is_refused() {
            // A refused call writes nothing, except the claim a checkout
            // commits before any money moves: when recording what the
            // gateway answered then loses a race, the money is given back,
            // and the claimed attempt stays (or is closed as failed, so that
            // no later checkout resumes it).
            let written = step
                .own_events()
                .filter(|r| {
                    !(is_checkout(&step.op)
                        && matches!(
                            r.event_type(),
                            "order.payment_started" | "order.payment_failed"
                        ))
                })
                .count();
            prop_assert_eq!(written, 0, "{}: a refused step added events", at(i, step));
        }
        for stored in &step.events {
            prop_assert!(stored.position > last_position, "{}", at(i, step));
            last_position = stored.position;
            prop_assert!(
                step.after.contains_key(&stored.record.order_id),
                "{}: an event for an order the sim never saw",
                at(i, step)
            );
        }
        for (id, after) in &step.after {
            let old = step.before.get(id).map_or(0, Order::version);
            let new = after.version();
            let sequences: Vec<u64> = step.events_of(*id).map(|r| r.sequence).collect();
            prop_assert!(new >= old, "{}: the version went back", at(i, step));
            prop_assert_eq!(
                new - old,
                sequences.len() as u64,
                "{}: version {} -> {} with {} new events",
                at(i, step),
                old,
                new,
                sequences.len()
            );
            let expected: Vec<u64> = (old + 1..=new).collect();
            prop_assert_eq!(&sequences, &expected, "{}: sequences", at(i, step));
            let events: &[EventRecord] =
                trace.events.get(id).map(Vec::as_slice).unwrap_or_default();
            let folded = Order::from_events(events.iter().take_while(|r| r.sequence <= new));
            prop_assert!(
                folded.as_ref() == Some(after),
                "{}: folding the events of {} does not give the stored order",
                at(i, step),
                id
            );
        }
    }
    Ok(())
}

/// Pricing as it was worked out in decimals before it moved to integers
/// (`rust_decimal` products and quotients, rounded by `Money::round`, split
/// by `allocate`): per line, subtotal, discount, tax and total in minor
/// units. Integer pricing must match it to the last unit, so an order priced
/// before re-prices to itself.
fn decimal_pricing(
    currency: Currency,
    lines: &[PriceLine],
    discount: Option<&DiscountValue>,
    policy: &PricingPolicy,
) -> Vec<[i128; 4]> {
    let mode = policy.rounding_mode;
    let scale = currency.minor_units();
    let decimal = |minor: i128| Decimal::from_i128_with_scale(minor, scale);
    let round = |value: Decimal| Money::round(value, currency, mode).minor();
    let fraction = |p: Percent| p.value() / Decimal::ONE_HUNDRED;
    let share = |rate: Percent| match policy.tax_mode {
        TaxMode::Exclusive => fraction(rate),
        TaxMode::Inclusive => fraction(rate) / (Decimal::ONE + fraction(rate)),
    };
    let gross: Vec<i128> = lines
        .iter()
        .map(|l| l.unit_price.minor() * i128::from(l.quantity.get()))
        .collect();
    let weights: Vec<Decimal> = lines
        .iter()
        .zip(&gross)
        .map(|(l, g)| {
            if l.discountable {
                Decimal::from(*g)
            } else {
                Decimal::ZERO
            }
        })
        .collect();
    let base: i128 = lines
        .iter()
        .zip(&gross)
        .filter(|(l, _)| l.discountable)
        .map(|(_, g)| *g)
        .sum();
    let discounts = match discount {
        Some(_) if base == 0 => vec![0; lines.len()],
        None => vec![0; lines.len()],
        Some(DiscountValue::Percentage(p)) => {
            allocate(round(decimal(base) * fraction(*p)), &weights)
        }
        Some(DiscountValue::Fixed(m)) => allocate(m.minor().clamp(0, base), &weights),
    };
    let taxable: Vec<i128> = gross.iter().zip(&discounts).map(|(g, d)| g - d).collect();
    let exact: Vec<Decimal> = lines
        .iter()
        .zip(&taxable)
        .map(|(l, t)| decimal(*t) * share(l.tax_rate))
        .collect();
    let taxes: Vec<i128> = match policy.rounding_level {
        RoundingLevel::PerLine => exact.iter().map(|e| round(*e)).collect(),
        RoundingLevel::PerUnit => lines
            .iter()
            .zip(&exact)
            .map(|(l, e)| {
                let q = l.quantity.get();
                round(*e / Decimal::from(q)) * i128::from(q)
            })
            .collect(),
        RoundingLevel::PerOrder => {
            let whole = round(exact.iter().sum());
            let weights: Vec<Decimal> = exact
                .iter()
                .map(|e| *e * Decimal::from(10u64.pow(scale)))
                .collect();
            allocate(whole, &weights)
        }
    };
    (0..lines.len())
        .map(|i| {
            let (subtotal, discount, tax) = match policy.tax_mode {
                TaxMode::Exclusive => (gross[i], discounts[i], taxes[i]),
                TaxMode::Inclusive => {
                    let net = taxable[i] - taxes[i];
                    let gross_tax = round(decimal(gross[i]) * share(lines[i].tax_rate));
                    let subtotal = (gross[i] - gross_tax).max(net);
                    (subtotal, subtotal - net, taxes[i])
                }
            };
            [subtotal, discount, tax, subtotal - discount + tax]
        })
        .collect()
}

/// Lines whose prices share factors, so that equal remainders (ties in the
/// split of a discount) are common.
fn arb_round_price_lines(currency: Currency) -> impl Strategy<Value = Vec<PriceLine>> {
    prop::collection::vec(
        (
            prop::sample::select(vec![1_i128, 2, 3, 4, 5, 25, 100, 250, 400, 2500]),
            1u32..=3,
            prop::sample::select(vec![0_i64, 5, 7, 10, 19, 20, 25]),
            any::<bool>(),
        )
            .prop_map(move |(minor, quantity, rate, discountable)| PriceLine {
                unit_price: Money::from_minor(minor, currency).unwrap_or(Money::zero(currency)),
                quantity: order_core::Quantity::new(quantity).unwrap_or(order_core::Quantity::ONE),
                tax_rate: Percent::new(Decimal::from(rate)).unwrap_or(Percent::ZERO),
                discountable,
            }),
        1..=10,
    )
}

// ---- the properties ----------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    /// (a)
    #[test]
    fn every_status_change_is_a_row_of_the_transition_tables(
        scenario in sim::arb_scenario(MAX_OPS)
    ) {
        check_transitions(&run(&scenario))?;
    }

    /// (b)
    #[test]
    fn no_stock_stays_reserved_for_a_cancelled_expired_or_payment_failed_order(
        scenario in sim::arb_scenario(MAX_OPS)
    ) {
        check_reservations(&run(&scenario))?;
    }

    /// (c)
    #[test]
    fn refunds_never_exceed_captures_and_captures_never_exceed_authorizations(
        scenario in sim::arb_scenario(MAX_OPS)
    ) {
        check_money(&run(&scenario))?;
    }

    /// (d), over the engine.
    #[test]
    fn every_total_is_exactly_the_sum_of_its_parts(
        scenario in sim::arb_scenario(MAX_OPS)
    ) {
        check_all_totals(&run(&scenario))?;
    }

    /// (d), pricing alone.
    #[test]
    fn pricing_splits_discount_and_tax_into_parts_that_sum_to_the_whole(
        (currency, lines, discount) in arb_currency().prop_flat_map(|c| {
            (Just(c), arb_price_lines(c), prop::option::of(arb_discount_value(c)))
        }),
        policy in arb_pricing_policy(),
    ) {
        let priced = price_lines(currency, &lines, discount.as_ref(), &policy)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(priced.lines.len(), lines.len());
        let zero = Money::zero(currency);
        let amounts = &priced.lines;
        prop_assert_eq!(sum(zero, amounts.iter().map(|l| &l.subtotal))?, priced.subtotal);
        prop_assert_eq!(sum(zero, amounts.iter().map(|l| &l.discount))?, priced.discount);
        prop_assert_eq!(sum(zero, amounts.iter().map(|l| &l.tax))?, priced.tax);
        let mode = policy.rounding_mode;
        let scale = currency.minor_units();
        let gross: Vec<i128> = lines
            .iter()
            .map(|l| l.unit_price.minor() * i128::from(l.quantity.get()))
            .collect();
        for (line, a) in lines.iter().zip(amounts) {
            prop_assert!(!a.discount.is_negative(), "negative line discount {a:?}");
            prop_assert_eq!(a.total, add(sub(a.subtotal, a.discount)?, a.tax)?);
            if !line.discountable || discount.is_none() {
                // Only discounted lines carry a discount (tax-inclusive
                // rounding residue aside, which is never negative).
                if policy.tax_mode == TaxMode::Exclusive {
                    prop_assert!(a.discount.is_zero());
                }
            }
        }
        // The whole discount, as the policy defines it.
        let base: i128 = lines
            .iter()
            .zip(&gross)
            .filter(|(l, _)| l.discountable)
            .map(|(_, g)| *g)
            .sum();
        let whole_discount = match &discount {
            None => 0,
            Some(_) if base == 0 => 0,
            Some(DiscountValue::Percentage(p)) => Money::round(
                Decimal::from_i128_with_scale(base, scale) * p.value() / Decimal::ONE_HUNDRED,
                currency,
                mode,
            )
            .minor(),
            Some(DiscountValue::Fixed(m)) => m.minor().clamp(0, base),
        };
        let paid: i128 = amounts.iter().map(|a| a.total.minor()).sum();
        let taxes: i128 = amounts.iter().map(|a| a.tax.minor()).sum();
        match policy.tax_mode {
            TaxMode::Exclusive => {
                prop_assert_eq!(priced.discount.minor(), whole_discount);
                for (g, a) in gross.iter().zip(amounts) {
                    prop_assert_eq!(a.subtotal.minor(), *g);
                }
                // The whole tax, as the rounding level defines it.
                let exact: Vec<Decimal> = lines
                    .iter()
                    .zip(amounts)
                    .map(|(l, a)| {
                        Decimal::from_i128_with_scale(a.subtotal.minor() - a.discount.minor(), scale)
                            * l.tax_rate.value()
                            / Decimal::ONE_HUNDRED
                    })
                    .collect();
                let round = |d: Decimal| Money::round(d, currency, mode).minor();
                let whole_tax: i128 = match policy.rounding_level {
                    RoundingLevel::PerOrder => round(exact.iter().sum()),
                    RoundingLevel::PerLine => exact.iter().map(|e| round(*e)).sum(),
                    RoundingLevel::PerUnit => lines
                        .iter()
                        .zip(&exact)
                        .map(|(l, e)| {
                            let q = l.quantity.get();
                            round(*e / Decimal::from(q)) * i128::from(q)
                        })
                        .sum(),
                };
                prop_assert_eq!(taxes, whole_tax);
            }
            TaxMode::Inclusive => {
                // Gross prices: the customer pays the gross less the discount.
                prop_assert_eq!(paid, gross.iter().sum::<i128>() - whole_discount);
            }
        }
    }

    /// (d), allocation alone.
    #[test]
    fn allocated_parts_sum_to_the_whole_and_each_is_within_one_unit_of_its_share(
        whole in -1_000_000_000_000i128..=1_000_000_000_000,
        weights in prop::collection::vec(
            prop_oneof![
                1 => Just(Decimal::ZERO),
                1 => (-1_000i64..0).prop_map(Decimal::from),
                6 => (0i64..10_000_000, 0u32..=4).prop_map(|(m, s)| Decimal::new(m, s)),
            ],
            1..=12,
        ),
    ) {
        let parts = allocate(whole, &weights);
        prop_assert_eq!(parts.len(), weights.len());
        prop_assert_eq!(parts.iter().sum::<i128>(), whole);
        let clamped: Vec<Decimal> = weights.iter().map(|w| (*w).max(Decimal::ZERO)).collect();
        let total: Decimal = clamped.iter().sum();
        let whole_dec = Decimal::from_i128_with_scale(whole, 0);
        for (part, weight) in parts.iter().zip(&clamped) {
            let exact = if total.is_zero() {
                whole_dec / Decimal::from(weights.len())
            } else {
                whole_dec * *weight / total
            };
            let off = (Decimal::from_i128_with_scale(*part, 0) - exact).abs();
            prop_assert!(off < Decimal::ONE, "part {part} vs exact {exact}");
        }
    }

    /// (d), pricing alone: the integer arithmetic is the decimal one.
    #[test]
    fn pricing_in_integers_gives_exactly_what_pricing_in_decimals_gave(
        (currency, lines, discount) in arb_currency().prop_flat_map(|c| {
            let lines = prop_oneof![arb_price_lines(c), arb_round_price_lines(c)];
            (Just(c), lines, prop::option::of(arb_discount_value(c)))
        }),
        policy in arb_pricing_policy(),
    ) {
        let priced = price_lines(currency, &lines, discount.as_ref(), &policy)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let amounts: Vec<[i128; 4]> = priced
            .lines
            .iter()
            .map(|a| [a.subtotal.minor(), a.discount.minor(), a.tax.minor(), a.total.minor()])
            .collect();
        prop_assert_eq!(amounts, decimal_pricing(currency, &lines, discount.as_ref(), &policy));
    }

    /// (d), allocation alone: whole-number weights split in integers as in
    /// decimals.
    #[test]
    fn allocating_whole_number_weights_in_integers_gives_the_decimal_parts(
        whole in prop_oneof![
            3 => -1_000i128..=1_000,
            1 => -1_000_000_000_000i128..=1_000_000_000_000,
            1 => -(1i128 << 48)..=(1i128 << 48),
        ],
        weights in prop::collection::vec(
            prop_oneof![
                1 => Just(0i128),
                1 => -1_000i128..0,
                3 => prop::sample::select(vec![1i128, 2, 3, 4, 5, 25, 100, 400, 2500]),
                3 => 0i128..1_000_000_000_000,
                // Up to 2^95 with the whole: every product fits a decimal,
                // and beyond 10^27 the decimal division decides.
                1 => 0i128..(1i128 << 47),
            ],
            1..=12,
        ),
    ) {
        let decimals: Vec<Decimal> = weights.iter().map(|w| Decimal::from(*w)).collect();
        prop_assert_eq!(allocate_minor(whole, &weights), allocate(whole, &decimals));
    }

    /// (e)
    #[test]
    fn shipped_never_exceeds_ordered_minus_cancelled_and_returned_never_exceeds_shipped(
        scenario in sim::arb_scenario(MAX_OPS)
    ) {
        check_quantities(&run(&scenario))?;
    }

    /// (f)
    #[test]
    fn every_commit_advances_the_version_by_its_events_in_sequence_and_the_events_fold_to_the_stored_order(
        scenario in sim::arb_scenario(MAX_OPS)
    ) {
        check_versions(&run(&scenario))?;
    }
}

/// Not a property: a guard that the generator reaches deep into the
/// lifecycle, so the properties above are not vacuously true.
#[test]
fn the_generated_sequences_reach_every_status() {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        proptest::test_runner::TestRng::deterministic_rng(Config::default().rng_algorithm),
    );
    let strategy = sim::arb_scenario(MAX_OPS);
    let mut statuses: BTreeMap<OrderStatus, usize> = BTreeMap::new();
    let mut payments: BTreeMap<PaymentStatus, usize> = BTreeMap::new();
    for _ in 0..200 {
        let scenario = match strategy.new_tree(&mut runner) {
            Ok(tree) => tree.current(),
            Err(err) => panic!("{err}"),
        };
        let trace = run(&scenario);
        for step in &trace.steps {
            for order in step.after.values() {
                *statuses.entry(order.status()).or_default() += 1;
                *payments.entry(order.payment_status()).or_default() += 1;
            }
        }
    }
    let missing: Vec<_> = OrderStatus::ALL
        .iter()
        .filter(|s| !statuses.contains_key(s))
        .collect();
    let missing_payments: Vec<_> = PaymentStatus::ALL
        .iter()
        .filter(|s| !payments.contains_key(s) && **s != PaymentStatus::Pending)
        .collect();
    assert!(
        missing.is_empty() && missing_payments.is_empty(),
        "never reached {missing:?} / {missing_payments:?}; reached {statuses:?} {payments:?}"
    );
}

/// The money check over a hand-written sequence: a checkout whose recording
/// loses to a cancellation must leave no capture behind.
#[test]
fn a_capture_whose_recording_loses_a_race_is_never_forgotten() {
    let ops = vec![
        sim::Op::Place {
            customer: 1,
            lines: vec![(sim::Item::Tshirt, 1)],
            coupon: None,
            key: None,
        },
        sim::Op::Raced {
            rival: sim::Rival::Cancel,
            late: true,
            op: Box::new(sim::Op::Pay {
                order: sim::Pick(0),
            }),
        },
    ];
    let trace = run(&Scenario {
        setup: sim::Setup::default(),
        ops,
    });
    if let Err(err) = check_money(&trace) {
        panic!("{err}");
    }
}

/// The versions check over the sequence it once shrank to: a provider's
/// capture for an order whose checkout was declined (its stock released)
/// loses its write to an unrelated change. It used to commit the stock held
/// again and the attempt's start first, and then be refused, leaving half
/// of itself written; the hold, the start and the capture now commit
/// together.
#[test]
fn a_payment_event_that_loses_a_race_after_a_declined_checkout_writes_nothing() {
    let ops = vec![
        sim::Op::Place {
            customer: 0,
            lines: vec![(sim::Item::Tshirt, 1)],
            coupon: None,
            key: None,
        },
        sim::Op::Faulty {
            injections: vec![sim::Injection {
                port: sim::Port::Authorize,
                fault: order_testkit::fault::Fault::Decline,
                times: 1,
            }],
            op: Box::new(sim::Op::Pay {
                order: sim::Pick(0),
            }),
        },
        sim::Op::Raced {
            rival: sim::Rival::Notes,
            late: true,
            op: Box::new(sim::Op::Webhook {
                order: sim::Pick(0),
                event: sim::EventIdPick::Fresh,
                kind: sim::WebhookKind::Processed(sim::AmountPick::Due),
            }),
        },
    ];
    let trace = run(&Scenario {
        setup: sim::Setup {
            keeping: order_core::StockKeeping::Store,
            ..sim::Setup::default()
        },
        ops,
    });
    if let Err(err) = check_versions(&trace) {
        panic!("{err}");
    }
}

// ---- regressions ---------------------------------------------------------------
//
// Sequences the properties above once shrank to, each a bug that was fixed;
// kept as plain tests so each stays fixed.

mod regressions {
    use order_core::{
        Actor, Address, AddressInput, CaptureMode, DetailsChange, LineEdit, Order, OrderError,
        OrderStatus, PaymentEvent, PaymentEventKind, PaymentStatus, Quantity, Reason,
        ServiceConfig,
    };
    use order_testkit::Harness;
    use order_testkit::builder::{PlaceOrderBuilder, customer};
    use order_testkit::fault::Fault;
    use order_testkit::sim::{self, Item, Op, Pick, Rival, Setup};

    fn actor() -> Actor {
        Actor::parse("tester").unwrap()
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    fn place_one_shirt() -> Op {
        Op::Place {
            customer: 0,
            lines: vec![(Item::Tshirt, 1)],
            coupon: None,
            key: None,
        }
    }

    fn last_order(trace: &sim::Trace) -> Order {
        let step = trace.steps.last().unwrap();
        step.after.values().next().unwrap().clone()
    }

    /// Place 1 TSHIRT (1 on hand), pay → declined, pay again → declined.
    /// Expected: no stock held. Actual: the retry's new reservation stays
    /// (`reserved_for` = 1): `pay` reserved again because the first failure
    /// released the stock, and `settle_stock` sees `released` before and
    /// after the second failure, so it releases nothing.
    #[tokio::test]
    async fn a_declined_retry_releases_the_stock_it_reserved_again() {
        let h = Harness::default();
        let service = h.service();
        let shirt = h.product("TSHIRT");
        h.inventory.set_on_hand(&shirt.sku, 1);
        let request = PlaceOrderBuilder::new(customer(1)).line(&shirt, 1).build();
        let order = service.place(request, None, &actor()).await.unwrap();
        for _ in 0..2 {
            h.gateway.faults().next("authorize", Fault::Decline, 1);
            let err = service.pay(order.id(), &actor()).await.unwrap_err();
            assert!(matches!(err, OrderError::PaymentDeclined { .. }), "{err}");
        }
        let order = service.get(order.id()).await.unwrap();
        assert_eq!(order.payment_status(), PaymentStatus::Failed);
        assert_eq!(h.inventory.reserved_for(order.id()), 0);
    }

    /// Place, pay → declined (stock released), then a `payment.processed`
    /// webhook with the wrong amount. Expected: refused, no stock held.
    /// Actual: refused, but `apply_payment_event` reserved the stock again
    /// before deciding and never releases it.
    #[tokio::test]
    async fn a_refused_payment_webhook_releases_the_stock_it_reserved_again() {
        let h = Harness::default();
        let service = h.service();
        let shirt = h.product("TSHIRT");
        let request = PlaceOrderBuilder::new(customer(1)).line(&shirt, 1).build();
        let order = service.place(request, None, &actor()).await.unwrap();
        h.gateway.faults().next("authorize", Fault::Decline, 1);
        let _ = service.pay(order.id(), &actor()).await;
        assert_eq!(h.inventory.reserved_for(order.id()), 0);
        let event = PaymentEvent {
            event_id: "evt_wrong_amount".into(),
            order_id: order.id(),
            kind: PaymentEventKind::Processed {
                amount: order_core::Money::from_minor(1, order.currency()).unwrap(),
                reference: order_core::GatewayReference::parse("ch_1").unwrap(),
            },
        };
        assert!(service.apply_payment_event(&event, &actor()).await.is_err());
        assert_eq!(h.inventory.reserved_for(order.id()), 0);
    }

    /// Place, pay → declined, pay again while a rival writer changes the
    /// order's notes (the pay's commit loses the race and gives the money
    /// back). Expected: no stock held for the still-failed order. Actual:
    /// the retry's re-reservation stays.
    #[test]
    fn a_payment_that_loses_a_race_to_an_unrelated_change_is_recorded_and_sells_its_stock() {
        let ops = vec![
            place_one_shirt(),
            Op::Faulty {
                injections: vec![sim::Injection {
                    port: sim::Port::Authorize,
                    fault: Fault::Decline,
                    times: 1,
                }],
                op: Box::new(Op::Pay { order: Pick(0) }),
            },
            Op::Raced {
                rival: Rival::Notes,
                late: false,
                op: Box::new(Op::Pay { order: Pick(0) }),
            },
        ];
        let trace = runtime().block_on(sim::run(&Setup::default(), &ops));
        let order = last_order(&trace);
        // The rival only changed the notes: the payment is recorded on the
        // fresh state and the re-reserved stock is sold, not left held.
        assert_eq!(order.payment_status(), PaymentStatus::Paid);
        assert_eq!(trace.harness.inventory.reserved_for(order.id()), 0);
        assert!(trace.harness.inventory.committed(order.id()));
    }

    /// Two checkouts of one order at once (a second process pays it between
    /// the first one's read and its first commit, or between its claim and
    /// its recording): the money is taken once and recorded once.
    #[test]
    fn two_checkouts_racing_for_one_order_take_its_money_once() {
        for late in [false, true] {
            let ops = vec![
                place_one_shirt(),
                Op::Raced {
                    rival: Rival::Pay,
                    late,
                    op: Box::new(Op::Pay { order: Pick(0) }),
                },
            ];
            let trace = runtime().block_on(sim::run(&Setup::default(), &ops));
            let order = last_order(&trace);
            assert_eq!(order.payment_status(), PaymentStatus::Paid, "late: {late}");
            let captures = trace
                .harness
                .gateway
                .operations()
                .iter()
                .filter(|op| op.kind == "capture")
                .count();
            assert_eq!(captures, 1, "late: {late}");
        }
    }

    /// Two orders paid, then a refund of one while a rival cancels it (the
    /// cancel refunds everything captured before the refund is recorded).
    /// Expected: the gateway, as a provider does, refuses to refund more of
    /// a payment than it captured. Actual: the test kit's gateway checked
    /// refunds against every capture it had made, so the other order's
    /// capture let the cancel refund 50.01 USD of 49.97 (found by
    /// `refunds_never_exceed_captures…`).
    #[test]
    fn a_refund_racing_a_cancel_never_refunds_more_than_the_payment_captured() {
        let two_shirts = Op::Place {
            customer: 0,
            lines: vec![(Item::Tshirt, 2)],
            coupon: None,
            key: None,
        };
        let ops = vec![
            two_shirts.clone(),
            two_shirts,
            Op::Pay { order: Pick(0) },
            Op::Pay { order: Pick(1) },
            Op::Raced {
                rival: Rival::Cancel,
                late: false,
                op: Box::new(Op::Refund {
                    order: Pick(0),
                    per_mille: 1,
                }),
            },
        ];
        let trace = runtime().block_on(sim::run(&Setup::default(), &ops));
        let operations = trace.harness.gateway.operations();
        let sum = |kind: &str| {
            operations
                .iter()
                .filter(|op| op.kind == kind)
                .map(|op| op.amount.minor())
                .sum::<i128>()
        };
        let captured_each = sum("capture") / 2;
        assert!(
            sum("refund") <= captured_each,
            "refunded {} of one order's {captured_each}",
            sum("refund")
        );
    }

    /// Place, then edit the lines while a rival cancels the order (the
    /// edit's commit loses the race). Expected: the cancelled order holds no
    /// stock. Actual: `edit_lines` "puts the reservation back as it was"
    /// after its failed commit, re-reserving the stock the cancel released.
    #[test]
    fn an_edit_that_loses_a_race_to_a_cancel_leaves_no_stock_held() {
        let ops = vec![
            place_one_shirt(),
            Op::Raced {
                rival: Rival::Cancel,
                late: false,
                op: Box::new(Op::EditLines {
                    order: Pick(0),
                    edits: vec![sim::Edit::Add {
                        item: Item::Mug,
                        quantity: 1,
                    }],
                }),
            },
        ];
        let trace = runtime().block_on(sim::run(&Setup::default(), &ops));
        let order = last_order(&trace);
        assert_eq!(order.status(), OrderStatus::Cancelled);
        assert_eq!(trace.harness.inventory.reserved_for(order.id()), 0);
    }

    /// Place, pay while a rival changes the notes (the pay's commit loses the
    /// race; the capture is refunded at the gateway), pay again. Expected:
    /// the second payment takes money again. Actual: it reuses the first
    /// attempt's idempotency keys (`{id}:1:authorize`, `{id}:1:capture`,
    /// because the attempt counter was never committed), the gateway replays
    /// the first, already refunded capture, and the order is confirmed and
    /// `paid` with no money held. (With an edit in between, the ledger even
    /// records the new total against the old capture's reference.) The same
    /// holds for `refund` keys (`{id}:refund:{n}`) after a refund's commit
    /// loses a race.
    #[test]
    fn a_retry_after_a_lost_race_does_not_replay_the_given_back_payment() {
        let ops = vec![
            place_one_shirt(),
            Op::Raced {
                rival: Rival::Notes,
                late: false,
                op: Box::new(Op::Pay { order: Pick(0) }),
            },
            Op::Pay { order: Pick(0) },
        ];
        let trace = runtime().block_on(sim::run(&Setup::default(), &ops));
        let order = last_order(&trace);
        assert_eq!(order.payment_status(), PaymentStatus::Paid);
        let capture = order.payments().capture_reference().unwrap().clone();
        let refunded_at_gateway = trace
            .harness
            .gateway
            .operations()
            .iter()
            .any(|op| op.kind == "refund" && op.target.as_ref() == Some(&capture));
        assert!(
            !refunded_at_gateway,
            "the order is paid by capture {capture}, which the gateway has refunded"
        );
    }

    /// Place 1 BOOK, pay → capture declined (authorization voided, payment
    /// failed), add a TSHIRT, `payment.processed` for the new total.
    /// Expected: a consistent ledger that a store can restore. Actual:
    /// captured 53.18 > authorized 31.19, so `PaymentLedger::is_consistent`
    /// is false and `Order::restore` refuses the order the engine itself
    /// made ("payment ledger"): the rule ignores that the authorization was
    /// voided and the capture is a direct sale.
    #[tokio::test]
    async fn a_direct_capture_after_a_voided_authorization_keeps_the_ledger_consistent() {
        let h = Harness::default();
        let service = h.service();
        let book = h.product("BOOK");
        let shirt = h.product("TSHIRT");
        let request = PlaceOrderBuilder::new(customer(1)).line(&book, 1).build();
        let order = service.place(request, None, &actor()).await.unwrap();
        h.gateway.faults().next("capture", Fault::Decline, 1);
        let _ = service.pay(order.id(), &actor()).await;
        let add = LineEdit::Add {
            product_id: shirt.product_id,
            variant_id: None,
            quantity: Quantity::new(1).unwrap(),
        };
        let edited = service
            .edit_lines(order.id(), None, &[add], &actor())
            .await
            .unwrap();
        let event = PaymentEvent {
            event_id: "evt_1".into(),
            order_id: order.id(),
            kind: PaymentEventKind::Processed {
                amount: edited.amount_due(),
                reference: order_core::GatewayReference::parse("ch_1").unwrap(),
            },
        };
        let paid = service.apply_payment_event(&event, &actor()).await.unwrap();
        assert_eq!(paid.status(), OrderStatus::Confirmed);
        assert!(paid.payments().is_consistent(), "{:?}", paid.payments());
        assert!(Order::restore(paid.snapshot()).is_ok());
    }

    /// 1 TSHIRT on hand. Order A: pay → declined (stock released), then its
    /// shipping address changes to Germany (tax changes, so the lines are
    /// re-priced). Order B takes the last unit. A pays. Expected: A cannot
    /// be confirmed without stock (or B could not have been placed).
    /// Actual: both are confirmed: `update_details` emits `LinesChanged`,
    /// which marks A's reservation `held` without reserving anything, so
    /// `pay` does not reserve again and `commit` finds no hold: one unit
    /// sold twice.
    #[tokio::test]
    async fn changing_the_destination_of_a_failed_order_does_not_oversell() {
        let h = Harness::default();
        let service = h.service();
        let shirt = h.product("TSHIRT");
        h.inventory.set_on_hand(&shirt.sku, 1);
        let a = service
            .place(
                PlaceOrderBuilder::new(customer(1)).line(&shirt, 1).build(),
                None,
                &actor(),
            )
            .await
            .unwrap();
        h.gateway.faults().next("authorize", Fault::Decline, 1);
        let _ = service.pay(a.id(), &actor()).await;
        let germany = Address::parse(AddressInput {
            name: "Erika Mustermann".into(),
            line1: "Heidestrasse 17".into(),
            city: "Koeln".into(),
            postal_code: "51147".into(),
            country: "DE".into(),
            ..AddressInput::default()
        })
        .unwrap();
        let change = DetailsChange {
            shipping_address: Some(germany),
            ..DetailsChange::default()
        };
        service
            .update_details(a.id(), None, change, &actor())
            .await
            .unwrap();
        let b = service
            .place(
                PlaceOrderBuilder::new(customer(2)).line(&shirt, 1).build(),
                None,
                &actor(),
            )
            .await;
        let a_paid = service.pay(a.id(), &actor()).await;
        let b_paid = match b {
            Ok(b) => service.pay(b.id(), &actor()).await,
            Err(err) => Err(err),
        };
        assert!(
            !(a_paid.is_ok() && b_paid.is_ok()),
            "one unit on hand, two orders confirmed"
        );
    }

    /// Capture on processing: pay (authorized, confirmed), then a
    /// `payment.failed` webhook, then cancel. Expected: the webhook is
    /// refused for a confirmed order, or the cancel voids the open
    /// authorization. Actual: the webhook is applied (confirmed, payment
    /// failed: the order can neither be processed nor paid again), and the
    /// cancel voids nothing, so the customer's funds stay held.
    #[tokio::test]
    async fn a_failure_webhook_never_strands_an_open_authorization() {
        let h = Harness::default();
        let service = h.service_with(ServiceConfig {
            capture: CaptureMode::OnProcessing,
            ..ServiceConfig::default()
        });
        let shirt = h.product("TSHIRT");
        let request = PlaceOrderBuilder::new(customer(1)).line(&shirt, 1).build();
        let order = service.place(request, None, &actor()).await.unwrap();
        let order = service.pay(order.id(), &actor()).await.unwrap();
        assert_eq!(order.payment_status(), PaymentStatus::Authorized);
        let event = PaymentEvent {
            event_id: "evt_failed".into(),
            order_id: order.id(),
            kind: PaymentEventKind::Failed {
                code: "expired_card".into(),
                reason: "the card expired".into(),
            },
        };
        let webhook = service.apply_payment_event(&event, &actor()).await;
        let cancelled = service
            .cancel(
                order.id(),
                None,
                Reason::parse("no payment").unwrap(),
                &actor(),
            )
            .await
            .unwrap();
        assert_eq!(cancelled.status(), OrderStatus::Cancelled);
        let voided = h.gateway.operations().iter().any(|op| op.kind == "void");
        assert!(
            webhook.is_err() || voided,
            "the authorization of a cancelled order was never voided"
        );
    }
}
