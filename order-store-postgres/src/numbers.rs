//! [`PgOrderNumbers`]: order numbers from the `order_number_seq` sequence,
//! fetched in blocks so most placements cost no statement at all.

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Datelike, Utc};
use order_core::ports::OrderNumbers;
use order_core::{OrderNumber, PortError};
use sqlx::PgPool;

/// Numbers `ORD-<year>-<sequence>` from a database sequence. Several
/// processes share the sequence, so numbers are unique; a process that stops
/// leaves the rest of its block unused, so numbers may have gaps.
#[derive(Debug)]
pub struct PgOrderNumbers {
    pool: PgPool,
    block: u32,
    /// A std mutex: it is never held across an `.await`.
    ready: Mutex<VecDeque<i64>>,
}

impl PgOrderNumbers {
    /// Numbers fetched `block` at a time (at least 1).
    pub fn new(pool: PgPool, block: u32) -> Self {
        Self {
            pool,
            block: block.max(1),
            ready: Mutex::new(VecDeque::new()),
        }
    }

    fn take(&self) -> Option<i64> {
        self.ready
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()
    }
}

#[async_trait]
impl OrderNumbers for PgOrderNumbers {
    async fn next(&self, at: DateTime<Utc>) -> Result<OrderNumber, PortError> {
        let n = match self.take() {
            Some(n) => n,
            None => {
                let fetched: Vec<i64> = sqlx::query_scalar(crate::sql::NEXT_ORDER_NUMBERS)
                    .bind(i32::try_from(self.block).unwrap_or(i32::MAX))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| PortError::Unavailable(e.to_string()))?;
                let mut ready = self.ready.lock().unwrap_or_else(|e| e.into_inner());
                ready.extend(fetched);
                ready.pop_front().ok_or_else(|| {
                    PortError::Unavailable("order_number_seq returned nothing".into())
                })?
            }
        };
        Ok(OrderNumber::from_sequence(
            at.year(),
            u64::try_from(n).unwrap_or_default(),
        ))
    }
}
