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

/// Orders one sweep expires, and orders it completes, at most: the rest wait
/// for the next sweep, so a backlog does not make one sweep long.
const PER_SWEEP: usize = 200;

/// Orders per call to the service. The sweep checks `stop` between calls, so
/// shutting down waits for one batch, not for a whole sweep of a backlog
/// (each order is its own write: on a loaded database, 200 of them take
/// seconds).
const BATCH: usize = 20;

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
        match in_batches(&stop, |limit| state.orders.expire_stale(limit)).await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "expired stale pending orders"),
            Err(err) => tracing::warn!(error = %err, "expiring stale orders failed"),
        }
        match in_batches(&stop, |limit| state.orders.complete_due(limit)).await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "completed orders past their return window"),
            Err(err) => tracing::warn!(error = %err, "completing orders failed"),
        }
    }
}

/// Runs `step` with a limit of [`BATCH`] orders until it does fewer than
/// that, [`PER_SWEEP`] are done, or `stop` is set; returns how many it did.
async fn in_batches<Done, Error, Step>(
    stop: &tokio::sync::watch::Receiver<bool>,
    mut step: impl FnMut(usize) -> Step,
) -> Result<usize, Error>
where
    Step: Future<Output = Result<Vec<Done>, Error>>,
{
    let mut done = 0;
    while done < PER_SWEEP && !*stop.borrow() {
        let batch = step(BATCH).await?.len();
        done += batch;
        if batch < BATCH {
            break;
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use std::future::ready;

    use super::*;

    fn ids(count: usize) -> Vec<usize> {
        (0..count).collect()
    }

    #[tokio::test]
    async fn a_sweep_goes_on_in_batches_until_fewer_are_due_than_a_batch() {
        let (_stop, stopped) = tokio::sync::watch::channel(false);
        let mut due = 45;
        let mut limits = Vec::new();
        let done = in_batches(&stopped, |limit| {
            limits.push(limit);
            // A sweep that went on after a short batch would call forever.
            assert!(limits.len() <= 3, "called again after a short batch");
            let batch = due.min(limit);
            due -= batch;
            ready(Ok::<_, PortError>(ids(batch)))
        })
        .await;
        assert_eq!(done.ok(), Some(45));
        assert_eq!(limits, [BATCH, BATCH, BATCH]);
    }

    #[tokio::test]
    async fn a_sweep_does_at_most_its_share_of_a_backlog() {
        let (_stop, stopped) = tokio::sync::watch::channel(false);
        // Full batches, ten times more than a sweep may take, then none: a
        // sweep without its cap ends with the wrong count, not a hang.
        let mut calls = 0;
        let done = in_batches(&stopped, |limit| {
            calls += 1;
            let batch = if calls <= 10 * PER_SWEEP / BATCH {
                limit
            } else {
                0
            };
            ready(Ok::<_, PortError>(ids(batch)))
        })
        .await;
        assert_eq!(done.ok(), Some(PER_SWEEP));
    }

    #[tokio::test]
    async fn a_sweep_told_to_stop_finishes_its_batch_and_starts_no_other() {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut calls = 0;
        let done = in_batches(&stopped, |limit| {
            calls += 1;
            let _ = stop.send(true);
            ready(Ok::<_, PortError>(ids(limit)))
        })
        .await;
        assert_eq!(done.ok(), Some(BATCH));
        assert_eq!(calls, 1);
    }

    #[tokio::test]
    async fn a_failed_batch_ends_the_sweep_with_its_error() {
        let (_stop, stopped) = tokio::sync::watch::channel(false);
        let mut calls = 0;
        let done = in_batches(&stopped, |_| {
            calls += 1;
            ready(Err::<Vec<usize>, _>(PortError::Unavailable("down".into())))
        })
        .await;
        assert!(done.is_err());
        assert_eq!(calls, 1);
    }
}
