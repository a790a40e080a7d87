//! [`PgOrderStore`]: the `OrderStore` port on PostgreSQL.
//!
//! Every method sends statements of a fixed text (`sql.rs`) with typed
//! values. A read of an order is one statement: the order row and one array
//! per child column (`read.rs`). A write is one statement too, joined from
//! the parts its change needs (`sql::write_order`, values from `write.rs`):
//! it compare-and-sets the order row (or inserts a new one) and, only if
//! that succeeded, writes lines, shipments, returns, history, payment
//! entries, outbox events, the idempotency completion, the processed inbound
//! event and the stock effect. One statement is one transaction: all of it
//! or none of it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use order_core::order::{Compensation, Resolution};
use order_core::ports::{
    Change, FigureGroup, IdempotencyClaim, IdempotencyKey, OrderFigures, OrderPage, OrderQuery,
    OrderStore, SortOrder, StockLevel, StockLevels,
};
use order_core::{
    Actor, CompensationId, Currency, EventRecord, Money, Order, OrderId, OrderNumber, OrderStatus,
    PortError, Reason, Sku, StoreError, StoredEvent,
};
use rust_decimal::Decimal;
use sqlx::postgres::types::PgInterval;
use sqlx::postgres::{PgBindIterExt, PgRow};
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::error::{translate, translate_write};
use crate::lane::Lane;
use crate::outbox::{Cursors, stored_events};
use crate::read::{corrupt, currency, event_from_row, order_from_row};
use crate::sql;
use crate::stock::{StockBinds, shortfall};
use crate::write::{PgQuery, bind_change, i64_of, write_text};

/// The order store on PostgreSQL.
///
/// Its statements run on connections it keeps out of the pool between
/// statements (`lane.rs`), up to the pool's size less two.
#[derive(Debug, Clone)]
pub struct PgOrderStore {
    pool: PgPool,
    lane: Arc<Lane>,
    outbox: Arc<Cursors>,
}

impl PgOrderStore {
    /// A store over `pool`, whose database has [`crate::MIGRATOR`] applied.
    pub fn new(pool: PgPool) -> Self {
        Self {
            lane: Arc::new(Lane::new(pool.clone())),
            outbox: Arc::default(),
            pool,
        }
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn current_version(&self, id: OrderId) -> Result<u64, StoreError> {
        let version: Option<i64> = self
            .lane
            .run(async move |connection| {
                sqlx::query_scalar(sql::ORDER_VERSION)
                    .bind(id.as_uuid())
                    .fetch_optional(connection)
                    .await
            })
            .await
            .map_err(translate)?;
        Ok(version.and_then(|v| u64::try_from(v).ok()).unwrap_or(0))
    }

    /// Why a write that wrote nothing wrote nothing.
    async fn refusal(&self, change: &Change<'_>) -> StoreError {
        let id = change.order.id();
        let actual = match self.current_version(id).await {
            Ok(actual) => actual,
            Err(err) => return err,
        };
        if change.expected_version > 0 {
            return StoreError::VersionConflict {
                id,
                expected: change.expected_version,
                actual,
            };
        }
        if actual > 0 {
            StoreError::AlreadyExists { id }
        } else {
            StoreError::Backend("the idempotency key is not claimed by this request".into())
        }
    }
}

/// The statement that answers `query`: one per index a listing walks and
/// direction, each taking the filters it does not walk as optional values.
pub(crate) fn list_statement(query: &OrderQuery) -> PgQuery<'static> {
    let newest = query.sort == SortOrder::NewestFirst;
    let text = match (
        query.customer_id,
        query.status,
        query.payment_status,
        newest,
    ) {
        (Some(_), _, _, true) => sql::list::BY_CUSTOMER_NEWEST,
        (Some(_), _, _, false) => sql::list::BY_CUSTOMER_OLDEST,
        (None, Some(_), _, true) => sql::list::BY_STATUS_NEWEST,
        (None, Some(_), _, false) => sql::list::BY_STATUS_OLDEST,
        (None, None, Some(_), true) => sql::list::BY_PAYMENT_STATUS_NEWEST,
        (None, None, Some(_), false) => sql::list::BY_PAYMENT_STATUS_OLDEST,
        (None, None, None, true) => sql::list::ALL_NEWEST,
        (None, None, None, false) => sql::list::ALL_OLDEST,
    };
    bind_list(sqlx::query(text), query)
}

/// Binds a listing's values to `statement`, one of the `sql/list/*.sql`.
pub(crate) fn bind_list<'q>(statement: PgQuery<'q>, query: &OrderQuery) -> PgQuery<'q> {
    let payment = query.payment_status.map(|p| p.as_str());
    let statement = match (query.customer_id, query.status, payment) {
        (Some(customer), status, payment) => statement
            .bind(customer.as_uuid())
            .bind(status.map(|s| s.as_str()))
            .bind(payment),
        (None, Some(status), payment) => statement.bind(status.as_str()).bind(payment),
        (None, None, Some(payment)) => statement.bind(payment),
        (None, None, None) => statement,
    };
    statement
        .bind(query.created_from)
        .bind(query.created_to)
        .bind(query.after.map(|c| c.created_at))
        .bind(query.after.map(|c| c.id.as_uuid()))
        .bind(i64::try_from(query.limit).unwrap_or(i64::MAX))
}

/// Binds the period to `sql/figures.sql`.
pub(crate) fn bind_figures<'q>(
    statement: PgQuery<'q>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> PgQuery<'q> {
    statement.bind(from).bind(to)
}

/// Adds one row of `sql/figures.sql` (the paid or the unpaid orders of a
/// status and currency) to its group.
fn add_figures_row(
    groups: &mut BTreeMap<(OrderStatus, Currency), FigureGroup>,
    row: &PgRow,
) -> Result<(), StoreError> {
    let currency = currency(row, "currency")?;
    let status: OrderStatus = row
        .try_get::<&str, _>("status")
        .map_err(translate)?
        .parse()
        .map_err(|e| corrupt(format!("status: {e}")))?;
    let paid: bool = row.try_get("paid").map_err(translate)?;
    // Counts, and Σ of an integer column, are bigint.
    let count = |column: &str| -> Result<u64, StoreError> {
        let n: i64 = row.try_get(column).map_err(translate)?;
        u64::try_from(n).map_err(|e| corrupt(format!("{column}: {e}")))
    };
    let money = |column: &str| -> Result<Money, StoreError> {
        let amount: Decimal = row.try_get(column).map_err(translate)?;
        Money::new(amount, currency).map_err(|e| corrupt(format!("{column}: {e}")))
    };
    let sum = |a: Money, b: Money| a.checked_add(&b).map_err(|e| corrupt(format!("sum: {e}")));
    let time: Option<PgInterval> = row.try_get("fulfilment_time").map_err(translate)?;
    let time = match time {
        None => chrono::Duration::zero(),
        Some(t) if t.months == 0 => {
            chrono::Duration::days(i64::from(t.days))
                + chrono::Duration::microseconds(t.microseconds)
        }
        Some(t) => return Err(corrupt(format!("fulfilment_time of {} months", t.months))),
    };
    let group = groups
        .entry((status, currency))
        .or_insert_with(|| FigureGroup::empty(status, currency));
    let orders = count("orders")?;
    group.orders += orders;
    group.captured = sum(group.captured, money("captured")?)?;
    if paid {
        group.paid_orders += orders;
        group.paid_total = sum(group.paid_total, money("total")?)?;
        group.refunded = sum(group.refunded, money("refunded")?)?;
    }
    group.payment_attempts += count("payment_attempts")?;
    group.failed_payment_attempts += count("failed_payment_attempts")?;
    group.fulfilled += count("fulfilled")?;
    group.fulfilment_time += time;
    Ok(())
}

#[async_trait]
impl OrderFigures for PgOrderStore {
    async fn figures(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<FigureGroup>, StoreError> {
        let rows = self
            .lane
            .run(async move |connection| {
                bind_figures(sqlx::query(sql::FIGURES), from, to)
                    .fetch_all(connection)
                    .await
            })
            .await
            .map_err(translate)?;
        let mut groups = BTreeMap::new();
        for row in &rows {
            add_figures_row(&mut groups, row)?;
        }
        Ok(groups.into_values().collect())
    }
}

#[async_trait]
impl OrderStore for PgOrderStore {
    async fn get(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        let row = self
            .lane
            .run(async move |connection| {
                sqlx::query(sql::ORDER_BY_ID)
                    .bind(id.as_uuid())
                    .fetch_optional(connection)
                    .await
            })
            .await
            .map_err(translate)?;
        row.as_ref().map(order_from_row).transpose()
    }

    async fn get_by_number(&self, number: &OrderNumber) -> Result<Option<Order>, StoreError> {
        let row = self
            .lane
            .run(async move |connection| {
                sqlx::query(sql::ORDER_BY_NUMBER)
                    .bind(number.as_str())
                    .fetch_optional(connection)
                    .await
            })
            .await
            .map_err(translate)?;
        row.as_ref().map(order_from_row).transpose()
    }

    async fn commit(&self, change: Change<'_>) -> Result<(), StoreError> {
        let order = change.order;
        let expected = (change.expected_version + 1)..=order.version();
        let well_formed = change.events.len() as u64
            == order.version().saturating_sub(change.expected_version)
            && change
                .events
                .iter()
                .zip(expected)
                .all(|(e, s)| e.sequence == s && e.order_id == order.id());
        if !well_formed {
            return Err(StoreError::Backend(
                "events must carry the sequences expected_version+1 ..= order.version()".into(),
            ));
        }
        let stock = StockBinds::of(change.stock)?;
        let statement = bind_change(sqlx::query(write_text(&change, &stock)), &change, &stock);
        let written: i64 = match self
            .lane
            .run(async move |connection| statement.fetch_one(connection).await)
            .await
        {
            Ok(row) => row.try_get("written").map_err(translate)?,
            Err(err) => {
                return Err(
                    match shortfall(&self.pool, order.id(), &err, &stock).await {
                        Some(Ok(short)) => StoreError::OutOfStock(short),
                        Some(Err(failed)) => failed,
                        None => translate_write(err, &change),
                    },
                );
            }
        };
        if written == 1 {
            Ok(())
        } else {
            Err(self.refusal(&change).await)
        }
    }

    async fn list(&self, query: &OrderQuery) -> Result<OrderPage, StoreError> {
        let rows = self
            .lane
            .run(async move |connection| list_statement(query).fetch_all(connection).await)
            .await
            .map_err(translate)?;
        let orders = rows
            .iter()
            .map(order_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(OrderPage::of(orders, query))
    }

    async fn events(&self, id: OrderId) -> Result<Vec<EventRecord>, StoreError> {
        let rows = self
            .lane
            .run(async move |connection| {
                sqlx::query(sql::EVENTS_OF_ORDER)
                    .bind(id.as_uuid())
                    .fetch_all(connection)
                    .await
            })
            .await
            .map_err(translate)?;
        rows.iter().map(event_from_row).collect()
    }

    async fn feed(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.outbox.sequence(&self.lane).await?;
        let rows = self
            .lane
            .run(async move |connection| {
                sqlx::query(sql::FEED_AFTER)
                    .bind(i64_of(after))
                    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                    .fetch_all(connection)
                    .await
            })
            .await
            .map_err(translate)?;
        stored_events(&rows)
    }

    async fn unpublished(&self, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.outbox.sequence(&self.lane).await?;
        let after = self.outbox.unpublished_after();
        let rows = self
            .lane
            .run(async move |connection| {
                sqlx::query(sql::UNPUBLISHED_EVENTS)
                    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                    .bind(after)
                    .fetch_all(connection)
                    .await
            })
            .await
            .map_err(translate)?;
        let events = stored_events(&rows)?;
        self.outbox
            .answered(events.first().map(|event| event.position));
        Ok(events)
    }

    async fn mark_published(&self, positions: &[u64]) -> Result<(), StoreError> {
        self.lane
            .run(async move |connection| {
                sqlx::query(sql::MARK_PUBLISHED)
                    .bind(positions.iter().copied().map(i64_of).bind_iter())
                    .execute(connection)
                    .await
            })
            .await
            .map_err(translate)?;
        Ok(())
    }

    async fn claim_idempotency_key(
        &self,
        key: &IdempotencyKey,
        fingerprint: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<IdempotencyClaim, StoreError> {
        let lease = chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        let row = self
            .lane
            .run(async move |connection| {
                sqlx::query(sql::CLAIM_KEY)
                    .bind(key.as_str())
                    .bind(fingerprint)
                    .bind(now)
                    .bind(now - lease)
                    .fetch_one(connection)
                    .await
            })
            .await
            .map_err(translate)?;
        let claimed: i64 = row.try_get("claimed").map_err(translate)?;
        if claimed == 1 {
            return Ok(IdempotencyClaim::Claimed);
        }
        let stored_fingerprint: Option<&str> = row.try_get("fingerprint").map_err(translate)?;
        let order_id: Option<Uuid> = row.try_get("order_id").map_err(translate)?;
        Ok(match (stored_fingerprint, order_id) {
            (Some(f), _) if f != fingerprint => IdempotencyClaim::Mismatch,
            (_, Some(order_id)) => IdempotencyClaim::Completed {
                order_id: OrderId::new(order_id).map_err(|e| StoreError::Backend(e.into()))?,
            },
            _ => IdempotencyClaim::InFlight,
        })
    }

    async fn release_idempotency_key(&self, key: &IdempotencyKey) -> Result<(), StoreError> {
        self.lane
            .run(async move |connection| {
                sqlx::query(sql::RELEASE_KEY)
                    .bind(key.as_str())
                    .execute(connection)
                    .await
            })
            .await
            .map_err(translate)?;
        Ok(())
    }

    async fn inbound_event_processed(&self, event_id: &str) -> Result<bool, StoreError> {
        self.lane
            .run(async move |connection| {
                sqlx::query_scalar(sql::INBOUND_EVENT_PROCESSED)
                    .bind(event_id)
                    .fetch_one(connection)
                    .await
            })
            .await
            .map_err(translate)
    }

    async fn record_compensation(&self, c: &Compensation) -> Result<(), StoreError> {
        self.lane
            .run(async move |connection| {
                sqlx::query(sql::RECORD_COMPENSATION)
                    .bind(c.id.as_uuid())
                    .bind(c.order_id.as_uuid())
                    .bind(&c.step)
                    .bind(c.amount.map(|m| m.amount()))
                    .bind(c.amount.map(|m| m.currency().code().to_owned()))
                    .bind(&c.detail)
                    .bind(c.at)
                    .execute(connection)
                    .await
            })
            .await
            .map_err(translate)?;
        Ok(())
    }

    async fn compensations(&self) -> Result<Vec<Compensation>, StoreError> {
        let rows = self
            .lane
            .run(async move |connection| {
                sqlx::query(sql::COMPENSATIONS).fetch_all(connection).await
            })
            .await
            .map_err(translate)?;
        rows.iter().map(compensation_from_row).collect()
    }

    async fn resolve_compensation(
        &self,
        id: CompensationId,
        resolution: &Resolution,
    ) -> Result<Option<Compensation>, StoreError> {
        let row = self
            .lane
            .run(async move |connection| {
                sqlx::query(sql::RESOLVE_COMPENSATION)
                    .bind(id.as_uuid())
                    .bind(resolution.by.as_str())
                    .bind(resolution.at)
                    .bind(resolution.note.as_ref().map(|n| n.as_str().to_owned()))
                    .fetch_optional(connection)
                    .await
            })
            .await
            .map_err(translate)?;
        row.as_ref().map(compensation_from_row).transpose()
    }
}

/// A compensation log row.
fn compensation_from_row(row: &sqlx::postgres::PgRow) -> Result<Compensation, StoreError> {
    let corrupt = |e: order_core::ValidationError| StoreError::Backend(e.into());
    let amount: Option<Decimal> = row.try_get("amount").map_err(translate)?;
    let amount = match amount {
        Some(amount) => Some(
            Money::new(amount, currency(row, "currency")?)
                .map_err(|e| StoreError::Backend(e.into()))?,
        ),
        None => None,
    };
    let resolved_by: Option<String> = row.try_get("resolved_by").map_err(translate)?;
    let resolved_at: Option<DateTime<Utc>> = row.try_get("resolved_at").map_err(translate)?;
    let note: Option<String> = row.try_get("resolution_note").map_err(translate)?;
    let resolution = match (resolved_by, resolved_at) {
        (Some(by), Some(at)) => Some(Resolution {
            by: Actor::parse(&by).map_err(corrupt)?,
            at,
            note: note
                .as_deref()
                .map(Reason::parse)
                .transpose()
                .map_err(corrupt)?,
        }),
        _ => None,
    };
    Ok(Compensation {
        id: CompensationId::new(row.try_get("compensation_id").map_err(translate)?)
            .map_err(corrupt)?,
        order_id: OrderId::new(row.try_get("order_id").map_err(translate)?).map_err(corrupt)?,
        step: row.try_get("step").map_err(translate)?,
        amount,
        detail: row.try_get("detail").map_err(translate)?,
        at: row.try_get("at").map_err(translate)?,
        resolution,
    })
}

#[async_trait]
impl StockLevels for PgOrderStore {
    async fn set_on_hand(&self, sku: &Sku, units: u32) -> Result<StockLevel, PortError> {
        crate::inventory::set_on_hand(&self.pool, sku, units).await
    }

    async fn level(&self, sku: &Sku) -> Result<Option<StockLevel>, PortError> {
        crate::inventory::level(&self.pool, sku).await
    }
}
