//! The outbox relay: hands stored events to an [`EventPublisher`] at least
//! once, oldest first, and marks what was handed over. Run it in a loop (the
//! HTTP binary does, on a timer); several relays may run, since consumers
//! deduplicate by event id.

use crate::error::{OrderError, PortError};
use crate::ports::{EventPublisher, OrderStore};

/// One pass of the relay: publishes up to `batch` unpublished events in
/// order and stops at the first failure, so order is kept. Returns how many
/// were published.
///
/// # Errors
/// Store failures; a publisher failure after some events were published is
/// reported as [`OrderError::Unavailable`] once those are marked.
pub async fn relay_outbox(
    store: &dyn OrderStore,
    publisher: &dyn EventPublisher,
    batch: usize,
) -> Result<usize, OrderError> {
    let pending = store.unpublished(batch).await?;
    let mut published = Vec::with_capacity(pending.len());
    let mut failure: Option<PortError> = None;
    for event in &pending {
        match publisher.publish(event).await {
            Ok(()) => published.push(event.position),
            Err(err) => {
                failure = Some(err);
                break;
            }
        }
    }
    store.mark_published(&published).await?;
    match failure {
        Some(source) => Err(OrderError::Unavailable {
            port: "event publisher",
            source,
        }),
        None => Ok(published.len()),
    }
}
