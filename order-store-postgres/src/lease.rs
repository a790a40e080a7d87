//! The outbox relay's lease on PostgreSQL: a session advisory lock held on
//! a connection of its own. The process whose connection holds the lock
//! leads; the lock goes with the connection, so a leader that dies or loses
//! its database connection hands the lease on without anyone cleaning up,
//! and another replica takes it at its next try. A leader checks its
//! connection at most once a second ([`RECHECK`]): the relay and the
//! webhooks ask many times a second, and a lost lease costs only a repeat.

use async_trait::async_trait;
use order_core::PortError;
use order_core::ports::RelayLease;
use sqlx::{Connection, PgConnection, PgPool};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

/// The advisory lock key of the relay lease ("relay").
pub const RELAY_LOCK: i64 = 0x0072_656c_6179;

/// How long a leader trusts its connection between checks.
pub const RECHECK: Duration = Duration::from_secs(1);

/// One relay at a time per database.
#[derive(Debug)]
pub struct PgRelayLease {
    pool: PgPool,
    session: Mutex<Session>,
}

/// The lease's own connection, whether it holds the lock, and when that
/// was last checked.
#[derive(Debug, Default)]
struct Session {
    connection: Option<PgConnection>,
    leading: bool,
    checked: Option<Instant>,
}

impl PgRelayLease {
    /// A lease whose connection is taken from `pool` (and then kept apart
    /// from it).
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            session: Mutex::new(Session::default()),
        }
    }
}

#[async_trait]
impl RelayLease for PgRelayLease {
    async fn hold(&self) -> Result<bool, PortError> {
        let mut session = self.session.lock().await;
        if session.leading && session.checked.is_some_and(|at| at.elapsed() < RECHECK) {
            return Ok(true);
        }
        if let Some(connection) = session.connection.as_mut()
            && connection.ping().await.is_err()
        {
            // The lock went with the connection.
            *session = Session::default();
        }
        if session.leading {
            session.checked = Some(Instant::now());
            return Ok(true);
        }
        let connection = match session.connection.take() {
            Some(connection) => connection,
            None => self
                .pool
                .acquire()
                .await
                .map_err(|e| PortError::Unavailable(e.to_string()))?
                .detach(),
        };
        let connection = session.connection.insert(connection);
        let leading: bool = sqlx::query_scalar("select pg_try_advisory_lock($1)")
            .bind(RELAY_LOCK)
            .fetch_one(connection)
            .await
            .map_err(|e| PortError::Unavailable(e.to_string()))?;
        session.leading = leading;
        session.checked = Some(Instant::now());
        Ok(leading)
    }
}
