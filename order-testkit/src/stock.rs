//! [`StockBook`]: stock levels and per-order holds, the one model of stock
//! the testkit has. [`crate::fakes::FakeInventory`] keeps one behind the
//! inventory port; [`crate::InMemoryOrderStore`] keeps one for stores that
//! keep stock.

use order_core::error::Shortage;
use order_core::ports::{StockItem, StockLevel};
use order_core::{OrderId, Sku};

use crate::hash::{FastMap, FastSet};

#[derive(Debug, Clone)]
struct Hold {
    items: Vec<StockItem>,
    committed: bool,
}

/// Stock levels per SKU and holds per order. A SKU never given a level is
/// not tracked: it never runs out.
#[derive(Debug, Clone, Default)]
pub struct StockBook {
    on_hand: FastMap<Sku, u32>,
    holds: FastMap<OrderId, Hold>,
    restocks: FastSet<(OrderId, String)>,
}

impl StockBook {
    fn reserved(&self, sku: &Sku, except: Option<OrderId>) -> u32 {
        self.holds
            .iter()
            .filter(|(order, hold)| Some(**order) != except && !hold.committed)
            .flat_map(|(_, hold)| hold.items.iter())
            .filter(|item| &item.sku == sku)
            .map(|item| item.quantity.get())
            .sum()
    }

    /// Sets `order`'s hold to exactly `items`, or names every short SKU and
    /// changes nothing.
    pub fn reserve(&mut self, order: OrderId, items: &[StockItem]) -> Result<(), Vec<Shortage>> {
        let short: Vec<Shortage> = items
            .iter()
            .filter_map(|item| {
                let on_hand = *self.on_hand.get(&item.sku)?;
                let available = on_hand.saturating_sub(self.reserved(&item.sku, Some(order)));
                (item.quantity.get() > available).then(|| Shortage {
                    sku: item.sku.clone(),
                    requested: item.quantity.get(),
                    available,
                })
            })
            .collect();
        if !short.is_empty() {
            return Err(short);
        }
        let tracked = items
            .iter()
            .filter(|i| self.on_hand.contains_key(&i.sku))
            .cloned()
            .collect();
        self.holds.insert(
            order,
            Hold {
                items: tracked,
                committed: false,
            },
        );
        Ok(())
    }

    /// The held units leave stock; a second commit is a no-op.
    pub fn commit(&mut self, order: OrderId) {
        let Some(hold) = self.holds.get_mut(&order) else {
            return;
        };
        if hold.committed {
            return;
        }
        hold.committed = true;
        for item in &hold.items {
            if let Some(units) = self.on_hand.get_mut(&item.sku) {
                *units = units.saturating_sub(item.quantity.get());
            }
        }
    }

    /// Drops `order`'s uncommitted hold.
    pub fn release(&mut self, order: OrderId) {
        if self.holds.get(&order).is_some_and(|h| !h.committed) {
            self.holds.remove(&order);
        }
    }

    /// Puts units back once per `(order, key)`.
    pub fn restock(&mut self, order: OrderId, key: &str, items: &[StockItem]) {
        if !self.restocks.insert((order, key.to_owned())) {
            return;
        }
        for item in items {
            if let Some(units) = self.on_hand.get_mut(&item.sku) {
                *units = units.saturating_add(item.quantity.get());
            }
        }
    }

    /// Sets the units on hand, refusing fewer than are held and more than
    /// [`StockLevel::MAX_ON_HAND`].
    pub fn set_on_hand(&mut self, sku: &Sku, units: u32) -> Result<StockLevel, String> {
        StockLevel::check_on_hand(units).map_err(|err| format!("{sku}: {err}"))?;
        let reserved = self.reserved(sku, None);
        if units < reserved {
            return Err(format!(
                "{sku}: {reserved} units are held, cannot set {units} on hand"
            ));
        }
        self.on_hand.insert(sku.clone(), units);
        Ok(StockLevel {
            on_hand: units,
            reserved,
        })
    }

    /// The level of a tracked SKU.
    pub fn level(&self, sku: &Sku) -> Option<StockLevel> {
        self.on_hand.get(sku).map(|on_hand| StockLevel {
            on_hand: *on_hand,
            reserved: self.reserved(sku, None),
        })
    }

    /// Units held (not committed) for `order`.
    pub fn reserved_for(&self, order: OrderId) -> u32 {
        self.holds
            .get(&order)
            .filter(|h| !h.committed)
            .map_or(0, |h| h.items.iter().map(|i| i.quantity.get()).sum())
    }

    /// True when `order`'s hold was committed.
    pub fn committed(&self, order: OrderId) -> bool {
        self.holds.get(&order).is_some_and(|h| h.committed)
    }
}
