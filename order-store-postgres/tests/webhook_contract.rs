//! PostgreSQL passes the webhook store conformance suite, each case on a
//! fresh database.

use order_store_postgres::PgWebhookStore;
use order_store_postgres::testing::fresh_pool;

order_testkit::webhook_store_contract!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    || match fresh_pool().await {
        Some(pool) => PgWebhookStore::new(pool),
        None => return,
    }
);
