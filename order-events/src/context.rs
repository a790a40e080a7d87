//! The order as it stood around each event. A message's fields (the
//! customer, the status before and after, the payment that confirmed the
//! order) are not all in the event itself; the core's own fold gives them.
//! Folded orders are kept for the most recently relayed orders, so an
//! order's next event is one `apply`; an order not kept (after a restart,
//! or an event another relay published) is folded again from its events in
//! the store, once.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use order_core::ports::OrderStore;
use order_core::{EventRecord, Order, OrderId, StoreError};

/// The order before an event (none for its first) and after it.
#[derive(Debug, Clone)]
pub struct Around {
    /// Before the event.
    pub before: Option<Order>,
    /// After the event.
    pub after: Order,
}

/// Folds orders event by event, keeping the latest state of the most
/// recent orders.
pub struct Contexts {
    store: Arc<dyn OrderStore>,
    kept: Mutex<Kept>,
}

/// A bounded map of folded orders, the oldest insertion evicted first.
#[derive(Debug)]
struct Kept {
    capacity: usize,
    orders: HashMap<OrderId, Order>,
    arrival: VecDeque<OrderId>,
}

impl Kept {
    fn take(&mut self, id: OrderId) -> Option<Order> {
        self.orders.remove(&id)
    }

    fn keep(&mut self, order: Order) {
        let id = order.id();
        if self.orders.insert(id, order).is_none() {
            self.arrival.push_back(id);
        }
        while self.orders.len() > self.capacity {
            match self.arrival.pop_front() {
                Some(oldest) => {
                    self.orders.remove(&oldest);
                }
                None => break,
            }
        }
        // Ids whose orders were taken and not kept again linger in the
        // queue; drop them once they outnumber the kept orders.
        if self.arrival.len() > 2 * self.capacity.max(1) {
            let orders = &self.orders;
            self.arrival.retain(|id| orders.contains_key(id));
        }
    }
}

impl std::fmt::Debug for Contexts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contexts")
            .field("kept", &self.kept().orders.len())
            .finish_non_exhaustive()
    }
}

impl Contexts {
    /// Keeps up to `capacity` folded orders (a few kilobytes each).
    pub fn new(store: Arc<dyn OrderStore>, capacity: usize) -> Self {
        Self {
            store,
            kept: Mutex::new(Kept {
                capacity,
                orders: HashMap::new(),
                arrival: VecDeque::new(),
            }),
        }
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The order around `record`. Records of one order must come in
    /// sequence order.
    ///
    /// # Errors
    /// [`StoreError`] when the order's events must be read and cannot be, or
    /// do not lead up to `record` (a corrupt stream).
    pub async fn around(&self, record: &EventRecord) -> Result<Around, StoreError> {
        let kept = self.kept().take(record.order_id);
        let before = match kept {
            Some(order) if order.version() + 1 == record.sequence => Some(order),
            _ if record.sequence == 1 => None,
            _ => Some(self.fold_before(record).await?),
        };
        let after = match &before {
            Some(order) => {
                let mut after = order.clone();
                after.apply(record);
                after
            }
            None => Order::placed(record).ok_or_else(|| corrupt(record, "does not place it"))?,
        };
        self.kept().keep(after.clone());
        Ok(Around { before, after })
    }

    /// The order right before `record`, from its stored events.
    async fn fold_before(&self, record: &EventRecord) -> Result<Order, StoreError> {
        let events = self.store.events(record.order_id).await?;
        let earlier = events.iter().filter(|e| e.sequence < record.sequence);
        Order::from_events(earlier)
            .filter(|order| order.version() + 1 == record.sequence)
            .ok_or_else(|| corrupt(record, "has a gap before it"))
    }
}

fn corrupt(record: &EventRecord, what: &str) -> StoreError {
    StoreError::Backend(
        format!(
            "the event stream of order {} {what} (event {}, sequence {})",
            record.order_id, record.id, record.sequence
        )
        .into(),
    )
}
