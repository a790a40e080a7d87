//! Digital goods: a digital-only order is handed over when it is paid, with
//! nothing to process, ship or deliver, and digital lines cannot be
//! returned as if they had been shipped.

use order_core::{
    Actor, CaptureMode, LineQuantity, OrderError, OrderStatus, Quantity, Reason, RuleViolation,
    ServiceConfig,
};
use order_testkit::Harness;
use order_testkit::builder::{PlaceOrderBuilder, customer};

fn actor() -> Actor {
    Actor::parse("tester").unwrap()
}

async fn digital_order(h: &Harness, service: &order_core::OrderService) -> order_core::Order {
    service
        .place(
            PlaceOrderBuilder::new(customer(1))
                .line(&h.product("EBOOK"), 2)
                .ship_to(None)
                .method(None)
                .build(),
            None,
            &actor(),
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn a_paid_digital_only_order_is_delivered_at_once_and_completes_after_the_window() {
    let h = Harness::default();
    let service = h.service();
    let order = digital_order(&h, &service).await;
    let paid = service.pay(order.id(), &actor()).await.unwrap();
    assert_eq!(paid.status(), OrderStatus::Delivered);
    assert_eq!(paid.delivered_at(), paid.confirmed_at());
    assert!(paid.shipments().is_empty(), "nothing was shipped");
    assert_eq!(paid.lines()[0].quantities.delivered, 2);
    let types: Vec<&str> = service
        .events(order.id())
        .await
        .unwrap()
        .iter()
        .map(|e| e.event_type())
        .collect();
    assert_eq!(types.last(), Some(&"order.delivered"));

    h.clock
        .advance(ServiceConfig::default().return_window + chrono::Duration::hours(1));
    assert_eq!(service.complete_due(10).await.unwrap(), vec![order.id()]);
    let done = service.get(order.id()).await.unwrap();
    assert_eq!(done.status(), OrderStatus::Completed);
}

#[tokio::test]
async fn a_digital_only_order_is_captured_at_checkout_even_when_capture_waits_for_processing() {
    let h = Harness::default();
    let service = h.service_with(ServiceConfig {
        capture: CaptureMode::OnProcessing,
        ..ServiceConfig::default()
    });
    let order = digital_order(&h, &service).await;
    let paid = service.pay(order.id(), &actor()).await.unwrap();
    assert_eq!(paid.status(), OrderStatus::Delivered);
    assert_eq!(paid.payments().captured(), order.totals().total);
}

#[tokio::test]
async fn a_digital_line_cannot_be_returned_but_can_be_refunded() {
    let h = Harness::default();
    let service = h.service();
    let order = digital_order(&h, &service).await;
    let paid = service.pay(order.id(), &actor()).await.unwrap();
    let line = paid.lines()[0].id;
    let refused = service
        .request_return(
            order.id(),
            None,
            vec![LineQuantity {
                line_id: line,
                quantity: Quantity::new(1).unwrap(),
            }],
            Reason::parse("did not like it").unwrap(),
            &actor(),
        )
        .await;
    assert!(
        matches!(
            refused,
            Err(OrderError::Rule(RuleViolation::DigitalNotReturnable { line: l })) if l == line
        ),
        "{refused:?}"
    );
    let refunded = service
        .refund(
            order.id(),
            paid.lines()[0].amounts.total,
            Reason::parse("did not like it").unwrap(),
            &actor(),
        )
        .await
        .unwrap();
    assert_eq!(
        refunded.payments().refunded(),
        paid.lines()[0].amounts.total
    );
}

#[tokio::test]
async fn a_mixed_order_ships_its_digital_lines_with_its_parcels_as_before() {
    let h = Harness::default();
    let service = h.service();
    let order = service
        .place(
            PlaceOrderBuilder::new(customer(1))
                .line(&h.product("EBOOK"), 1)
                .line(&h.product("MUG"), 1)
                .build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    let paid = service.pay(order.id(), &actor()).await.unwrap();
    assert_eq!(paid.status(), OrderStatus::Confirmed);
    assert!(paid.delivered_at().is_none());
}
