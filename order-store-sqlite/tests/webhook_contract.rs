//! SQLite passes the webhook store conformance suite, each case on a fresh
//! database file.

mod common;

use order_store_sqlite::SqliteWebhookStore;

order_testkit::webhook_store_contract!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    || {
        let db = common::TempDatabase::new();
        let pool = db.pool().await;
        db.remove_when_closed(&pool);
        SqliteWebhookStore::new(pool)
    }
);
