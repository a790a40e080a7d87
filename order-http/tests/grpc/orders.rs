//! The order calls end to end: placing and reading back, listing in
//! numbered pages with the total, status changes that run the command that
//! leads there (and refusals that name the state), item edits, cancelling.

use order_core::ports::Product;
use order_core::{Currency, Money, ProductKind, ProductName, Sku, TaxClass};
use order_grpc::proto::get_order_request::Identifier;
use order_grpc::proto::{
    AddOrderItemRequest, CancelOrderRequest, GetOrderRequest, ListOrdersRequest,
    RemoveOrderItemRequest, UpdateOrderItemRequest, UpdateOrderStatusRequest,
};
use order_grpc::{CARRIER, TRACKING_NUMBER};
use tonic::Code;

use crate::common::{ALICE, MUG, TSHIRT, TestServer, address, authed, item, metadata, order_of};

fn by_id(id: &str) -> GetOrderRequest {
    GetOrderRequest {
        identifier: Some(Identifier::Id(id.to_owned())),
    }
}

fn set_status(order_id: &str, status: &str) -> UpdateOrderStatusRequest {
    UpdateOrderStatusRequest {
        order_id: order_id.to_owned(),
        status: status.to_owned(),
        notes: None,
    }
}

/// Cents, so amounts compare exactly.
fn cents(amount: f64) -> i64 {
    (amount * 100.0).round() as i64
}

#[tokio::test]
async fn an_order_placed_over_grpc_reads_back_by_id_and_by_number() {
    let server = TestServer::start().await;
    let mut request = order_of(vec![item(TSHIRT, 2)]);
    request.billing_address = Some(address("BILLING"));
    request.notes = Some("leave it with the neighbour".into());
    request.coupon_code = Some("SAVE10".into());
    let placed = server.place(request).await;

    assert_eq!(placed.status, "PENDING");
    assert_eq!(placed.payment_status, "UNPAID");
    assert_eq!(placed.user_id, ALICE);
    assert_eq!(placed.currency, "USD");
    assert_eq!(placed.shipping_method, "standard");
    assert_eq!(placed.notes, "leave it with the neighbour");
    assert_eq!(placed.payment_method, "card");
    assert!(
        placed.order_number.starts_with("ORD-"),
        "{}",
        placed.order_number
    );
    assert!(placed.created_at.is_some() && placed.cancelled_at.is_none());
    let line = &placed.items[0];
    assert_eq!((line.sku.as_str(), line.quantity), ("TSHIRT", 2));
    assert_eq!(line.product_id, TSHIRT);
    assert_eq!(line.order_id, placed.id);
    // The catalog's price, exact in the double: 2 × 19.99.
    assert_eq!(cents(line.unit_price), 1999);
    assert_eq!(cents(placed.subtotal), 3998);
    // SAVE10 takes 10 %: 3.998 rounds to 4.00.
    assert_eq!(cents(placed.discount_amount), 400);
    assert_eq!(
        cents(placed.total_amount),
        cents(placed.subtotal) - cents(placed.discount_amount)
            + cents(placed.tax_amount)
            + cents(placed.shipping_amount)
    );
    let kinds: Vec<_> = placed
        .addresses
        .iter()
        .map(|a| a.address_type.as_str())
        .collect();
    assert_eq!(kinds, ["SHIPPING", "BILLING"]);
    for sent in &placed.addresses {
        assert_eq!(sent.order_id, placed.id);
        assert_eq!(sent.address_line1, "12 Analytical Row");
        assert_eq!(sent.address_line2.as_deref(), Some("Flat 3"));
        assert_eq!(
            (sent.city.as_str(), sent.state.as_str()),
            ("Springfield", "IL")
        );
        assert_eq!(
            (sent.postal_code.as_str(), sent.country.as_str()),
            ("62701", "US")
        );
        assert_eq!(sent.phone.as_deref(), Some("+1 217 555 0100"));
        assert_eq!(
            (sent.first_name.as_str(), sent.last_name.as_str()),
            ("Ada", "Lovelace")
        );
        assert_eq!(sent.email.as_deref(), Some("ada@example.com"));
    }

    let mut client = server.client();
    let got = client
        .get_order(authed(by_id(&placed.id), &server.alice()))
        .await
        .expect("by id")
        .into_inner();
    assert_eq!(got, placed);
    let by_number = GetOrderRequest {
        identifier: Some(Identifier::OrderNumber(placed.order_number.clone())),
    };
    let got = client
        .get_order(authed(by_number, &server.admin()))
        .await
        .expect("by number")
        .into_inner();
    assert_eq!(got, placed);
}

#[tokio::test]
async fn orders_are_listed_in_numbered_pages_with_the_total() {
    let server = TestServer::start().await;
    let mut placed = Vec::new();
    for units in 1..=5 {
        placed.push(server.place(order_of(vec![item(MUG, units)])).await.id);
    }
    let mut client = server.client();
    let list = |page: i32, limit: i32, sort_desc: bool| ListOrdersRequest {
        user_id: String::new(),
        status: None,
        page,
        limit,
        sort_by: "created_at".into(),
        sort_desc,
    };

    let second = client
        .list_orders(authed(list(2, 2, false), &server.alice()))
        .await
        .expect("a page")
        .into_inner();
    assert_eq!((second.total, second.page, second.limit), (5, 2, 2));
    let ids: Vec<_> = second.orders.iter().map(|o| o.id.clone()).collect();
    assert_eq!(ids, placed[2..4]);

    let last = client
        .list_orders(authed(list(3, 2, true), &server.admin()))
        .await
        .expect("a page")
        .into_inner();
    assert_eq!(last.total, 5);
    let ids: Vec<_> = last.orders.iter().map(|o| o.id.clone()).collect();
    assert_eq!(
        ids,
        placed[..1],
        "newest first, the last page holds the oldest"
    );

    let pending = ListOrdersRequest {
        status: Some("PENDING".into()),
        ..list(0, 0, true)
    };
    let all = client
        .list_orders(authed(pending, &server.alice()))
        .await
        .expect("the default page")
        .into_inner();
    assert_eq!(
        (all.total, all.page, all.limit, all.orders.len()),
        (5, 1, 50, 5)
    );

    let theirs = client
        .list_orders(authed(list(1, 10, true), &server.bob()))
        .await
        .expect("another customer's list")
        .into_inner();
    assert_eq!((theirs.total, theirs.orders.len()), (0, 0));

    let refused = client
        .list_orders(authed(
            ListOrdersRequest {
                sort_by: "total_amount".into(),
                ..list(1, 10, true)
            },
            &server.alice(),
        ))
        .await
        .expect_err("an unsupported sort");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(metadata(&refused, "x-field"), Some("sort_by"));
}

#[tokio::test]
async fn a_status_change_runs_the_command_that_leads_there() {
    let server = TestServer::start().await;
    let placed = server.place(order_of(vec![item(TSHIRT, 1)])).await;
    let mut client = server.client();

    // The seed's PAID is the checkout, which a customer may start.
    let paid = client
        .update_order_status(authed(set_status(&placed.id, "PAID"), &server.alice()))
        .await
        .expect("checkout")
        .into_inner();
    assert_eq!(
        (paid.status.as_str(), paid.payment_status.as_str()),
        ("CONFIRMED", "PAID")
    );

    let processing = client
        .update_order_status(authed(
            set_status(&placed.id, "processing"),
            &server.admin(),
        ))
        .await
        .expect("processing")
        .into_inner();
    assert_eq!(processing.status, "PROCESSING");

    let mut ship = authed(set_status(&placed.id, "SHIPPED"), &server.admin());
    ship.metadata_mut()
        .insert(CARRIER, "UPS".parse().expect("ASCII"));
    ship.metadata_mut().insert(
        TRACKING_NUMBER,
        "1Z999AA10123456784".parse().expect("ASCII"),
    );
    let shipped = client
        .update_order_status(ship)
        .await
        .expect("shipped")
        .into_inner();
    assert_eq!(shipped.status, "SHIPPED");

    let delivered = client
        .update_order_status(authed(set_status(&placed.id, "DELIVERED"), &server.admin()))
        .await
        .expect("delivered")
        .into_inner();
    assert_eq!(delivered.status, "DELIVERED");
}

#[tokio::test]
async fn a_refused_status_change_names_the_current_state() {
    let server = TestServer::start().await;
    let placed = server.place(order_of(vec![item(TSHIRT, 1)])).await;
    let mut client = server.client();

    let refused = client
        .update_order_status(authed(
            set_status(&placed.id, "PROCESSING"),
            &server.admin(),
        ))
        .await
        .expect_err("an unpaid order cannot be processed");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused.message().contains("pending"),
        "{}",
        refused.message()
    );
    assert_eq!(metadata(&refused, "x-current-status"), Some("PENDING"));
    assert_eq!(metadata(&refused, "x-payment-status"), Some("UNPAID"));

    let customer = client
        .update_order_status(authed(
            set_status(&placed.id, "PROCESSING"),
            &server.alice(),
        ))
        .await
        .expect_err("processing is for staff and services");
    assert_eq!(customer.code(), Code::PermissionDenied);

    client
        .update_order_status(authed(set_status(&placed.id, "CONFIRMED"), &server.alice()))
        .await
        .expect("checkout");
    let backwards = client
        .update_order_status(authed(set_status(&placed.id, "PENDING"), &server.admin()))
        .await
        .expect_err("no command leads back to pending");
    assert_eq!(backwards.code(), Code::FailedPrecondition);
    assert!(
        backwards.message().contains("confirmed"),
        "{}",
        backwards.message()
    );
    assert_eq!(metadata(&backwards, "x-current-status"), Some("CONFIRMED"));

    client
        .update_order_status(authed(
            set_status(&placed.id, "PROCESSING"),
            &server.admin(),
        ))
        .await
        .expect("processing");
    let no_carrier = client
        .update_order_status(authed(set_status(&placed.id, "SHIPPED"), &server.admin()))
        .await
        .expect_err("physical goods need a carrier");
    assert_eq!(no_carrier.code(), Code::InvalidArgument);
    assert_eq!(metadata(&no_carrier, "x-field"), Some("carrier"));

    let unknown = client
        .update_order_status(authed(set_status(&placed.id, "LOST"), &server.admin()))
        .await
        .expect_err("no such status");
    assert_eq!(unknown.code(), Code::InvalidArgument);
    assert_eq!(metadata(&unknown, "x-field"), Some("status"));
}

#[tokio::test]
async fn items_are_added_changed_and_removed() {
    let server = TestServer::start().await;
    let placed = server.place(order_of(vec![item(TSHIRT, 1)])).await;
    let mut client = server.client();
    let token = server.alice();

    let added = client
        .add_order_item(authed(
            AddOrderItemRequest {
                order_id: placed.id.clone(),
                item: Some(item(MUG, 1)),
            },
            &token,
        ))
        .await
        .expect("added")
        .into_inner();
    assert_eq!(added.items.len(), 2);
    assert_eq!(cents(added.subtotal), 1999 + 1250);
    let mug = added
        .items
        .iter()
        .find(|i| i.sku == "MUG")
        .expect("the mug line");

    let changed = client
        .update_order_item(authed(
            UpdateOrderItemRequest {
                order_id: placed.id.clone(),
                item_id: mug.id.clone(),
                quantity: 3,
            },
            &token,
        ))
        .await
        .expect("changed")
        .into_inner();
    assert_eq!(cents(changed.subtotal), 1999 + 3 * 1250);

    let removed = client
        .remove_order_item(authed(
            RemoveOrderItemRequest {
                order_id: placed.id.clone(),
                item_id: placed.items[0].id.clone(),
            },
            &token,
        ))
        .await
        .expect("removed")
        .into_inner();
    let skus: Vec<_> = removed.items.iter().map(|i| i.sku.as_str()).collect();
    assert_eq!(skus, ["MUG"]);
    assert_eq!(cents(removed.subtotal), 3 * 1250);

    let unknown = client
        .remove_order_item(authed(
            RemoveOrderItemRequest {
                order_id: placed.id.clone(),
                item_id: placed.items[0].id.clone(),
            },
            &token,
        ))
        .await
        .expect_err("the line is gone");
    assert_eq!(unknown.code(), Code::NotFound);

    let zero = client
        .update_order_item(authed(
            UpdateOrderItemRequest {
                order_id: placed.id.clone(),
                item_id: mug.id.clone(),
                quantity: 0,
            },
            &token,
        ))
        .await
        .expect_err("zero units");
    assert_eq!(zero.code(), Code::InvalidArgument);
    assert_eq!(metadata(&zero, "x-field"), Some("quantity"));
}

#[tokio::test]
async fn an_order_is_cancelled_once() {
    let server = TestServer::start().await;
    let placed = server.place(order_of(vec![item(TSHIRT, 1)])).await;
    let mut client = server.client();
    let cancel = || CancelOrderRequest {
        order_id: placed.id.clone(),
        reason: "changed my mind".into(),
    };

    let answer = client
        .cancel_order(authed(cancel(), &server.alice()))
        .await
        .expect("cancelled")
        .into_inner();
    assert!(answer.success);
    assert!(
        answer.message.contains(&placed.order_number),
        "{}",
        answer.message
    );
    let got = client
        .get_order(authed(by_id(&placed.id), &server.alice()))
        .await
        .expect("read back")
        .into_inner();
    assert_eq!(got.status, "CANCELLED");
    assert!(got.cancelled_at.is_some());

    let again = client
        .cancel_order(authed(cancel(), &server.alice()))
        .await
        .expect_err("already cancelled");
    assert_eq!(again.code(), Code::FailedPrecondition);
    assert_eq!(metadata(&again, "x-current-status"), Some("CANCELLED"));
}

#[tokio::test]
async fn a_variant_is_ordered_and_added_by_its_id() {
    let server = TestServer::start().await;
    let usd = Currency::parse("USD").expect("USD");
    let (product, variant) = (
        "0193e6d2-0000-7000-8000-00000000beef",
        "0193e6d2-0000-7000-8000-0000000000a1",
    );
    let sku = Sku::parse("HOODIE-M").expect("a SKU");
    server
        .state
        .catalog
        .upsert(&Product {
            product_id: product.parse().expect("an id"),
            variant_id: Some(variant.parse().expect("an id")),
            sku: sku.clone(),
            name: ProductName::parse("Hoodie, M").expect("a name"),
            unit_price: Money::parse("45.00", usd).expect("a price"),
            tax_class: TaxClass::parse("standard").expect("a class"),
            kind: ProductKind::Physical,
            active: true,
        })
        .await
        .expect("the variant is in the catalog");
    server
        .state
        .stock
        .set_on_hand(&sku, 10)
        .await
        .expect("stocked");

    let mut hoodie = item(product, 1);
    hoodie.variant_id = Some(variant.into());
    let placed = server.place(order_of(vec![hoodie.clone()])).await;
    assert_eq!(placed.items[0].variant_id.as_deref(), Some(variant));
    assert_eq!(placed.items[0].sku, "HOODIE-M");

    let mut client = server.client();
    let other = server.place(order_of(vec![item(TSHIRT, 1)])).await;
    let added = client
        .add_order_item(authed(
            AddOrderItemRequest {
                order_id: other.id.clone(),
                item: Some(hoodie),
            },
            &server.alice(),
        ))
        .await
        .expect("added")
        .into_inner();
    let line = added
        .items
        .iter()
        .find(|i| i.sku == "HOODIE-M")
        .expect("the hoodie");
    assert_eq!(line.variant_id.as_deref(), Some(variant));
}

#[tokio::test]
async fn a_retried_placement_with_its_idempotency_key_answers_the_first_order() {
    let server = TestServer::start().await;
    let mut client = server.client();
    let place = || {
        let mut request = authed(order_of(vec![item(MUG, 1)]), &server.alice());
        request.metadata_mut().insert(
            order_grpc::IDEMPOTENCY_KEY,
            "checkout-7f3a".parse().expect("ASCII"),
        );
        request
    };
    let first = client
        .create_order(place())
        .await
        .expect("placed")
        .into_inner();
    let again = client
        .create_order(place())
        .await
        .expect("replayed")
        .into_inner();
    assert_eq!(again.id, first.id);
}

#[tokio::test]
async fn refunded_gives_back_everything_refundable() {
    let server = TestServer::start().await;
    let placed = server.place(order_of(vec![item(MUG, 2)])).await;
    let mut client = server.client();
    client
        .update_order_status(authed(set_status(&placed.id, "PAID"), &server.alice()))
        .await
        .expect("paid");
    let customer = client
        .update_order_status(authed(set_status(&placed.id, "REFUNDED"), &server.alice()))
        .await
        .expect_err("refunds are for staff");
    assert_eq!(customer.code(), Code::PermissionDenied);
    let request = UpdateOrderStatusRequest {
        notes: Some("goodwill".into()),
        ..set_status(&placed.id, "REFUNDED")
    };
    let refunded = client
        .update_order_status(authed(request, &server.admin()))
        .await
        .expect("refunded")
        .into_inner();
    assert_eq!(refunded.payment_status, "REFUNDED");
}
