//! The binary with `ORDER_GRPC_ADDR`: it says where gRPC listens, serves
//! `order.OrderService` and health there with the HTTP API's tokens over
//! the same orders, and stops cleanly on SIGTERM; without the setting it
//! opens no gRPC port.

use order_grpc::proto::order_service_client::OrderServiceClient;
use order_grpc::proto::{CreateOrderRequest, ListOrdersRequest, OrderAddressInput, OrderItemInput};
use order_http::auth::{AuthConfig, Role};
use tonic::Request;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::process::{Scratch, Server, http, repository, stock_product};

const SECRET: &str = "grpc-binary-secret";
const CUSTOMER_ID: &str = "0193e6d2-6c1e-7b4e-9a3a-0000000000c1";
const PRODUCT: &str = "0193e6d2-0000-7000-8000-0000000000c2";

fn start(data: &Scratch, grpc: Option<&str>) -> Server {
    let config = repository().join("config/sample.toml");
    let config = config.to_string_lossy();
    let data_dir = data.path().to_string_lossy();
    let mut env = vec![
        ("ORDER_JWT_SECRET", SECRET),
        ("ORDER_PAYMENTS", "simulated"),
        ("ORDER_CONFIG", &*config),
        ("ORDER_DATA_DIR", &*data_dir),
    ];
    if let Some(address) = grpc {
        env.push(("ORDER_GRPC_ADDR", address));
    }
    Server::start(&env)
}

fn authed<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ASCII"),
    );
    request
}

fn placement() -> CreateOrderRequest {
    CreateOrderRequest {
        user_id: String::new(),
        items: vec![OrderItemInput {
            product_id: PRODUCT.into(),
            variant_id: None,
            quantity: 2,
        }],
        shipping_address: Some(OrderAddressInput {
            address_type: "SHIPPING".into(),
            first_name: "Jo".into(),
            last_name: "March".into(),
            address_line1: "1 Elm St".into(),
            address_line2: None,
            city: "Portland".into(),
            state: "OR".into(),
            postal_code: "97201".into(),
            country: "US".into(),
            phone: None,
            email: None,
        }),
        billing_address: None,
        payment_method: "card".into(),
        shipping_method: "standard".into(),
        notes: None,
        coupon_code: None,
    }
}

#[test]
fn the_binary_serves_grpc_beside_http_with_the_same_tokens() {
    let data = Scratch::new("grpc");
    let auth = AuthConfig::hs256(SECRET.as_bytes());
    let admin = auth.mint("admin", Role::Admin, 600).expect("a token");
    let customer = auth
        .mint(CUSTOMER_ID, Role::Customer, 600)
        .expect("a token");
    let server = start(&data, Some("127.0.0.1:0"));
    let address = server
        .banner
        .iter()
        .find_map(|line| line.strip_prefix("gRPC listening on "))
        .unwrap_or_else(|| panic!("no gRPC address in {:?}", server.banner))
        .trim()
        .to_owned();
    stock_product(&server.base, &admin, (PRODUCT, "LANTERN", "30.00"), 5);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let (placed, listed, health) = runtime.block_on(async {
        let channel = Channel::from_shared(format!("http://{address}"))
            .expect("a URI")
            .connect()
            .await
            .expect("the client connects");
        let mut orders = OrderServiceClient::new(channel.clone());
        let placed = orders
            .create_order(authed(placement(), &customer))
            .await
            .expect("placed over gRPC")
            .into_inner();
        let listed = orders
            .list_orders(authed(
                ListOrdersRequest {
                    user_id: String::new(),
                    status: None,
                    page: 1,
                    limit: 10,
                    sort_by: String::new(),
                    sort_desc: true,
                },
                &admin,
            ))
            .await
            .expect("listed over gRPC")
            .into_inner();
        let health = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: "order.OrderService".into(),
            })
            .await
            .expect("a health answer")
            .into_inner();
        (placed, listed, health)
    });
    // The client's connections close with its runtime, so the server's
    // graceful stop has no idle connection to wait for.
    drop(runtime);
    assert_eq!(placed.status, "PENDING");
    assert_eq!(placed.user_id, CUSTOMER_ID);
    assert_eq!(listed.total, 1);
    assert_eq!(health.status(), ServingStatus::Serving);

    // The same order, through the HTTP API.
    let (status, body) = http(
        "GET",
        &format!("{}/api/v1/orders/{}", server.base, placed.id),
        &customer,
        None,
    );
    assert_eq!(status, 200, "{body}");
    let order: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(order["number"], placed.order_number.as_str());
    server.stop();
}

#[test]
fn without_an_address_the_binary_opens_no_grpc_port() {
    let data = Scratch::new("grpc-off");
    let server = start(&data, None);
    // Served once, so SIGTERM finds the signal handler installed.
    let (status, _) = http("GET", &format!("{}/health/live", server.base), "", None);
    assert_eq!(status, 200);
    assert!(
        server
            .banner
            .iter()
            .all(|line| !line.starts_with("gRPC listening on")),
        "{:?}",
        server.banner
    );
    server.stop();
}
