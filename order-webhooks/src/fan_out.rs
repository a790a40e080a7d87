//! From the outbox feed to deliveries. The store keeps the feed position up
//! to which messages became deliveries; a pass reads the events after it,
//! maps them to the published messages, makes a pending delivery for each
//! message and subscription that wants its type — from the subscription's
//! creation on — and writes them with the new position in one transaction,
//! so a crash repeats a pass or skips nothing, and two processes cannot
//! both move the position. Without subscriptions nothing is read: the
//! position waits, and the first subscription's catch-up delivers nothing
//! older than itself.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use order_core::ports::{OrderStore, WebhookStore};
use order_core::webhook::{Delivery, DeliveryState, RetryPolicy};
use order_core::{DeliveryId, StoreError};
use order_events::Wire;
use uuid::Uuid;

/// Turns up to `batch` feed events into deliveries. Returns how many events
/// were read (0 when the feed is caught up, or another process moved the
/// position first).
///
/// # Errors
/// [`StoreError`] when a store fails; nothing was written then.
pub async fn fan_out(
    orders: &dyn OrderStore,
    webhooks: &dyn WebhookStore,
    wire: &Wire,
    policy: &RetryPolicy,
    now: DateTime<Utc>,
    batch: usize,
) -> Result<usize, StoreError> {
    let subscriptions = webhooks.subscriptions().await?;
    if subscriptions.is_empty() {
        return Ok(0);
    }
    let from = webhooks.fan_out_position().await?;
    let events = orders.feed(from, batch).await?;
    let Some(last) = events.last() else {
        return Ok(0);
    };
    let to = last.position;
    let oldest = subscriptions
        .iter()
        .map(|s| s.created_at)
        .min()
        .unwrap_or(now);
    // Events older than every subscription are passed over unmapped.
    let recent: Vec<_> = events
        .iter()
        .filter(|e| e.record.occurred_at >= oldest)
        .cloned()
        .collect();
    let occurred: HashMap<u64, DateTime<Utc>> = recent
        .iter()
        .map(|e| (e.position, e.record.occurred_at))
        .collect();
    let mut deliveries = Vec::new();
    for message in wire.messages(&recent).await? {
        let occurred_at = occurred.get(&message.position).copied().unwrap_or(oldest);
        for subscription in subscriptions
            .iter()
            .filter(|s| s.wants(message.event_type) && occurred_at >= s.created_at)
        {
            deliveries.push(Delivery {
                id: DeliveryId::new(Uuid::now_v7()).map_err(|e| StoreError::Backend(e.into()))?,
                subscription_id: subscription.id,
                message_id: message.id.clone(),
                event_type: message.event_type.to_owned(),
                position: message.position,
                headers: message
                    .attributes
                    .http_headers()
                    .into_iter()
                    .map(|(name, value)| (name.to_owned(), value))
                    .collect(),
                body: String::from_utf8_lossy(&message.body).into_owned(),
                state: DeliveryState::Pending,
                attempts: 0,
                next_attempt_at: now,
                give_up_at: now + policy.window,
                last_status: None,
                last_error: None,
                created_at: now,
            });
        }
    }
    if webhooks.enqueue(&deliveries, from, to).await? {
        Ok(events.len())
    } else {
        Ok(0)
    }
}
