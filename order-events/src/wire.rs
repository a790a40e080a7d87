//! From outbox events to messages: each stored event becomes one message
//! per type it is published as ([`crate::types::published_as`]), with its
//! CloudEvents attributes and its body, in the events' order. The engine's
//! own type keeps the event's id; the others get a name-based UUID of it, so
//! a republished event carries the same ids and consumers deduplicate it.

use std::sync::Arc;

use order_core::ports::OrderStore;
use order_core::{StoreError, StoredEvent};
use uuid::Uuid;

use crate::context::Contexts;
use crate::headers::Attributes;
use crate::payload::{body, time};
use crate::types::published_as;

/// Folded orders kept between batches (a few megabytes).
const KEPT_ORDERS: usize = 2_048;

/// One message, ready for a broker or a webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireMessage {
    /// The partitioning key: the order id, so one order's messages stay in
    /// order.
    pub key: String,
    /// The CloudEvents type.
    pub event_type: &'static str,
    /// The CloudEvents id.
    pub id: String,
    /// CloudEvents binary-mode Kafka headers (`ce_…`, `content-type`).
    pub headers: Vec<(&'static str, String)>,
    /// The JSON body.
    pub body: Vec<u8>,
    /// The event's place in the global feed.
    pub position: u64,
    /// The event's number within its order.
    pub sequence: u64,
    /// The attributes, for other bindings ([`Attributes::http_headers`]).
    pub attributes: Attributes,
}

/// Maps stored events to messages.
#[derive(Debug)]
pub struct Wire {
    source: String,
    contexts: Contexts,
}

impl Wire {
    /// Messages whose CloudEvents `source` is `source` (e.g.
    /// `/order-service`), reading orders from `store` when an event's order
    /// is not already folded.
    pub fn new(store: Arc<dyn OrderStore>, source: impl Into<String>) -> Self {
        Self {
            source: source.into(),
            contexts: Contexts::new(store, KEPT_ORDERS),
        }
    }

    /// The messages of `events` (oldest first), in order.
    ///
    /// # Errors
    /// [`StoreError`] when an order must be read and cannot be.
    pub async fn messages(&self, events: &[StoredEvent]) -> Result<Vec<WireMessage>, StoreError> {
        let mut messages = Vec::with_capacity(events.len() * 2);
        for stored in events {
            let record = &stored.record;
            let around = self.contexts.around(record).await?;
            let before = around.before.as_ref().map(|order| order.status());
            for (index, event_type) in published_as(&record.event, before, around.after.status())
                .into_iter()
                .enumerate()
            {
                let id = if index == 0 {
                    record.id.to_string()
                } else {
                    Uuid::new_v5(&record.id.as_uuid(), event_type.as_bytes()).to_string()
                };
                let attributes = Attributes {
                    id: id.clone(),
                    source: self.source.clone(),
                    event_type,
                    subject: record.order_id.to_string(),
                    time: time(record.occurred_at),
                    sequence: record.sequence,
                    position: stored.position,
                };
                messages.push(WireMessage {
                    key: record.order_id.to_string(),
                    event_type,
                    id,
                    headers: attributes.kafka_headers(),
                    body: body(event_type, record, &around)
                        .map_err(|e| StoreError::Backend(e.into()))?,
                    position: stored.position,
                    sequence: record.sequence,
                    attributes,
                });
            }
        }
        Ok(messages)
    }
}
