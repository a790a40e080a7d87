//! The service's background work: every sweep interval it expires stale
//! pending orders and completes delivered orders past their return window
//! (the outbox relay runs on its own, continuously: `order_events::relay`);
//! [`LogPublisher`] is the publisher that writes each event to the log.

use std::time::Duration;

use async_trait::async_trait;
use order_core::ports::EventPublisher;
use order_core::{PortError, StoredEvent};

use crate::state::AppState;

/// Publishes outbox events to the log: the relay's default publisher, so
/// the outbox drains and every event is visible in the logs (the event
/// feed serves them to consumers).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogPublisher;

#[async_trait]
impl EventPublisher for LogPublisher {
    async fn publish(&self, events: &[StoredEvent]) -> Result<(), PortError> {
        for event in events {
            tracing::info!(
                position = event.position,
                event_id = %event.record.id,
                event_type = event.record.event_type(),
                order_id = %event.record.order_id,
                sequence = event.record.sequence,
                "event published"
            );
        }
        Ok(())
    }
}

/// Every `interval`: expires stale pending orders and completes delivered
/// orders past their return window, until `stop`.
pub async fn sweep(
    state: AppState,
    interval: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(interval);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => return,
        }
        match state.orders.expire_stale(200).await {
            Ok(expired) if !expired.is_empty() => {
                tracing::info!(count = expired.len(), "expired stale pending orders")
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "expiring stale orders failed"),
        }
        match state.orders.complete_due(200).await {
            Ok(done) if !done.is_empty() => tracing::info!(
                count = done.len(),
                "completed orders past their return window"
            ),
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "completing orders failed"),
        }
    }
}
