//! [`SqliteOrderNumbers`]: order numbers from the `order_number` counter
//! row, taken in blocks so most placements cost no statement at all.

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Datelike, Utc};
use order_core::ports::OrderNumbers;
use order_core::{OrderNumber, PortError};
use sqlx::SqlitePool;

use crate::error::port;

/// Numbers `ORD-<year>-<sequence>` from a counter in the database. Taking a
/// block is one statement that adds to the counter, atomic under SQLite's
/// write lock, so processes sharing the file never hand out the same
/// number; a process that stops leaves the rest of its block unused, so
/// numbers may have gaps.
#[derive(Debug)]
pub struct SqliteOrderNumbers {
    pool: SqlitePool,
    block: u32,
    /// A std mutex: it is never held across an `.await`.
    ready: Mutex<VecDeque<u64>>,
}

impl SqliteOrderNumbers {
    /// Numbers taken `block` at a time (at least 1).
    pub fn new(pool: SqlitePool, block: u32) -> Self {
        Self {
            pool,
            block: block.max(1),
            ready: Mutex::new(VecDeque::new()),
        }
    }

    fn ready(&self) -> std::sync::MutexGuard<'_, VecDeque<u64>> {
        self.ready.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl OrderNumbers for SqliteOrderNumbers {
    async fn next(&self, at: DateTime<Utc>) -> Result<OrderNumber, PortError> {
        let taken = self.ready().pop_front();
        let n = match taken {
            Some(n) => n,
            None => {
                let last: i64 = sqlx::query_scalar(
                    "update counters set value = value + ? where name = 'order_number' returning value",
                )
                .bind(i64::from(self.block))
                .fetch_one(&self.pool)
                .await
                .map_err(port)?;
                let last = u64::try_from(last).map_err(|_| {
                    PortError::Unavailable("order number counter is negative".into())
                })?;
                let first = last.saturating_sub(u64::from(self.block)) + 1;
                let mut ready = self.ready();
                ready.extend(first..=last);
                ready
                    .pop_front()
                    .ok_or_else(|| PortError::Unavailable("order number block is empty".into()))?
            }
        };
        Ok(OrderNumber::from_sequence(at.year(), n))
    }
}
