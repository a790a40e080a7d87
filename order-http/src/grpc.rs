//! The gRPC API beside the HTTP one (`--grpc-addr`): order-grpc's
//! [`OrderApi`] over the same engine, limits and token verifier as the HTTP
//! API, so one token works on both. Off unless an address is set: a port
//! that is opened only when asked for cannot surprise a deployment, and
//! several processes on one host (the tests, a fleet) need no free port
//! each.

use std::future::Future;
use std::net::SocketAddr;

use order_core::Currency;
use order_grpc::{OrderApi, ServeError, ServerLimits};
use tokio::net::TcpListener;
use tonic::metadata::MetadataMap;

use crate::auth::{AuthConfig, Role};
use crate::compose::StartError;
use crate::config::Config;
use crate::state::AppState;

impl order_grpc::Authenticate for AuthConfig {
    fn authenticate(&self, metadata: &MetadataMap) -> Result<order_grpc::Caller, String> {
        let caller = self
            .caller(&metadata.clone().into_headers())
            .map_err(|err| err.to_string())?;
        let role = match caller.role() {
            Role::Customer => order_grpc::Role::Customer,
            Role::Admin => order_grpc::Role::Admin,
            Role::Service => order_grpc::Role::Service,
        };
        Ok(order_grpc::Caller::new(
            role,
            caller.scope(),
            caller.actor(),
        ))
    }
}

/// The gRPC API over `state`'s engine and verifier, placing orders in
/// `currency`, with `state`'s message size and time limits.
pub fn api(state: &AppState, currency: Currency) -> (OrderApi, ServerLimits) {
    let api = OrderApi::new(state.orders.clone(), state.auth.clone(), currency);
    let limits = ServerLimits {
        message_bytes: state.limits.body_bytes,
        timeout: state.limits.timeout,
    };
    (api, limits)
}

/// The gRPC server, bound and ready to serve.
#[allow(missing_debug_implementations)]
pub struct GrpcServer {
    listener: TcpListener,
    api: OrderApi,
    limits: ServerLimits,
}

impl GrpcServer {
    /// Binds `--grpc-addr`, when set, for the engine of `state`.
    ///
    /// # Errors
    /// [`StartError::Settings`] for an unknown `--grpc-currency` or an
    /// address that cannot be bound.
    pub async fn bind(config: &Config, state: &AppState) -> Result<Option<Self>, StartError> {
        let Some(address) = config.grpc_addr else {
            tracing::info!("gRPC: off (set --grpc-addr / ORDER_GRPC_ADDR to serve it)");
            return Ok(None);
        };
        let currency = Currency::parse(&config.grpc_currency).map_err(|err| {
            StartError::Settings(format!("--grpc-currency / ORDER_GRPC_CURRENCY: {err}"))
        })?;
        let listener = TcpListener::bind(address).await.map_err(|err| {
            StartError::Settings(format!("binding the gRPC address {address}: {err}"))
        })?;
        let (api, limits) = api(state, currency);
        tracing::info!(
            currency = currency.code(),
            "gRPC: order.OrderService with health and reflection, the HTTP API's tokens and limits"
        );
        Ok(Some(Self {
            listener,
            api,
            limits,
        }))
    }

    /// Where it listens.
    ///
    /// # Errors
    /// When the socket cannot say.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown`, then finishes the calls in flight.
    ///
    /// # Errors
    /// [`ServeError`].
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), ServeError> {
        order_grpc::serve(self.listener, self.api, self.limits, shutdown).await
    }
}
