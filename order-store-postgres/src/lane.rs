//! The lane: pool connections the order store keeps checked out between
//! statements, so that a statement costs one round trip, not two.
//!
//! sqlx 0.9's pool pings every connection it gets back: dropping a
//! `PoolConnection` spawns a task that sends `Sync` and waits for
//! `ReadyForQuery` before the connection is idle again (ADR 0016). That is
//! its recovery from a statement cancelled half-way, and no option turns it
//! off. The lane keeps up to its capacity of connections out of the pool
//! and hands them from one statement to the next without that ping when
//! the last statement on them succeeded. Every other ending (a cancelled
//! statement, an error) drops the connection back to the pool, whose ping
//! recovers or closes it as before.
//!
//! The lane never takes what the rest of the service needs: it keeps at
//! most the pool's size less [`LEFT_TO_THE_POOL`], and a statement that
//! finds none kept takes one from the pool as usual (and gives it back
//! afterwards if the lane is full). A kept connection idle for
//! [`IDLE_LIMIT`] or kept for [`TENURE`] goes back to the pool, so that the
//! pool's own rules (the check of idle connections before use, the maximum
//! lifetime, closing) still reach every connection within a minute.
//!
//! **Statements wait their turn at the lane, first come first served.** At
//! most as many run at once as the lane keeps connections; the others wait
//! at its gate (a fair semaphore), bounded by the pool's acquire timeout.
//! Without the gate a statement that found no kept connection waited in the
//! pool's queue, while every statement arriving after it took the kept
//! connections as they came back: under more concurrent requests than
//! connections, the first waiters starved and took the pool's last
//! connections from the relay and the catalog (ADR 0017).

use std::ops::{Deref, DerefMut};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres};
use tokio::sync::{Semaphore, SemaphorePermit};

/// Connections of the pool the lane leaves to everything else: the catalog
/// cache's `LISTEN` connection holds one for good, and the relay, the
/// webhooks, the catalog and the order numbers share the other.
pub(crate) const LEFT_TO_THE_POOL: u32 = 2;

/// A kept connection idle this long goes back to the pool, which checks a
/// connection idle as long before handing it out (`connect.rs`): the server
/// or a proxy may have closed it meanwhile.
pub(crate) const IDLE_LIMIT: Duration = Duration::from_secs(5);

/// A kept connection goes back to the pool after this long in the lane, so
/// that the pool's maximum lifetime reaches it.
pub(crate) const TENURE: Duration = Duration::from_secs(60);

/// Connections kept out of `pool` between statements.
#[derive(Debug)]
pub(crate) struct Lane {
    pool: PgPool,
    capacity: usize,
    /// One permit per connection the lane keeps; none for a lane that keeps
    /// none, whose statements wait in the pool's own queue.
    gate: Option<Semaphore>,
    state: Mutex<Kept>,
}

/// The lane's connections: those idle, newest last, and how many it holds
/// in all (idle or in use).
#[derive(Debug, Default)]
struct Kept {
    idle: Vec<Idle>,
    held: usize,
}

/// A kept connection between statements.
#[derive(Debug)]
struct Idle {
    connection: PoolConnection<Postgres>,
    since: Instant,
    kept_since: Instant,
}

impl Lane {
    /// A lane over `pool`, keeping at most its size less
    /// [`LEFT_TO_THE_POOL`] (none for a pool of two or fewer).
    pub(crate) fn new(pool: PgPool) -> Self {
        let size = pool.options().get_max_connections();
        Self::with_capacity(pool, size.saturating_sub(LEFT_TO_THE_POOL) as usize)
    }

    fn with_capacity(pool: PgPool, capacity: usize) -> Self {
        Self {
            pool,
            capacity,
            gate: (capacity > 0).then(|| Semaphore::new(capacity)),
            state: Mutex::new(Kept::default()),
        }
    }

    /// A connection for one statement, after the statements that came
    /// before it got theirs: the newest kept one, or one from the pool. The
    /// wait at the gate and in the pool is bounded by the pool's acquire
    /// timeout, each.
    ///
    /// # Errors
    /// [`sqlx::Error::PoolTimedOut`] when the turn does not come in time;
    /// what the pool reports when it has no connection to give.
    pub(crate) async fn acquire(&self) -> Result<LaneConnection<'_>, sqlx::Error> {
        let turn = match &self.gate {
            Some(gate) => {
                let timeout = self.pool.options().get_acquire_timeout();
                match tokio::time::timeout(timeout, gate.acquire()).await {
                    Ok(Ok(permit)) => Some(permit),
                    // The gate is never closed; a closed one reads as a
                    // closed pool.
                    Ok(Err(_)) => return Err(sqlx::Error::PoolClosed),
                    Err(_) => return Err(sqlx::Error::PoolTimedOut),
                }
            }
            None => None,
        };
        if let Some(idle) = self.take_idle() {
            return Ok(LaneConnection {
                lane: self,
                connection: Some(idle.connection),
                kept_since: Some(idle.kept_since),
                _turn: turn,
            });
        }
        let connection = self.pool.acquire().await?;
        let kept_since = {
            let mut kept = self.lock();
            (kept.held < self.capacity).then(|| {
                kept.held += 1;
                Instant::now()
            })
        };
        Ok(LaneConnection {
            lane: self,
            connection: Some(connection),
            kept_since,
            _turn: turn,
        })
    }

    /// Runs `statement` on a connection of the lane and settles it by its
    /// result (see [`LaneConnection::settle`]).
    ///
    /// # Errors
    /// The pool's, when it has no connection to give, or the statement's.
    pub(crate) async fn run<T>(
        &self,
        statement: impl AsyncFnOnce(&mut PgConnection) -> Result<T, sqlx::Error>,
    ) -> Result<T, sqlx::Error> {
        let mut connection = self.acquire().await?;
        let result = statement(&mut connection).await;
        connection.settle(result)
    }

    /// The newest idle connection still fresh; the stale ones met on the
    /// way go back to the pool.
    fn take_idle(&self) -> Option<Idle> {
        let now = Instant::now();
        let mut stale = Vec::new();
        let fresh = {
            let mut kept = self.lock();
            loop {
                match kept.idle.pop() {
                    Some(idle) if idle.is_fresh(now) => break Some(idle),
                    Some(idle) => {
                        kept.held -= 1;
                        stale.push(idle);
                    }
                    None => break None,
                }
            }
        };
        // Dropped outside the lock: each drop spawns the pool's return task.
        drop(stale);
        fresh
    }

    /// Keeps `connection` for the next statement, and sends the oldest idle
    /// connection back to the pool if it has gone stale.
    fn keep(&self, connection: PoolConnection<Postgres>, kept_since: Instant) {
        let now = Instant::now();
        let stale = {
            let mut kept = self.lock();
            kept.idle.push(Idle {
                connection,
                since: now,
                kept_since,
            });
            if kept
                .idle
                .first()
                .is_some_and(|oldest| !oldest.is_fresh(now))
            {
                kept.held -= 1;
                Some(kept.idle.remove(0))
            } else {
                None
            }
        };
        drop(stale);
    }

    /// Counts a kept connection that goes back to the pool.
    fn release(&self) {
        self.lock().held -= 1;
    }

    /// The kept connections, idle or in use.
    #[cfg(test)]
    fn held(&self) -> usize {
        self.lock().held
    }

    /// The state; a panic while it was held cannot leave it inconsistent
    /// (every change is a push, a pop or a count), so a poisoned lock is
    /// taken as it is.
    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Idle {
    /// Whether, at `now`, it is neither idle past [`IDLE_LIMIT`] nor kept
    /// past [`TENURE`].
    fn is_fresh(&self, now: Instant) -> bool {
        now.duration_since(self.since) < IDLE_LIMIT && now.duration_since(self.kept_since) < TENURE
    }
}

/// A connection from the [`Lane`] for one statement. Hand the statement's
/// result to [`settle`](Self::settle); dropped without it (the statement's
/// future was cancelled), the connection goes back to the pool, whose ping
/// recovers it.
#[derive(Debug)]
pub(crate) struct LaneConnection<'a> {
    lane: &'a Lane,
    connection: Option<PoolConnection<Postgres>>,
    /// When the lane took it, if the lane keeps it.
    kept_since: Option<Instant>,
    /// The statement's turn at the gate, given to the next in line when the
    /// connection is settled or dropped.
    _turn: Option<SemaphorePermit<'a>>,
}

impl LaneConnection<'_> {
    /// Passes `result` through, keeping the connection in the lane when the
    /// statement succeeded. After an error it goes back to the pool, whose
    /// ping finds out whether the connection survived it (a server that
    /// terminated the session answers the next statement with an error of
    /// its own, then nothing).
    pub(crate) fn settle<T>(mut self, result: Result<T, sqlx::Error>) -> Result<T, sqlx::Error> {
        match (
            result.is_ok(),
            self.connection.take(),
            self.kept_since.take(),
        ) {
            (true, Some(connection), Some(kept_since)) => self.lane.keep(connection, kept_since),
            // The connection, if any, goes back to the pool as it drops here.
            (_, _, Some(_)) => self.lane.release(),
            (_, _, None) => {}
        }
        result
    }
}

impl Deref for LaneConnection<'_> {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        self.connection.as_deref().expect("present until settled")
    }
}

impl DerefMut for LaneConnection<'_> {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.connection
            .as_deref_mut()
            .expect("present until settled")
    }
}

impl Drop for LaneConnection<'_> {
    fn drop(&mut self) {
        // Whatever connection is left goes back to the pool by its own drop.
        if self.kept_since.is_some() {
            self.lane.release();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sqlx::postgres::PgPoolOptions;

    use super::*;

    /// A pool with `options` on a fresh test database, or `None` without a
    /// server (as [`crate::testing::fresh_pool`]).
    async fn fresh_pool_with(options: PgPoolOptions) -> Option<PgPool> {
        let pool = crate::testing::fresh_pool().await?;
        pool.close().await;
        let connect = pool.connect_options();
        Some(
            options
                .connect_with((*connect).clone())
                .await
                .expect("connects"),
        )
    }

    async fn backend(lane: &Lane) -> Result<i32, sqlx::Error> {
        lane.run(async |connection| {
            sqlx::query_scalar("select pg_backend_pid()")
                .fetch_one(connection)
                .await
        })
        .await
    }

    #[tokio::test]
    async fn a_statement_runs_on_the_connection_the_last_one_succeeded_on() {
        let Some(pool) = crate::testing::fresh_pool().await else {
            return;
        };
        let lane = Lane::new(pool);
        let first = backend(&lane).await.expect("runs");
        assert_eq!(backend(&lane).await.expect("runs"), first);
        assert_eq!(lane.held(), 1);
    }

    #[tokio::test]
    async fn a_failed_statement_gives_its_connection_back_to_the_pool() {
        let Some(pool) = crate::testing::fresh_pool().await else {
            return;
        };
        let lane = Lane::new(pool);
        backend(&lane).await.expect("runs");
        let failed: Result<i32, _> = lane
            .run(async |connection| sqlx::query_scalar("select 1/0").fetch_one(connection).await)
            .await;
        assert!(
            matches!(failed, Err(sqlx::Error::Database(_))),
            "{failed:?}"
        );
        assert_eq!(lane.held(), 0);
        backend(&lane).await.expect("the next statement runs");
    }

    #[tokio::test]
    async fn a_cancelled_statement_gives_its_connection_back_to_the_pool() {
        let Some(pool) = crate::testing::fresh_pool().await else {
            return;
        };
        let lane = Lane::new(pool);
        let busy = backend(&lane).await.expect("runs");
        let sleep = lane
            .run(async |connection| sqlx::query("select pg_sleep(2)").execute(connection).await);
        assert!(
            tokio::time::timeout(Duration::from_millis(200), sleep)
                .await
                .is_err(),
            "cancelled"
        );
        assert_eq!(lane.held(), 0);
        // The cancelled connection is still asleep on the server: the pool
        // does not hand it out until its ping is answered.
        assert_ne!(backend(&lane).await.expect("runs"), busy);
    }

    #[tokio::test]
    async fn a_session_the_server_ended_costs_one_failed_statement() {
        let Some(pool) = crate::testing::fresh_pool().await else {
            return;
        };
        let lane = Lane::new(pool.clone());
        let kept = backend(&lane).await.expect("runs");
        let ended: bool = sqlx::query_scalar("select pg_terminate_backend($1)")
            .bind(kept)
            .fetch_one(&pool)
            .await
            .expect("terminates");
        assert!(ended);
        assert!(backend(&lane).await.is_err(), "the ended session fails");
        assert_eq!(lane.held(), 0);
        assert_ne!(backend(&lane).await.expect("the next one runs"), kept);
    }

    #[tokio::test]
    async fn the_lane_keeps_no_more_than_its_capacity() {
        let Some(pool) = crate::testing::fresh_pool().await else {
            return;
        };
        let lane = std::sync::Arc::new(Lane::with_capacity(pool, 2));
        let mut statements = tokio::task::JoinSet::new();
        for _ in 0..6 {
            let lane = lane.clone();
            statements.spawn(async move {
                lane.run(async |connection| {
                    let backend: i32 = sqlx::query_scalar("select pg_backend_pid()")
                        .fetch_one(&mut *connection)
                        .await?;
                    sqlx::query("select pg_sleep(0.05)")
                        .execute(connection)
                        .await?;
                    Ok(backend)
                })
                .await
            });
        }
        let backends: std::collections::HashSet<i32> = statements
            .join_all()
            .await
            .into_iter()
            .map(|backend| backend.expect("runs"))
            .collect();
        assert!(backends.len() <= 2, "{backends:?}");
        assert_eq!(lane.held(), 2);
        assert_eq!(lane.lock().idle.len(), 2);
    }

    #[tokio::test]
    async fn statements_beyond_the_lanes_capacity_wait_their_turn_first_come_first_served() {
        let Some(pool) = crate::testing::fresh_pool().await else {
            return;
        };
        let lane = std::sync::Arc::new(Lane::with_capacity(pool, 1));
        let first = lane.acquire().await.expect("a connection");
        let waiting = tokio::spawn({
            let lane = lane.clone();
            async move {
                let turn = lane.acquire().await.expect("its turn comes");
                tokio::time::sleep(Duration::from_millis(300)).await;
                turn.settle(Ok(())).expect("settled");
            }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            !waiting.is_finished(),
            "a second statement waits while the only kept connection is in use"
        );
        first.settle(Ok(())).expect("settled");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let late = tokio::time::timeout(Duration::from_millis(100), lane.acquire()).await;
        assert!(
            late.is_err(),
            "a statement that came later waits for the one that waited first"
        );
        waiting.await.expect("the waiting statement ran");
        let last = lane.acquire().await.expect("the later statement's turn");
        last.settle(Ok(())).expect("settled");
        assert_eq!(lane.held(), 1);
    }

    #[tokio::test]
    async fn a_statement_whose_turn_does_not_come_in_the_acquire_timeout_is_told_so() {
        let Some(impatient) = fresh_pool_with(
            PgPoolOptions::new()
                .max_connections(LEFT_TO_THE_POOL + 1)
                .acquire_timeout(Duration::from_millis(200)),
        )
        .await
        else {
            return;
        };
        let lane = Lane::new(impatient);
        let busy = lane.acquire().await.expect("a connection");
        let waited = lane.acquire().await;
        assert!(
            matches!(waited, Err(sqlx::Error::PoolTimedOut)),
            "{waited:?}"
        );
        busy.settle(Ok(())).expect("settled");
        backend(&lane).await.expect("the next statement runs");
    }

    #[tokio::test]
    async fn a_pool_of_two_keeps_nothing_in_the_lane() {
        let Some(small) =
            fresh_pool_with(PgPoolOptions::new().max_connections(LEFT_TO_THE_POOL)).await
        else {
            return;
        };
        let lane = Lane::new(small);
        backend(&lane).await.expect("runs");
        assert_eq!(lane.held(), 0);
    }
}
