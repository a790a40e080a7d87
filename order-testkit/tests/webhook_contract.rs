//! The in-memory webhook store passes the webhook store conformance suite.

use order_testkit::InMemoryWebhookStore;

order_testkit::webhook_store_contract!(
    #[tokio::test]
    || InMemoryWebhookStore::default()
);
