//! SQLite passes the store conformance suite: the very cases the in-memory
//! and PostgreSQL stores pass, each on a fresh database file (WAL and all).

mod common;

order_testkit::store_contract!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    || common::fresh_store().await
);
