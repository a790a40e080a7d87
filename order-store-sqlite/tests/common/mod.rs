//! Test databases: a fresh file per test in the system's temp directory,
//! removed when the test is done with it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use order_store_sqlite::{SqliteOrderStore, connect};
use sqlx::SqlitePool;

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// A directory of its own holding one database file (and its WAL files),
/// removed on drop.
#[derive(Debug)]
pub(crate) struct TempDatabase {
    dir: PathBuf,
}

impl TempDatabase {
    /// A new, empty directory; the file is created by the first `connect`.
    pub(crate) fn new() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "order-store-sqlite-{}-{}-{nanos}",
            std::process::id(),
            SEQUENCE.fetch_add(1, Ordering::Relaxed),
        ));
        std::fs::create_dir_all(&dir).expect("create a temp directory");
        Self { dir }
    }

    /// The database file.
    pub(crate) fn path(&self) -> PathBuf {
        self.dir.join("orders.db")
    }

    /// Its URL.
    pub(crate) fn url(&self) -> String {
        format!("sqlite://{}", self.path().display())
    }

    /// Opens the database (migrated, WAL) with up to eight connections.
    pub(crate) async fn pool(&self) -> SqlitePool {
        connect(&self.url(), 8)
            .await
            .unwrap_or_else(|e| panic!("cannot open the test database: {e}"))
    }

    /// Hands the files' removal to the runtime: they go when `pool` is
    /// dropped or closed, or at the latest when the test's runtime stops.
    /// For callers that cannot hold on to the guard, such as the cases of
    /// `store_contract!`, which receive the store alone.
    pub(crate) fn remove_when_closed(self, pool: &SqlitePool) {
        let closed = pool.close_event();
        tokio::spawn(async move {
            closed.await;
            drop(self);
        });
    }
}

impl Drop for TempDatabase {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A store on a fresh database file that is removed after the test.
#[allow(dead_code)] // each test binary uses what it needs
pub(crate) async fn fresh_store() -> SqliteOrderStore {
    let db = TempDatabase::new();
    let pool = db.pool().await;
    db.remove_when_closed(&pool);
    SqliteOrderStore::new(pool)
}
