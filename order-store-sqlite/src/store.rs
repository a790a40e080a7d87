//! [`SqliteOrderStore`]: the `OrderStore` port on SQLite.
//!
//! A read is one statement on one table. A write ([`OrderStore::commit`])
//! is one transaction begun with `BEGIN IMMEDIATE`, which takes SQLite's
//! single write lock up front, so concurrent writers wait their turn (up to
//! the busy timeout) instead of failing to upgrade a read lock. Inside it,
//! in this order, each a plain statement:
//! 1. the order row: inserted (a new order) or updated where the version is
//!    the one the change was decided against (compare-and-set);
//! 2. the processed inbound event;
//! 3. the completion of the idempotency key;
//! 4. the stock effects;
//! 5. the events, appended to the outbox.
//!
//! Any refusal returns before the commit, and the dropped transaction rolls
//! back: all of it or none of it. Because the write lock is held
//! throughout, outbox positions are given in commit order.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use order_core::order::{Compensation, Resolution};
use order_core::ports::{
    Change, FigureGroup, IdempotencyClaim, IdempotencyKey, OrderFigures, OrderPage, OrderQuery,
    OrderStore, SortOrder, StockLevel, StockLevels,
};
use order_core::{
    Actor, CompensationId, Currency, EventRecord, Money, Order, OrderId, OrderNumber, PortError,
    Reason, Sku, StoreError, StoredEvent,
};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqlitePool};

use crate::document::{
    event_from_json, event_to_json, order_from_json, order_to_json, time_from_text, time_text,
};
use crate::error::{corrupt, is_unique_violation, translate};
use crate::stock::{self, StockFailure};

/// The order store on SQLite. It keeps the stock as well: a change's stock
/// effects are applied in the change's transaction, and [`StockLevels`]
/// administers the levels.
#[derive(Debug, Clone)]
pub struct SqliteOrderStore {
    pool: SqlitePool,
}

impl SqliteOrderStore {
    /// A store over `pool`, opened by [`crate::connect`], which applies the
    /// migrations and the settings the store relies on (foreign keys, the
    /// busy timeout, WAL).
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }

    /// The pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

fn i64_of(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn limit_of(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn u64_of(n: i64) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(corrupt)
}

/// Refuses a change whose events do not continue the order's stream.
fn check_sequences(change: &Change<'_>) -> Result<(), StoreError> {
    let order = change.order;
    let expected = (change.expected_version + 1)..=order.version();
    let well_formed = change.events.len() as u64
        == order.version().saturating_sub(change.expected_version)
        && change
            .events
            .iter()
            .zip(expected)
            .all(|(e, s)| e.sequence == s && e.order_id == order.id());
    if well_formed {
        Ok(())
    } else {
        Err(StoreError::Backend(
            "events must carry the sequences expected_version+1 ..= order.version()".into(),
        ))
    }
}

/// Step 1 of a write: the order row, inserted or compared-and-set.
async fn write_order(
    conn: &mut SqliteConnection,
    change: &Change<'_>,
    document: &str,
) -> Result<(), StoreError> {
    let order = change.order;
    let id = order.id();
    if change.expected_version == 0 {
        let inserted = sqlx::query(
            "insert into orders (id, number, customer_id, status, created_at, version, document)
             values (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(order.number().as_str())
        .bind(order.customer_id().to_string())
        .bind(order.status().as_str())
        .bind(time_text(order.created_at()))
        .bind(i64_of(order.version()))
        .bind(document)
        .execute(&mut *conn)
        .await;
        // The table's only unique keys are the id and the number.
        return match inserted {
            Ok(_) => Ok(()),
            Err(err) if is_unique_violation(&err) => Err(StoreError::AlreadyExists { id }),
            Err(err) => Err(translate(err)),
        };
    }
    let updated = sqlx::query(
        "update orders set number = ?, customer_id = ?, status = ?, created_at = ?, version = ?,
           document = ?
         where id = ? and version = ?",
    )
    .bind(order.number().as_str())
    .bind(order.customer_id().to_string())
    .bind(order.status().as_str())
    .bind(time_text(order.created_at()))
    .bind(i64_of(order.version()))
    .bind(document)
    .bind(id.to_string())
    .bind(i64_of(change.expected_version))
    .execute(&mut *conn)
    .await
    .map_err(translate)?;
    if updated.rows_affected() == 1 {
        return Ok(());
    }
    let actual: Option<i64> = sqlx::query_scalar("select version from orders where id = ?")
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await
        .map_err(translate)?;
    Err(StoreError::VersionConflict {
        id,
        expected: change.expected_version,
        actual: actual.map(u64_of).transpose()?.unwrap_or(0),
    })
}

/// Step 2 of a write: the inbound event, recorded once.
async fn record_inbound_event(
    conn: &mut SqliteConnection,
    change: &Change<'_>,
) -> Result<(), StoreError> {
    let Some(event_id) = change.inbound_event else {
        return Ok(());
    };
    let recorded = sqlx::query(
        "insert into inbound_events (event_id, order_id, processed_at) values (?, ?, ?)",
    )
    .bind(event_id)
    .bind(change.order.id().to_string())
    .bind(time_text(change.order.updated_at()))
    .execute(&mut *conn)
    .await;
    match recorded {
        Ok(_) => Ok(()),
        // The event id is the table's only unique key.
        Err(err) if is_unique_violation(&err) => Err(StoreError::DuplicateInboundEvent {
            event_id: event_id.to_owned(),
        }),
        Err(err) => Err(translate(err)),
    }
}

/// Step 3 of a write: the idempotency key, completed with the order.
async fn complete_idempotency_key(
    conn: &mut SqliteConnection,
    change: &Change<'_>,
) -> Result<(), StoreError> {
    let Some(key) = change.idempotency_key else {
        return Ok(());
    };
    // The key must still be ours: claimed and not completed (by a request
    // that took it over after our lease ran out).
    let completed =
        sqlx::query("update idempotency_keys set order_id = ? where key = ? and order_id is null")
            .bind(change.order.id().to_string())
            .bind(key.as_str())
            .execute(&mut *conn)
            .await
            .map_err(translate)?;
    if completed.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::Backend(
            "the idempotency key is not claimed by this request".into(),
        ))
    }
}

/// Step 4 of a write: the stock effects.
async fn apply_stock(conn: &mut SqliteConnection, change: &Change<'_>) -> Result<(), StoreError> {
    stock::apply(conn, change.order.id(), change.stock)
        .await
        .map_err(|failure| match failure {
            StockFailure::Short(short) => StoreError::OutOfStock(short),
            StockFailure::Database(err) => translate(err),
        })
}

/// Step 5 of a write: the events, appended to the outbox; `json` holds
/// each event's record, serialized.
async fn append_events(
    conn: &mut SqliteConnection,
    change: &Change<'_>,
    json: &[String],
) -> Result<(), StoreError> {
    let order_id = change.order.id();
    for (record, json) in change.events.iter().zip(json) {
        let appended = sqlx::query(
            "insert into outbox (event_id, order_id, sequence, event_type, occurred_at, record)
             values (?, ?, ?, ?, ?, ?)",
        )
        .bind(record.id.to_string())
        .bind(order_id.to_string())
        .bind(i64_of(record.sequence))
        .bind(record.event_type())
        .bind(time_text(record.occurred_at))
        .bind(json)
        .execute(&mut *conn)
        .await;
        match appended {
            Ok(_) => {}
            // Another writer stored this sequence: unreachable while the
            // order row is compared-and-set under the write lock, and kept
            // so that it could never pass silently.
            Err(err) if is_unique_violation(&err) => {
                return Err(StoreError::VersionConflict {
                    id: order_id,
                    expected: change.expected_version,
                    actual: change.expected_version + 1,
                });
            }
            Err(err) => return Err(translate(err)),
        }
    }
    Ok(())
}

fn stored_events(rows: Vec<(i64, String)>) -> Result<Vec<StoredEvent>, StoreError> {
    rows.into_iter()
        .map(|(position, record)| {
            Ok(StoredEvent {
                position: u64_of(position)?,
                record: event_from_json(&record)?,
            })
        })
        .collect()
}

/// The listing statement: fixed fragments, one per filter the query sets,
/// and typed binds.
fn list_statement(query: &OrderQuery) -> QueryBuilder<Sqlite> {
    let mut q = QueryBuilder::new("select document from orders where 1 = 1");
    if let Some(customer) = query.customer_id {
        q.push(" and customer_id = ")
            .push_bind(customer.to_string());
    }
    if let Some(status) = query.status {
        q.push(" and status = ").push_bind(status.as_str());
    }
    if let Some(payment) = query.payment_status {
        q.push(" and payment_status = ").push_bind(payment.as_str());
    }
    if let Some(from) = query.created_from {
        q.push(" and created_at >= ").push_bind(time_text(from));
    }
    if let Some(to) = query.created_to {
        q.push(" and created_at < ").push_bind(time_text(to));
    }
    let (after, direction) = match query.sort {
        SortOrder::OldestFirst => (" and (created_at, id) > (", " order by created_at, id"),
        SortOrder::NewestFirst => (
            " and (created_at, id) < (",
            " order by created_at desc, id desc",
        ),
    };
    if let Some(cursor) = query.after {
        q.push(after)
            .push_bind(time_text(cursor.created_at))
            .push(", ")
            .push_bind(cursor.id.to_string())
            .push(")");
    }
    q.push(direction)
        .push(" limit ")
        .push_bind(limit_of(query.limit));
    q
}

/// SQLite sums nothing itself: amounts are decimal text in the document,
/// which its arithmetic would round through floating point. It reads the
/// period's orders (by `orders_created`) and folds them with the core's
/// definition.
#[async_trait]
impl OrderFigures for SqliteOrderStore {
    async fn figures(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<FigureGroup>, StoreError> {
        let documents: Vec<String> = sqlx::query_scalar(
            "select document from orders where created_at >= ? and created_at < ?",
        )
        .bind(time_text(from))
        .bind(time_text(to))
        .fetch_all(&self.pool)
        .await
        .map_err(translate)?;
        let orders = documents
            .iter()
            .map(|d| order_from_json(d))
            .collect::<Result<Vec<_>, _>>()?;
        FigureGroup::fold(&orders).map_err(|e| StoreError::Backend(e.into()))
    }
}

#[async_trait]
impl OrderStore for SqliteOrderStore {
    async fn get(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        let document: Option<String> =
            sqlx::query_scalar("select document from orders where id = ?")
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await
                .map_err(translate)?;
        document.as_deref().map(order_from_json).transpose()
    }

    async fn get_by_number(&self, number: &OrderNumber) -> Result<Option<Order>, StoreError> {
        let document: Option<String> =
            sqlx::query_scalar("select document from orders where number = ?")
                .bind(number.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(translate)?;
        document.as_deref().map(order_from_json).transpose()
    }

    async fn commit(&self, change: Change<'_>) -> Result<(), StoreError> {
        check_sequences(&change)?;
        // Serialize before taking the write lock, to hold it briefly.
        let document = order_to_json(change.order)?;
        let events = change
            .events
            .iter()
            .map(event_to_json)
            .collect::<Result<Vec<_>, _>>()?;
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(translate)?;
        // Each step returns early on a refusal; the dropped transaction
        // then rolls back everything before it.
        write_order(&mut tx, &change, &document).await?;
        record_inbound_event(&mut tx, &change).await?;
        complete_idempotency_key(&mut tx, &change).await?;
        apply_stock(&mut tx, &change).await?;
        append_events(&mut tx, &change, &events).await?;
        tx.commit().await.map_err(translate)
    }

    async fn list(&self, query: &OrderQuery) -> Result<OrderPage, StoreError> {
        let documents: Vec<String> = list_statement(query)
            .build_query_scalar()
            .fetch_all(&self.pool)
            .await
            .map_err(translate)?;
        let orders = documents
            .iter()
            .map(|d| order_from_json(d))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(OrderPage::of(orders, query))
    }

    async fn events(&self, id: OrderId) -> Result<Vec<EventRecord>, StoreError> {
        let records: Vec<String> =
            sqlx::query_scalar("select record from outbox where order_id = ? order by sequence")
                .bind(id.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err(translate)?;
        records.iter().map(|r| event_from_json(r)).collect()
    }

    async fn feed(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "select position, record from outbox where position > ? order by position limit ?",
        )
        .bind(i64_of(after))
        .bind(limit_of(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(translate)?;
        stored_events(rows)
    }

    async fn unpublished(&self, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "select position, record from outbox where published = 0 order by position limit ?",
        )
        .bind(limit_of(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(translate)?;
        stored_events(rows)
    }

    async fn mark_published(&self, positions: &[u64]) -> Result<(), StoreError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(translate)?;
        for position in positions {
            sqlx::query("update outbox set published = 1 where position = ?")
                .bind(i64_of(*position))
                .execute(&mut *tx)
                .await
                .map_err(translate)?;
        }
        tx.commit().await.map_err(translate)
    }

    async fn claim_idempotency_key(
        &self,
        key: &IdempotencyKey,
        fingerprint: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<IdempotencyClaim, StoreError> {
        let lease = chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        // Read and decide under the write lock, so of concurrent claims of
        // one new key exactly one inserts it.
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(translate)?;
        let held: Option<(String, String, Option<String>)> = sqlx::query_as(
            "select fingerprint, claimed_at, order_id from idempotency_keys where key = ?",
        )
        .bind(key.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(translate)?;
        let claim = match held {
            None => {
                sqlx::query(
                    "insert into idempotency_keys (key, fingerprint, claimed_at) values (?, ?, ?)",
                )
                .bind(key.as_str())
                .bind(fingerprint)
                .bind(time_text(now))
                .execute(&mut *tx)
                .await
                .map_err(translate)?;
                IdempotencyClaim::Claimed
            }
            Some((held_by, _, _)) if held_by != fingerprint => IdempotencyClaim::Mismatch,
            Some((_, _, Some(order_id))) => IdempotencyClaim::Completed {
                order_id: order_id.parse().map_err(corrupt)?,
            },
            Some((_, claimed_at, None)) => {
                // The holder's lease ran out without completing: it died.
                if now - time_from_text(&claimed_at)? >= lease {
                    sqlx::query("update idempotency_keys set claimed_at = ? where key = ?")
                        .bind(time_text(now))
                        .bind(key.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(translate)?;
                    IdempotencyClaim::Claimed
                } else {
                    IdempotencyClaim::InFlight
                }
            }
        };
        tx.commit().await.map_err(translate)?;
        Ok(claim)
    }

    async fn release_idempotency_key(&self, key: &IdempotencyKey) -> Result<(), StoreError> {
        sqlx::query("delete from idempotency_keys where key = ? and order_id is null")
            .bind(key.as_str())
            .execute(&self.pool)
            .await
            .map_err(translate)?;
        Ok(())
    }

    async fn inbound_event_processed(&self, event_id: &str) -> Result<bool, StoreError> {
        let found: Option<i64> =
            sqlx::query_scalar("select 1 from inbound_events where event_id = ?")
                .bind(event_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(translate)?;
        Ok(found.is_some())
    }

    async fn record_compensation(&self, c: &Compensation) -> Result<(), StoreError> {
        sqlx::query(
            "insert into compensations (compensation_id, order_id, step, amount, currency, detail, at)
             values (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(c.id.to_string())
        .bind(c.order_id.to_string())
        .bind(&c.step)
        .bind(c.amount.map(|m| m.amount().to_string()))
        .bind(c.amount.map(|m| m.currency().code().to_owned()))
        .bind(&c.detail)
        .bind(time_text(c.at))
        .execute(&self.pool)
        .await
        .map_err(translate)?;
        Ok(())
    }

    async fn compensations(&self) -> Result<Vec<Compensation>, StoreError> {
        let rows: Vec<CompensationRow> = sqlx::query_as(COMPENSATION_COLUMNS_ORDERED)
            .fetch_all(&self.pool)
            .await
            .map_err(translate)?;
        rows.into_iter().map(compensation_from_row).collect()
    }

    async fn resolve_compensation(
        &self,
        id: CompensationId,
        resolution: &Resolution,
    ) -> Result<Option<Compensation>, StoreError> {
        // One statement: the first resolution stays, whoever comes second.
        let row: Option<CompensationRow> = sqlx::query_as(
            "update compensations
                set resolution_note = case when resolved_by is null then ? else resolution_note end,
                    resolved_at = coalesce(resolved_at, ?),
                    resolved_by = coalesce(resolved_by, ?)
              where compensation_id = ?
             returning compensation_id, order_id, step, amount, currency, detail, at,
                       resolved_by, resolved_at, resolution_note",
        )
        .bind(resolution.note.as_ref().map(|n| n.as_str().to_owned()))
        .bind(time_text(resolution.at))
        .bind(resolution.by.as_str())
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(translate)?;
        row.map(compensation_from_row).transpose()
    }
}

/// The compensation log, oldest first.
const COMPENSATION_COLUMNS_ORDERED: &str =
    "select compensation_id, order_id, step, amount, currency, detail, at,
            resolved_by, resolved_at, resolution_note
       from compensations order by id";

/// compensation_id, order_id, step, amount, currency, detail, at,
/// resolved_by, resolved_at, resolution_note.
type CompensationRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn compensation_from_row(row: CompensationRow) -> Result<Compensation, StoreError> {
    let (id, order_id, step, amount, currency, detail, at, by, resolved_at, note) = row;
    let amount = match (amount, currency) {
        (Some(amount), Some(currency)) => Some(
            Money::parse(&amount, Currency::parse(&currency).map_err(corrupt)?).map_err(corrupt)?,
        ),
        _ => None,
    };
    let resolution = match (by, resolved_at) {
        (Some(by), Some(at)) => Some(Resolution {
            by: Actor::parse(&by).map_err(corrupt)?,
            at: time_from_text(&at)?,
            note: note
                .as_deref()
                .map(Reason::parse)
                .transpose()
                .map_err(corrupt)?,
        }),
        _ => None,
    };
    Ok(Compensation {
        id: id.parse().map_err(corrupt)?,
        order_id: order_id.parse().map_err(corrupt)?,
        step,
        amount,
        detail,
        at: time_from_text(&at)?,
        resolution,
    })
}

#[async_trait]
impl StockLevels for SqliteOrderStore {
    async fn set_on_hand(&self, sku: &Sku, units: u32) -> Result<StockLevel, PortError> {
        stock::set_on_hand(&self.pool, sku, units).await
    }

    async fn level(&self, sku: &Sku) -> Result<Option<StockLevel>, PortError> {
        stock::level(&self.pool, sku).await
    }
}
