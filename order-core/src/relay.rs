//! The outbox relay: hands stored events to an [`EventPublisher`] at least
//! once, oldest first, a batch at a time, and marks a batch published once
//! the publisher acknowledged all of it. Run it in a loop; with several
//! replicas, let one relay lead (consumers deduplicate by event id, so a
//! second relay duplicates events but never loses one).

use crate::error::OrderError;
use crate::ports::{EventPublisher, OrderStore};

/// One pass of the relay: publishes up to `batch` unpublished events in
/// order and marks them published. Returns how many were published.
///
/// # Errors
/// Store failures; [`OrderError::Unavailable`] when the publisher failed,
/// in which case nothing was marked and the next pass publishes the batch
/// again.
pub async fn relay_outbox(
    store: &dyn OrderStore,
    publisher: &dyn EventPublisher,
    batch: usize,
) -> Result<usize, OrderError> {
    let pending = store.unpublished(batch).await?;
    if pending.is_empty() {
        return Ok(0);
    }
    publisher
        .publish(&pending)
        .await
        .map_err(|source| OrderError::Unavailable {
            port: "event publisher",
            source,
        })?;
    let positions: Vec<u64> = pending.iter().map(|event| event.position).collect();
    store.mark_published(&positions).await?;
    Ok(positions.len())
}
