//! The continuous outbox relay. While this process holds the relay lease it
//! publishes batch after batch as long as events wait, then polls every
//! `idle_poll`.
//! A publisher failure (a broker down) leaves the batch unmarked and backs
//! off, doubling up to `max_backoff`; nothing is lost, and the batch is
//! published again when the publisher is back. With several replicas, the
//! lease lets one relay lead; the others wait and take over when it goes.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use order_core::PortError;
use order_core::ports::{EventPublisher, OrderStore, RelayLease};
use tokio::sync::watch;

/// How the relay paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelaySettings {
    /// Events per batch.
    pub batch: usize,
    /// The wait between passes when nothing waited.
    pub idle_poll: Duration,
    /// The longest wait after failures.
    pub max_backoff: Duration,
}

impl Default for RelaySettings {
    /// 500 events a batch, a poll every 100 ms, at most 30 s of back-off.
    fn default() -> Self {
        Self {
            batch: 500,
            idle_poll: Duration::from_millis(100),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// The lease for a store only one process uses (the embedded SQLite store,
/// the in-memory one): this process always leads.
#[derive(Debug, Clone, Copy, Default)]
pub struct SoleRelay;

#[async_trait]
impl RelayLease for SoleRelay {
    async fn hold(&self) -> Result<bool, PortError> {
        Ok(true)
    }
}

/// The relay's parts.
pub struct Relay {
    store: Arc<dyn OrderStore>,
    publisher: Arc<dyn EventPublisher>,
    lease: Arc<dyn RelayLease>,
    settings: RelaySettings,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Relay {
    /// A relay from `store` to `publisher` while `lease` is held.
    pub fn new(
        store: Arc<dyn OrderStore>,
        publisher: Arc<dyn EventPublisher>,
        lease: Arc<dyn RelayLease>,
        settings: RelaySettings,
    ) -> Self {
        Self {
            store,
            publisher,
            lease,
            settings,
        }
    }

    /// Relays until `stop` turns true (or its sender goes).
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut failures: u32 = 0;
        let mut leading = false;
        loop {
            if *stop.borrow() {
                return;
            }
            let pass = self.pass().await;
            if matches!(pass, Pass::Full | Pass::Drained) && !leading {
                tracing::info!("outbox relay: this process leads");
                leading = true;
            }
            let wait = match pass {
                Pass::Full => {
                    failures = 0;
                    continue;
                }
                Pass::Drained => {
                    failures = 0;
                    self.settings.idle_poll
                }
                Pass::Following => {
                    if leading {
                        tracing::info!("outbox relay: another process leads now");
                    }
                    leading = false;
                    failures = 0;
                    // A follower checks less often: taking over within a
                    // second of the leader's going is enough.
                    self.settings.idle_poll.max(Duration::from_secs(1))
                }
                Pass::Failed(error) => {
                    failures = failures.saturating_add(1);
                    let wait = self.backoff(failures);
                    tracing::warn!(%error, failures, retry_in_ms = wait.as_millis() as u64, "outbox relay: pass failed; retrying");
                    wait
                }
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stop.changed() => {}
            }
        }
    }

    async fn pass(&self) -> Pass {
        match self.lease.hold().await {
            Ok(true) => {}
            Ok(false) => return Pass::Following,
            Err(error) => return Pass::Failed(error.to_string()),
        }
        match order_core::relay::relay_outbox(
            self.store.as_ref(),
            self.publisher.as_ref(),
            self.settings.batch,
        )
        .await
        {
            Ok(published) if published >= self.settings.batch => Pass::Full,
            Ok(_) => Pass::Drained,
            Err(error) => Pass::Failed(error.to_string()),
        }
    }

    fn backoff(&self, failures: u32) -> Duration {
        let base = self.settings.idle_poll.max(Duration::from_millis(100));
        base.saturating_mul(1u32 << failures.min(16))
            .min(self.settings.max_backoff)
    }
}

/// What one pass did.
enum Pass {
    /// A full batch went out: more may wait.
    Full,
    /// Everything waiting went out.
    Drained,
    /// Another process leads.
    Following,
    /// The lease, the store or the publisher failed.
    Failed(String),
}
