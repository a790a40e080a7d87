//! The in-memory store passes the store conformance suite.

use order_testkit::InMemoryOrderStore;

order_testkit::store_contract!(
    #[tokio::test]
    || InMemoryOrderStore::default()
);
