//! [`SqliteInventory`]: the store's stock tables behind the `Inventory`
//! port, for services that call the inventory around each commit
//! (`StockKeeping::Inventory`) rather than letting the store keep stock.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use order_core::ports::{Inventory, StockEffect, StockItem, StockLevel, StockLevels};
use order_core::{InventoryError, OrderId, PortError, Sku};
use sqlx::SqlitePool;

use crate::error::port;
use crate::stock::{self, StockFailure};

/// Stock in SQLite: the same tables [`crate::SqliteOrderStore`] keeps stock
/// in, each operation its own `BEGIN IMMEDIATE` transaction.
#[derive(Debug, Clone)]
pub struct SqliteInventory {
    pool: SqlitePool,
}

impl SqliteInventory {
    /// An inventory over `pool`, opened by [`crate::connect`].
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }

    async fn apply(&self, order: OrderId, effect: StockEffect) -> Result<(), InventoryError> {
        let failure = |failure| match failure {
            StockFailure::Short(short) => InventoryError::OutOfStock(short),
            StockFailure::Database(err) => InventoryError::Port(port(err)),
        };
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| InventoryError::Port(port(e)))?;
        stock::apply(&mut tx, order, std::slice::from_ref(&effect))
            .await
            .map_err(failure)?;
        tx.commit().await.map_err(|e| InventoryError::Port(port(e)))
    }
}

#[async_trait]
impl Inventory for SqliteInventory {
    async fn reserve(
        &self,
        order: OrderId,
        items: &[StockItem],
        expires_at: DateTime<Utc>,
    ) -> Result<(), InventoryError> {
        self.apply(
            order,
            StockEffect::Reserve {
                items: items.to_vec(),
                expires_at,
            },
        )
        .await
    }

    async fn commit(&self, order: OrderId) -> Result<(), InventoryError> {
        self.apply(order, StockEffect::Commit).await
    }

    async fn release(&self, order: OrderId) -> Result<(), InventoryError> {
        self.apply(order, StockEffect::Release).await
    }

    async fn restock(
        &self,
        order: OrderId,
        key: &str,
        items: &[StockItem],
    ) -> Result<(), InventoryError> {
        self.apply(
            order,
            StockEffect::Restock {
                key: key.to_owned(),
                items: items.to_vec(),
            },
        )
        .await
    }
}

#[async_trait]
impl StockLevels for SqliteInventory {
    async fn set_on_hand(&self, sku: &Sku, units: u32) -> Result<StockLevel, PortError> {
        stock::set_on_hand(&self.pool, sku, units).await
    }

    async fn level(&self, sku: &Sku) -> Result<Option<StockLevel>, PortError> {
        stock::level(&self.pool, sku).await
    }
}
