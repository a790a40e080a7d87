//! [`TokioTimer`]: the `Timer` port on tokio, which order-core's timeouts and
//! retry back-off wait on in a running service.

use std::time::Duration;

use async_trait::async_trait;
use order_core::ports::Timer;

/// Sleeps on the tokio runtime.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioTimer;

#[async_trait]
impl Timer for TokioTimer {
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}
