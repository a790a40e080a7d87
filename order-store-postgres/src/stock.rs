//! Stock as SQL: the stock effect of a change, as the part of a statement
//! that applies it (`sql/stock/*.sql`) and its values; the effect ends both
//! [`crate::PgOrderStore`]'s write (in the order's own statement) and
//! [`crate::PgInventory`]'s (on its own). And what is short when a
//! reservation fails. Over-reserving is stopped by the
//! `stock_levels_no_oversell` CHECK, so no reservation can oversell however
//! many writers race.

use chrono::{DateTime, Utc};
use order_core::error::Shortage;
use order_core::ports::{StockEffect, StockItem};
use order_core::{OrderId, StoreError};
use sqlx::postgres::PgBindIterExt;
use sqlx::{PgPool, Row};

use crate::error::translate;
use crate::sql;
use crate::write::PgQuery;

/// A stock effect, as the statement part that applies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    /// `stock/reserve.sql`, or `stock/reserve_new.sql` in a placement.
    Reserve,
    /// `stock/commit.sql`.
    Commit,
    /// `stock/release.sql`.
    Release,
    /// `stock/restock.sql`.
    Restock,
}

impl Effect {
    fn of(effect: &StockEffect) -> Self {
        match effect {
            StockEffect::Reserve { .. } => Self::Reserve,
            StockEffect::Commit => Self::Commit,
            StockEffect::Release => Self::Release,
            StockEffect::Restock { .. } => Self::Restock,
        }
    }
}

/// One stock effect: which, and its values (`stock_sku` … `restock_key` in
/// the statement's `input`).
pub(crate) struct StockBinds<'a> {
    pub(crate) effect: Option<Effect>,
    items: &'a [StockItem],
    reserve_until: Option<DateTime<Utc>>,
    restock_key: Option<&'a str>,
}

impl<'a> StockBinds<'a> {
    /// The values of a change's effects.
    ///
    /// # Errors
    /// More than one effect: the statement applies one (two would change
    /// the same stock rows twice in one statement, which PostgreSQL does
    /// not allow), and the engine never asks for more.
    pub(crate) fn of(effects: &'a [StockEffect]) -> Result<Self, StoreError> {
        match effects {
            [] => Ok(Self::named(None, &[])),
            [effect] => Ok(Self::of_one(effect)),
            _ => Err(StoreError::Backend(
                "one change carries at most one stock effect".into(),
            )),
        }
    }

    fn of_one(effect: &'a StockEffect) -> Self {
        let mut binds = Self::named(Some(Effect::of(effect)), &[]);
        match effect {
            StockEffect::Reserve { items, expires_at } => {
                binds.items = items;
                binds.reserve_until = Some(*expires_at);
            }
            StockEffect::Restock { key, items } => {
                binds.items = items;
                binds.restock_key = Some(key);
            }
            StockEffect::Commit | StockEffect::Release => {}
        }
        binds
    }

    fn named(effect: Option<Effect>, items: &'a [StockItem]) -> Self {
        Self {
            effect,
            items,
            reserve_until: None,
            restock_key: None,
        }
    }

    /// The items a reservation asks for, to report shortages.
    fn reserved(&self) -> &'a [StockItem] {
        if self.effect == Some(Effect::Reserve) {
            self.items
        } else {
            &[]
        }
    }

    /// Binds the effect's four values, after whatever `query` holds.
    pub(crate) fn bind<'q>(&self, query: PgQuery<'q>) -> PgQuery<'q> {
        query
            .bind(self.items.iter().map(|i| i.sku.as_str()).bind_iter())
            .bind(
                self.items
                    .iter()
                    .map(|i| i32::try_from(i.quantity.get()).unwrap_or(i32::MAX))
                    .bind_iter(),
            )
            .bind(self.reserve_until)
            .bind(self.restock_key)
    }
}

/// Why a stock effect was refused.
#[derive(Debug)]
pub(crate) enum StockFailure {
    /// Not enough stock.
    Short(Vec<Shortage>),
    /// The database failed.
    Store(StoreError),
}

/// What a statement that failed on `stock_levels_no_oversell` was short of,
/// for `order` to hold what `effects` reserve; `None` for any other failure.
pub(crate) async fn shortfall(
    pool: &PgPool,
    order: OrderId,
    err: &sqlx::Error,
    effects: &StockBinds<'_>,
) -> Option<Result<Vec<Shortage>, StoreError>> {
    if !crate::error::is_oversell(err) {
        return None;
    }
    Some(shortages(pool, order, effects.reserved()).await)
}

/// What is short for `order` to hold `wanted`: per tracked SKU, the units
/// asked for beyond what the order already holds, against what is free.
async fn shortages(
    pool: &PgPool,
    order: OrderId,
    wanted: &[StockItem],
) -> Result<Vec<Shortage>, StoreError> {
    let rows = sqlx::query(sql::SHORTAGES)
        .bind(order.as_uuid())
        .bind(wanted.iter().map(|i| i.sku.as_str()).bind_iter())
        .fetch_all(pool)
        .await
        .map_err(translate)?;
    let mut short = Vec::new();
    for row in rows {
        let sku: &str = row.try_get("sku").map_err(translate)?;
        let available: i32 = row.try_get("available").map_err(translate)?;
        let Some(item) = wanted.iter().find(|i| i.sku.as_str() == sku) else {
            continue;
        };
        let available = u32::try_from(available.max(0)).unwrap_or(0);
        if item.quantity.get() > available {
            short.push(Shortage {
                sku: item.sku.clone(),
                requested: item.quantity.get(),
                available,
            });
        }
    }
    Ok(short)
}

/// Applies one stock effect for `order` on its own, as one statement.
pub(crate) async fn apply_alone(
    pool: &PgPool,
    order: OrderId,
    effect: &StockEffect,
) -> Result<(), StockFailure> {
    let binds = StockBinds::of_one(effect);
    let text = sql::stock_alone(Effect::of(effect));
    let query = binds.bind(sqlx::query(text).bind(order.as_uuid()));
    match query.execute(pool).await {
        Ok(_) => Ok(()),
        Err(err) => match shortfall(pool, order, &err, &binds).await {
            Some(Ok(short)) => Err(StockFailure::Short(short)),
            Some(Err(failed)) => Err(StockFailure::Store(failed)),
            None => Err(StockFailure::Store(translate(err))),
        },
    }
}
