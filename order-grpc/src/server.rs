//! [`serve`]: the gRPC server — `order.OrderService`, the standard health
//! service (`grpc.health.v1.Health`, SERVING while the server runs, for the
//! whole server and for `order.OrderService`) and server reflection (v1 and
//! v1alpha, so grpcurl and similar tools list and call the service without
//! the proto file) — on one listener until a shutdown signal, then
//! finishing the calls in flight.

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;

use crate::api::OrderApi;
use crate::proto;
use crate::proto::order_service_server::OrderServiceServer;

/// The server's limits.
#[derive(Clone, Copy, Debug)]
pub struct ServerLimits {
    /// The largest request message accepted, in bytes.
    pub message_bytes: usize,
    /// How long a call may take.
    pub timeout: Duration,
}

/// Why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The reflection service could not read the proto's descriptors.
    #[error("server reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The transport failed.
    #[error("gRPC transport: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Serves `api` with health and reflection on `listener` until `shutdown`
/// completes; then stops accepting, reports NOT_SERVING, and returns once
/// the calls in flight have finished.
///
/// # Errors
/// [`ServeError`] when reflection cannot be built or the transport fails.
pub async fn serve(
    listener: TcpListener,
    api: OrderApi,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<OrderServiceServer<OrderApi>>().await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    let orders = OrderServiceServer::new(api).max_decoding_message_size(limits.message_bytes);
    let stopping = async {
        shutdown.await;
        health
            .set_not_serving::<OrderServiceServer<OrderApi>>()
            .await;
    };
    tonic::transport::Server::builder()
        .timeout(limits.timeout)
        // Each call's logs (a server failure's cause) carry its method.
        .trace_fn(|request| tracing::info_span!("grpc", method = %request.uri().path()))
        .add_service(health_service)
        .add_service(reflection)
        .add_service(reflection_alpha)
        .add_service(orders)
        .serve_with_incoming_shutdown(TcpIncoming::from(listener), stopping)
        .await?;
    Ok(())
}
