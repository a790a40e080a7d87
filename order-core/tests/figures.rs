//! Figures derived from orders, defined once in the core: the invoice and
//! the report over a period.

use order_core::{Actor, Currency, Invoice, Money, OrderStatus, Reason};
use order_testkit::Harness;
use order_testkit::builder::{PlaceOrderBuilder, customer};

fn usd(minor: i128) -> Money {
    Money::from_minor(minor, Currency::USD).unwrap()
}

fn actor() -> Actor {
    Actor::parse("tester").unwrap()
}

fn reason(text: &str) -> Reason {
    Reason::parse(text).unwrap()
}

#[tokio::test]
async fn an_invoice_is_issued_at_confirmation_and_shows_paid_refunded_and_due() {
    let h = Harness::default();
    let service = h.service();
    let placed = service
        .place(
            PlaceOrderBuilder::new(customer(1))
                .line(&h.product("MUG"), 4)
                .build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    let pro_forma = Invoice::of(&placed).unwrap();
    assert_eq!(pro_forma.issued_at, None, "not issued before confirmation");
    assert_eq!(pro_forma.due, placed.totals().total);

    h.clock.advance(chrono::Duration::hours(2));
    let paid = service.pay(placed.id(), &actor()).await.unwrap();
    h.clock.advance(chrono::Duration::hours(1));
    let refunded = service
        .refund(placed.id(), usd(1_000), reason("goodwill"), &actor())
        .await
        .unwrap();
    let invoice = Invoice::of(&refunded).unwrap();
    assert_eq!(invoice.issued_at, paid.confirmed_at());
    assert_ne!(invoice.issued_at, Some(placed.created_at()));
    let total = placed.totals().total;
    assert_eq!(invoice.paid, total, "paid is what was captured");
    assert_eq!(invoice.refunded, usd(1_000));
    assert_eq!(invoice.net_paid, total.checked_sub(&usd(1_000)).unwrap());
    assert_eq!(invoice.due, usd(0), "a refund does not make money due");
}

#[tokio::test]
async fn a_cancelled_unpaid_order_owes_nothing() {
    let h = Harness::default();
    let service = h.service();
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
    let cancelled = service
        .cancel(placed.id(), None, reason("changed my mind"), &actor())
        .await
        .unwrap();
    assert_eq!(cancelled.status(), OrderStatus::Cancelled);
    assert_eq!(Invoice::of(&cancelled).unwrap().due, usd(0));
}

#[tokio::test]
async fn the_average_order_value_is_the_mean_order_total_whatever_was_refunded() {
    let h = Harness::default();
    let service = h.service();
    let from = order_core::ports::Clock::now(h.clock.as_ref());
    let mut totals = Vec::new();
    for (n, units) in [(1, 8), (2, 2), (3, 1)] {
        let order = service
            .place(
                PlaceOrderBuilder::new(customer(n))
                    .line(&h.product("MUG"), units)
                    .build(),
                None,
                &actor(),
            )
            .await
            .unwrap();
        service.pay(order.id(), &actor()).await.unwrap();
        totals.push(order.totals().total);
    }
    let first = h.store.list(&Default::default()).await.unwrap().orders;
    let biggest = first
        .iter()
        .max_by_key(|o| o.totals().total.minor())
        .unwrap()
        .id();
    service
        .refund(biggest, usd(5_000), reason("damaged"), &actor())
        .await
        .unwrap();

    let report = service
        .report(from, from + chrono::Duration::days(1))
        .await
        .unwrap();
    let figures = report.currencies.get(&Currency::USD).unwrap();
    let gross = Money::sum(Currency::USD, &totals).unwrap();
    assert_eq!(figures.paid_orders, 3);
    assert_eq!(figures.gross_sales, gross);
    assert_eq!(figures.refunded, usd(5_000));
    assert_eq!(
        figures.revenue,
        gross.checked_sub(&usd(5_000)).unwrap(),
        "revenue is net of refunds"
    );
    let mean = Money::round(
        gross.amount() / rust_decimal::Decimal::from(3),
        Currency::USD,
        order_core::RoundingMode::HalfEven,
    );
    assert_eq!(figures.average_order_value, mean);
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(64))]

    /// The sums are additive: a report made from one group per order is the
    /// report made from the orders folded per status and currency, so a
    /// store may hand its sums over in any grouping.
    #[test]
    fn a_report_is_the_same_whatever_the_grouping_of_its_sums(
        lived in proptest::collection::vec(order_testkit::strategy::arb_lived_order(), 1..24)
    ) {
        use order_core::ports::FigureGroup;
        use order_core::report::Report;

        let orders: Vec<_> = lived.into_iter().map(|(order, _)| order).collect();
        let from = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        let to = from + chrono::Duration::days(40_000);
        let folded = Report::of(from, to, FigureGroup::fold(&orders).unwrap()).unwrap();
        let apart = Report::of(
            from,
            to,
            orders
                .iter()
                .map(|o| FigureGroup::fold(std::iter::once(o)).unwrap().remove(0)),
        )
        .unwrap();
        proptest::prop_assert_eq!(&folded, &apart);
        proptest::prop_assert_eq!(folded.orders, orders.len() as u64);
        let paid = orders.iter().filter(|o| !o.payments().captured().is_zero()).count();
        proptest::prop_assert_eq!(
            folded.currencies.values().map(|f| f.paid_orders).sum::<u64>(),
            paid as u64
        );
    }
}
