//! PostgreSQL passes the store conformance suite: the very cases the
//! in-memory store passes, each on a fresh database.

use order_store_postgres::PgOrderStore;
use order_store_postgres::testing::fresh_pool;

order_testkit::store_contract!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    || match fresh_pool().await {
        Some(pool) => PgOrderStore::new(pool),
        None => return,
    }
);
