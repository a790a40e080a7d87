//! [`InMemoryOrderStore`]: an `OrderStore` with the semantics a database
//! store must have — compare-and-set on version, idempotency records,
//! outbox events committed with the change, per-order sequences, keyset
//! listing — kept in one mutex-guarded state so every commit is atomic.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use order_core::CompensationId;
use order_core::order::{Compensation, Resolution};
use order_core::ports::{
    Change, FigureGroup, IdempotencyClaim, IdempotencyKey, OrderFigures, OrderPage, OrderQuery,
    OrderStore, SortOrder, StockEffect, StockLevel, StockLevels,
};
use order_core::{
    EventRecord, Order, OrderId, OrderNumber, PortError, Sku, StoreError, StoredEvent,
};

use crate::hash::{FastMap, FastSet};
use crate::stock::StockBook;

#[derive(Debug)]
struct KeyRecord {
    fingerprint: String,
    claimed_at: DateTime<Utc>,
    order_id: Option<OrderId>,
}

#[derive(Debug, Default)]
struct State {
    orders: FastMap<OrderId, Order>,
    numbers: FastMap<OrderNumber, OrderId>,
    /// The outbox: every event by global position.
    feed: Feed,
    per_order: FastMap<OrderId, Vec<u64>>,
    published: FastSet<u64>,
    keys: FastMap<IdempotencyKey, KeyRecord>,
    inbound: FastSet<String>,
    compensations: Vec<Compensation>,
    /// Stock, for services that let the store keep it.
    stock: StockBook,
}

/// The outbox: every event, at its global position. Positions start at 1
/// and have no gaps, so an event's is one more than its index. Events are
/// kept in chunks of a fixed capacity: appending one never moves those kept
/// already, as each doubling of one growing vector would.
#[derive(Debug, Default)]
struct Feed {
    chunks: Vec<Vec<EventRecord>>,
    len: usize,
}

/// Events per chunk of the feed.
const FEED_CHUNK: usize = 256;

impl Feed {
    /// Appends an event; its position.
    fn push(&mut self, record: EventRecord) -> u64 {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < FEED_CHUNK => chunk.push(record),
            _ => {
                let mut chunk = Vec::with_capacity(FEED_CHUNK);
                chunk.push(record);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
        self.len as u64
    }

    fn get(&self, position: u64) -> Option<&EventRecord> {
        let index = usize::try_from(position.checked_sub(1)?).ok()?;
        self.chunks.get(index / FEED_CHUNK)?.get(index % FEED_CHUNK)
    }

    /// The events after `position`, with their positions, oldest first.
    fn after(&self, position: u64) -> impl Iterator<Item = (u64, &EventRecord)> {
        let start = usize::try_from(position).map_or(self.len, |p| p.min(self.len));
        let records = self
            .chunks
            .get(start / FEED_CHUNK..)
            .unwrap_or_default()
            .iter()
            .flatten()
            .skip(start % FEED_CHUNK);
        (start as u64 + 1..).zip(records)
    }
}

/// An in-memory [`OrderStore`].
#[derive(Debug, Default)]
pub struct InMemoryOrderStore {
    /// The shared state is guarded by a mutex. This is a `std::sync::Mutex`
    /// and not a Tokio mutex, because no asynchronous operation runs while
    /// it is held and the critical sections are small.
    state: Mutex<State>,
}

impl InMemoryOrderStore {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many orders are stored.
    pub fn len(&self) -> usize {
        self.state().orders.len()
    }

    /// True when no order is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sets the units on hand of `sku` in the store's own stock (tests; the
    /// `StockLevels` port does the same, and refuses fewer than are held).
    pub fn set_on_hand(&self, sku: &Sku, units: u32) {
        let _ = self.state().stock.set_on_hand(sku, units);
    }

    /// Units held (not committed) for `order` in the store's own stock.
    pub fn reserved_for(&self, order: OrderId) -> u32 {
        self.state().stock.reserved_for(order)
    }
}

#[async_trait]
impl StockLevels for InMemoryOrderStore {
    async fn set_on_hand(&self, sku: &Sku, units: u32) -> Result<StockLevel, PortError> {
        self.state()
            .stock
            .set_on_hand(sku, units)
            .map_err(PortError::Refused)
    }

    async fn level(&self, sku: &Sku) -> Result<Option<StockLevel>, PortError> {
        Ok(self.state().stock.level(sku))
    }
}

fn invalid(why: &str) -> StoreError {
    StoreError::Backend(why.to_owned().into())
}

fn apply_stock(
    book: &mut StockBook,
    order: OrderId,
    effects: &[StockEffect],
) -> Result<(), StoreError> {
    for effect in effects {
        match effect {
            StockEffect::Reserve { items, .. } => {
                book.reserve(order, items).map_err(StoreError::OutOfStock)?
            }
            StockEffect::Commit => book.commit(order),
            StockEffect::Release => book.release(order),
            StockEffect::Restock { key, items } => book.restock(order, key, items),
        }
    }
    Ok(())
}

fn matches(order: &Order, query: &OrderQuery) -> bool {
    query.customer_id.is_none_or(|c| order.customer_id() == c)
        && query.status.is_none_or(|s| order.status() == s)
        && query
            .payment_status
            .is_none_or(|p| order.payment_status() == p)
        && query
            .created_from
            .is_none_or(|from| order.created_at() >= from)
        && query.created_to.is_none_or(|to| order.created_at() < to)
}

#[async_trait]
impl OrderFigures for InMemoryOrderStore {
    async fn figures(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<FigureGroup>, StoreError> {
        let state = self.state();
        let placed = state
            .orders
            .values()
            .filter(|o| (from..to).contains(&o.created_at()));
        FigureGroup::fold(placed).map_err(|e| StoreError::Backend(e.into()))
    }
}

#[async_trait]
impl OrderStore for InMemoryOrderStore {
    async fn get(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        Ok(self.state().orders.get(&id).cloned())
    }

    async fn get_by_number(&self, number: &OrderNumber) -> Result<Option<Order>, StoreError> {
        let state = self.state();
        Ok(state
            .numbers
            .get(number)
            .and_then(|id| state.orders.get(id))
            .cloned())
    }

    async fn commit(&self, change: Change<'_>) -> Result<(), StoreError> {
        let order = change.order;
        let id = order.id();
        let expected_sequences = (change.expected_version + 1)..=order.version();
        let sequences_ok = change.events.len() as u64
            == order.version().saturating_sub(change.expected_version)
            && change
                .events
                .iter()
                .zip(expected_sequences)
                .all(|(e, s)| e.sequence == s && e.order_id == id);
        if !sequences_ok {
            return Err(invalid(
                "events must carry the sequences expected_version+1 ..= order.version()",
            ));
        }
        let mut state = self.state();
        // Check everything first, so a refused change writes nothing.
        if change.expected_version == 0 {
            if state.orders.contains_key(&id) || state.numbers.contains_key(order.number()) {
                return Err(StoreError::AlreadyExists { id });
            }
        } else {
            let actual = state.orders.get(&id).map_or(0, Order::version);
            if actual != change.expected_version {
                return Err(StoreError::VersionConflict {
                    id,
                    expected: change.expected_version,
                    actual,
                });
            }
        }
        if let Some(event_id) = change.inbound_event
            && state.inbound.contains(event_id)
        {
            return Err(StoreError::DuplicateInboundEvent {
                event_id: event_id.to_owned(),
            });
        }
        if let Some(key) = change.idempotency_key {
            match state.keys.get(key) {
                Some(record) if record.order_id.is_none() => {}
                _ => {
                    return Err(invalid(
                        "the idempotency key is not claimed by this request",
                    ));
                }
            }
        }
        // A short reservation must write nothing. Only a reservation can
        // fail, and a failed one changes nothing, so when it comes first (as
        // the service sends them) the effects apply to the book itself, after
        // every other check; a reservation after another effect is worked
        // out on a copy.
        let reserves_late = change
            .stock
            .iter()
            .skip(1)
            .any(|e| matches!(e, StockEffect::Reserve { .. }));
        if reserves_late {
            let mut book = state.stock.clone();
            apply_stock(&mut book, id, change.stock)?;
            state.stock = book;
        } else {
            apply_stock(&mut state.stock, id, change.stock)?;
        }

        state.orders.insert(id, order.clone());
        if change.expected_version == 0 {
            // The number never changes after placement.
            state.numbers.insert(order.number().clone(), id);
        }
        let state = &mut *state;
        // Room for the events of a placed and paid order at once.
        let positions = state
            .per_order
            .entry(id)
            .or_insert_with(|| Vec::with_capacity(8));
        for record in change.events {
            positions.push(state.feed.push(record.clone()));
        }
        if let Some(event_id) = change.inbound_event {
            state.inbound.insert(event_id.to_owned());
        }
        if let Some(record) = change
            .idempotency_key
            .and_then(|key| state.keys.get_mut(key))
        {
            record.order_id = Some(id);
        }
        Ok(())
    }

    async fn list(&self, query: &OrderQuery) -> Result<OrderPage, StoreError> {
        let state = self.state();
        let mut found: Vec<&Order> = state
            .orders
            .values()
            .filter(|o| matches(o, query))
            .collect();
        let key = |o: &&Order| (o.created_at(), o.id());
        found.sort_by_key(key);
        if query.sort == SortOrder::NewestFirst {
            found.reverse();
        }
        let after = query.after.map(|c| (c.created_at, c.id));
        let orders: Vec<Order> = found
            .into_iter()
            .filter(|o| match (after, query.sort) {
                (None, _) => true,
                (Some(c), SortOrder::OldestFirst) => key(o) > c,
                (Some(c), SortOrder::NewestFirst) => key(o) < c,
            })
            .take(query.limit)
            .cloned()
            .collect();
        Ok(OrderPage::of(orders, query))
    }

    async fn events(&self, id: OrderId) -> Result<Vec<EventRecord>, StoreError> {
        let state = self.state();
        Ok(state
            .per_order
            .get(&id)
            .map(|positions| {
                positions
                    .iter()
                    .filter_map(|p| state.feed.get(*p).cloned())
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn feed(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let state = self.state();
        Ok(state
            .feed
            .after(after)
            .take(limit)
            .map(|(position, record)| StoredEvent {
                position,
                record: record.clone(),
            })
            .collect())
    }

    async fn unpublished(&self, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let state = self.state();
        Ok(state
            .feed
            .after(0)
            .filter(|(position, _)| !state.published.contains(position))
            .take(limit)
            .map(|(position, record)| StoredEvent {
                position,
                record: record.clone(),
            })
            .collect())
    }

    async fn mark_published(&self, positions: &[u64]) -> Result<(), StoreError> {
        let mut state = self.state();
        for position in positions {
            if state.feed.get(*position).is_some() {
                state.published.insert(*position);
            }
        }
        Ok(())
    }

    async fn claim_idempotency_key(
        &self,
        key: &IdempotencyKey,
        fingerprint: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<IdempotencyClaim, StoreError> {
        let mut state = self.state();
        let lease = chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        match state.keys.get_mut(key) {
            None => {
                state.keys.insert(
                    key.clone(),
                    KeyRecord {
                        fingerprint: fingerprint.to_owned(),
                        claimed_at: now,
                        order_id: None,
                    },
                );
                Ok(IdempotencyClaim::Claimed)
            }
            Some(record) if record.fingerprint != fingerprint => Ok(IdempotencyClaim::Mismatch),
            Some(record) => match record.order_id {
                Some(order_id) => Ok(IdempotencyClaim::Completed { order_id }),
                None if now - record.claimed_at >= lease => {
                    record.claimed_at = now;
                    Ok(IdempotencyClaim::Claimed)
                }
                None => Ok(IdempotencyClaim::InFlight),
            },
        }
    }

    async fn release_idempotency_key(&self, key: &IdempotencyKey) -> Result<(), StoreError> {
        let mut state = self.state();
        if state.keys.get(key).is_some_and(|r| r.order_id.is_none()) {
            state.keys.remove(key);
        }
        Ok(())
    }

    async fn inbound_event_processed(&self, event_id: &str) -> Result<bool, StoreError> {
        Ok(self.state().inbound.contains(event_id))
    }

    async fn record_compensation(&self, compensation: &Compensation) -> Result<(), StoreError> {
        self.state().compensations.push(compensation.clone());
        Ok(())
    }

    async fn compensations(&self) -> Result<Vec<Compensation>, StoreError> {
        Ok(self.state().compensations.clone())
    }

    async fn resolve_compensation(
        &self,
        id: CompensationId,
        resolution: &Resolution,
    ) -> Result<Option<Compensation>, StoreError> {
        let mut state = self.state();
        let Some(entry) = state.compensations.iter_mut().find(|c| c.id == id) else {
            return Ok(None);
        };
        if entry.resolution.is_none() {
            entry.resolution = Some(resolution.clone());
        }
        Ok(Some(entry.clone()))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use order_core::{Actor, EventId, OrderEvent};
    use uuid::Uuid;

    use super::*;

    fn record(sequence: u64) -> EventRecord {
        let uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);
        EventRecord {
            id: EventId::new(uuid).expect("a v7 id"),
            order_id: OrderId::new(uuid).expect("a v7 id"),
            sequence,
            occurred_at: Utc.timestamp_opt(0, 0).single().expect("a time"),
            actor: Actor::system(),
            event: OrderEvent::Confirmed,
        }
    }

    #[test]
    fn the_feed_reads_every_position_across_its_chunks() {
        let mut feed = Feed::default();
        let chunk = FEED_CHUNK as u64;
        let last = 2 * chunk + 3;
        for position in 1..=last {
            assert_eq!(feed.push(record(position)), position);
        }
        assert!(feed.get(0).is_none() && feed.get(last + 1).is_none());
        for position in 1..=last {
            assert_eq!(feed.get(position).map(|r| r.sequence), Some(position));
        }
        for after in [0, 1, chunk - 1, chunk, chunk + 1, last - 1, last, last + 5] {
            let read: Vec<(u64, u64)> = feed.after(after).map(|(p, r)| (p, r.sequence)).collect();
            let expected: Vec<(u64, u64)> = (after + 1..=last).map(|p| (p, p)).collect();
            assert_eq!(read, expected, "after {after}");
        }
    }
}
