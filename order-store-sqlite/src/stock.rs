//! Stock as SQL: the statements that reserve, commit, release and restock,
//! run inside a caller's write transaction — the order store's (with the
//! order's change) or the inventory's (on their own) — and the level reads
//! and writes of `StockLevels`.
//!
//! Every write transaction starts with `BEGIN IMMEDIATE`, so it holds the
//! database's one write lock from its first statement: what a reservation
//! reads cannot change before it writes, and checking availability in code
//! is as safe as a constraint. The `reserved <= on_hand` CHECK stays as the
//! last guard.

use std::collections::BTreeMap;

use order_core::error::Shortage;
use order_core::ports::{StockEffect, StockItem, StockLevel};
use order_core::{OrderId, PortError, Sku};
use sqlx::{SqliteConnection, SqlitePool};

use crate::document::time_text;
use crate::error::port;

/// Why stock effects were not applied.
#[derive(Debug)]
pub(crate) enum StockFailure {
    /// A reservation lacks stock; every short SKU is named.
    Short(Vec<Shortage>),
    /// The database failed.
    Database(sqlx::Error),
}

impl From<sqlx::Error> for StockFailure {
    fn from(err: sqlx::Error) -> Self {
        Self::Database(err)
    }
}

/// Applies `effects` for `order`, in order, on `conn`, which is inside a
/// write transaction. On failure the caller rolls the transaction back.
pub(crate) async fn apply(
    conn: &mut SqliteConnection,
    order: OrderId,
    effects: &[StockEffect],
) -> Result<(), StockFailure> {
    let order = order.to_string();
    for effect in effects {
        match effect {
            StockEffect::Reserve { items, expires_at } => {
                reserve(conn, &order, items, &time_text(*expires_at)).await?;
            }
            StockEffect::Commit => take_holds(conn, &order, true).await?,
            StockEffect::Release => take_holds(conn, &order, false).await?,
            StockEffect::Restock { key, items } => restock(conn, &order, key, items).await?,
        }
    }
    Ok(())
}

fn units(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// Sets the order's holds to exactly `items` (untracked SKUs skipped), or
/// names every short SKU and writes nothing.
async fn reserve(
    conn: &mut SqliteConnection,
    order: &str,
    items: &[StockItem],
    expires_at: &str,
) -> Result<(), StockFailure> {
    // One entry per SKU, in the order the items first name them.
    let mut wanted: Vec<(&Sku, u32)> = Vec::new();
    for item in items {
        match wanted.iter_mut().find(|(sku, _)| *sku == &item.sku) {
            Some((_, units)) => *units = units.saturating_add(item.quantity.get()),
            None => wanted.push((&item.sku, item.quantity.get())),
        }
    }
    let held: BTreeMap<String, i64> =
        sqlx::query_as("select sku, quantity from stock_holds where order_id = ?")
            .bind(order)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect();

    let mut short = Vec::new();
    let mut holds: Vec<(&Sku, i64)> = Vec::new();
    for (sku, requested) in wanted {
        let level: Option<(i64, i64)> =
            sqlx::query_as("select on_hand, reserved from stock where sku = ?")
                .bind(sku.as_str())
                .fetch_optional(&mut *conn)
                .await?;
        let Some((on_hand, reserved)) = level else {
            continue; // not tracked: never runs out
        };
        let mine = held.get(sku.as_str()).copied().unwrap_or(0);
        let available = on_hand - reserved + mine;
        if i64::from(requested) > available {
            short.push(Shortage {
                sku: sku.clone(),
                requested,
                available: units(available),
            });
        } else {
            holds.push((sku, i64::from(requested)));
        }
    }
    if !short.is_empty() {
        return Err(StockFailure::Short(short));
    }

    for (sku, quantity) in &held {
        if !holds.iter().any(|(s, _)| s.as_str() == sku) {
            sqlx::query("update stock set reserved = reserved - ? where sku = ?")
                .bind(quantity)
                .bind(sku)
                .execute(&mut *conn)
                .await?;
            sqlx::query("delete from stock_holds where order_id = ? and sku = ?")
                .bind(order)
                .bind(sku)
                .execute(&mut *conn)
                .await?;
        }
    }
    for (sku, quantity) in holds {
        let before = held.get(sku.as_str()).copied().unwrap_or(0);
        sqlx::query("update stock set reserved = reserved + ? where sku = ?")
            .bind(quantity - before)
            .bind(sku.as_str())
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "insert into stock_holds (order_id, sku, quantity, expires_at) values (?, ?, ?, ?)
             on conflict (order_id, sku) do update
             set quantity = excluded.quantity, expires_at = excluded.expires_at",
        )
        .bind(order)
        .bind(sku.as_str())
        .bind(quantity)
        .bind(expires_at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Ends the order's holds: sold units leave stock (`sold`), or go back to
/// being free. Nothing held is a no-op, so committing twice is too.
async fn take_holds(
    conn: &mut SqliteConnection,
    order: &str,
    sold: bool,
) -> Result<(), StockFailure> {
    let held: Vec<(String, i64)> =
        sqlx::query_as("select sku, quantity from stock_holds where order_id = ? order by sku")
            .bind(order)
            .fetch_all(&mut *conn)
            .await?;
    for (sku, quantity) in held {
        let leaving = if sold { quantity } else { 0 };
        sqlx::query(
            "update stock set on_hand = on_hand - ?, reserved = reserved - ? where sku = ?",
        )
        .bind(leaving)
        .bind(quantity)
        .bind(&sku)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query("delete from stock_holds where order_id = ?")
        .bind(order)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Puts units of tracked SKUs back on the shelf, once per (order, key).
async fn restock(
    conn: &mut SqliteConnection,
    order: &str,
    key: &str,
    items: &[StockItem],
) -> Result<(), StockFailure> {
    let first = sqlx::query(
        "insert into stock_restocks (order_id, key) values (?, ?) on conflict do nothing",
    )
    .bind(order)
    .bind(key)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if first {
        for item in items {
            sqlx::query("update stock set on_hand = on_hand + ? where sku = ?")
                .bind(i64::from(item.quantity.get()))
                .bind(item.sku.as_str())
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// Sets the units on hand of `sku`, tracking it if it was not; refuses
/// fewer units than are held and more than `StockLevel::MAX_ON_HAND`.
pub(crate) async fn set_on_hand(
    pool: &SqlitePool,
    sku: &Sku,
    units: u32,
) -> Result<StockLevel, PortError> {
    StockLevel::check_on_hand(units).map_err(|err| PortError::Refused(format!("{sku}: {err}")))?;
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(port)?;
    let reserved: Option<i64> = sqlx::query_scalar("select reserved from stock where sku = ?")
        .bind(sku.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(port)?;
    let reserved = reserved.unwrap_or(0);
    if i64::from(units) < reserved {
        return Err(PortError::Refused(format!(
            "{sku}: {reserved} units are held, cannot set {units} on hand"
        )));
    }
    sqlx::query(
        "insert into stock (sku, on_hand) values (?, ?)
         on conflict (sku) do update set on_hand = excluded.on_hand",
    )
    .bind(sku.as_str())
    .bind(i64::from(units))
    .execute(&mut *tx)
    .await
    .map_err(port)?;
    tx.commit().await.map_err(port)?;
    Ok(StockLevel {
        on_hand: units,
        reserved: self::units(reserved),
    })
}

/// The level of `sku`; `None` when it is not tracked.
pub(crate) async fn level(pool: &SqlitePool, sku: &Sku) -> Result<Option<StockLevel>, PortError> {
    let row: Option<(i64, i64)> =
        sqlx::query_as("select on_hand, reserved from stock where sku = ?")
            .bind(sku.as_str())
            .fetch_optional(pool)
            .await
            .map_err(port)?;
    Ok(row.map(|(on_hand, reserved)| StockLevel {
        on_hand: units(on_hand),
        reserved: units(reserved),
    }))
}
