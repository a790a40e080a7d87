//! [`RecentOrders`]: the latest committed state of the orders this service
//! wrote in the last moments (or read to decide a write), so that a write
//! following another on the same order (pay after place, ship after start
//! processing) decides without reading the order back (ADR 0013).
//!
//! **It owns no truth, only a guess that the store checks.** Every write
//! is compare-and-set on the version its decision started from, so a
//! decision made on a cached order that another process (a replica, a
//! webhook handler elsewhere) has changed since loses that race exactly as
//! a decision made on a read that happened earlier would: the store refuses
//! it and writes nothing. The service then forgets the entry and decides
//! again on the store's order. A decision that would act outside the store
//! before its write (move money) or answer without writing (a refusal, an
//! order returned as it is) is never left to the cache alone: the service
//! confirms it on the store first.
//!
//! Entries are kept per order: the newest version seen wins, so an older
//! state never replaces a newer one whatever the order in which two tasks
//! finish. They are bounded in number (the least recently written go first)
//! and in age: one older than the time-to-live is not used, since the longer
//! an entry lives the likelier another process has written the order, and a
//! stale entry costs a refused write. Responses to reads never come from
//! here: another replica may have written.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};

use crate::id::OrderId;
use crate::order::Order;

/// A bounded, short-lived map from order id to the order's latest committed
/// state known to this process. Orders share their state (copy on write),
/// so an entry costs the order once, however many copies hold it.
#[derive(Debug)]
pub(super) struct RecentOrders {
    capacity: usize,
    ttl: Duration,
    /// A std mutex, never held across an `.await`.
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<OrderId, Entry>,
    /// Ids in the order their entries were written, oldest first, with the
    /// stamp of that write: a position whose stamp is no longer its entry's
    /// was superseded by a later write (or the entry was forgotten).
    written: VecDeque<(OrderId, u64)>,
    stamps: u64,
}

#[derive(Debug)]
struct Entry {
    order: Order,
    at: DateTime<Utc>,
    stamp: u64,
}

impl RecentOrders {
    /// At most `capacity` orders (0 keeps none), each used for `ttl` after
    /// it was written.
    pub(super) fn new(capacity: usize, ttl: std::time::Duration) -> Self {
        Self {
            capacity,
            ttl: Duration::from_std(ttl).unwrap_or(Duration::MAX),
            inner: Mutex::new(Inner::default()),
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The order `id` as last committed or read by this process, unless
    /// none is kept or it is older than the time-to-live at `now`.
    pub(super) fn get(&self, id: OrderId, now: DateTime<Utc>) -> Option<Order> {
        if self.capacity == 0 {
            return None;
        }
        let inner = self.inner();
        let entry = inner.entries.get(&id)?;
        (now - entry.at < self.ttl).then(|| entry.order.clone())
    }

    /// Keeps `order`, committed or read at `now`, unless a newer version of
    /// it is kept already.
    pub(super) fn put(&self, order: &Order, now: DateTime<Utc>) {
        if self.capacity == 0 {
            return;
        }
        let mut inner = self.inner();
        let id = order.id();
        if inner
            .entries
            .get(&id)
            .is_some_and(|kept| kept.order.version() > order.version())
        {
            return;
        }
        inner.stamps += 1;
        let stamp = inner.stamps;
        inner.entries.insert(
            id,
            Entry {
                order: order.clone(),
                at: now,
                stamp,
            },
        );
        inner.written.push_back((id, stamp));
        self.prune(&mut inner, now);
    }

    /// Drops what is kept of `id`: its write lost a race or failed, so the
    /// store may hold something else.
    pub(super) fn forget(&self, id: OrderId) {
        if self.capacity == 0 {
            return;
        }
        // Its position in `written` is skipped when reached.
        self.inner().entries.remove(&id);
    }

    /// Drops expired entries and, beyond the capacity, the least recently
    /// written; compacts the write order when superseded positions pile up.
    fn prune(&self, inner: &mut Inner, now: DateTime<Utc>) {
        while let Some(&(id, stamp)) = inner.written.front() {
            let live = inner.entries.get(&id).filter(|entry| entry.stamp == stamp);
            match live {
                Some(entry)
                    if inner.entries.len() <= self.capacity && now - entry.at < self.ttl =>
                {
                    break;
                }
                Some(_) => {
                    inner.entries.remove(&id);
                }
                None => {}
            }
            inner.written.pop_front();
        }
        if inner.written.len() > 2 * self.capacity + 16 {
            let Inner {
                entries, written, ..
            } = inner;
            written.retain(|(id, stamp)| entries.get(id).is_some_and(|e| e.stamp == *stamp));
        }
    }

    /// How many orders are kept (expired ones included until pruned).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner().entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::OrderEvent;
    use crate::order::fixtures::{placed, t0};
    use crate::text::{Actor, Notes};

    const TTL: std::time::Duration = std::time::Duration::from_secs(30);

    /// `order` one version later, with a note.
    fn noted(order: &Order) -> Order {
        let event = OrderEvent::DetailsChanged {
            notes: Some(Notes::parse("leave at the door").expect("notes")),
            shipping_address: None,
            billing_address: None,
            shipping_method: None,
            totals: *order.totals(),
        };
        order.with_events(&[event], &Actor::system(), t0())
    }

    #[test]
    fn a_kept_order_is_answered_until_it_expires() {
        let recent = RecentOrders::new(8, TTL);
        let order = placed(1);
        recent.put(&order, t0());
        let later = |secs| t0() + Duration::seconds(secs);
        assert_eq!(recent.get(order.id(), later(29)), Some(order.clone()));
        assert_eq!(recent.get(order.id(), later(30)), None);
        assert_eq!(recent.get(placed(2).id(), t0()), None);
    }

    #[test]
    fn a_kept_order_shares_its_state_rather_than_copying_it() {
        let recent = RecentOrders::new(8, TTL);
        let order = placed(1);
        recent.put(&order, t0());
        let kept = recent.get(order.id(), t0()).expect("kept");
        assert!(kept.shares_state_with(&order));
    }

    #[test]
    fn an_older_version_never_replaces_a_newer_one() {
        let recent = RecentOrders::new(8, TTL);
        let first = placed(1);
        let second = noted(&first);
        recent.put(&second, t0());
        recent.put(&first, t0() + Duration::seconds(1));
        assert_eq!(recent.get(first.id(), t0()), Some(second.clone()));
        let third = noted(&second);
        recent.put(&third, t0());
        assert_eq!(recent.get(first.id(), t0()), Some(third));
    }

    #[test]
    fn a_forgotten_order_is_not_answered() {
        let recent = RecentOrders::new(8, TTL);
        let order = placed(1);
        recent.put(&order, t0());
        recent.forget(order.id());
        assert_eq!(recent.get(order.id(), t0()), None);
        // Kept again by its next write.
        recent.put(&noted(&order), t0());
        assert!(recent.get(order.id(), t0()).is_some());
    }

    #[test]
    fn beyond_its_capacity_the_least_recently_written_go_first() {
        let recent = RecentOrders::new(3, TTL);
        let orders: Vec<Order> = (1..=4).map(placed).collect();
        for order in &orders[..3] {
            recent.put(order, t0());
        }
        // Writing the first again makes the second the least recent.
        recent.put(&noted(&orders[0]), t0());
        recent.put(&orders[3], t0());
        assert_eq!(recent.len(), 3);
        assert!(recent.get(orders[0].id(), t0()).is_some());
        assert_eq!(recent.get(orders[1].id(), t0()), None);
        assert!(recent.get(orders[2].id(), t0()).is_some());
        assert!(recent.get(orders[3].id(), t0()).is_some());
    }

    #[test]
    fn expired_orders_are_dropped_by_the_next_write() {
        let recent = RecentOrders::new(8, TTL);
        recent.put(&placed(1), t0());
        recent.put(&placed(2), t0() + Duration::seconds(10));
        recent.put(&placed(3), t0() + Duration::seconds(31));
        assert_eq!(recent.len(), 2);
    }

    #[test]
    fn rewriting_one_order_keeps_the_write_order_bounded() {
        let recent = RecentOrders::new(4, TTL);
        let mut order = placed(1);
        for _ in 0..1_000 {
            order = noted(&order);
            recent.put(&order, t0());
        }
        assert_eq!(recent.len(), 1);
        assert!(recent.inner().written.len() <= 2 * 4 + 16);
        assert_eq!(recent.get(order.id(), t0()), Some(order));
    }

    #[test]
    fn a_capacity_of_zero_keeps_nothing() {
        let recent = RecentOrders::new(0, TTL);
        let order = placed(1);
        recent.put(&order, t0());
        assert_eq!(recent.get(order.id(), t0()), None);
        assert_eq!(recent.len(), 0);
    }
}
