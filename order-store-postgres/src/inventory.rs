//! [`PgInventory`]: stock levels and per-order reservations as the
//! `Inventory` port (for deployments that keep stock behind the port rather
//! than in the order store), and stock administration (`StockLevels`) for
//! both.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use order_core::ports::{Inventory, StockEffect, StockItem, StockLevel, StockLevels};
use order_core::{InventoryError, OrderId, PortError, Sku};
use sqlx::{PgPool, Row};

use crate::sql;
use crate::stock::{StockFailure, apply_alone};

/// Stock in PostgreSQL, the same tables [`crate::PgOrderStore`] keeps stock
/// in.
#[derive(Debug, Clone)]
pub struct PgInventory {
    pool: PgPool,
}

impl PgInventory {
    /// An inventory over `pool`.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    async fn apply(&self, order: OrderId, effect: StockEffect) -> Result<(), InventoryError> {
        apply_alone(&self.pool, order, &effect)
            .await
            .map_err(|failure| match failure {
                StockFailure::Short(short) => InventoryError::OutOfStock(short),
                StockFailure::Store(err) => {
                    InventoryError::Port(PortError::Unavailable(err.to_string()))
                }
            })
    }
}

#[async_trait]
impl Inventory for PgInventory {
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

/// Sets a level (refusing fewer units than are held) and reads levels, for
/// anything that owns a pool on the stock tables.
pub(crate) async fn set_on_hand(
    pool: &PgPool,
    sku: &Sku,
    units: u32,
) -> Result<StockLevel, PortError> {
    let units =
        i32::try_from(units).map_err(|_| PortError::Refused(format!("{sku}: too many units")))?;
    let row = sqlx::query(sql::SET_ON_HAND)
        .bind(sku.as_str())
        .bind(units)
        .fetch_one(pool)
        .await
        .map_err(|err| match &err {
            sqlx::Error::Database(db) if db.constraint() == Some("stock_levels_no_oversell") => {
                PortError::Refused(format!("{sku}: more units are held than {units}"))
            }
            _ => PortError::Unavailable(err.to_string()),
        })?;
    level_from(&row)
}

pub(crate) async fn level(pool: &PgPool, sku: &Sku) -> Result<Option<StockLevel>, PortError> {
    let row = sqlx::query(sql::STOCK_LEVEL)
        .bind(sku.as_str())
        .fetch_optional(pool)
        .await
        .map_err(|e| PortError::Unavailable(e.to_string()))?;
    row.as_ref().map(level_from).transpose()
}

fn level_from(row: &sqlx::postgres::PgRow) -> Result<StockLevel, PortError> {
    let read = |column: &str| -> Result<u32, PortError> {
        let value: i32 = row
            .try_get(column)
            .map_err(|e| PortError::Unavailable(e.to_string()))?;
        u32::try_from(value).map_err(|e| PortError::Unavailable(e.to_string()))
    };
    Ok(StockLevel {
        on_hand: read("on_hand")?,
        reserved: read("reserved")?,
    })
}

#[async_trait]
impl StockLevels for PgInventory {
    async fn set_on_hand(&self, sku: &Sku, units: u32) -> Result<StockLevel, PortError> {
        set_on_hand(&self.pool, sku, units).await
    }

    async fn level(&self, sku: &Sku) -> Result<Option<StockLevel>, PortError> {
        level(&self.pool, sku).await
    }
}
