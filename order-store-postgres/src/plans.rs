//! The plans PostgreSQL chooses for the store's hot statements, explained
//! with the very texts and values the store sends, so a test can fail on a
//! sequential scan and a document can show every plan.

use order_core::ports::{Change, Cursor, OrderQuery, SortOrder, StockEffect};
use order_core::{EventRecord, Order, StoreError};
use sqlx::Row;

use crate::error::translate;
use crate::sql;
use crate::stock::StockBinds;
use crate::store::bind_list;
use crate::write::{PgQuery, bind_change};
use crate::{PgOrderStore, outbox};

/// The plan PostgreSQL chose for one of the store's hot statements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryPlan {
    /// What the statement does.
    pub name: &'static str,
    /// `EXPLAIN` output, one node per line.
    pub plan: String,
}

/// `explain (costs off)` and `text`, for the explained statement's values.
fn explain(text: &str) -> PgQuery<'static> {
    sqlx::query(sqlx::AssertSqlSafe(format!("explain (costs off) {text}")))
}

impl PgOrderStore {
    /// The plans of the statements every request runs: reads, listings, the
    /// write of a change to `sample` (already stored), the outbox and the
    /// idempotency claim. A plan with `Seq Scan` on a large table is a
    /// missing index.
    ///
    /// # Errors
    /// Backend failures.
    pub async fn explain_hot_queries(
        &self,
        sample: &Order,
        events: &[EventRecord],
    ) -> Result<Vec<QueryPlan>, StoreError> {
        let id = sample.id().as_uuid();
        let cursor = Some(Cursor {
            created_at: sample.created_at(),
            id: sample.id(),
        });
        let change = Change {
            order: sample,
            expected_version: sample.version().saturating_sub(events.len() as u64),
            events,
            idempotency_key: None,
            inbound_event: None,
            stock: &[StockEffect::Commit],
        };
        let stock = StockBinds::of(change.stock)?;
        let now = sample.updated_at();
        let mut statements: Vec<(&'static str, PgQuery<'static>)> = vec![
            ("load an order by id", explain(sql::ORDER_BY_ID).bind(id)),
            (
                "load an order by number",
                explain(sql::ORDER_BY_NUMBER).bind(sample.number().as_str().to_owned()),
            ),
        ];
        let listings = [
            (
                "list a customer's orders, newest first, after a cursor",
                sql::list::BY_CUSTOMER_NEWEST,
                OrderQuery {
                    customer_id: Some(sample.customer_id()),
                    after: cursor,
                    ..OrderQuery::default()
                },
            ),
            (
                "list orders in a status, oldest first, after a cursor",
                sql::list::BY_STATUS_OLDEST,
                OrderQuery {
                    status: Some(sample.status()),
                    sort: SortOrder::OldestFirst,
                    after: cursor,
                    ..OrderQuery::default()
                },
            ),
            (
                "list orders created in a range",
                sql::list::ALL_NEWEST,
                OrderQuery {
                    created_from: Some(sample.created_at()),
                    created_to: Some(sample.created_at() + chrono::Duration::hours(1)),
                    ..OrderQuery::default()
                },
            ),
        ];
        for (name, text, query) in listings {
            statements.push((name, bind_list(explain(text), &query)));
        }
        statements.push((
            "write a change (compare-and-set, children, outbox, stock)",
            bind_change(
                explain(sql::write_order(false, stock.effect)),
                &change,
                &stock,
            ),
        ));
        statements.push(("an order's events", explain(sql::EVENTS_OF_ORDER).bind(id)));
        statements.push((
            "the event feed after a position",
            explain(sql::FEED_AFTER).bind(1_i64).bind(100_i64),
        ));
        statements.push((
            "unpublished events",
            explain(sql::UNPUBLISHED_EVENTS).bind(100_i64),
        ));
        statements.push((
            "sequence committed outbox events",
            explain(sql::SEQUENCE_OUTBOX).bind(outbox::SEQUENCER_BATCH),
        ));
        statements.push((
            "claim an idempotency key",
            explain(sql::CLAIM_KEY)
                .bind("explain-key")
                .bind("fingerprint")
                .bind(now)
                .bind(now),
        ));
        let mut plans = Vec::with_capacity(statements.len());
        for (name, statement) in statements {
            let rows = statement.fetch_all(self.pool()).await.map_err(translate)?;
            let plan = rows
                .iter()
                .map(|r| r.try_get::<String, _>(0).map_err(translate))
                .collect::<Result<Vec<_>, _>>()?
                .join("\n");
            plans.push(QueryPlan { name, plan });
        }
        Ok(plans)
    }
}
