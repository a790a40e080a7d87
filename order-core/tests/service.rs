//! The use cases of `OrderService`, end to end over the testkit's fakes.

use order_core::ports::OrderQuery;
use order_core::{
    Actor, CaptureMode, Currency, LineEdit, LineQuantity, Money, OrderError, OrderStatus,
    PaymentEvent, PaymentEventKind, PaymentInstrument, PaymentMethod, PaymentStatus, PaymentToken,
    Quantity, Reason, Reservation, RuleViolation, Scope, ServiceConfig,
};
use order_testkit::Harness;
use order_testkit::builder::{PlaceOrderBuilder, customer};
use order_testkit::fault::Fault;

fn usd(minor: i128) -> Money {
    Money::from_minor(minor, Currency::USD).unwrap()
}

fn actor() -> Actor {
    Actor::parse("tester").unwrap()
}

fn reason(text: &str) -> Reason {
    Reason::parse(text).unwrap()
}

fn qty(n: u32) -> Quantity {
    Quantity::new(n).unwrap()
}

#[tokio::test]
async fn placing_prices_from_the_catalog_and_reserves_stock() {
    let h = Harness::default();
    let service = h.service();
    let shirt = h.product("TSHIRT");
    h.inventory.set_on_hand(&shirt.sku, 5);
    let request = PlaceOrderBuilder::new(customer(1)).line(&shirt, 2).build();
    let order = service.place(request, None, &actor()).await.unwrap();

    assert_eq!(order.status(), OrderStatus::Pending);
    assert_eq!(order.payment_status(), PaymentStatus::Unpaid);
    // 2 × 19.99 = 39.98; 10 % tax = 4.00; shipping 5.99.
    assert_eq!(order.totals().subtotal, usd(3998));
    assert_eq!(order.totals().tax, usd(400));
    assert_eq!(order.totals().shipping, usd(599));
    assert_eq!(order.totals().total, usd(4997));
    assert_eq!(h.inventory.reserved_for(order.id()), 2);
    assert_eq!(order.number().as_str(), "ORD-2026-000001");
    let events = service.events(order.id()).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type(), "order.created");
}

#[tokio::test]
async fn out_of_stock_refuses_with_detail_and_persists_nothing() {
    let h = Harness::default();
    let service = h.service();
    let shirt = h.product("TSHIRT");
    h.inventory.set_on_hand(&shirt.sku, 1);
    let request = PlaceOrderBuilder::new(customer(1)).line(&shirt, 3).build();
    let err = service.place(request, None, &actor()).await.unwrap_err();
    assert!(
        err.to_string().contains("TSHIRT (asked 3, available 1)"),
        "{err}"
    );
    let page = service.list(&OrderQuery::default()).await.unwrap();
    assert!(page.orders.is_empty());
}

#[tokio::test]
async fn a_changed_price_is_refused_not_repriced() {
    let h = Harness::default();
    let service = h.service();
    let mut mug = h.product("MUG");
    let seen = mug.clone();
    mug.unit_price = usd(1399);
    h.catalog.upsert(mug);
    let request = PlaceOrderBuilder::new(customer(1))
        .line_at_seen_price(&seen, 1)
        .build();
    let err = service.place(request, None, &actor()).await.unwrap_err();
    assert!(
        matches!(err, OrderError::Rule(RuleViolation::PriceChanged { .. })),
        "{err}"
    );
}

#[tokio::test]
async fn an_idempotency_key_returns_the_first_answer() {
    let h = Harness::default();
    let service = h.service();
    let shirt = h.product("TSHIRT");
    let key = order_core::ports::IdempotencyKey::parse("abc-123").unwrap();
    let request = PlaceOrderBuilder::new(customer(1)).line(&shirt, 1).build();
    let first = service
        .place(request.clone(), Some(&key), &actor())
        .await
        .unwrap();
    service.pay(first.id(), &actor()).await.unwrap();
    let again = service.place(request, Some(&key), &actor()).await.unwrap();
    assert_eq!(again, first, "the replay is the order as first placed");
    let other = PlaceOrderBuilder::new(customer(1)).line(&shirt, 2).build();
    let err = service
        .place(other, Some(&key), &actor())
        .await
        .unwrap_err();
    assert!(
        matches!(err, OrderError::IdempotencyKeyReused { .. }),
        "{err}"
    );
    assert_eq!(
        service
            .list(&OrderQuery::default())
            .await
            .unwrap()
            .orders
            .len(),
        1
    );
}

#[tokio::test]
async fn the_whole_lifecycle_keeps_the_ledgers_straight() {
    let h = Harness::default();
    let service = h.service();
    let shirt = h.product("TSHIRT");
    let book = h.product("BOOK");
    h.inventory.set_on_hand(&shirt.sku, 10);
    let request = PlaceOrderBuilder::new(customer(7))
        .line(&shirt, 2)
        .line(&book, 1)
        .coupon("SAVE10")
        .build();
    let order = service.place(request, None, &actor()).await.unwrap();
    let id = order.id();

    let paid = service.pay(id, &actor()).await.unwrap();
    assert_eq!(paid.status(), OrderStatus::Confirmed);
    assert_eq!(paid.payment_status(), PaymentStatus::Paid);
    assert_eq!(paid.payments().captured(), paid.totals().total);
    assert!(h.inventory.committed(id));
    assert_eq!(h.inventory.on_hand(&shirt.sku), Some(8));

    service.start_processing(id, None, &actor()).await.unwrap();
    let shirt_line = paid.lines()[0].id;
    let book_line = paid.lines()[1].id;
    let carrier = Some(order_core::Carrier::parse("UPS").unwrap());
    let first = service
        .ship(
            id,
            None,
            vec![LineQuantity {
                line_id: shirt_line,
                quantity: qty(1),
            }],
            carrier.clone(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    assert_eq!(first.status(), OrderStatus::PartiallyShipped);
    let second = service
        .ship(
            id,
            None,
            vec![
                LineQuantity {
                    line_id: shirt_line,
                    quantity: qty(1),
                },
                LineQuantity {
                    line_id: book_line,
                    quantity: qty(1),
                },
            ],
            carrier,
            None,
            &actor(),
        )
        .await
        .unwrap();
    assert_eq!(second.status(), OrderStatus::Shipped);
    for shipment in second.shipments().to_vec() {
        service
            .deliver(id, None, shipment.id, &actor())
            .await
            .unwrap();
    }
    let delivered = service.get(id).await.unwrap();
    assert_eq!(delivered.status(), OrderStatus::Delivered);

    let returned = service
        .request_return(
            id,
            None,
            vec![LineQuantity {
                line_id: book_line,
                quantity: qty(1),
            }],
            reason("damaged"),
            &actor(),
        )
        .await
        .unwrap();
    let return_id = returned.returns()[0].id;
    let refund_amount = returned.returns()[0].refund_amount;
    assert_eq!(refund_amount, returned.lines()[1].amounts.total);
    let received = service
        .receive_return(id, None, return_id, true, &actor())
        .await
        .unwrap();
    assert_eq!(received.payment_status(), PaymentStatus::PartiallyRefunded);
    assert_eq!(received.payments().refunded(), refund_amount);
    assert_eq!(
        received.status(),
        OrderStatus::Delivered,
        "one line is still with the customer"
    );

    let too_much = service
        .refund(id, received.totals().total, reason("goodwill"), &actor())
        .await
        .unwrap_err();
    assert!(
        matches!(
            too_much,
            OrderError::Rule(RuleViolation::RefundExceedsCaptured { .. })
        ),
        "{too_much}"
    );

    h.clock.advance(chrono::Duration::days(31));
    let completed = service.complete(id, None, &actor()).await.unwrap();
    assert_eq!(completed.status(), OrderStatus::Completed);
    let history: Vec<_> = completed.history().iter().map(|h| h.to.as_str()).collect();
    assert_eq!(
        history,
        [
            "pending",
            "confirmed",
            "processing",
            "partially_shipped",
            "shipped",
            "delivered",
            "completed"
        ]
    );
    let events = service.events(id).await.unwrap();
    assert!(
        events
            .iter()
            .enumerate()
            .all(|(i, e)| e.sequence == i as u64 + 1)
    );
    assert_eq!(events.len() as u64, completed.version());
}

#[tokio::test]
async fn a_declined_payment_releases_stock_and_a_retry_reserves_again() {
    let h = Harness::default();
    let service = h.service();
    let shirt = h.product("TSHIRT");
    h.inventory.set_on_hand(&shirt.sku, 3);
    let order = service
        .place(
            PlaceOrderBuilder::new(customer(1)).line(&shirt, 2).build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    h.gateway.faults().next("authorize", Fault::Decline, 1);
    let err = service.pay(order.id(), &actor()).await.unwrap_err();
    assert!(matches!(err, OrderError::PaymentDeclined { .. }), "{err}");
    let failed = service.get(order.id()).await.unwrap();
    assert_eq!(failed.status(), OrderStatus::Pending);
    assert_eq!(failed.payment_status(), PaymentStatus::Failed);
    assert_eq!(failed.reservation(), Reservation::Released);
    assert_eq!(h.inventory.reserved_for(order.id()), 0);

    let paid = service.pay(order.id(), &actor()).await.unwrap();
    assert_eq!(paid.status(), OrderStatus::Confirmed);
    assert_eq!(paid.payment_attempts(), 2);
    assert!(h.inventory.committed(order.id()));
}

#[tokio::test]
async fn the_payment_method_is_kept_from_checkout_and_the_gateway_gets_the_attempts_method_and_token()
 {
    let h = Harness::default();
    let service = h.service();
    let shirt = h.product("TSHIRT");
    h.inventory.set_on_hand(&shirt.sku, 3);
    let mut request = PlaceOrderBuilder::new(customer(1)).line(&shirt, 1).build();
    request.payment_method = Some(PaymentMethod::parse("paypal").unwrap());
    let order = service.place(request, None, &actor()).await.unwrap();
    assert_eq!(
        order.payment_method().map(PaymentMethod::as_str),
        Some("paypal")
    );

    let instrument = PaymentInstrument {
        method: Some(PaymentMethod::parse("credit_card").unwrap()),
        token: Some(PaymentToken::parse("tok_visa_4242").unwrap()),
    };
    let paid = service
        .pay_with(order.id(), Scope::All, &actor(), &instrument)
        .await
        .unwrap();
    assert_eq!(paid.status(), OrderStatus::Confirmed);
    assert_eq!(
        paid.payment_method().map(PaymentMethod::as_str),
        Some("credit_card")
    );
    let (method, token) = h.gateway.last_instrument().unwrap();
    assert_eq!(
        method.as_ref().map(PaymentMethod::as_str),
        Some("credit_card")
    );
    assert_eq!(
        token.as_ref().map(PaymentToken::expose),
        Some("tok_visa_4242")
    );
    // The token is never kept: not in the order, not in any event.
    let events = service.events(order.id()).await.unwrap();
    assert!(!format!("{events:?}{paid:?}").contains("tok_visa"));
    let folded = order_core::Order::from_events(&events).unwrap();
    assert_eq!(folded.payment_method(), paid.payment_method());
}

#[tokio::test]
async fn a_failed_capture_voids_the_authorization() {
    let h = Harness::default();
    let service = h.service();
    let order = service
        .place(
            PlaceOrderBuilder::new(customer(1))
                .line(&h.product("MUG"), 1)
                .build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    h.gateway.faults().always("capture", Some(Fault::Timeout));
    let err = service.pay(order.id(), &actor()).await.unwrap_err();
    assert!(matches!(err, OrderError::Unavailable { .. }), "{err}");
    let failed = service.get(order.id()).await.unwrap();
    assert_eq!(failed.payment_status(), PaymentStatus::Failed);
    assert_eq!(
        failed.payments().capturable().unwrap(),
        usd(0),
        "the hold was voided"
    );
    let kinds: Vec<_> = h.gateway.operations().iter().map(|o| o.kind).collect();
    assert_eq!(kinds, ["authorize", "void"]);
}

#[tokio::test]
async fn cancelling_a_paid_order_refunds_and_restocks() {
    let h = Harness::default();
    let service = h.service();
    let shirt = h.product("TSHIRT");
    h.inventory.set_on_hand(&shirt.sku, 4);
    let order = service
        .place(
            PlaceOrderBuilder::new(customer(1)).line(&shirt, 3).build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    service.pay(order.id(), &actor()).await.unwrap();
    assert_eq!(h.inventory.on_hand(&shirt.sku), Some(1));
    let cancelled = service
        .cancel(order.id(), None, reason("changed my mind"), &actor())
        .await
        .unwrap();
    assert_eq!(cancelled.status(), OrderStatus::Cancelled);
    assert_eq!(cancelled.payment_status(), PaymentStatus::Refunded);
    assert_eq!(
        cancelled.cancellation().unwrap().0.as_str(),
        "changed my mind"
    );
    assert_eq!(h.inventory.on_hand(&shirt.sku), Some(4));
}

#[tokio::test]
async fn cancelling_after_a_shipment_is_refused_naming_the_state() {
    let h = Harness::default();
    let service = h.service();
    let order = service
        .place(
            PlaceOrderBuilder::new(customer(1))
                .line(&h.product("MUG"), 2)
                .build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    service.pay(order.id(), &actor()).await.unwrap();
    let processing = service
        .start_processing(order.id(), None, &actor())
        .await
        .unwrap();
    let line = processing.lines()[0].id;
    service
        .ship(
            order.id(),
            None,
            vec![LineQuantity {
                line_id: line,
                quantity: qty(1),
            }],
            Some(order_core::Carrier::parse("DHL").unwrap()),
            None,
            &actor(),
        )
        .await
        .unwrap();
    let err = service
        .cancel(order.id(), None, reason("late"), &actor())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot cancel an order that is partially_shipped with payment paid"
    );
}

#[tokio::test]
async fn a_stale_expected_version_is_a_conflict() {
    let h = Harness::default();
    let service = h.service();
    let order = service
        .place(
            PlaceOrderBuilder::new(customer(1))
                .line(&h.product("MUG"), 1)
                .build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    service.pay(order.id(), &actor()).await.unwrap();
    let err = service
        .start_processing(order.id(), Some(1), &actor())
        .await
        .unwrap_err();
    assert!(
        matches!(err, OrderError::VersionConflict { expected: 1, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn stale_pending_orders_expire_and_release_stock() {
    let h = Harness::default();
    let service = h.service();
    let shirt = h.product("TSHIRT");
    h.inventory.set_on_hand(&shirt.sku, 2);
    let order = service
        .place(
            PlaceOrderBuilder::new(customer(1)).line(&shirt, 2).build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    assert!(
        service.expire_stale(10).await.unwrap().is_empty(),
        "not stale yet"
    );
    h.clock.advance(chrono::Duration::minutes(31));
    assert_eq!(service.expire_stale(10).await.unwrap(), vec![order.id()]);
    let expired = service.get(order.id()).await.unwrap();
    assert_eq!(expired.status(), OrderStatus::Cancelled);
    assert_eq!(expired.cancellation().unwrap().0.as_str(), "expired");
    assert_eq!(h.inventory.reserved_for(order.id()), 0);
}

#[tokio::test]
async fn editing_lines_reprices_and_adjusts_the_reservation() {
    let h = Harness::default();
    let service = h.service();
    let mug = h.product("MUG");
    h.inventory.set_on_hand(&mug.sku, 3);
    let order = service
        .place(
            PlaceOrderBuilder::new(customer(1)).line(&mug, 1).build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    let line = order.lines()[0].id;
    let edited = service
        .edit_lines(
            order.id(),
            Some(1),
            &[LineEdit::SetQuantity {
                line_id: line,
                quantity: qty(3),
            }],
            &actor(),
        )
        .await
        .unwrap();
    assert_eq!(edited.totals().subtotal, usd(3750));
    assert_eq!(h.inventory.reserved_for(order.id()), 3);
    let err = service
        .edit_lines(
            order.id(),
            None,
            &[LineEdit::SetQuantity {
                line_id: line,
                quantity: qty(4),
            }],
            &actor(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, OrderError::OutOfStock(_)), "{err}");
    assert_eq!(
        h.inventory.reserved_for(order.id()),
        3,
        "the reservation is unchanged"
    );
}

#[tokio::test]
async fn payment_webhooks_apply_once() {
    let h = Harness::default();
    let service = h.service();
    let order = service
        .place(
            PlaceOrderBuilder::new(customer(1))
                .line(&h.product("MUG"), 1)
                .build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    let event = PaymentEvent {
        event_id: "evt_1".into(),
        order_id: order.id(),
        kind: PaymentEventKind::Processed {
            amount: order.totals().total,
            reference: order_core::GatewayReference::parse("ch_1").unwrap(),
        },
    };
    let paid = service.apply_payment_event(&event, &actor()).await.unwrap();
    assert_eq!(paid.status(), OrderStatus::Confirmed);
    let again = service.apply_payment_event(&event, &actor()).await.unwrap();
    assert_eq!(
        again.version(),
        paid.version(),
        "a duplicate changes nothing"
    );
}

#[tokio::test]
async fn a_payment_after_cancellation_is_refunded() {
    let h = Harness::default();
    let service = h.service();
    let order = service
        .place(
            PlaceOrderBuilder::new(customer(1))
                .line(&h.product("MUG"), 1)
                .build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    service
        .cancel(order.id(), None, reason("no longer needed"), &actor())
        .await
        .unwrap();
    let late = PaymentEvent {
        event_id: "evt_late".into(),
        order_id: order.id(),
        kind: PaymentEventKind::Processed {
            amount: order.totals().total,
            reference: order_core::GatewayReference::parse("ch_late").unwrap(),
        },
    };
    // The fake gateway knows no such capture, so it declines the refund and
    // the step goes to the compensation log.
    let after = service.apply_payment_event(&late, &actor()).await.unwrap();
    assert_eq!(after.status(), OrderStatus::Cancelled);
    assert_eq!(after.payments().captured(), order.totals().total);
    let log = h.store.compensations().await.unwrap();
    assert_eq!(log.len(), 1, "{log:?}");
}

#[tokio::test]
async fn authorize_then_capture_confirms_on_authorization() {
    let h = Harness::default();
    let service = h.service_with(ServiceConfig {
        capture: CaptureMode::OnProcessing,
        ..ServiceConfig::default()
    });
    let order = service
        .place(
            PlaceOrderBuilder::new(customer(1))
                .line(&h.product("MUG"), 1)
                .build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    let authorized = service.pay(order.id(), &actor()).await.unwrap();
    assert_eq!(authorized.status(), OrderStatus::Confirmed);
    assert_eq!(authorized.payment_status(), PaymentStatus::Authorized);
    let processing = service
        .start_processing(order.id(), None, &actor())
        .await
        .unwrap();
    assert_eq!(processing.payment_status(), PaymentStatus::Paid);
    assert_eq!(processing.payments().captured(), processing.totals().total);
}

#[tokio::test]
async fn a_preview_changes_nothing_and_calls_no_gateway() {
    let h = Harness::default();
    let service = h.service();
    let order = service
        .place(
            PlaceOrderBuilder::new(customer(1))
                .line(&h.product("MUG"), 1)
                .build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    let preview = service
        .preview(
            order.id(),
            order_core::Operation::Cancel {
                reason: reason("what if"),
            },
            &actor(),
        )
        .await
        .unwrap();
    assert_eq!(preview.order.status(), OrderStatus::Cancelled);
    assert_eq!(service.get(order.id()).await.unwrap(), order);

    let paid = service.pay(order.id(), &actor()).await.unwrap();
    let operations = h.gateway.operations().len();
    let preview = service
        .preview(
            order.id(),
            order_core::Operation::Cancel {
                reason: reason("what if"),
            },
            &actor(),
        )
        .await
        .unwrap();
    let types: Vec<&str> = preview.events.iter().map(|e| e.event_type()).collect();
    assert_eq!(
        types,
        ["order.refunded", "order.cancelled"],
        "the refund is previewed"
    );
    assert_eq!(preview.order.payments().refunded(), paid.totals().total);
    assert_eq!(h.gateway.operations().len(), operations, "no money moved");
    assert_eq!(service.get(order.id()).await.unwrap(), paid);
}

#[tokio::test]
async fn every_operation_can_be_previewed_as_it_would_run() {
    let h = Harness::default();
    let service = h.service();
    let mug = h.product("MUG");
    let order = service
        .place(
            PlaceOrderBuilder::new(customer(1)).line(&mug, 2).build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    let tester = actor();
    let preview = |operation| service.preview(order.id(), operation, &tester);
    let edited = preview(order_core::Operation::EditLines(vec![
        LineEdit::SetQuantity {
            line_id: order.lines()[0].id,
            quantity: qty(3),
        },
    ]))
    .await
    .unwrap();
    assert_eq!(edited.order.lines()[0].quantity, qty(3));
    let paid = preview(order_core::Operation::Pay).await.unwrap();
    assert_eq!(paid.order.status(), OrderStatus::Confirmed);
    assert_eq!(
        paid.order.payments().captured(),
        order.totals().total,
        "the capture is previewed"
    );
    let refused = preview(order_core::Operation::Refund {
        amount: usd(100),
        reason: reason("nothing captured"),
    })
    .await;
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(service.get(order.id()).await.unwrap(), order);
}

#[tokio::test]
async fn a_digital_only_order_needs_no_address() {
    let h = Harness::default();
    let service = h.service();
    let request = PlaceOrderBuilder::new(customer(1))
        .line(&h.product("EBOOK"), 1)
        .ship_to(None)
        .method(None)
        .build();
    let order = service.place(request, None, &actor()).await.unwrap();
    assert!(order.totals().shipping.is_zero());
    let missing = PlaceOrderBuilder::new(customer(1))
        .line(&h.product("MUG"), 1)
        .ship_to(None)
        .build();
    let err = service.place(missing, None, &actor()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "shipping_address: required when any line is physical"
    );
}

#[tokio::test]
async fn with_stock_kept_by_the_store_an_order_and_its_stock_commit_together() {
    use order_core::StockKeeping;
    use order_core::ports::StockLevels;
    use std::sync::Arc;

    let store = Arc::new(order_testkit::InMemoryOrderStore::default());
    let h = Harness::with_store(store.clone());
    let service = h.service_with(ServiceConfig {
        stock: StockKeeping::Store,
        ..ServiceConfig::default()
    });
    let shirt = h.product("TSHIRT");
    store.set_on_hand(&shirt.sku, 1);

    let err = service
        .place(
            PlaceOrderBuilder::new(customer(1)).line(&shirt, 2).build(),
            None,
            &actor(),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("TSHIRT (asked 2, available 1)"),
        "{err}"
    );
    assert!(
        service
            .list(&OrderQuery::default())
            .await
            .unwrap()
            .orders
            .is_empty()
    );

    let order = service
        .place(
            PlaceOrderBuilder::new(customer(1)).line(&shirt, 1).build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    assert_eq!(store.reserved_for(order.id()), 1);
    service.pay(order.id(), &actor()).await.unwrap();
    let level = store.level(&shirt.sku).await.unwrap().unwrap();
    assert_eq!((level.on_hand, level.reserved), (0, 0));
    assert_eq!(
        h.inventory.reserved(&shirt.sku),
        0,
        "the inventory port was never used"
    );

    service
        .cancel(order.id(), None, reason("changed my mind"), &actor())
        .await
        .unwrap();
    let level = store.level(&shirt.sku).await.unwrap().unwrap();
    assert_eq!(level.on_hand, 1, "cancelling restocked in the same change");
}

#[tokio::test]
async fn the_report_counts_statuses_revenue_failures_and_fulfilment_time() {
    let h = Harness::default();
    let service = h.service();
    let mug = h.product("MUG");
    let from = order_core::ports::Clock::now(h.clock.as_ref());
    let paid = service
        .place(
            PlaceOrderBuilder::new(customer(1)).line(&mug, 2).build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    service.pay(paid.id(), &actor()).await.unwrap();
    let failed = service
        .place(
            PlaceOrderBuilder::new(customer(2)).line(&mug, 1).build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    h.gateway.faults().next("authorize", Fault::Decline, 1);
    let _ = service.pay(failed.id(), &actor()).await;
    service
        .refund(paid.id(), usd(100), reason("goodwill"), &actor())
        .await
        .unwrap();

    let report = service
        .report(from, from + chrono::Duration::days(1))
        .await
        .unwrap();
    assert_eq!(report.orders, 2);
    assert_eq!(report.by_status.get(&OrderStatus::Confirmed), Some(&1));
    assert_eq!(report.by_status.get(&OrderStatus::Pending), Some(&1));
    let usd_figures = report.currencies.get(&Currency::USD).unwrap();
    let expected = paid.totals().total.checked_sub(&usd(100)).unwrap();
    assert_eq!(usd_figures.revenue, expected);
    assert_eq!(usd_figures.average_order_value, paid.totals().total);
    assert_eq!(
        (report.payment_attempts, report.failed_payment_attempts),
        (2, 1)
    );
    assert_eq!(
        report.payment_failure_rate,
        rust_decimal::Decimal::new(5, 1)
    );
    assert_eq!(report.average_time_to_fulfilment, None);
}

fn external() -> ServiceConfig {
    ServiceConfig {
        payments: order_core::PaymentFlow::External,
        ..ServiceConfig::default()
    }
}

#[tokio::test]
async fn with_an_external_payment_service_checkout_only_marks_the_payment_pending() {
    let h = Harness::default();
    let service = h.service_with(external());
    let mug = h.product("MUG");
    let order = service
        .place(
            PlaceOrderBuilder::new(customer(1)).line(&mug, 1).build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    let started = service.pay(order.id(), &actor()).await.unwrap();
    assert_eq!(started.status(), OrderStatus::Pending);
    assert_eq!(started.payment_status(), PaymentStatus::Pending);
    assert!(
        h.gateway.operations().is_empty(),
        "the engine charges nobody"
    );
    let again = service.pay(order.id(), &actor()).await.unwrap();
    assert_eq!(
        again.version(),
        started.version(),
        "a retry changes nothing"
    );

    let processed = PaymentEvent {
        event_id: "evt_ext_1".into(),
        order_id: order.id(),
        kind: PaymentEventKind::Processed {
            amount: order.totals().total,
            reference: order_core::GatewayReference::parse("pay_ext_1").unwrap(),
        },
    };
    let paid = service
        .apply_payment_event(&processed, &actor())
        .await
        .unwrap();
    assert_eq!(paid.status(), OrderStatus::Confirmed);
    assert_eq!(paid.payment_status(), PaymentStatus::Paid);
}

#[tokio::test]
async fn with_an_external_payment_service_a_failure_releases_and_a_retry_holds_again() {
    let h = Harness::default();
    let service = h.service_with(external());
    let mug = h.product("MUG");
    h.inventory.set_on_hand(&mug.sku, 1);
    let order = service
        .place(
            PlaceOrderBuilder::new(customer(1)).line(&mug, 1).build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    service.pay(order.id(), &actor()).await.unwrap();
    let failed = PaymentEvent {
        event_id: "evt_ext_fail".into(),
        order_id: order.id(),
        kind: PaymentEventKind::Failed {
            code: "card_declined".into(),
            reason: "insufficient funds".into(),
        },
    };
    let after = service
        .apply_payment_event(&failed, &actor())
        .await
        .unwrap();
    assert_eq!(after.payment_status(), PaymentStatus::Failed);
    assert_eq!(after.reservation(), Reservation::Released);
    assert_eq!(h.inventory.reserved_for(order.id()), 0);

    let retried = service.pay(order.id(), &actor()).await.unwrap();
    assert_eq!(retried.payment_status(), PaymentStatus::Pending);
    assert_eq!(h.inventory.reserved_for(order.id()), 1);
}

/// Idempotency keys of placements: scoped per customer, released at once by
/// a placement that wrote nothing, kept while it is unknown whether the
/// order was written, and fingerprints of the request's values.
mod idempotency {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use async_trait::async_trait;
    use chrono::{DateTime, Utc};
    use order_core::order::Compensation;
    use order_core::ports::{
        Change, FigureGroup, IdempotencyClaim, IdempotencyKey, OrderFigures, OrderPage, OrderQuery,
        OrderStore,
    };
    use order_core::{
        Address, AddressInput, CouponCode, Currency, EventRecord, Money, NewLine, Notes, Order,
        OrderError, OrderId, OrderNumber, PlaceOrder, ProductId, Quantity, ShippingMethod,
        StoreError, StoredEvent,
    };
    use order_testkit::builder::{PlaceOrderBuilder, customer};
    use order_testkit::fault::{Fault, FaultPlan};
    use order_testkit::{Harness, InMemoryOrderStore};
    use uuid::Uuid;

    use super::actor;

    /// The in-memory store with scripted failures: `commit` fails without
    /// writing, `commit_unanswered` writes and then fails (the answer was
    /// lost), `lookup` fails a key claim made after a failed commit,
    /// `release` fails a release.
    #[derive(Default)]
    struct Flaky {
        inner: InMemoryOrderStore,
        faults: FaultPlan,
        commit_failed: AtomicBool,
    }

    fn down(operation: &str) -> StoreError {
        StoreError::Unavailable(format!("{operation}: injected failure").into())
    }

    #[async_trait]
    impl OrderFigures for Flaky {
        async fn figures(
            &self,
            from: DateTime<Utc>,
            to: DateTime<Utc>,
        ) -> Result<Vec<FigureGroup>, StoreError> {
            self.inner.figures(from, to).await
        }
    }

    #[async_trait]
    impl OrderStore for Flaky {
        async fn get(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
            self.inner.get(id).await
        }
        async fn get_by_number(&self, number: &OrderNumber) -> Result<Option<Order>, StoreError> {
            self.inner.get_by_number(number).await
        }
        async fn commit(&self, change: Change<'_>) -> Result<(), StoreError> {
            if self.faults.take("commit").is_some() {
                self.commit_failed.store(true, Ordering::SeqCst);
                return Err(down("commit"));
            }
            if self.faults.take("commit_unanswered").is_some() {
                self.inner.commit(change).await?;
                self.commit_failed.store(true, Ordering::SeqCst);
                return Err(down("commit"));
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
            if self.commit_failed.swap(false, Ordering::SeqCst)
                && self.faults.take("lookup").is_some()
            {
                return Err(down("lookup"));
            }
            self.inner
                .claim_idempotency_key(key, fingerprint, now, lease)
                .await
        }
        async fn release_idempotency_key(&self, key: &IdempotencyKey) -> Result<(), StoreError> {
            if self.faults.take("release").is_some() {
                return Err(down("release"));
            }
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

    fn flaky() -> (Harness, Arc<Flaky>) {
        let store = Arc::new(Flaky::default());
        (Harness::with_store(store.clone()), store)
    }

    fn key(text: &str) -> IdempotencyKey {
        IdempotencyKey::parse(text).unwrap()
    }

    fn one_shirt(h: &Harness, who: u64) -> PlaceOrder {
        PlaceOrderBuilder::new(customer(who))
            .line(&h.product("TSHIRT"), 1)
            .build()
    }

    async fn orders(h: &Harness) -> usize {
        h.store
            .list(&OrderQuery::default())
            .await
            .unwrap()
            .orders
            .len()
    }

    /// Keys are the customer's own. (Before: the second customer got
    /// `IdempotencyKeyReused`, a 422, and could probe the first one's keys.)
    #[tokio::test]
    async fn two_customers_using_one_key_each_get_their_own_order() {
        let h = Harness::default();
        let service = h.service();
        let shared = key("checkout-1");
        let alice = service
            .place(one_shirt(&h, 1), Some(&shared), &actor())
            .await
            .unwrap();
        let bob = service
            .place(one_shirt(&h, 2), Some(&shared), &actor())
            .await
            .unwrap();
        assert_ne!(alice.id(), bob.id());
        assert_eq!(bob.customer_id(), customer(2));
        // Each customer's retry still answers that customer's first order.
        let again = service
            .place(one_shirt(&h, 2), Some(&shared), &actor())
            .await
            .unwrap();
        assert_eq!(again.id(), bob.id());
        let other = PlaceOrderBuilder::new(customer(1))
            .line(&h.product("MUG"), 1)
            .build();
        let reused = service.place(other, Some(&shared), &actor()).await;
        assert!(
            matches!(&reused, Err(OrderError::IdempotencyKeyReused { key }) if key == "checkout-1"),
            "{reused:?}"
        );
        assert_eq!(orders(&h).await, 2);
    }

    #[test]
    fn a_scoped_key_stays_a_valid_key_and_apart_per_customer() {
        let long = key(&"k".repeat(255));
        let scoped = long.scoped_to(customer(1));
        assert!(scoped.as_str().len() <= 255);
        assert!(IdempotencyKey::parse(scoped.as_str()).is_ok());
        assert_ne!(scoped, long.scoped_to(customer(2)));
        assert_ne!(scoped, key(&"k".repeat(254)).scoped_to(customer(1)));
        let short = key("abc").scoped_to(customer(1));
        assert_eq!(short.as_str(), format!("{}:abc", customer(1)));
    }

    /// A placement refused by a port (the customer directory unreachable)
    /// wrote nothing: its key is free at once for the retry.
    #[tokio::test]
    async fn a_placement_refused_by_a_port_releases_its_key_at_once() {
        let h = Harness::default();
        let service = h.service();
        let k = key("checkout-port");
        h.customers.faults().always("exists", Some(Fault::Fail));
        let refused = service.place(one_shirt(&h, 1), Some(&k), &actor()).await;
        assert!(
            matches!(refused, Err(OrderError::Unavailable { .. })),
            "{refused:?}"
        );
        h.customers.faults().clear();
        let placed = service.place(one_shirt(&h, 1), Some(&k), &actor()).await;
        assert!(placed.is_ok(), "{placed:?}");
    }

    /// The commit fails without writing and the store stumbles on the first
    /// release too: the release is retried, and the client's retry runs at
    /// once. (Before: one release, its failure ignored, and the key stayed
    /// in flight for the whole lease: 409 for a minute.)
    #[tokio::test]
    async fn a_placement_that_wrote_nothing_releases_its_key_through_a_store_hiccup() {
        let (h, store) = flaky();
        let service = h.service();
        let k = key("checkout-hiccup");
        store.faults.next("commit", Fault::Fail, 1);
        store.faults.next("release", Fault::Fail, 1);
        let failed = service.place(one_shirt(&h, 1), Some(&k), &actor()).await;
        assert!(matches!(failed, Err(OrderError::Store(_))), "{failed:?}");
        let retried = service.place(one_shirt(&h, 1), Some(&k), &actor()).await;
        assert!(retried.is_ok(), "{retried:?}");
        assert_eq!(orders(&h).await, 1);
    }

    /// The commit wrote but its answer was lost: the key, completed in the
    /// same transaction, says the order was placed, and it is the answer.
    /// (Before: 503, and only a retry found the order.)
    #[tokio::test]
    async fn a_placement_whose_commit_wrote_but_lost_its_answer_answers_the_order() {
        let (h, store) = flaky();
        let service = h.service();
        let k = key("checkout-unanswered");
        store.faults.next("commit_unanswered", Fault::Fail, 1);
        let placed = service
            .place(one_shirt(&h, 1), Some(&k), &actor())
            .await
            .unwrap();
        let again = service
            .place(one_shirt(&h, 1), Some(&k), &actor())
            .await
            .unwrap();
        assert_eq!(again, placed);
        assert_eq!(orders(&h).await, 1);
    }

    /// The commit wrote, its answer was lost and the store cannot be asked
    /// either: the placement answers the failure (a 503), keeps the key, and
    /// the client's retry with the same key finds the order.
    #[tokio::test]
    async fn a_placement_answered_unavailable_whose_order_committed_is_found_by_a_retry() {
        let (h, store) = flaky();
        let service = h.service();
        let k = key("checkout-503");
        store.faults.next("commit_unanswered", Fault::Fail, 1);
        store.faults.next("lookup", Fault::Fail, 1);
        let failed = service.place(one_shirt(&h, 1), Some(&k), &actor()).await;
        assert!(matches!(failed, Err(OrderError::Store(_))), "{failed:?}");
        store.faults.clear();
        let found = service
            .place(one_shirt(&h, 1), Some(&k), &actor())
            .await
            .unwrap();
        assert_eq!(orders(&h).await, 1);
        assert_eq!(found.customer_id(), customer(1));
    }

    /// The commit failed and the store cannot say whether it wrote: the key
    /// is not released blindly (that could let a retry place the order
    /// twice); a retry within the lease is told the request is in flight,
    /// and after the lease it runs. (Before: released regardless.)
    #[tokio::test]
    async fn a_placement_whose_outcome_is_unknown_keeps_its_key_for_the_lease() {
        let (h, store) = flaky();
        let service = h.service();
        let k = key("checkout-unknown");
        store.faults.next("commit", Fault::Fail, 1);
        store.faults.next("lookup", Fault::Fail, 1);
        let failed = service.place(one_shirt(&h, 1), Some(&k), &actor()).await;
        assert!(matches!(failed, Err(OrderError::Store(_))), "{failed:?}");
        store.faults.clear();
        let waiting = service.place(one_shirt(&h, 1), Some(&k), &actor()).await;
        assert!(
            matches!(waiting, Err(OrderError::IdempotencyInFlight { .. })),
            "{waiting:?}"
        );
        h.clock.advance(chrono::Duration::seconds(61));
        let placed = service.place(one_shirt(&h, 1), Some(&k), &actor()).await;
        assert!(placed.is_ok(), "{placed:?}");
        assert_eq!(orders(&h).await, 1);
    }

    fn request() -> PlaceOrder {
        let id = |n: u128| Uuid::from_u128(0x0193_e6d2_6c1e_7b4e_9a3a_0000_0000_0000 | n);
        let address = Address::parse(AddressInput {
            name: "Jane Doe".into(),
            line1: "742 Evergreen Terrace".into(),
            city: "Springfield".into(),
            region: Some("OR".into()),
            postal_code: "97475".into(),
            country: "US".into(),
            ..AddressInput::default()
        })
        .unwrap();
        PlaceOrder {
            customer_id: customer(7),
            currency: Currency::USD,
            lines: vec![NewLine {
                product_id: ProductId::new(id(1)).unwrap(),
                variant_id: None,
                quantity: Quantity::new(2).unwrap(),
                expected_unit_price: Some(Money::from_minor(1250, Currency::USD).unwrap()),
            }],
            shipping_address: Some(address),
            billing_address: None,
            shipping_method: Some(ShippingMethod::parse("standard").unwrap()),
            payment_method: None,
            coupon: Some(CouponCode::parse("SAVE10").unwrap()),
            notes: Some(Notes::parse("leave at the door").unwrap()),
        }
    }

    /// The fingerprint is a hash of the request's canonical rendering
    /// (version 1), pinned here: it must not change when a type's `Debug`
    /// output does, or a retry across a deploy would be refused as another
    /// request. (Before: a hash of `Debug` output.)
    #[test]
    fn the_fingerprint_hashes_the_canonical_rendering_of_the_request() {
        let request = request();
        assert_eq!(
            request.canonical(),
            format!(
                "place-order/v1\n\
                 customer_id=36:{}\n\
                 currency=3:USD\n\
                 lines=1:1\n\
                 lines[0].product_id=36:0193e6d2-6c1e-7b4e-9a3a-000000000001\n\
                 lines[0].variant_id=-\n\
                 lines[0].quantity=1:2\n\
                 lines[0].expected_unit_price=8:12.5 USD\n\
                 shipping_address.name=8:Jane Doe\n\
                 shipping_address.line1=21:742 Evergreen Terrace\n\
                 shipping_address.line2=-\n\
                 shipping_address.city=11:Springfield\n\
                 shipping_address.region=2:OR\n\
                 shipping_address.postal_code=5:97475\n\
                 shipping_address.country=2:US\n\
                 shipping_address.phone=-\n\
                 billing_address=-\n\
                 shipping_method=8:standard\n\
                 coupon=6:SAVE10\n\
                 notes=17:leave at the door\n",
                customer(7)
            )
        );
        assert_eq!(
            request.fingerprint(),
            "v1:d50c9bce0d71d1efdc2676ee593de7b1",
            "the fingerprint of a stored key must never change"
        );
        let mut other = request.clone();
        other.notes = None;
        assert_ne!(other.fingerprint(), request.fingerprint());
        let mut moved = request.clone();
        moved.billing_address = moved.shipping_address.clone();
        moved.shipping_address = None;
        assert_ne!(moved.fingerprint(), request.fingerprint());
    }
}
