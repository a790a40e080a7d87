//! Who may call: the HTTP API's bearer tokens in `authorization` metadata,
//! customers kept to their own orders, and bad input answered
//! INVALID_ARGUMENT naming the field.

use order_grpc::proto::get_order_request::Identifier;
use order_grpc::proto::{CancelOrderRequest, GetOrderRequest, ListOrdersRequest};
use order_http::auth::{AuthConfig, Role};
use tonic::{Code, Request};

use crate::common::{ALICE, BOB, TSHIRT, TestServer, authed, item, metadata, order_of};

fn list() -> ListOrdersRequest {
    ListOrdersRequest {
        user_id: String::new(),
        status: None,
        page: 1,
        limit: 10,
        sort_by: String::new(),
        sort_desc: true,
    }
}

#[tokio::test]
async fn calls_without_a_valid_token_are_unauthenticated() {
    let server = TestServer::start().await;
    let mut client = server.client();

    let missing = client
        .list_orders(Request::new(list()))
        .await
        .expect_err("no token");
    assert_eq!(missing.code(), Code::Unauthenticated);
    assert!(
        missing.message().contains("bearer token"),
        "{}",
        missing.message()
    );

    let forged = AuthConfig::hs256(b"another secret of at least 32 bytes!")
        .mint(ALICE, Role::Customer, 3600)
        .expect("a token");
    for token in ["not-a-jwt", forged.as_str()] {
        let refused = client
            .list_orders(authed(list(), token))
            .await
            .expect_err("a bad token");
        assert_eq!(refused.code(), Code::Unauthenticated, "{token}");
    }

    let mut basic = Request::new(list());
    basic.metadata_mut().insert(
        "authorization",
        "Basic YWxpY2U6c2VjcmV0".parse().expect("ASCII"),
    );
    let refused = client
        .list_orders(basic)
        .await
        .expect_err("not a bearer token");
    assert_eq!(refused.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn another_customers_order_is_not_found() {
    let server = TestServer::start().await;
    let placed = server.place(order_of(vec![item(TSHIRT, 1)])).await;
    let mut client = server.client();
    for identifier in [
        Identifier::Id(placed.id.clone()),
        Identifier::OrderNumber(placed.order_number.clone()),
    ] {
        let hidden = client
            .get_order(authed(
                GetOrderRequest {
                    identifier: Some(identifier),
                },
                &server.bob(),
            ))
            .await
            .expect_err("not BOB's order");
        assert_eq!(hidden.code(), Code::NotFound);
    }
    let cancel = client
        .cancel_order(authed(
            CancelOrderRequest {
                order_id: placed.id.clone(),
                reason: "not mine".into(),
            },
            &server.bob(),
        ))
        .await
        .expect_err("not BOB's order");
    assert_eq!(cancel.code(), Code::NotFound);

    let mut for_alice = order_of(vec![item(TSHIRT, 1)]);
    for_alice.user_id = ALICE.into();
    let refused = client
        .create_order(authed(for_alice, &server.bob()))
        .await
        .expect_err("customers order for themselves");
    assert_eq!(refused.code(), Code::PermissionDenied);

    // Staff name the customer.
    let mut for_bob = order_of(vec![item(TSHIRT, 1)]);
    for_bob.user_id = BOB.into();
    let placed = client
        .create_order(authed(for_bob, &server.admin()))
        .await
        .expect("staff place for a customer")
        .into_inner();
    assert_eq!(placed.user_id, BOB);
}

#[tokio::test]
async fn bad_input_is_an_invalid_argument_naming_the_field() {
    let server = TestServer::start().await;
    let mut client = server.client();
    let token = server.alice();

    let mut zero = order_of(vec![item(TSHIRT, 1), item(TSHIRT, 0)]);
    zero.items[0].product_id = crate::common::MUG.into();
    let refused = client
        .create_order(authed(zero, &token))
        .await
        .expect_err("zero units");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(metadata(&refused, "x-field"), Some("items[1].quantity"));

    let mut country = order_of(vec![item(TSHIRT, 1)]);
    if let Some(address) = country.shipping_address.as_mut() {
        address.country = "USA".into();
    }
    let refused = client
        .create_order(authed(country, &token))
        .await
        .expect_err("not an ISO code");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(
        metadata(&refused, "x-field"),
        Some("shipping_address.country")
    );

    let mut email = order_of(vec![item(TSHIRT, 1)]);
    if let Some(address) = email.shipping_address.as_mut() {
        address.email = Some("ada at example".into());
    }
    let refused = client
        .create_order(authed(email, &token))
        .await
        .expect_err("not an e-mail address");
    assert_eq!(
        metadata(&refused, "x-field"),
        Some("shipping_address.email")
    );

    let mut swapped = order_of(vec![item(TSHIRT, 1)]);
    if let Some(address) = swapped.shipping_address.as_mut() {
        address.address_type = "BILLING".into();
    }
    let refused = client
        .create_order(authed(swapped, &token))
        .await
        .expect_err("a billing address in the shipping slot");
    assert_eq!(
        metadata(&refused, "x-field"),
        Some("shipping_address.address_type")
    );

    let refused = client
        .get_order(authed(
            GetOrderRequest {
                identifier: Some(Identifier::Id("nope".into())),
            },
            &token,
        ))
        .await
        .expect_err("not an id");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(metadata(&refused, "x-field"), Some("id"));

    let refused = client
        .get_order(authed(GetOrderRequest { identifier: None }, &token))
        .await
        .expect_err("no identifier");
    assert_eq!(refused.code(), Code::InvalidArgument);
}
