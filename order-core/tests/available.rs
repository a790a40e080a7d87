//! `Order::staff_actions`: what staff may ask of an order now, walked
//! through an order's life, and kept in step with the use cases: every
//! action offered previews without a refusal, and every action withheld is
//! refused by its own preview.

use order_core::{
    Action, Actor, Carrier, Currency, LineQuantity, Money, Operation, Order, OrderService,
    OrderStatus, Quantity, Reason, ReturnId, ShipmentId,
};
use order_testkit::Harness;
use order_testkit::builder::{PlaceOrderBuilder, customer};

fn actor() -> Actor {
    Actor::parse("admin:tester").unwrap()
}

fn reason() -> Reason {
    Reason::parse("checking").unwrap()
}

fn qty(n: u32) -> Quantity {
    Quantity::new(n).unwrap()
}

/// An operation of `action` that only the order's state could refuse: the
/// whole remaining quantity, the first open shipment or return, a cent.
fn probe(order: &Order, action: Action) -> Operation {
    match action {
        Action::StartProcessing => Operation::StartProcessing,
        Action::Ship => Operation::Ship {
            lines: order
                .lines()
                .iter()
                .map(|l| LineQuantity {
                    line_id: l.id,
                    quantity: qty(l.quantities.to_ship().max(1)),
                })
                .collect(),
            carrier: Some(Carrier::parse("UPS").unwrap()),
            tracking_number: None,
        },
        Action::Deliver => Operation::Deliver {
            shipment_id: order
                .shipments()
                .iter()
                .find(|s| s.delivered_at.is_none())
                .or(order.shipments().first())
                .map_or_else(|| ShipmentId::new(uuid::Uuid::now_v7()).unwrap(), |s| s.id),
        },
        Action::ReceiveReturn => Operation::ReceiveReturn {
            return_id: order
                .returns()
                .iter()
                .find(|r| r.received_at.is_none())
                .or(order.returns().first())
                .map_or_else(|| ReturnId::new(uuid::Uuid::now_v7()).unwrap(), |r| r.id),
            refund: true,
        },
        Action::Refund => Operation::Refund {
            amount: Money::from_minor(1, Currency::USD).unwrap(),
            reason: reason(),
        },
        Action::Cancel => Operation::Cancel { reason: reason() },
        other => panic!("{other} is not a staff action"),
    }
}

/// Asserts that the order offers exactly `expected`, and that each staff
/// action's preview agrees with whether it is offered.
async fn offers(service: &OrderService, order: &Order, expected: &[Action]) {
    assert_eq!(order.staff_actions(), expected, "{}", order.status());
    for &action in order_core::available::STAFF_ACTIONS {
        let preview = service
            .preview(order.id(), probe(order, action), &actor())
            .await;
        assert_eq!(
            preview.is_ok(),
            order.allows(action),
            "{action} on a {} order ({}): {:?}",
            order.status(),
            order.payment_status(),
            preview.err()
        );
    }
}

#[tokio::test]
async fn staff_are_offered_what_the_order_allows_through_its_whole_life() {
    let h = Harness::default();
    let service = h.service();
    let shirt = h.product("TSHIRT");
    h.inventory.set_on_hand(&shirt.sku, 10);
    let placed = service
        .place(
            PlaceOrderBuilder::new(customer(1)).line(&shirt, 3).build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    offers(&service, &placed, &[Action::Cancel]).await;

    let paid = service.pay(placed.id(), &actor()).await.unwrap();
    offers(
        &service,
        &paid,
        &[Action::StartProcessing, Action::Refund, Action::Cancel],
    )
    .await;

    let processing = service
        .start_processing(paid.id(), None, &actor())
        .await
        .unwrap();
    offers(
        &service,
        &processing,
        &[Action::Ship, Action::Refund, Action::Cancel],
    )
    .await;

    let line = processing.lines()[0].id;
    let part = service
        .ship(
            processing.id(),
            None,
            vec![LineQuantity {
                line_id: line,
                quantity: qty(2),
            }],
            Some(Carrier::parse("UPS").unwrap()),
            None,
            &actor(),
        )
        .await
        .unwrap();
    assert_eq!(part.status(), OrderStatus::PartiallyShipped);
    offers(
        &service,
        &part,
        &[Action::Ship, Action::Deliver, Action::Refund],
    )
    .await;

    let shipped = service
        .ship(
            part.id(),
            None,
            vec![LineQuantity {
                line_id: line,
                quantity: qty(1),
            }],
            Some(Carrier::parse("UPS").unwrap()),
            None,
            &actor(),
        )
        .await
        .unwrap();
    offers(&service, &shipped, &[Action::Deliver, Action::Refund]).await;

    let mut delivered = shipped.clone();
    for shipment in shipped.shipments() {
        delivered = service
            .deliver(delivered.id(), None, shipment.id, &actor())
            .await
            .unwrap();
    }
    assert_eq!(delivered.status(), OrderStatus::Delivered);
    offers(&service, &delivered, &[Action::Refund]).await;

    let returning = service
        .request_return(
            delivered.id(),
            None,
            vec![LineQuantity {
                line_id: line,
                quantity: qty(3),
            }],
            reason(),
            &actor(),
        )
        .await
        .unwrap();
    offers(
        &service,
        &returning,
        &[Action::ReceiveReturn, Action::Refund],
    )
    .await;

    let return_id = returning.returns()[0].id;
    let returned = service
        .receive_return(returning.id(), None, return_id, true, &actor())
        .await
        .unwrap();
    assert_eq!(returned.status(), OrderStatus::Returned);
    // The return refunded the goods' share; shipping is still refundable.
    offers(&service, &returned, &[Action::Refund]).await;

    let rest = returned.payments().refundable().unwrap();
    let refunded = service
        .refund(returned.id(), rest, reason(), &actor())
        .await
        .unwrap();
    offers(&service, &refunded, &[]).await;
}

#[tokio::test]
async fn a_cancelled_order_offers_nothing_but_a_paid_one_offers_its_refund() {
    let h = Harness::default();
    let service = h.service();
    let mug = h.product("MUG");
    h.inventory.set_on_hand(&mug.sku, 10);
    let unpaid = service
        .place(
            PlaceOrderBuilder::new(customer(2)).line(&mug, 1).build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    let cancelled = service
        .cancel(unpaid.id(), None, reason(), &actor())
        .await
        .unwrap();
    offers(&service, &cancelled, &[]).await;

    let paid = service
        .place(
            PlaceOrderBuilder::new(customer(2)).line(&mug, 1).build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    let paid = service.pay(paid.id(), &actor()).await.unwrap();
    let refunded = service
        .refund(
            paid.id(),
            Money::from_minor(100, Currency::USD).unwrap(),
            reason(),
            &actor(),
        )
        .await
        .unwrap();
    // Partly refunded before processing: no longer processed (the money
    // is not whole), still cancellable (refunding the rest), still
    // refundable.
    offers(&service, &refunded, &[Action::Refund, Action::Cancel]).await;
}

#[tokio::test]
async fn a_refund_at_a_stale_version_is_refused_before_money_moves() {
    let h = Harness::default();
    let service = h.service();
    let mug = h.product("MUG");
    h.inventory.set_on_hand(&mug.sku, 10);
    let order = service
        .place(
            PlaceOrderBuilder::new(customer(3)).line(&mug, 1).build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    let paid = service.pay(order.id(), &actor()).await.unwrap();
    let stale = paid.version() - 1;
    let err = service
        .perform(
            paid.id(),
            Some(stale),
            Operation::Refund {
                amount: Money::from_minor(100, Currency::USD).unwrap(),
                reason: reason(),
            },
            &actor(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, order_core::OrderError::VersionConflict { .. }),
        "{err}"
    );
    let after = service.get(paid.id()).await.unwrap();
    assert!(after.payments().refunded().is_zero());
}
