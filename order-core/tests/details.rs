//! Changing an order's details: the price follows the destination while the
//! order is unpaid, and is fixed once money has moved.

use order_core::{
    Actor, Address, AddressInput, DetailsChange, OrderError, OrderStatus, RuleViolation,
};
use order_testkit::Harness;
use order_testkit::builder::{PlaceOrderBuilder, customer};

fn actor() -> Actor {
    Actor::parse("tester").unwrap()
}

fn german_address() -> Address {
    Address::parse(AddressInput {
        name: "Kim".into(),
        line1: "Hauptstraße 1".into(),
        city: "Berlin".into(),
        postal_code: "10115".into(),
        country: "DE".into(),
        ..AddressInput::default()
    })
    .unwrap()
}

fn move_to_germany() -> DetailsChange {
    DetailsChange {
        shipping_address: Some(german_address()),
        ..DetailsChange::default()
    }
}

#[tokio::test]
async fn moving_an_unpaid_order_abroad_reprices_its_tax() {
    let h = Harness::default();
    let service = h.service();
    let placed = service
        .place(
            PlaceOrderBuilder::new(customer(1))
                .line(&h.product("MUG"), 2)
                .build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    let moved = service
        .update_details(placed.id(), None, move_to_germany(), &actor())
        .await
        .unwrap();
    assert_ne!(
        moved.totals().tax,
        placed.totals().tax,
        "German VAT applies"
    );
}

#[tokio::test]
async fn moving_a_paid_order_abroad_is_refused_rather_than_keeping_the_old_tax() {
    let h = Harness::default();
    let service = h.service();
    let placed = service
        .place(
            PlaceOrderBuilder::new(customer(1))
                .line(&h.product("MUG"), 2)
                .build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    let paid = service.pay(placed.id(), &actor()).await.unwrap();
    let refused = service
        .update_details(paid.id(), None, move_to_germany(), &actor())
        .await;
    assert!(
        matches!(
            refused,
            Err(OrderError::Rule(RuleViolation::FieldFrozen {
                field: "shipping_address",
                status: OrderStatus::Confirmed
            }))
        ),
        "{refused:?}"
    );
    let stored = service.get(paid.id()).await.unwrap();
    assert_eq!(stored, paid, "nothing changed");
}

#[tokio::test]
async fn a_paid_order_may_still_change_its_address_where_the_price_stays() {
    let h = Harness::default();
    let service = h.service();
    let placed = service
        .place(
            PlaceOrderBuilder::new(customer(1))
                .line(&h.product("MUG"), 2)
                .build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    let paid = service.pay(placed.id(), &actor()).await.unwrap();
    let mut input = AddressInput {
        name: "Jane Doe".into(),
        line1: "1 Other Street".into(),
        city: "Springfield".into(),
        postal_code: "12345".into(),
        country: paid.shipping_address().unwrap().country().as_str().into(),
        ..AddressInput::default()
    };
    input.line2 = Some("Apt 2".into());
    let change = DetailsChange {
        shipping_address: Some(Address::parse(input).unwrap()),
        ..DetailsChange::default()
    };
    let moved = service
        .update_details(paid.id(), None, change, &actor())
        .await
        .unwrap();
    assert_eq!(moved.totals(), paid.totals());
    assert_eq!(moved.shipping_address().unwrap().line1(), "1 Other Street");
}
