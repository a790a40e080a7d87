//! The plans PostgreSQL runs for every statement the adapters send on the
//! hot paths, explained with the very texts and values they send, so a test
//! can fail on a sequential scan and a document can show every plan.
//!
//! Each statement is prepared and explained with `EXPLAIN (ANALYZE, BUFFERS)`
//! under `plan_cache_mode = force_generic_plan`: the generic plan is the one
//! a pooled connection settles on for a statement it runs again and again,
//! and it cannot lean on the values of one call. Everything runs in one
//! transaction on a connection of its own, rolled back at the end: each
//! write really runs, so the next statement sees what it wrote (the order
//! placed, then paid, shipped…), and nothing stays.

use chrono::{DateTime, Duration, Utc};
use order_core::ports::{
    Change, Cursor, IdempotencyKey, OrderQuery, SortOrder, StockEffect, StockItem,
};
use order_core::system::UuidV7Ids;
use order_core::{
    Command, Currency, CustomerId, GatewayReference, LineQuantity, Money, Order, OrderId,
    PaymentEntry, PaymentEntryId, PaymentKind, PaymentStatus, ProductId, Reason, ShipmentId, Sku,
    StoreError,
};
use sqlx::postgres::PgBindIterExt;
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use crate::error::translate;
use crate::read::order_from_row;
use crate::stock::{Effect, StockBinds};
use crate::store::{bind_figures, bind_list};
use crate::testing::{follow, seed_order};
use crate::write::{PgQuery, bind_change, write_text};
use crate::{PgOrderStore, outbox, sql};

/// The plan PostgreSQL chose for one of the hot statements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryPlan {
    /// What the statement does.
    pub name: &'static str,
    /// `EXPLAIN (ANALYZE, BUFFERS)` of its generic plan, one node per line.
    pub plan: String,
}

/// Explains statements in a transaction of their own (see the module docs).
struct Explainer {
    conn: PgConnection,
    plans: Vec<QueryPlan>,
}

impl Explainer {
    async fn start(pool: &PgPool) -> Result<Self, StoreError> {
        let mut conn = pool.acquire().await.map_err(translate)?.detach();
        sqlx::raw_sql("begin; set local plan_cache_mode = force_generic_plan")
            .execute(&mut conn)
            .await
            .map_err(translate)?;
        Ok(Self {
            conn,
            plans: Vec::new(),
        })
    }

    /// Explains `text` with the values `bind` gives it, and runs it.
    ///
    /// `EXECUTE` takes no bound parameters, so the values are first turned
    /// into literals by the server itself (`quote_nullable` of each typed
    /// value) and the statement's own parameter types read them back.
    async fn explain(
        &mut self,
        name: &'static str,
        text: &str,
        bind: impl FnOnce(PgQuery<'static>) -> PgQuery<'static>,
    ) -> Result<(), StoreError> {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("prepare hot as {text}")))
            .execute(&mut self.conn)
            .await
            .map_err(translate)?;
        let params = highest_parameter(text);
        let execute = if params == 0 {
            "execute hot".to_owned()
        } else {
            let quoted = (1..=params)
                .map(|n| format!("quote_nullable(${n})"))
                .collect::<Vec<_>>()
                .join(", ");
            // Not kept prepared: the same text takes other types next time.
            let literals: String = bind(sqlx::query(sqlx::AssertSqlSafe(format!(
                "select concat_ws(', ', {quoted})"
            ))))
            .persistent(false)
            .fetch_one(&mut self.conn)
            .await
            .and_then(|row| row.try_get(0))
            .map_err(translate)?;
            format!("execute hot({literals})")
        };
        let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "explain (analyze, buffers, costs off) {execute}; deallocate hot"
        )))
        .fetch_all(&mut self.conn)
        .await
        .map_err(translate)?;
        let plan = rows
            .iter()
            .map(|r| r.try_get::<String, _>(0).map_err(translate))
            .collect::<Result<Vec<_>, _>>()?
            .join("\n");
        self.plans.push(QueryPlan { name, plan });
        Ok(())
    }

    /// Explains the write of `change`, as `PgOrderStore::commit` sends it.
    async fn write(&mut self, name: &'static str, change: &Change<'_>) -> Result<(), StoreError> {
        let stock = StockBinds::of(change.stock)?;
        self.explain(name, write_text(change, &stock), |q| {
            bind_change(q, change, &stock)
        })
        .await
    }

    async fn finish(mut self) -> Result<Vec<QueryPlan>, StoreError> {
        sqlx::raw_sql("rollback")
            .execute(&mut self.conn)
            .await
            .map_err(translate)?;
        Ok(self.plans)
    }
}

/// The highest `$n` in `text`: how many values the statement takes.
fn highest_parameter(text: &str) -> usize {
    text.split('$')
        .skip(1)
        .filter_map(|after| {
            let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .max()
        .unwrap_or(0)
}

fn must<T, E: std::fmt::Display>(value: Result<T, E>) -> Result<T, StoreError> {
    value.map_err(|e| StoreError::Backend(format!("explaining the hot statements: {e}").into()))
}

fn entry(kind: PaymentKind, amount: Money, at: DateTime<Utc>) -> Result<PaymentEntry, StoreError> {
    Ok(PaymentEntry {
        id: must(PaymentEntryId::new(Uuid::now_v7()))?,
        kind,
        amount,
        reference: Some(must(GatewayReference::parse("explain_1"))?),
        idempotency_key: format!("explain-{}", kind.as_str()),
        reason: (kind == PaymentKind::Refund)
            .then(|| Reason::parse("goodwill"))
            .transpose()
            .map_err(|e| StoreError::Backend(e.into()))?,
        return_id: None,
        at,
    })
}

fn reserve(items: &[StockItem], now: DateTime<Utc>) -> StockEffect {
    StockEffect::Reserve {
        items: items.to_vec(),
        expires_at: now + Duration::minutes(15),
    }
}

/// The steps of an order's life after its placement, as the service takes
/// them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    StartPayment,
    Capture,
    StartProcessing,
    Ship,
    Deliver,
    Refund,
}

impl Step {
    const ALL: [Self; 6] = [
        Self::StartPayment,
        Self::Capture,
        Self::StartProcessing,
        Self::Ship,
        Self::Deliver,
        Self::Refund,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::StartPayment => "pay: start the attempt",
            Self::Capture => "pay: record the capture (a webhook), sell the held stock",
            Self::StartProcessing => "start processing",
            Self::Ship => "ship every line",
            Self::Deliver => "deliver the shipment",
            Self::Refund => "refund 1.00 and restock a unit",
        }
    }

    fn command(self, order: &Order, now: DateTime<Utc>) -> Result<Command, StoreError> {
        Ok(match self {
            Self::StartPayment => Command::StartPayment {
                reservation_expires_at: None,
                payment_method: None,
            },
            Self::Capture => Command::RecordCapture {
                entry: entry(PaymentKind::Capture, order.totals().total, now)?,
            },
            Self::StartProcessing => Command::StartProcessing,
            Self::Ship => Command::Ship {
                shipment_id: must(ShipmentId::new(Uuid::now_v7()))?,
                lines: order
                    .lines()
                    .iter()
                    .map(|l| LineQuantity {
                        line_id: l.id,
                        quantity: l.quantity,
                    })
                    .collect(),
                carrier: Some(must(order_core::Carrier::parse("UPS"))?),
                tracking_number: None,
            },
            Self::Deliver => Command::Deliver {
                shipment_id: order.shipments()[0].id,
            },
            Self::Refund => Command::Refund {
                entry: entry(
                    PaymentKind::Refund,
                    must(Money::from_minor(100, Currency::USD))?,
                    now,
                )?,
            },
        })
    }

    fn stock(self, items: &[StockItem]) -> Result<Vec<StockEffect>, StoreError> {
        Ok(match self {
            Self::Capture => vec![StockEffect::Commit],
            Self::Refund => vec![StockEffect::Restock {
                key: "explain-refund".to_owned(),
                items: vec![StockItem {
                    sku: items[0].sku.clone(),
                    quantity: must(order_core::Quantity::new(1))?,
                }],
            }],
            _ => vec![],
        })
    }
}

impl PgOrderStore {
    /// The plans of every statement the adapters send on the hot paths: the
    /// lifecycle of one order (claim its key, read the catalog, take order
    /// numbers, place, read, pay, ship, deliver, refund with a restock), the
    /// cancellation of a pending order, the listings, the report's sums, the
    /// outbox (sequencer, feed, publication), idempotency keys and inbound
    /// events, the refusal paths (a version, shortages), and `PgInventory`'s
    /// stock effects.
    ///
    /// Explained on this database as it is, which must hold a catalog and
    /// orders of a realistic size (`testing::seed_products`,
    /// `testing::seed_orders`); nothing is left written. A plan with
    /// `Seq Scan` on a large table is a missing index.
    ///
    /// # Errors
    /// Backend failures, and a database without products or without a
    /// pending order holding stock.
    pub async fn explain_hot_queries(&self) -> Result<Vec<QueryPlan>, StoreError> {
        let mut x = Explainer::start(self.pool()).await?;
        let ids = UuidV7Ids;
        let now = Utc::now();
        let catalog: Vec<(Uuid, String)> =
            sqlx::query_as("select product_id, sku from products order by sku limit 3")
                .fetch_all(&mut x.conn)
                .await
                .map_err(translate)?;
        let products = catalog
            .iter()
            .map(|(id, sku)| Ok((must(ProductId::new(*id))?, must(Sku::parse(sku))?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        if products.is_empty() {
            return Err(StoreError::Backend(
                "explaining the hot statements: the database has no products".into(),
            ));
        }
        let customer = must(CustomerId::new(Uuid::from_u128(0xC000)))?;

        // A placement: its key, the catalog, order numbers, the write.
        let key = must(IdempotencyKey::parse("explain-key"))?.scoped_to(customer);
        x.explain("claim an idempotency key", sql::CLAIM_KEY, |q| {
            q.bind(key.as_str().to_owned())
                .bind("fingerprint")
                .bind(now)
                .bind(now - Duration::seconds(30))
        })
        .await?;
        let product_ids: Vec<Uuid> = catalog.iter().map(|(id, _)| *id).collect();
        x.explain("read the catalog for a placement", sql::PRODUCTS, |q| {
            q.bind(product_ids)
        })
        .await?;
        x.explain(
            "take a block of order numbers",
            sql::NEXT_ORDER_NUMBERS,
            |q| q.bind(100_i32),
        )
        .await?;
        let price = must(Money::from_minor(1_999, Currency::USD))?;
        let (placed, record) = seed_order(customer, now, price, &products, &ids);
        let items: Vec<StockItem> = placed
            .lines()
            .iter()
            .map(|l| StockItem {
                sku: l.sku.clone(),
                quantity: l.quantity,
            })
            .collect();
        let hold = [reserve(&items, now)];
        x.write(
            "place an order: insert it whole, complete its key, reserve its stock",
            &Change {
                order: &placed,
                expected_version: 0,
                events: std::slice::from_ref(&record),
                idempotency_key: Some(&key),
                inbound_event: None,
                lines_changed: true,
                stock: &hold,
            },
        )
        .await?;

        // Its life: each step reads the order (by id), then writes its change.
        let id = placed.id().as_uuid();
        x.explain("load an order by id", sql::ORDER_BY_ID, |q| q.bind(id))
            .await?;
        let mut order = placed;
        for step in Step::ALL {
            let inbound = (step == Step::Capture).then_some("evt_explain");
            if let Some(event) = inbound {
                x.explain(
                    "check an inbound event",
                    sql::INBOUND_EVENT_PROCESSED,
                    |q| q.bind(event),
                )
                .await?;
            }
            let (next, records) = follow(&order, &step.command(&order, now)?, now, &ids);
            let stock = step.stock(&items)?;
            x.write(
                step.name(),
                &Change {
                    order: &next,
                    expected_version: order.version(),
                    events: &records,
                    idempotency_key: None,
                    inbound_event: inbound,
                    lines_changed: !next.shares_lines_with(&order),
                    stock: &stock,
                },
            )
            .await?;
            order = next;
        }

        // A pending order holding stock, cancelled.
        let pending: Option<Uuid> = sqlx::query_scalar(
            "select o.id from orders o where o.status = 'pending'
                and exists (select from stock_reservations r where r.order_id = o.id) limit 1",
        )
        .fetch_optional(&mut x.conn)
        .await
        .map_err(translate)?;
        let pending = must(pending.ok_or("the database has no pending order holding stock"))?;
        let row = sqlx::query(sql::ORDER_BY_ID)
            .bind(pending)
            .fetch_one(&mut x.conn)
            .await
            .map_err(translate)?;
        let stored = order_from_row(&row)?;
        let (cancelled, records) = follow(
            &stored,
            &Command::Cancel {
                reason: must(Reason::parse("changed my mind"))?,
            },
            now,
            &ids,
        );
        x.write(
            "cancel a pending order, release its stock",
            &Change {
                order: &cancelled,
                expected_version: stored.version(),
                events: &records,
                idempotency_key: None,
                inbound_event: None,
                lines_changed: !cancelled.shares_lines_with(&stored),
                stock: &[StockEffect::Release],
            },
        )
        .await?;

        // Reads.
        let number = order.number().as_str().to_owned();
        x.explain("load an order by number", sql::ORDER_BY_NUMBER, |q| {
            q.bind(number)
        })
        .await?;
        x.explain("an order's events", sql::EVENTS_OF_ORDER, |q| q.bind(id))
            .await?;
        let cursor = Some(Cursor {
            created_at: stored.created_at(),
            id: stored.id(),
        });
        let listings = [
            (
                "list a customer's orders, newest first, after a cursor",
                sql::list::BY_CUSTOMER_NEWEST,
                OrderQuery {
                    customer_id: Some(stored.customer_id()),
                    after: cursor,
                    ..OrderQuery::default()
                },
            ),
            (
                "list a customer's orders in a status, oldest first",
                sql::list::BY_CUSTOMER_OLDEST,
                OrderQuery {
                    customer_id: Some(stored.customer_id()),
                    status: Some(stored.status()),
                    sort: SortOrder::OldestFirst,
                    ..OrderQuery::default()
                },
            ),
            (
                "list orders in a status, newest first",
                sql::list::BY_STATUS_NEWEST,
                OrderQuery {
                    status: Some(stored.status()),
                    ..OrderQuery::default()
                },
            ),
            (
                "list orders in a status, oldest first, after a cursor",
                sql::list::BY_STATUS_OLDEST,
                OrderQuery {
                    status: Some(stored.status()),
                    sort: SortOrder::OldestFirst,
                    after: cursor,
                    ..OrderQuery::default()
                },
            ),
            (
                "list a customer's orders in a payment status, newest first",
                sql::list::BY_CUSTOMER_NEWEST,
                OrderQuery {
                    customer_id: Some(stored.customer_id()),
                    payment_status: Some(stored.payment_status()),
                    ..OrderQuery::default()
                },
            ),
            (
                "list orders in a status and a payment status, newest first",
                sql::list::BY_STATUS_NEWEST,
                OrderQuery {
                    status: Some(stored.status()),
                    payment_status: Some(PaymentStatus::Paid),
                    ..OrderQuery::default()
                },
            ),
            (
                "list orders in a payment status, newest first, after a cursor",
                sql::list::BY_PAYMENT_STATUS_NEWEST,
                OrderQuery {
                    payment_status: Some(PaymentStatus::Paid),
                    after: cursor,
                    ..OrderQuery::default()
                },
            ),
            (
                "list orders in a payment status, oldest first",
                sql::list::BY_PAYMENT_STATUS_OLDEST,
                OrderQuery {
                    payment_status: Some(PaymentStatus::Unpaid),
                    sort: SortOrder::OldestFirst,
                    ..OrderQuery::default()
                },
            ),
            (
                "list all orders, newest first, after a cursor",
                sql::list::ALL_NEWEST,
                OrderQuery {
                    after: cursor,
                    ..OrderQuery::default()
                },
            ),
            (
                "list all orders created in a range, oldest first",
                sql::list::ALL_OLDEST,
                OrderQuery {
                    created_from: Some(stored.created_at()),
                    created_to: Some(stored.created_at() + Duration::days(1)),
                    sort: SortOrder::OldestFirst,
                    ..OrderQuery::default()
                },
            ),
        ];
        for (name, text, query) in listings {
            x.explain(name, text, |q| bind_list(q, &query)).await?;
        }
        x.explain(
            "sum the orders created in 30 days for a report",
            sql::FIGURES,
            |q| bind_figures(q, now - Duration::days(30), now),
        )
        .await?;

        // The outbox: sequence what the scenario wrote, read, publish.
        // The sequencer's start is the oldest transaction still writing when
        // it last looked; the scenario's own transaction is that one here.
        let start: i64 =
            sqlx::query_scalar("select pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
                .fetch_one(&mut x.conn)
                .await
                .map_err(translate)?;
        x.explain(
            "is any event waiting for its position",
            sql::OUTBOX_PENDING,
            |q| q.bind(start),
        )
        .await?;
        x.explain("take the sequencer's lock", sql::LOCK_SEQUENCER, |q| {
            q.bind(outbox::SEQUENCER_LOCK)
        })
        .await?;
        x.explain("position a batch of events", sql::SEQUENCE_OUTBOX, |q| {
            q.bind(outbox::SEQUENCER_BATCH).bind(start)
        })
        .await?;
        let last: Option<i64> = sqlx::query_scalar("select max(position) from outbox_events")
            .fetch_one(&mut x.conn)
            .await
            .map_err(translate)?;
        let after = last.unwrap_or(0).saturating_sub(100);
        x.explain("the event feed after a position", sql::FEED_AFTER, |q| {
            q.bind(after).bind(100_i64)
        })
        .await?;
        x.explain(
            "the oldest unpublished events",
            sql::UNPUBLISHED_EVENTS,
            |q| q.bind(100_i64).bind(after),
        )
        .await?;
        let positions: Vec<i64> = sqlx::query_scalar(
            "select position from outbox_events
              where published_at is null and position is not null order by position limit 100",
        )
        .fetch_all(&mut x.conn)
        .await
        .map_err(translate)?;
        x.explain("mark events published", sql::MARK_PUBLISHED, |q| {
            q.bind(positions)
        })
        .await?;

        // Keys, and what a refused write reads.
        x.explain("release an idempotency key", sql::RELEASE_KEY, |q| {
            q.bind("explain-other-key")
        })
        .await?;
        x.explain(
            "an order's version, after a refused write",
            sql::ORDER_VERSION,
            |q| q.bind(id),
        )
        .await?;
        let skus: Vec<String> = items.iter().map(|i| i.sku.as_str().to_owned()).collect();
        x.explain(
            "what is short, after a refused reservation",
            sql::SHORTAGES,
            |q| {
                q.bind(pending)
                    .bind(skus.iter().map(String::as_str).bind_iter())
            },
        )
        .await?;

        // Stock behind the `Inventory` port (`PgInventory`).
        let other = OrderId::new(Uuid::now_v7()).map_err(|e| StoreError::Backend(e.into()))?;
        let alone = [
            ("inventory: reserve", Effect::Reserve, reserve(&items, now)),
            ("inventory: commit", Effect::Commit, StockEffect::Commit),
            (
                "inventory: restock",
                Effect::Restock,
                StockEffect::Restock {
                    key: "explain-inventory".to_owned(),
                    items: items.clone(),
                },
            ),
            ("inventory: release", Effect::Release, StockEffect::Release),
        ];
        for (name, effect, stock) in alone {
            let binds = StockBinds::of(std::slice::from_ref(&stock))?;
            x.explain(name, sql::stock_alone(effect), |q| {
                binds.bind(q.bind(other.as_uuid()))
            })
            .await?;
        }
        let sku = items[0].sku.as_str().to_owned();
        x.explain("a SKU's stock level", sql::STOCK_LEVEL, |q| q.bind(sku))
            .await?;
        x.finish().await
    }
}
