//! [`TokioTimer`]: the `Timer` port on tokio's timer. The engine races
//! remote calls against it for timeouts and waits on it between retries.

use std::time::Duration;

use async_trait::async_trait;
use order_core::ports::Timer;

/// Sleeps on the tokio runtime the example runs on.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TokioTimer;

#[async_trait]
impl Timer for TokioTimer {
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}
