//! The outbox as a feed: the sequencer that gives committed events their
//! global positions, and the reads of events.
//!
//! A write inserts its events without a position. Positions come from one
//! sequencer at a time (a transaction-scoped advisory lock), after the
//! events' own transactions committed: each batch becomes visible at once
//! and gets numbers above every earlier batch, so a feed reader never sees
//! position n+1 before n, which a `bigserial` filled by concurrent writers
//! cannot promise. Batches are small and each is its own short transaction,
//! so a backlog is worked off without one long statement, and the sequencer
//! never touches what a write locks (the order row, stock levels).

use order_core::{StoreError, StoredEvent};
use sqlx::postgres::PgRow;
use sqlx::{Connection as _, Row};

use crate::error::translate;
use crate::lane::Lane;
use crate::read::event_from_row;
use crate::sql;

/// Serializes the global feed's position assignment.
pub(crate) const SEQUENCER_LOCK: i64 = 0x6f75_7462_6f78; // "outbox"

/// Events positioned per transaction.
pub(crate) const SEQUENCER_BATCH: i64 = 200;

/// Gives every committed, unsequenced outbox event its global position, a
/// batch at a time. One statement when nothing waits, the common case for a
/// relay that polls.
pub(crate) async fn sequence(lane: &Lane) -> Result<(), StoreError> {
    let pending: bool = lane
        .run(async |connection| {
            sqlx::query_scalar(sql::OUTBOX_PENDING)
                .fetch_one(connection)
                .await
        })
        .await
        .map_err(translate)?;
    if !pending {
        return Ok(());
    }
    loop {
        let positioned = lane
            .run(async |connection| {
                let mut tx = connection.begin().await?;
                sqlx::query(sql::LOCK_SEQUENCER)
                    .bind(SEQUENCER_LOCK)
                    .execute(&mut *tx)
                    .await?;
                let positioned: i64 = sqlx::query_scalar(sql::SEQUENCE_OUTBOX)
                    .bind(SEQUENCER_BATCH)
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(positioned)
            })
            .await
            .map_err(translate)?;
        // A short batch took the last of what this snapshot saw.
        if positioned < SEQUENCER_BATCH {
            return Ok(());
        }
    }
}

/// Events with their positions.
pub(crate) fn stored_events(rows: &[PgRow]) -> Result<Vec<StoredEvent>, StoreError> {
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
