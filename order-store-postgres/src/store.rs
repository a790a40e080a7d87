//! [`PgOrderStore`]: the `OrderStore` port on PostgreSQL.
//!
//! A read is one statement (the order row with its children aggregated as
//! JSON). A write is one statement too: data-modifying CTEs that
//! compare-and-set the order row and, only if that succeeded, write lines,
//! shipments, returns, history, payment entries, outbox events, the
//! idempotency completion, the processed inbound event and the stock
//! effects. One statement is one transaction: all of it or none of it.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use order_core::order::Compensation;
use order_core::ports::{
    Change, Cursor, IdempotencyClaim, IdempotencyKey, OrderPage, OrderQuery, OrderStore, SortOrder,
    StockEffect, StockLevel, StockLevels,
};
use order_core::{
    EventRecord, Order, OrderId, OrderNumber, PortError, Sku, StoreError, StoredEvent,
};
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use crate::error::translate;
use crate::rows::{
    event_from_row, events_json, history_json, lines_json, order_from_row, payments_json,
    returns_json, shipments_json,
};
use crate::stock::{push_stock_effects, shortages};

/// The order columns plus every child collection as a JSON array, amounts as
/// text. Callers append `where …` (a macro, so `concat!` keeps the SQL a
/// literal).
macro_rules! select_order {
    () => {
        r#"
select o.id, o.number, o.customer_id, o.currency, o.status, o.payment_status,
       o.subtotal::text as subtotal, o.discount::text as discount, o.tax::text as tax,
       o.shipping::text as shipping, o.total::text as total,
       o.shipping_address, o.billing_address, o.shipping_method, o.coupon_code, o.discount_rule, o.notes,
       o.pricing, o.reservation, o.payment_attempts, o.cancellation_reason, o.cancelled_by, o.version,
       o.created_at, o.updated_at, o.confirmed_at, o.cancelled_at, o.delivered_at, o.completed_at,
       coalesce((select jsonb_agg(jsonb_build_object(
                    'id', l.id, 'product_id', l.product_id, 'variant_id', l.variant_id, 'sku', l.sku,
                    'name', l.name, 'kind', l.kind, 'tax_class', l.tax_class, 'tax_rate', l.tax_rate::text,
                    'quantity', l.quantity, 'unit_price', l.unit_price::text, 'subtotal', l.subtotal::text,
                    'discount', l.discount::text, 'tax', l.tax::text, 'total', l.total::text,
                    'qty_ordered', l.qty_ordered, 'qty_cancelled', l.qty_cancelled, 'qty_shipped', l.qty_shipped,
                    'qty_delivered', l.qty_delivered, 'qty_returned', l.qty_returned,
                    'qty_return_requested', l.qty_return_requested) order by l.position)
                 from order_lines l where l.order_id = o.id), '[]') as lines,
       coalesce((select jsonb_agg(jsonb_build_object(
                    'id', p.id, 'kind', p.kind, 'amount', p.amount::text, 'reference', p.reference,
                    'idempotency_key', p.idempotency_key, 'reason', p.reason, 'return_id', p.return_id,
                    'at', p.at) order by p.position)
                 from payment_entries p where p.order_id = o.id), '[]') as payments,
       coalesce((select jsonb_agg(jsonb_build_object(
                    'id', s.id, 'carrier', s.carrier, 'tracking_number', s.tracking_number,
                    'shipped_at', s.shipped_at, 'delivered_at', s.delivered_at,
                    'lines', coalesce((select jsonb_agg(jsonb_build_object('line_id', sl.line_id, 'quantity', sl.quantity)
                                                        order by sl.position)
                                       from shipment_lines sl where sl.shipment_id = s.id), '[]')) order by s.position)
                 from shipments s where s.order_id = o.id), '[]') as shipments,
       coalesce((select jsonb_agg(jsonb_build_object(
                    'id', r.id, 'reason', r.reason, 'refund_amount', r.refund_amount::text,
                    'requested_at', r.requested_at, 'received_at', r.received_at,
                    'lines', coalesce((select jsonb_agg(jsonb_build_object('line_id', rl.line_id, 'quantity', rl.quantity)
                                                        order by rl.position)
                                       from return_lines rl where rl.return_id = r.id), '[]')) order by r.position)
                 from returns r where r.order_id = o.id), '[]') as returns,
       coalesce((select jsonb_agg(jsonb_build_object(
                    'sequence', h.sequence, 'from_status', h.from_status, 'to_status', h.to_status,
                    'reason', h.reason, 'actor', h.actor, 'at', h.at) order by h.sequence)
                 from order_status_history h where h.order_id = o.id), '[]') as history
from orders o
"#
    };
}

macro_rules! events_of_order {
    () => {
        concat!(
            "select ",
            event_columns!(),
            " from outbox_events where order_id = $1 order by sequence"
        )
    };
}

macro_rules! feed_after {
    () => {
        concat!(
            "select ",
            event_columns!(),
            " from outbox_events where position > $1 order by position limit $2"
        )
    };
}

macro_rules! unpublished_events {
    () => {
        concat!(
            "select ",
            event_columns!(),
            " from outbox_events where published_at is null and position is not null order by position limit $1"
        )
    };
}

macro_rules! sequence_pending {
    () => {
        "update outbox_events o set position = n.position
         from (select id, nextval('outbox_position_seq') as position
               from (select id from outbox_events where position is null
                     order by occurred_at, order_id, sequence) pending) n
         where o.id = n.id"
    };
}

macro_rules! claim_key {
    () => {
        "with claim as (
            insert into idempotency_keys (key, fingerprint, state, claimed_at) values ($1, $2, 'in_flight', $3)
            on conflict (key) do update set claimed_at = excluded.claimed_at
            where idempotency_keys.state = 'in_flight' and idempotency_keys.fingerprint = excluded.fingerprint
              and idempotency_keys.claimed_at <= $4
            returning key)
         select (select count(*) from claim) as claimed, k.fingerprint, k.state, k.order_id
         from (select 1) one left join idempotency_keys k on k.key = $1"
    };
}

macro_rules! event_columns {
    () => {
        "id, order_id, sequence, occurred_at, actor, payload, position"
    };
}

/// Serializes the global feed's position assignment: see `sequence_outbox`.
const OUTBOX_SEQUENCER_LOCK: i64 = 0x6f75_7462_6f78; // "outbox"

/// The order store on PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgOrderStore {
    pool: PgPool,
}

impl PgOrderStore {
    /// A store over `pool`, whose database has [`crate::MIGRATOR`] applied.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Gives every committed, unsequenced outbox event its global position.
    ///
    /// Positions come from one sequencer at a time (a transaction-scoped
    /// advisory lock), after the events' own transactions committed; each
    /// batch becomes visible at once and gets numbers above every earlier
    /// batch, so a feed reader never sees position n+1 before n — which a
    /// plain `bigserial` filled by concurrent writers cannot promise.
    async fn sequence_outbox(&self) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(translate)?;
        sqlx::query("select pg_advisory_xact_lock($1)")
            .bind(OUTBOX_SEQUENCER_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(translate)?;
        sqlx::query(sequence_pending!())
            .execute(&mut *tx)
            .await
            .map_err(translate)?;
        tx.commit().await.map_err(translate)
    }

    async fn current_version(&self, id: OrderId) -> Result<u64, StoreError> {
        let version: Option<i64> = sqlx::query_scalar("select version from orders where id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(translate)?;
        Ok(version.and_then(|v| u64::try_from(v).ok()).unwrap_or(0))
    }
}

fn stored_events(rows: &[PgRow]) -> Result<Vec<StoredEvent>, StoreError> {
    rows.iter()
        .map(|row| {
            let position: i64 = row.try_get("position").map_err(translate)?;
            Ok(StoredEvent {
                position: u64::try_from(position).map_err(|e| StoreError::Backend(e.into()))?,
                record: event_from_row(row)?,
            })
        })
        .collect()
}

fn i64_of(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The CTEs of one write; see the module docs.
fn write_statement(
    prefix: &str,
    change: &Change<'_>,
) -> Result<QueryBuilder<Postgres>, StoreError> {
    let order = change.order;
    let id = order.id().as_uuid();
    let insert = change.expected_version == 0;
    let mut q = QueryBuilder::<Postgres>::new(prefix);
    q.push("with ord as (");
    let t = order.totals();
    if insert {
        q.push(
            "insert into orders (id, number, customer_id, currency, status, payment_status, subtotal, discount, tax,
              shipping, total, shipping_address, billing_address, shipping_method, coupon_code, discount_rule, notes,
              pricing, reservation, payment_attempts, cancellation_reason, cancelled_by, version, created_at,
              updated_at, confirmed_at, cancelled_at, delivered_at, completed_at) select ",
        );
    } else {
        q.push("update orders set (id, number, customer_id, currency, status, payment_status, subtotal, discount, tax,
              shipping, total, shipping_address, billing_address, shipping_method, coupon_code, discount_rule, notes,
              pricing, reservation, payment_attempts, cancellation_reason, cancelled_by, version, created_at,
              updated_at, confirmed_at, cancelled_at, delivered_at, completed_at) = (select ");
    }
    {
        let mut s = q.separated(", ");
        s.push_bind(id);
        s.push_bind(order.number().as_str().to_owned());
        s.push_bind(order.customer_id().as_uuid());
        s.push_bind(order.currency().code().to_owned());
        s.push_bind(order.status().as_str());
        s.push_bind(order.payment_status().as_str());
        s.push_bind(t.subtotal.amount());
        s.push_bind(t.discount.amount());
        s.push_bind(t.tax.amount());
        s.push_bind(t.shipping.amount());
        s.push_bind(t.total.amount());
        s.push_bind(order.shipping_address().map(to_json));
        s.push_bind(order.billing_address().map(to_json));
        s.push_bind(order.shipping_method().map(|m| m.as_str().to_owned()));
        s.push_bind(order.coupon().map(|c| c.as_str().to_owned()));
        s.push_bind(order.discount().map(to_json));
        s.push_bind(order.notes().map(|n| n.as_str().to_owned()));
        s.push_bind(to_json(order.pricing()));
        s.push_bind(to_json(&order.reservation()));
        s.push_bind(i32::try_from(order.payment_attempts()).unwrap_or(i32::MAX));
        s.push_bind(order.cancellation().map(|(r, _)| r.as_str().to_owned()));
        s.push_bind(order.cancellation().map(|(_, a)| a.as_str().to_owned()));
        s.push_bind(i64_of(order.version()));
        s.push_bind(order.created_at());
        s.push_bind(order.updated_at());
        s.push_bind(order.confirmed_at());
        s.push_bind(order.cancelled_at());
        s.push_bind(order.delivered_at());
        s.push_bind(order.completed_at());
    }
    if insert {
        // The key must still be ours: claimed, not completed by a request
        // that took it over after our lease ran out.
        if let Some(key) = change.idempotency_key {
            q.push(" where exists (select 1 from idempotency_keys where key = ");
            q.push_bind(key.as_str().to_owned());
            q.push(" and state = 'in_flight')");
        }
        q.push(" on conflict (id) do nothing returning id)");
    } else {
        q.push(") where id = ");
        q.push_bind(id);
        q.push(" and version = ");
        q.push_bind(i64_of(change.expected_version));
        q.push(" returning id)");
    }

    q.push(
        ", lines as (insert into order_lines (id, order_id, position, product_id, variant_id, sku, name, kind,
              tax_class, tax_rate, quantity, unit_price, subtotal, discount, tax, total, qty_ordered, qty_cancelled,
              qty_shipped, qty_delivered, qty_returned, qty_return_requested)
            select x.id, ord.id, x.position, x.product_id, x.variant_id, x.sku, x.name, x.kind, x.tax_class,
              x.tax_rate::numeric, x.quantity, x.unit_price::numeric, x.subtotal::numeric, x.discount::numeric,
              x.tax::numeric, x.total::numeric, x.qty_ordered, x.qty_cancelled, x.qty_shipped, x.qty_delivered,
              x.qty_returned, x.qty_return_requested
            from ord, jsonb_to_recordset(",
    );
    q.push_bind(lines_json(order));
    q.push(
        ") as x(id uuid, position int, product_id uuid, variant_id uuid, sku text, name text, kind text,
              tax_class text, tax_rate text, quantity int, unit_price text, subtotal text, discount text, tax text,
              total text, qty_ordered int, qty_cancelled int, qty_shipped int, qty_delivered int, qty_returned int,
              qty_return_requested int)",
    );
    if !insert {
        q.push(
            " on conflict (id) do update set position = excluded.position, quantity = excluded.quantity,
              tax_rate = excluded.tax_rate, unit_price = excluded.unit_price, subtotal = excluded.subtotal,
              discount = excluded.discount, tax = excluded.tax, total = excluded.total,
              qty_ordered = excluded.qty_ordered, qty_cancelled = excluded.qty_cancelled,
              qty_shipped = excluded.qty_shipped, qty_delivered = excluded.qty_delivered,
              qty_returned = excluded.qty_returned, qty_return_requested = excluded.qty_return_requested
              where (order_lines.*) is distinct from (excluded.*)",
        );
    }
    q.push(")");
    if !insert {
        let line_ids: Vec<Uuid> = order.lines().iter().map(|l| l.id.as_uuid()).collect();
        q.push(", gone as (delete from order_lines l using ord where l.order_id = ord.id and not (l.id = any(");
        q.push_bind(line_ids);
        q.push(")))");
    }
    if !order.shipments().is_empty() {
        q.push(
            ", ship as (insert into shipments (id, order_id, position, carrier, tracking_number, shipped_at, delivered_at)
                select x.id, ord.id, x.position, x.carrier, x.tracking_number, x.shipped_at, x.delivered_at
                from ord, jsonb_to_recordset(",
        );
        q.push_bind(shipments_json(order));
        q.push(
            ") as x(id uuid, position int, carrier text, tracking_number text, shipped_at timestamptz,
                 delivered_at timestamptz, lines jsonb)
               on conflict (id) do update set delivered_at = excluded.delivered_at
               where shipments.delivered_at is distinct from excluded.delivered_at),
             ship_lines as (insert into shipment_lines (shipment_id, position, line_id, quantity)
                select s.id, p.ordinality - 1, p.line_id, p.quantity
                from ord, jsonb_to_recordset(",
        );
        q.push_bind(shipments_json(order));
        q.push(
            ") as s(id uuid, lines jsonb),
                 rows from (jsonb_to_recordset(s.lines) as (line_id uuid, quantity int)) with ordinality as p(line_id, quantity, ordinality)
               on conflict do nothing)",
        );
    }
    if !order.returns().is_empty() {
        q.push(
            ", ret as (insert into returns (id, order_id, position, reason, refund_amount, requested_at, received_at)
                select x.id, ord.id, x.position, x.reason, x.refund_amount::numeric, x.requested_at, x.received_at
                from ord, jsonb_to_recordset(",
        );
        q.push_bind(returns_json(order));
        q.push(
            ") as x(id uuid, position int, reason text, refund_amount text, requested_at timestamptz,
                 received_at timestamptz)
               on conflict (id) do update set received_at = excluded.received_at
               where returns.received_at is distinct from excluded.received_at),
             ret_lines as (insert into return_lines (return_id, position, line_id, quantity)
                select r.id, p.ordinality - 1, p.line_id, p.quantity
                from ord, jsonb_to_recordset(",
        );
        q.push_bind(returns_json(order));
        q.push(
            ") as r(id uuid, lines jsonb),
                 rows from (jsonb_to_recordset(r.lines) as (line_id uuid, quantity int)) with ordinality as p(line_id, quantity, ordinality)
               on conflict do nothing)",
        );
    }
    q.push(
        ", hist as (insert into order_status_history (order_id, sequence, from_status, to_status, reason, actor, at)
            select ord.id, x.sequence, x.from_status, x.to_status, x.reason, x.actor, x.at
            from ord, jsonb_to_recordset(",
    );
    q.push_bind(history_json(change.new_history()));
    q.push(") as x(sequence bigint, from_status text, to_status text, reason text, actor text, at timestamptz))");

    let before_payments = order.payments().entries().len() - change.new_payments().count();
    q.push(
        ", pay as (insert into payment_entries (id, order_id, position, kind, amount, reference, idempotency_key,
              reason, return_id, at)
            select x.id, ord.id, x.position, x.kind, x.amount::numeric, x.reference, x.idempotency_key, x.reason,
              x.return_id, x.at
            from ord, jsonb_to_recordset(",
    );
    q.push_bind(payments_json(before_payments, change.new_payments()));
    q.push(
        ") as x(id uuid, position int, kind text, amount text, reference text, idempotency_key text, reason text,
              return_id uuid, at timestamptz))",
    );
    q.push(
        ", evt as (insert into outbox_events (id, order_id, sequence, event_type, occurred_at, actor, payload)
            select x.id, ord.id, x.sequence, x.event_type, x.occurred_at, x.actor, x.payload
            from ord, jsonb_to_recordset(",
    );
    q.push_bind(events_json(change.events)?);
    q.push(") as x(id uuid, sequence bigint, event_type text, occurred_at timestamptz, actor text, payload jsonb))");

    if let Some(key) = change.idempotency_key {
        q.push(
            ", idem as (update idempotency_keys k set state = 'completed', order_id = ord.id, completed_at = now()
                from ord where k.key = ",
        );
        q.push_bind(key.as_str().to_owned());
        q.push(" and k.state = 'in_flight')");
    }
    if let Some(event_id) = change.inbound_event {
        q.push(", inbound as (insert into processed_inbound_events (event_id, order_id, processed_at) select ");
        q.push_bind(event_id.to_owned());
        q.push(", ord.id, now() from ord)");
    }
    push_stock_effects(&mut q, id, change.stock)?;
    q.push(" select count(*) as written from ord");
    Ok(q)
}

/// JSON for the value types order-core serializes (addresses, the pricing
/// policy, the discount, the reservation): plain data whose serialization
/// cannot fail.
fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn push_filters(q: &mut QueryBuilder<Postgres>, query: &OrderQuery) {
    q.push(" where true");
    if let Some(customer) = query.customer_id {
        q.push(" and o.customer_id = ");
        q.push_bind(customer.as_uuid());
    }
    if let Some(status) = query.status {
        q.push(" and o.status = ");
        q.push_bind(status.as_str());
    }
    if let Some(from) = query.created_from {
        q.push(" and o.created_at >= ");
        q.push_bind(from);
    }
    if let Some(to) = query.created_to {
        q.push(" and o.created_at < ");
        q.push_bind(to);
    }
    let (cmp, dir) = match query.sort {
        SortOrder::OldestFirst => (">", "asc"),
        SortOrder::NewestFirst => ("<", "desc"),
    };
    if let Some(cursor) = query.after {
        q.push(format!(" and (o.created_at, o.id) {cmp} ("));
        q.push_bind(cursor.created_at);
        q.push(", ");
        q.push_bind(cursor.id.as_uuid());
        q.push(")");
    }
    q.push(format!(" order by o.created_at {dir}, o.id {dir} limit "));
    q.push_bind(i64::try_from(query.limit).unwrap_or(i64::MAX));
}

#[async_trait]
impl OrderStore for PgOrderStore {
    async fn get(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        let row = sqlx::query(concat!(select_order!(), " where o.id = $1"))
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(translate)?;
        row.as_ref().map(order_from_row).transpose()
    }

    async fn get_by_number(&self, number: &OrderNumber) -> Result<Option<Order>, StoreError> {
        let row = sqlx::query(concat!(select_order!(), " where o.number = $1"))
            .bind(number.as_str())
            .fetch_optional(&self.pool)
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
        let mut statement = write_statement("", &change)?;
        let written: i64 = match statement.build_query_scalar().fetch_one(&self.pool).await {
            Ok(written) => written,
            Err(err) if crate::error::is_oversell(&err) => {
                let wanted = change.stock.iter().find_map(|effect| match effect {
                    StockEffect::Reserve { items, .. } => Some(items.as_slice()),
                    _ => None,
                });
                return Err(StoreError::OutOfStock(
                    shortages(&self.pool, order.id(), wanted.unwrap_or_default()).await?,
                ));
            }
            Err(err) => return Err(crate::error::translate_write(err, &change)),
        };
        if written == 1 {
            return Ok(());
        }
        let id = order.id();
        if change.expected_version == 0 {
            if self.current_version(id).await? > 0 {
                return Err(StoreError::AlreadyExists { id });
            }
            return Err(StoreError::Backend(
                "the idempotency key is not claimed by this request".into(),
            ));
        }
        Err(StoreError::VersionConflict {
            id,
            expected: change.expected_version,
            actual: self.current_version(id).await?,
        })
    }

    async fn list(&self, query: &OrderQuery) -> Result<OrderPage, StoreError> {
        let mut q = QueryBuilder::<Postgres>::new(select_order!());
        push_filters(&mut q, query);
        let rows = q.build().fetch_all(&self.pool).await.map_err(translate)?;
        let orders = rows
            .iter()
            .map(order_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(OrderPage::of(orders, query))
    }

    async fn events(&self, id: OrderId) -> Result<Vec<EventRecord>, StoreError> {
        let rows = sqlx::query(events_of_order!())
            .bind(id.as_uuid())
            .fetch_all(&self.pool)
            .await
            .map_err(translate)?;
        rows.iter().map(event_from_row).collect()
    }

    async fn feed(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.sequence_outbox().await?;
        let rows = sqlx::query(feed_after!())
            .bind(i64_of(after))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(translate)?;
        stored_events(&rows)
    }

    async fn unpublished(&self, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.sequence_outbox().await?;
        let rows = sqlx::query(unpublished_events!())
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(translate)?;
        stored_events(&rows)
    }

    async fn mark_published(&self, positions: &[u64]) -> Result<(), StoreError> {
        let positions: Vec<i64> = positions.iter().copied().map(i64_of).collect();
        sqlx::query("update outbox_events set published_at = now() where position = any($1) and published_at is null")
            .bind(positions)
            .execute(&self.pool)
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
        // Take the key if it is new, or if its holder's lease ran out
        // without completing; otherwise report what holds it.
        let row = sqlx::query(claim_key!())
            .bind(key.as_str())
            .bind(fingerprint)
            .bind(now)
            .bind(now - lease)
            .fetch_one(&self.pool)
            .await
            .map_err(translate)?;
        let claimed: i64 = row.try_get("claimed").map_err(translate)?;
        if claimed == 1 {
            return Ok(IdempotencyClaim::Claimed);
        }
        let stored_fingerprint: Option<String> = row.try_get("fingerprint").map_err(translate)?;
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
        sqlx::query("delete from idempotency_keys where key = $1 and state = 'in_flight'")
            .bind(key.as_str())
            .execute(&self.pool)
            .await
            .map_err(translate)?;
        Ok(())
    }

    async fn inbound_event_processed(&self, event_id: &str) -> Result<bool, StoreError> {
        sqlx::query_scalar(
            "select exists (select 1 from processed_inbound_events where event_id = $1)",
        )
        .bind(event_id)
        .fetch_one(&self.pool)
        .await
        .map_err(translate)
    }

    async fn record_compensation(&self, c: &Compensation) -> Result<(), StoreError> {
        sqlx::query(
            "insert into compensations (order_id, step, amount, currency, detail, at) values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(c.order_id.as_uuid())
        .bind(&c.step)
        .bind(c.amount.map(|m| m.amount()))
        .bind(c.amount.map(|m| m.currency().code().to_owned()))
        .bind(&c.detail)
        .bind(c.at)
        .execute(&self.pool)
        .await
        .map_err(translate)?;
        Ok(())
    }

    async fn compensations(&self) -> Result<Vec<Compensation>, StoreError> {
        let rows = sqlx::query(
            "select order_id, step, amount::text as amount, currency, detail, at from compensations order by id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(translate)?;
        rows.iter()
            .map(|row| {
                let amount: Option<String> = row.try_get("amount").map_err(translate)?;
                let currency: Option<String> = row.try_get("currency").map_err(translate)?;
                let amount = match (amount, currency) {
                    (Some(a), Some(c)) => {
                        let currency = order_core::Currency::parse(c.trim())
                            .map_err(|e| StoreError::Backend(e.into()))?;
                        Some(
                            order_core::Money::parse(&a, currency)
                                .map_err(|e| StoreError::Backend(e.into()))?,
                        )
                    }
                    _ => None,
                };
                Ok(Compensation {
                    order_id: OrderId::new(row.try_get("order_id").map_err(translate)?)
                        .map_err(|e| StoreError::Backend(e.into()))?,
                    step: row.try_get("step").map_err(translate)?,
                    amount,
                    detail: row.try_get("detail").map_err(translate)?,
                    at: row.try_get("at").map_err(translate)?,
                })
            })
            .collect()
    }
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

/// The plan PostgreSQL chose for one of the store's hot queries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryPlan {
    /// What the query does.
    pub name: &'static str,
    /// `EXPLAIN (COSTS OFF)` output, one node per line.
    pub plan: String,
}

impl PgOrderStore {
    /// The plans of the queries every request runs — reads, listings, the
    /// write of a change to `sample` (already stored), the outbox and the
    /// idempotency claim — built by the very code that runs them. A plan
    /// with `Seq Scan` on a large table is a missing index.
    ///
    /// # Errors
    /// Backend failures.
    pub async fn explain_hot_queries(
        &self,
        sample: &Order,
        events: &[EventRecord],
    ) -> Result<Vec<QueryPlan>, StoreError> {
        let id = sample.id().as_uuid();
        let lines = |rows: Vec<PgRow>| -> Result<String, StoreError> {
            rows.iter()
                .map(|r| r.try_get::<String, _>(0).map_err(translate))
                .collect::<Result<Vec<_>, _>>()
                .map(|l| l.join("\n"))
        };
        let mut plans = Vec::new();
        let rows = sqlx::query(concat!(
            "explain (costs off) ",
            select_order!(),
            " where o.id = $1"
        ))
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(translate)?;
        plans.push(QueryPlan {
            name: "load an order by id",
            plan: lines(rows)?,
        });
        let rows = sqlx::query(concat!(
            "explain (costs off) ",
            select_order!(),
            " where o.number = $1"
        ))
        .bind(sample.number().as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(translate)?;
        plans.push(QueryPlan {
            name: "load an order by number",
            plan: lines(rows)?,
        });
        let cursor = Some(Cursor {
            created_at: sample.created_at(),
            id: sample.id(),
        });
        let listings = [
            (
                "list a customer's orders, newest first, after a cursor",
                OrderQuery {
                    customer_id: Some(sample.customer_id()),
                    after: cursor,
                    ..OrderQuery::default()
                },
            ),
            (
                "list orders in a status, oldest first, after a cursor",
                OrderQuery {
                    status: Some(sample.status()),
                    sort: SortOrder::OldestFirst,
                    after: cursor,
                    ..OrderQuery::default()
                },
            ),
            (
                "list orders created in a range",
                OrderQuery {
                    created_from: Some(sample.created_at()),
                    created_to: Some(sample.created_at() + chrono::Duration::hours(1)),
                    ..OrderQuery::default()
                },
            ),
        ];
        for (name, query) in listings {
            let mut q =
                QueryBuilder::<Postgres>::new(concat!("explain (costs off) ", select_order!()));
            push_filters(&mut q, &query);
            let rows = q.build().fetch_all(&self.pool).await.map_err(translate)?;
            plans.push(QueryPlan {
                name,
                plan: lines(rows)?,
            });
        }
        let change = Change {
            order: sample,
            expected_version: sample.version().saturating_sub(events.len() as u64),
            events,
            idempotency_key: None,
            inbound_event: None,
            stock: &[StockEffect::Commit],
        };
        let rows = write_statement("explain (costs off) ", &change)?
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(translate)?;
        plans.push(QueryPlan {
            name: "write a change (compare-and-set, children, outbox, stock)",
            plan: lines(rows)?,
        });
        let rows = sqlx::query(concat!("explain (costs off) ", events_of_order!()))
            .bind(id)
            .fetch_all(&self.pool)
            .await
            .map_err(translate)?;
        plans.push(QueryPlan {
            name: "an order's events",
            plan: lines(rows)?,
        });
        let rows = sqlx::query(concat!("explain (costs off) ", feed_after!()))
            .bind(1_i64)
            .bind(100_i64)
            .fetch_all(&self.pool)
            .await
            .map_err(translate)?;
        plans.push(QueryPlan {
            name: "the event feed after a position",
            plan: lines(rows)?,
        });
        let rows = sqlx::query(concat!("explain (costs off) ", unpublished_events!()))
            .bind(100_i64)
            .fetch_all(&self.pool)
            .await
            .map_err(translate)?;
        plans.push(QueryPlan {
            name: "unpublished events",
            plan: lines(rows)?,
        });
        let rows = sqlx::query(concat!("explain (costs off) ", sequence_pending!()))
            .fetch_all(&self.pool)
            .await
            .map_err(translate)?;
        plans.push(QueryPlan {
            name: "sequence committed outbox events",
            plan: lines(rows)?,
        });
        let now = sample.updated_at();
        let rows = sqlx::query(concat!("explain (costs off) ", claim_key!()))
            .bind("explain-key")
            .bind("fingerprint")
            .bind(now)
            .bind(now)
            .fetch_all(&self.pool)
            .await
            .map_err(translate)?;
        plans.push(QueryPlan {
            name: "claim an idempotency key",
            plan: lines(rows)?,
        });
        Ok(plans)
    }
}
