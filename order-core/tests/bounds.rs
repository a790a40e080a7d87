//! The engine's bounds on money and stock (ADR 0006), through
//! `OrderService`: a price the catalog should never have held, or an order
//! whose amounts no store can keep, is refused naming the field before
//! anything is reserved or stored.

use order_core::ports::{CatalogAdmin, OrderQuery, StockLevel};
use order_core::{
    Actor, Currency, LineEdit, Money, MoneyError, OrderError, ProductKind, Quantity,
    ValidationError,
};
use order_testkit::Harness;
use order_testkit::builder::{PlaceOrderBuilder, customer};
use order_testkit::harness::product;

fn actor() -> Actor {
    Actor::parse("tester").unwrap()
}

fn usd(text: &str) -> Money {
    Money::parse(text, Currency::USD).unwrap()
}

fn field_of(err: &OrderError) -> &str {
    match err {
        OrderError::Validation(v) => v.field(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

async fn nothing_stored(h: &Harness) {
    let page = h.service().list(&OrderQuery::default()).await.unwrap();
    assert!(page.orders.is_empty(), "an order was stored");
}

#[tokio::test]
async fn a_catalog_price_of_zero_or_less_is_never_ordered() {
    for price in ["-40.00", "-0.01", "0"] {
        let h = Harness::default();
        let bad = product("NEGATIVE", usd(price), ProductKind::Physical, "standard");
        // Planted behind the admin port's back, as a foreign catalog might.
        h.catalog.upsert(bad.clone());
        h.inventory.set_on_hand(&bad.sku, 10);
        let request = PlaceOrderBuilder::new(customer(1)).line(&bad, 1).build();
        let err = h
            .service()
            .place(request, None, &actor())
            .await
            .unwrap_err();
        assert_eq!(field_of(&err), "lines[0].unit_price", "{price}: {err}");
        assert!(
            matches!(
                err,
                OrderError::Validation(ValidationError::Money {
                    source: MoneyError::NotPositive { .. },
                    ..
                })
            ),
            "{err:?}"
        );
        nothing_stored(&h).await;
        assert_eq!(h.inventory.reserved(&bad.sku), 0);
    }
}

#[tokio::test]
async fn a_catalog_price_beyond_the_bound_is_never_ordered() {
    let h = Harness::default();
    let shirt = h.product("TSHIRT");
    let huge = product(
        "HUGE",
        usd("99999999999999999999.99"),
        ProductKind::Digital,
        "standard",
    );
    h.catalog.upsert(huge.clone());
    let request = PlaceOrderBuilder::new(customer(1))
        .line(&shirt, 1)
        .line(&huge, 1)
        .build();
    let err = h
        .service()
        .place(request, None, &actor())
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "lines[1].unit_price", "{err}");
    nothing_stored(&h).await;
}

#[tokio::test]
async fn an_order_whose_amounts_no_store_can_keep_is_refused_before_the_store() {
    let h = Harness::default();
    // The largest price, and the largest quantity: 10^12 × 10^4 = 10^16,
    // a hundred times the largest amount.
    let dear = product(
        "DEAR",
        Money::new(Money::MAX_UNIT_PRICE, Currency::USD).unwrap(),
        ProductKind::Physical,
        "standard",
    );
    h.catalog.upsert(dear.clone());
    h.inventory.set_on_hand(&dear.sku, Quantity::MAX);
    let request = PlaceOrderBuilder::new(customer(1))
        .line(&dear, Quantity::MAX)
        .build();
    let err = h
        .service()
        .place(request, None, &actor())
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "lines[0].subtotal", "{err}");
    assert!(
        matches!(
            err,
            OrderError::Validation(ValidationError::Money {
                source: MoneyError::TooLarge { .. },
                ..
            })
        ),
        "{err:?}"
    );
    nothing_stored(&h).await;
    assert_eq!(h.inventory.reserved(&dear.sku), 0, "nothing was reserved");
}

#[tokio::test]
async fn tax_and_shipping_may_not_push_the_total_past_the_bound() {
    let h = Harness::default();
    // 10^12 × 100 is exactly the largest amount; the demo's 10 % tax and
    // shipping take the line and the order past it.
    let dear = product(
        "DEAR",
        Money::new(Money::MAX_UNIT_PRICE, Currency::USD).unwrap(),
        ProductKind::Physical,
        "standard",
    );
    h.catalog.upsert(dear.clone());
    let request = PlaceOrderBuilder::new(customer(1)).line(&dear, 100).build();
    let err = h
        .service()
        .place(request, None, &actor())
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "lines[0].total", "{err}");
    nothing_stored(&h).await;
}

#[tokio::test]
async fn an_edit_that_takes_the_order_past_the_bound_is_refused_and_changes_nothing() {
    let h = Harness::default();
    let dear = product(
        "DEAR",
        Money::new(Money::MAX_UNIT_PRICE, Currency::USD).unwrap(),
        ProductKind::Digital,
        "standard",
    );
    h.catalog.upsert(dear.clone());
    let service = h.service();
    let placed = service
        .place(
            PlaceOrderBuilder::new(customer(1)).line(&dear, 1).build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    let line = placed.lines()[0].id;
    let err = service
        .edit_lines(
            placed.id(),
            Some(placed.version()),
            &[LineEdit::SetQuantity {
                line_id: line,
                quantity: Quantity::new(Quantity::MAX).unwrap(),
            }],
            &actor(),
        )
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "lines[0].subtotal", "{err}");
    let stored = service.get(placed.id()).await.unwrap();
    assert_eq!(stored, placed, "the order is unchanged");
}

#[tokio::test]
async fn the_catalog_admin_refuses_a_product_outside_the_bounds() {
    let h = Harness::default();
    for price in ["-1.00", "0", "1000000000000.01", "999999999999999999999.99"] {
        let bad = product("BAD", usd(price), ProductKind::Physical, "standard");
        assert!(
            CatalogAdmin::upsert(h.catalog.as_ref(), &bad)
                .await
                .is_err(),
            "{price}"
        );
    }
    let best = product(
        "BEST",
        Money::new(Money::MAX_UNIT_PRICE, Currency::USD).unwrap(),
        ProductKind::Physical,
        "standard",
    );
    assert_eq!(best.check(), Ok(()));
    CatalogAdmin::upsert(h.catalog.as_ref(), &best)
        .await
        .unwrap();
}

#[tokio::test]
async fn stock_levels_refuse_more_units_than_every_store_holds() {
    use order_core::ports::StockLevels;
    let h = Harness::default();
    let shirt = h.product("TSHIRT");
    let max = StockLevel::MAX_ON_HAND;
    assert_eq!(StockLevel::check_on_hand(max), Ok(max));
    let err = StockLevel::check_on_hand(max + 1).unwrap_err();
    assert_eq!(err.field(), "on_hand");
    assert!(
        StockLevels::set_on_hand(h.inventory.as_ref(), &shirt.sku, max + 1)
            .await
            .is_err()
    );
    assert_eq!(
        StockLevels::set_on_hand(h.inventory.as_ref(), &shirt.sku, max)
            .await
            .unwrap()
            .on_hand,
        max
    );
}
