//! Stock as SQL: the statements that reserve, commit, release and restock,
//! shared by [`crate::PgOrderStore`] (inside an order's write) and
//! [`crate::PgInventory`] (on their own). Over-reserving is stopped by the
//! `stock_levels_no_oversell` CHECK, so no reservation can oversell however
//! many writers race.

use order_core::error::Shortage;
use order_core::ports::{StockEffect, StockItem};
use order_core::{OrderId, StoreError};
use sqlx::{PgPool, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use crate::error::translate;
use crate::rows::items_json;

/// The stock effects of a change, as CTEs gated on `ord`. SKUs without a
/// `stock_levels` row are not tracked and are skipped.
pub(crate) fn push_stock_effects(
    q: &mut QueryBuilder<Postgres>,
    order: Uuid,
    effects: &[StockEffect],
) -> Result<(), StoreError> {
    let mut touched_levels = false;
    for (i, effect) in effects.iter().enumerate() {
        if touched_levels {
            // Two effects would update the same stock rows twice in one
            // statement, which PostgreSQL does not allow.
            return Err(StoreError::Backend(
                "one change carries at most one stock effect".into(),
            ));
        }
        touched_levels = true;
        match effect {
            StockEffect::Reserve { items, expires_at } => {
                q.push(format!(
                    ", want{i} as (select x.sku, x.quantity from jsonb_to_recordset("
                ));
                q.push_bind(items_json(items));
                q.push(format!(
                    ") as x(sku text, quantity int) join stock_levels s using (sku)),
                     have{i} as (select sku, quantity from stock_reservations where order_id = "
                ));
                q.push_bind(order);
                q.push(format!(
                    "), delta{i} as (select coalesce(w.sku, h.sku) as sku,
                                    coalesce(w.quantity, 0) - coalesce(h.quantity, 0) as d
                                 from want{i} w full join have{i} h using (sku)),
                     locked{i} as (select s.sku from stock_levels s join delta{i} d using (sku)
                                   where d.d <> 0 and exists (select 1 from ord) order by s.sku for update of s),
                     level{i} as (update stock_levels s set reserved = s.reserved + d.d, updated_at = now()
                                  from delta{i} d, locked{i} l where s.sku = d.sku and s.sku = l.sku),
                     drop{i} as (delete from stock_reservations r using ord
                                 where r.order_id = ord.id and r.sku not in (select sku from want{i})),
                     hold{i} as (insert into stock_reservations (order_id, sku, quantity, expires_at)
                                 select ord.id, w.sku, w.quantity, "
                ));
                q.push_bind(*expires_at);
                q.push(format!(
                    " from ord, want{i} w
                                 on conflict (order_id, sku) do update set quantity = excluded.quantity,
                                   expires_at = excluded.expires_at)"
                ));
            }
            StockEffect::Commit | StockEffect::Release => {
                let on_hand = if matches!(effect, StockEffect::Commit) {
                    "s.on_hand - r.quantity"
                } else {
                    "s.on_hand"
                };
                // Rows are locked in SKU order, as reservations lock them,
                // so concurrent writers never wait on each other in a cycle.
                q.push(format!(
                    ", locked{i} as (select s.sku from stock_levels s
                                     join stock_reservations r on r.sku = s.sku join ord on r.order_id = ord.id
                                     order by s.sku for update of s),
                     level{i} as (update stock_levels s set on_hand = {on_hand}, reserved = s.reserved - r.quantity,
                                   updated_at = now()
                                  from stock_reservations r, ord, locked{i} l
                                  where r.order_id = ord.id and s.sku = r.sku and s.sku = l.sku),
                     done{i} as (delete from stock_reservations r using ord where r.order_id = ord.id)"
                ));
            }
            StockEffect::Restock { key, items } => {
                q.push(format!(
                    ", key{i} as (insert into stock_restocks (order_id, key) select ord.id, "
                ));
                q.push_bind(key.clone());
                q.push(format!(
                    " from ord on conflict do nothing returning order_id),
                     back{i} as (select x.sku, x.quantity from jsonb_to_recordset("
                ));
                q.push_bind(items_json(items));
                q.push(format!(
                    ") as x(sku text, quantity int)),
                     relocked{i} as (select s.sku from stock_levels s join back{i} b using (sku)
                                     where exists (select 1 from key{i}) order by s.sku for update of s),
                     level{i} as (update stock_levels s set on_hand = s.on_hand + b.quantity, updated_at = now()
                                  from back{i} b, relocked{i} l where s.sku = b.sku and s.sku = l.sku)"
                ));
            }
        }
    }
    Ok(())
}

/// What is short for `order` to hold `wanted`: per tracked SKU, the units
/// asked for beyond what the order already holds, against what is free.
pub(crate) async fn shortages(
    pool: &PgPool,
    order: OrderId,
    wanted: &[StockItem],
) -> Result<Vec<Shortage>, StoreError> {
    let skus: Vec<String> = wanted.iter().map(|i| i.sku.as_str().to_owned()).collect();
    let rows = sqlx::query(
        "select s.sku, s.on_hand - s.reserved + coalesce(r.quantity, 0) as available
         from stock_levels s left join stock_reservations r on r.sku = s.sku and r.order_id = $1
         where s.sku = any($2)",
    )
    .bind(order.as_uuid())
    .bind(&skus)
    .fetch_all(pool)
    .await
    .map_err(translate)?;
    let mut short = Vec::new();
    for row in rows {
        let sku: String = row.try_get("sku").map_err(translate)?;
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

/// Runs stock effects for `order` on their own, as one statement.
pub(crate) async fn apply_alone(
    pool: &PgPool,
    order: OrderId,
    effect: &StockEffect,
) -> Result<(), StockFailure> {
    let mut q = QueryBuilder::<Postgres>::new("with ord as (select ");
    q.push_bind(order.as_uuid());
    q.push("::uuid as id)");
    push_stock_effects(&mut q, order.as_uuid(), std::slice::from_ref(effect))
        .map_err(StockFailure::Store)?;
    q.push(" select 1");
    match q.build().execute(pool).await {
        Ok(_) => Ok(()),
        Err(err) if crate::error::is_oversell(&err) => {
            let wanted = match effect {
                StockEffect::Reserve { items, .. } => items.as_slice(),
                _ => &[],
            };
            Err(StockFailure::Short(
                shortages(pool, order, wanted)
                    .await
                    .map_err(StockFailure::Store)?,
            ))
        }
        Err(err) => Err(StockFailure::Store(translate(err))),
    }
}

/// Why a stock statement failed.
#[derive(Debug)]
pub(crate) enum StockFailure {
    /// Not enough stock.
    Short(Vec<Shortage>),
    /// The database failed.
    Store(StoreError),
}
