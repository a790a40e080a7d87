//! The test server and client: `compose::build` with `--grpc-addr
//! 127.0.0.1:0`, the gRPC server the binary starts, a tonic channel to it,
//! tokens signed with the test secret, and request builders.

use clap::Parser as _;
use order_grpc::proto::order_service_client::OrderServiceClient;
use order_grpc::proto::{self, CreateOrderRequest, OrderAddressInput, OrderItemInput};
use order_http::AppState;
use order_http::auth::{AuthConfig, Role};
use order_http::compose;
use order_http::config::Config;
use order_http::grpc::GrpcServer;
use tokio::sync::oneshot;
use tonic::transport::Channel;
use tonic::{Request, Status};

/// The HS256 secret the server checks tokens with.
pub(crate) const SECRET: &str = "order-http grpc tests: a secret of 32+ bytes";
/// The customer of the default customer token.
pub(crate) const ALICE: &str = "0193e6d2-6c1e-7b4e-9a3a-000000000a11";
/// Another customer.
pub(crate) const BOB: &str = "0193e6d2-6c1e-7b4e-9a3a-000000000b0b";
/// The demo catalog's T-shirt (19.99 USD, physical, standard tax).
pub(crate) const TSHIRT: &str = "0193e6d2-0000-7000-8000-000000000001";
/// The demo catalog's mug (12.50 USD).
pub(crate) const MUG: &str = "0193e6d2-0000-7000-8000-000000000002";

fn repository(file: &str) -> String {
    format!("{}/../{file}", env!("CARGO_MANIFEST_DIR"))
}

/// A gRPC server over the composed service, stopped when dropped.
pub(crate) struct TestServer {
    /// The generated client, connected.
    pub(crate) client: OrderServiceClient<Channel>,
    /// The channel, for the health and reflection clients.
    pub(crate) channel: Channel,
    /// The handlers' state (catalog and stock administration).
    pub(crate) state: AppState,
    minter: AuthConfig,
    stop: Option<oneshot::Sender<()>>,
}

impl TestServer {
    /// The service composed from the test settings, served on a free port.
    pub(crate) async fn start() -> Self {
        let (policies, catalog) = (
            repository("config/sample.toml"),
            repository("config/demo-catalog.toml"),
        );
        let config = Config::parse_from([
            "order-http",
            "--database-url",
            "sqlite::memory:",
            "--config",
            &policies,
            "--seed-catalog",
            &catalog,
            "--jwt-secret",
            SECRET,
            "--payments",
            "simulated",
            "--grpc-addr",
            "127.0.0.1:0",
        ]);
        let app = compose::build(&config).await.expect("the service composes");
        let server = GrpcServer::bind(&config, &app.state)
            .await
            .expect("the gRPC address binds")
            .expect("gRPC is on with --grpc-addr");
        let address = server.local_addr().expect("a local address");
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));
        let channel = Channel::from_shared(format!("http://{address}"))
            .expect("a URI")
            .connect()
            .await
            .expect("the client connects");
        Self {
            client: OrderServiceClient::new(channel.clone()),
            channel,
            state: app.state,
            minter: AuthConfig::hs256(SECRET.as_bytes()),
            stop: Some(stop),
        }
    }

    /// A token for `subject` in `role`.
    pub(crate) fn token(&self, subject: &str, role: Role) -> String {
        self.minter
            .mint(subject, role, 3600)
            .expect("an HS256 token")
    }

    /// The customer ALICE's token.
    pub(crate) fn alice(&self) -> String {
        self.token(ALICE, Role::Customer)
    }

    /// The customer BOB's token.
    pub(crate) fn bob(&self) -> String {
        self.token(BOB, Role::Customer)
    }

    /// An admin's token.
    pub(crate) fn admin(&self) -> String {
        self.token("ops-alice", Role::Admin)
    }

    /// The client (cheap to clone: it shares the channel).
    pub(crate) fn client(&self) -> OrderServiceClient<Channel> {
        self.client.clone()
    }

    /// Places `request` as ALICE and answers the order.
    pub(crate) async fn place(&self, request: CreateOrderRequest) -> proto::Order {
        self.client()
            .create_order(authed(request, &self.alice()))
            .await
            .expect("the order is placed")
            .into_inner()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// `message` with `authorization: Bearer <token>`.
pub(crate) fn authed<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ASCII"),
    );
    request
}

/// A shipping or billing address as the seed's clients send it.
pub(crate) fn address(kind: &str) -> OrderAddressInput {
    OrderAddressInput {
        address_type: kind.to_owned(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        address_line1: "12 Analytical Row".into(),
        address_line2: Some("Flat 3".into()),
        city: "Springfield".into(),
        state: "IL".into(),
        postal_code: "62701".into(),
        country: "US".into(),
        phone: Some("+1 217 555 0100".into()),
        email: Some("ada@example.com".into()),
    }
}

/// An item of `quantity` units of `product`.
pub(crate) fn item(product: &str, quantity: i32) -> OrderItemInput {
    OrderItemInput {
        product_id: product.to_owned(),
        variant_id: None,
        quantity,
    }
}

/// A placement of `items` for ALICE, shipped by `standard`.
pub(crate) fn order_of(items: Vec<OrderItemInput>) -> CreateOrderRequest {
    CreateOrderRequest {
        user_id: String::new(),
        items,
        shipping_address: Some(address("SHIPPING")),
        billing_address: None,
        payment_method: "card".into(),
        shipping_method: "standard".into(),
        notes: None,
        coupon_code: None,
    }
}

/// A metadata value of a refusal, as text.
pub(crate) fn metadata<'a>(status: &'a Status, key: &str) -> Option<&'a str> {
    status.metadata().get(key).and_then(|v| v.to_str().ok())
}
