//! The relay lease on a real server: one holder per database; the lease
//! passes to another process when its holder's connection dies.

use order_core::ports::RelayLease;
use order_store_postgres::PgRelayLease;
use order_store_postgres::testing::fresh_pool;

#[tokio::test]
async fn one_lease_leads_and_another_takes_over_when_its_connection_dies() {
    let Some(pool) = fresh_pool().await else {
        return;
    };
    let first = PgRelayLease::new(pool.clone());
    let second = PgRelayLease::new(pool.clone());
    assert!(first.hold().await.unwrap(), "a free lease is taken");
    assert!(!second.hold().await.unwrap(), "a held lease is not");
    assert!(first.hold().await.unwrap(), "the holder keeps it");

    let killed: i64 = sqlx::query_scalar(
        "select count(pg_terminate_backend(pid)) from pg_locks
          where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())
            and granted",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(killed, 1, "the holder's session holds the lock");

    let mut taken = false;
    for _ in 0..50 {
        if second.hold().await.unwrap() {
            taken = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(taken, "the lease passed on");
    tokio::time::sleep(order_store_postgres::RECHECK).await;
    assert!(
        !first.hold().await.unwrap(),
        "the old holder, reconnected, follows"
    );
}
