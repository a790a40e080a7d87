//! The outbox as a feed: the sequencer that gives committed events their
//! global positions, the cursors where the relay's scans start, and the
//! reads of events.
//!
//! A write inserts its events without a position. Positions come from one
//! sequencer at a time (a transaction-scoped advisory lock), after the
//! events' own transactions committed: each batch becomes visible at once
//! and gets numbers above every earlier batch, so a feed reader never sees
//! position n+1 before n, which a `bigserial` filled by concurrent writers
//! cannot promise. Batches are small and each is its own short transaction,
//! so a backlog is worked off without one long statement, and the sequencer
//! never touches what a write locks (the order row, stock levels).
//!
//! Sequencing and publishing each update an event, and the partial indexes
//! the two scans read keep an entry for every event already handled until a
//! vacuum. So neither scan starts at the bottom of its index: [`Cursors`]
//! remembers, per process, below what the scans have nothing left to find.

use std::sync::atomic::{AtomicI64, Ordering};

use order_core::{StoreError, StoredEvent};
use sqlx::postgres::PgRow;
use sqlx::{Connection as _, Row};

use crate::error::translate;
use crate::lane::Lane;
use crate::read::event_from_row;
use crate::sql;
use crate::write::i64_of;

/// Serializes the global feed's position assignment.
pub(crate) const SEQUENCER_LOCK: i64 = 0x6f75_7462_6f78; // "outbox"

/// Events positioned per transaction.
pub(crate) const SEQUENCER_BATCH: i64 = 200;

/// Batches one call of [`Cursors::sequence`] runs at most: a larger backlog
/// is left to the next call, so a caller (the relay, which checks for
/// shutdown between passes) is never held by a whole backlog.
const SEQUENCER_BATCHES_PER_CALL: usize = 25;

/// Where this process's scans of the outbox start. Each bound only ever
/// rises, and only once the database has shown that nothing is left below
/// it, so a process that starts at 0 (or another replica's relay working the
/// same table) is slower, never wrong.
#[derive(Debug, Default)]
pub(crate) struct Cursors {
    /// A transaction id: every event written by a transaction below it has
    /// its position.
    sequenced_below: AtomicI64,
    /// A position: every event at or below it is published.
    published_through: AtomicI64,
}

impl Cursors {
    /// Gives every committed, unsequenced outbox event its global position,
    /// a batch at a time, up to [`SEQUENCER_BATCHES_PER_CALL`] batches. One
    /// statement when nothing waits, the common case for a relay that polls.
    pub(crate) async fn sequence(&self, lane: &Lane) -> Result<(), StoreError> {
        let start = self.sequenced_below.load(Ordering::Acquire);
        let (horizon, pending): (i64, bool) = lane
            .run(async move |connection| {
                sqlx::query_as(sql::OUTBOX_PENDING)
                    .bind(start)
                    .fetch_one(connection)
                    .await
            })
            .await
            .map_err(translate)?;
        // Every transaction below `horizon` had ended when `pending` was
        // read, so its events were visible there; once those are positioned,
        // none is left below it.
        if !pending {
            self.sequenced_below.fetch_max(horizon, Ordering::AcqRel);
            return Ok(());
        }
        let mut start = start;
        for _ in 0..SEQUENCER_BATCHES_PER_CALL {
            let (positioned, last_written_by): (i64, Option<i64>) = lane
                .run(async move |connection| {
                    let mut tx = connection.begin().await?;
                    sqlx::query(sql::LOCK_SEQUENCER)
                        .bind(SEQUENCER_LOCK)
                        .execute(&mut *tx)
                        .await?;
                    let batch = sqlx::query_as(sql::SEQUENCE_OUTBOX)
                        .bind(SEQUENCER_BATCH)
                        .bind(start)
                        .fetch_one(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(batch)
                })
                .await
                .map_err(translate)?;
            // A short batch took the last of what its snapshot saw, which
            // holds everything `pending`'s snapshot saw.
            if positioned < SEQUENCER_BATCH {
                self.sequenced_below.fetch_max(horizon, Ordering::AcqRel);
                return Ok(());
            }
            // A full batch took the lowest waiting events in writing order,
            // and every transaction below `horizon` had ended before it: so
            // nothing of a transaction below both its last writer and
            // `horizon` is left, and the next batch starts there, not at the
            // entries this one just positioned.
            start = start.max(next_start(last_written_by, horizon));
            self.sequenced_below.fetch_max(start, Ordering::AcqRel);
        }
        Ok(())
    }

    /// The position above which unpublished events are to be looked for.
    pub(crate) fn unpublished_after(&self) -> i64 {
        self.published_through.load(Ordering::Acquire)
    }

    /// Takes note of the first position of an answer of the unpublished
    /// events above [`Self::unpublished_after`]: they were the lowest
    /// unpublished ones, so every position below it is published (no
    /// position below one visible becomes visible later). The next scan
    /// starts at the answer itself, whether or not it was marked since: at
    /// most one batch of entries more to step over, and no bookkeeping of
    /// what was marked.
    pub(crate) fn answered(&self, first: Option<u64>) {
        if let Some(first) = first {
            self.published_through
                .fetch_max(i64_of(first) - 1, Ordering::AcqRel);
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

/// Where the sequencer's next batch may start after a full one whose last
/// event was written by `last_written_by`: not above `horizon`, below which
/// every writer had ended before the batch.
fn next_start(last_written_by: Option<i64>, horizon: i64) -> i64 {
    last_written_by.map_or(0, |last| last.min(horizon))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_batch_moves_the_start_to_its_last_writer_but_not_past_the_horizon() {
        assert_eq!(next_start(Some(90), 100), 90);
        assert_eq!(next_start(Some(120), 100), 100);
        assert_eq!(next_start(None, 100), 0);
    }

    #[test]
    fn an_answer_shows_every_position_below_its_first_published() {
        let cursors = Cursors::default();
        cursors.answered(Some(7));
        assert_eq!(cursors.unpublished_after(), 6);
        cursors.answered(None);
        assert_eq!(
            cursors.unpublished_after(),
            6,
            "an empty answer shows nothing"
        );
    }

    #[test]
    fn the_cursors_never_go_back() {
        let cursors = Cursors::default();
        cursors.answered(Some(10));
        cursors.answered(Some(3));
        assert_eq!(cursors.unpublished_after(), 9);
    }
}
