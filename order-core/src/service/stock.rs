//! Stock around commits. Whoever keeps the stock ([`StockKeeping`]), the
//! same plan is made from the order's reservation before and after a change:
//! with the store keeping it, the plan's effects travel inside the change (one
//! transaction); with an inventory service, reservations are made before the
//! commit and the rest is settled right after it.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};

use super::{OrderService, StockKeeping};
use crate::error::{InventoryError, OrderError};
use crate::id::OrderId;
use crate::order::{Order, Reservation};
use crate::ports::{StockEffect, StockItem};
use crate::quantity::Quantity;
use crate::retry::with_retry;
use crate::text::{Actor, Reason, Sku};

/// Stock a command moves itself, beyond what the reservation's state change
/// implies.
#[derive(Debug)]
pub(super) enum StockChange {
    /// The order now holds exactly these items (with an inventory service,
    /// already reserved through the port).
    Reserve {
        items: Vec<StockItem>,
        until: DateTime<Utc>,
    },
    /// These units come back, once per key.
    Restock { key: String, items: Vec<StockItem> },
}

/// The stock effects of one change.
#[derive(Debug)]
pub(super) struct StockPlan {
    effects: Vec<StockEffect>,
    keeping: StockKeeping,
}

impl StockPlan {
    /// The effects the store must apply with the change.
    pub(super) fn in_store(&self) -> &[StockEffect] {
        match self.keeping {
            StockKeeping::Store => &self.effects,
            StockKeeping::Inventory => &[],
        }
    }
}

impl OrderService {
    pub(super) fn stock_items<'a>(
        lines: impl IntoIterator<Item = (&'a Sku, u32)>,
    ) -> Vec<StockItem> {
        let mut by_sku: Vec<(Sku, u32)> = Vec::new();
        for (sku, units) in lines {
            match by_sku.iter_mut().find(|(s, _)| s == sku) {
                Some((_, total)) => *total += units,
                None => by_sku.push((sku.clone(), units)),
            }
        }
        by_sku
            .into_iter()
            .filter_map(|(sku, units)| {
                Quantity::new(units)
                    .ok()
                    .map(|quantity| StockItem { sku, quantity })
            })
            .collect()
    }

    /// What the order still holds or sold: ordered minus cancelled, per SKU.
    pub(super) fn active_items(order: &Order) -> Vec<StockItem> {
        Self::stock_items(
            order
                .lines()
                .iter()
                .map(|l| (&l.sku, l.quantities.active())),
        )
    }

    /// Plans the stock effects of going from `before` to `after`.
    pub(super) fn stock_plan(
        &self,
        before: &Order,
        after: &Order,
        explicit: Option<StockChange>,
    ) -> StockPlan {
        let mut effects = Vec::new();
        let prior = match &explicit {
            Some(StockChange::Reserve { until, .. }) => Reservation::Held(*until),
            _ => before.reservation(),
        };
        match explicit {
            Some(StockChange::Reserve { items, until }) => effects.push(StockEffect::Reserve {
                items,
                expires_at: until,
            }),
            Some(StockChange::Restock { key, items }) => {
                effects.push(StockEffect::Restock { key, items })
            }
            None => {}
        }
        match (prior, after.reservation()) {
            (Reservation::Held(_), Reservation::Committed) => effects.push(StockEffect::Commit),
            (Reservation::Held(_), Reservation::Released) => effects.push(StockEffect::Release),
            (Reservation::Committed, Reservation::Restocked) => {
                effects.push(StockEffect::Restock {
                    key: "cancel".into(),
                    items: Self::active_items(before),
                })
            }
            _ => {}
        }
        StockPlan {
            effects,
            keeping: self.config.stock,
        }
    }

    /// With an inventory service, carries out a committed change's plan;
    /// failures go to the compensation log, except a commit the inventory
    /// refuses for want of stock (the hold lapsed and the units are gone):
    /// that order cannot be fulfilled, so it is cancelled, which gives its
    /// money back, and the cancelled order is returned.
    pub(super) async fn settle(&self, order_id: OrderId, plan: StockPlan) -> Option<Order> {
        if plan.keeping == StockKeeping::Store {
            return None;
        }
        let mut unfulfillable = None;
        for effect in plan.effects {
            let outcome = match &effect {
                // Made through the port before the commit.
                StockEffect::Reserve { .. } => Ok(()),
                StockEffect::Commit => self.call_inventory(|i| i.commit(order_id)).await,
                StockEffect::Release => self.call_inventory(|i| i.release(order_id)).await,
                StockEffect::Restock { key, items } => {
                    self.call_inventory(|i| i.restock(order_id, key, items))
                        .await
                }
            };
            if let (Err(err @ InventoryError::OutOfStock(_)), StockEffect::Commit) =
                (&outcome, &effect)
            {
                unfulfillable = Some(err.clone());
                continue;
            }
            if let Err(err) = outcome {
                let step = match effect {
                    StockEffect::Reserve { .. } => "reserve stock",
                    StockEffect::Commit => "commit stock reservation",
                    StockEffect::Release => "release stock reservation",
                    StockEffect::Restock { .. } => "restock units",
                };
                self.compensate(order_id, step, None, err.to_string()).await;
            }
        }
        match unfulfillable {
            Some(err) => self.cancel_unfulfillable(order_id, err).await,
            None => None,
        }
    }

    /// Cancels an order whose stock the inventory would not commit, which
    /// voids or refunds its payment; when even that fails, an operator is
    /// told through the compensation log.
    ///
    /// Boxed and typed `Send` here: a cancellation commits, and a commit
    /// settles stock, so its future would otherwise contain itself.
    fn cancel_unfulfillable(
        &self,
        order_id: OrderId,
        err: InventoryError,
    ) -> Pin<Box<dyn Future<Output = Option<Order>> + Send + '_>> {
        Box::pin(async move {
            let reason = Reason::parse("the inventory could not commit the order's stock").ok()?;
            match self.cancel(order_id, None, reason, &Actor::system()).await {
                Ok(cancelled) => Some(cancelled),
                Err(cancel_err) => {
                    self.compensate(
                        order_id,
                        "give back the payment of an order whose stock could not be committed",
                        None,
                        format!("{err}; cancelling the order failed: {cancel_err}"),
                    )
                    .await;
                    None
                }
            }
        })
    }

    async fn call_inventory<'a, F, Fut>(&'a self, call: F) -> Result<(), InventoryError>
    where
        F: Fn(&'a dyn crate::ports::Inventory) -> Fut,
        Fut: std::future::Future<Output = Result<(), InventoryError>>,
    {
        let inventory = self.ports.inventory.as_ref();
        with_retry(&self.config.retry, self.ports.timer.as_ref(), || {
            call(inventory)
        })
        .await
    }

    /// Holds `items` for the order: through the inventory port now, or as an
    /// effect of the next commit when the store keeps stock.
    ///
    /// # Errors
    /// [`OrderError::OutOfStock`] or [`OrderError::Unavailable`] from the
    /// inventory port.
    pub(super) async fn hold(
        &self,
        order_id: OrderId,
        items: Vec<StockItem>,
        until: DateTime<Utc>,
    ) -> Result<StockChange, OrderError> {
        if self.config.stock == StockKeeping::Inventory {
            self.call_inventory(|i| i.reserve(order_id, &items, until))
                .await
                .map_err(|err| match err {
                    InventoryError::OutOfStock(_) => OrderError::OutOfStock(err),
                    InventoryError::Port(source) => OrderError::Unavailable {
                        port: "inventory",
                        source,
                    },
                })?;
        }
        Ok(StockChange::Reserve { items, until })
    }

    /// After a command that reserved through the inventory port failed: make
    /// the inventory hold what the stored order says it holds, and nothing
    /// more.
    pub(super) async fn align_stock(&self, order_id: OrderId) {
        if self.config.stock == StockKeeping::Store {
            return;
        }
        let stored = self.ports.store.get(order_id).await;
        let outcome = match stored {
            Ok(Some(order)) => match order.reservation() {
                Reservation::Held(until) => {
                    let items = Self::active_items(&order);
                    self.call_inventory(|i| i.reserve(order_id, &items, until))
                        .await
                }
                Reservation::Committed => Ok(()),
                Reservation::Released | Reservation::Restocked => {
                    self.call_inventory(|i| i.release(order_id)).await
                }
            },
            Ok(None) => self.call_inventory(|i| i.release(order_id)).await,
            Err(err) => Err(InventoryError::Port(crate::error::PortError::Unavailable(
                err.to_string(),
            ))),
        };
        if let Err(err) = outcome {
            self.compensate(
                order_id,
                "align stock reservation with the order",
                None,
                err.to_string(),
            )
            .await;
        }
    }
}
