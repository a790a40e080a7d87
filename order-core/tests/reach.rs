//! `OrderService::reach`: a status asked for, as older APIs' "set status"
//! does, runs the use case that leads there on the whole of what is left;
//! the state machine decides.

use order_core::{
    Actor, Carrier, LineQuantity, Order, OrderError, OrderStatus, PaymentStatus, Quantity, Reason,
    Scope, StatusGoal, TransitionError,
};
use order_testkit::Harness;
use order_testkit::builder::{PlaceOrderBuilder, customer};

fn actor() -> Actor {
    Actor::parse("tester").unwrap()
}

fn reason(text: &str) -> Reason {
    Reason::parse(text).unwrap()
}

fn shipped() -> StatusGoal {
    StatusGoal::Shipped {
        carrier: Some(Carrier::parse("UPS").unwrap()),
        tracking_number: None,
    }
}

/// Two T-shirts and a book, placed for customer 1.
async fn placed(h: &Harness) -> Order {
    let shirt = h.product("TSHIRT");
    let book = h.product("BOOK");
    h.inventory.set_on_hand(&shirt.sku, 10);
    h.inventory.set_on_hand(&book.sku, 10);
    let request = PlaceOrderBuilder::new(customer(1))
        .line(&shirt, 2)
        .line(&book, 1)
        .build();
    h.service().place(request, None, &actor()).await.unwrap()
}

async fn reach(h: &Harness, order: &Order, goal: StatusGoal) -> Result<Order, OrderError> {
    h.service()
        .reach(order.id(), Scope::All, goal, &actor())
        .await
}

#[tokio::test]
async fn reaching_shipped_ships_every_unit_left_in_one_shipment() {
    let h = Harness::default();
    let order = placed(&h).await;
    reach(&h, &order, StatusGoal::Paid).await.unwrap();
    reach(&h, &order, StatusGoal::Processing).await.unwrap();
    let shirt = order.lines()[0].id;
    let partly = h
        .service()
        .ship(
            order.id(),
            None,
            vec![LineQuantity {
                line_id: shirt,
                quantity: Quantity::new(1).unwrap(),
            }],
            Some(Carrier::parse("DHL").unwrap()),
            None,
            &actor(),
        )
        .await
        .unwrap();
    assert_eq!(partly.status(), OrderStatus::PartiallyShipped);

    let all = reach(&h, &order, shipped()).await.unwrap();
    assert_eq!(all.status(), OrderStatus::Shipped);
    let rest = &all.shipments()[1];
    let units: Vec<u32> = rest.lines.iter().map(|l| l.quantity.get()).collect();
    assert_eq!(units, [1, 1], "the shirt left and the book");
}

#[tokio::test]
async fn reaching_delivered_delivers_every_shipment_in_transit() {
    let h = Harness::default();
    let order = placed(&h).await;
    reach(&h, &order, StatusGoal::Paid).await.unwrap();
    reach(&h, &order, StatusGoal::Processing).await.unwrap();
    reach(&h, &order, shipped()).await.unwrap();
    let delivered = reach(&h, &order, StatusGoal::Delivered).await.unwrap();
    assert_eq!(delivered.status(), OrderStatus::Delivered);
    assert!(
        delivered
            .shipments()
            .iter()
            .all(|s| s.delivered_at.is_some())
    );
}

#[tokio::test]
async fn reaching_delivered_with_nothing_in_transit_is_refused_naming_the_state() {
    let h = Harness::default();
    let order = placed(&h).await;
    let err = reach(&h, &order, StatusGoal::Delivered).await.unwrap_err();
    let OrderError::Transition(refusal) = err else {
        panic!("a refused transition expected: {err:?}");
    };
    assert_eq!(
        refusal,
        TransitionError {
            from: OrderStatus::Pending,
            payment: PaymentStatus::Unpaid,
            action: order_core::Action::Deliver,
        }
    );
}

#[tokio::test]
async fn reaching_shipped_before_processing_is_refused_by_the_state_machine() {
    let h = Harness::default();
    let order = placed(&h).await;
    reach(&h, &order, StatusGoal::Paid).await.unwrap();
    let err = reach(&h, &order, shipped()).await.unwrap_err();
    assert!(
        matches!(
            err,
            OrderError::Transition(TransitionError {
                from: OrderStatus::Confirmed,
                ..
            })
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn reaching_refunded_refunds_everything_captured_and_nothing_when_nothing_was() {
    let h = Harness::default();
    let order = placed(&h).await;
    let goal = || StatusGoal::Refunded {
        reason: reason("goodwill"),
    };
    let err = reach(&h, &order, goal()).await.unwrap_err();
    assert!(
        matches!(
            err,
            OrderError::Transition(TransitionError {
                from: OrderStatus::Pending,
                ..
            })
        ),
        "{err:?}"
    );
    reach(&h, &order, StatusGoal::Paid).await.unwrap();
    let refunded = reach(&h, &order, goal()).await.unwrap();
    assert_eq!(refunded.payment_status(), PaymentStatus::Refunded);
    assert_eq!(refunded.payments().refunded(), refunded.totals().total);
}

#[tokio::test]
async fn a_return_asked_for_covers_every_unit_that_may_come_back() {
    let h = Harness::default();
    let order = placed(&h).await;
    for goal in [
        StatusGoal::Paid,
        StatusGoal::Processing,
        shipped(),
        StatusGoal::Delivered,
    ] {
        reach(&h, &order, goal).await.unwrap();
    }
    let returning = reach(
        &h,
        &order,
        StatusGoal::ReturnRequested {
            reason: reason("too small"),
        },
    )
    .await
    .unwrap();
    let units: u32 = returning.returns()[0]
        .lines
        .iter()
        .map(|l| l.quantity.get())
        .sum();
    assert_eq!(units, 3);
}

#[tokio::test]
async fn another_customers_order_is_not_found() {
    let h = Harness::default();
    let order = placed(&h).await;
    let err = h
        .service()
        .reach(
            order.id(),
            Scope::Customer(customer(2)),
            StatusGoal::Cancelled {
                reason: reason("not mine"),
            },
            &actor(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, OrderError::NotFound(_)), "{err:?}");
    let mine = h.service().get(order.id()).await.unwrap();
    assert_eq!(mine.status(), OrderStatus::Pending);
}
