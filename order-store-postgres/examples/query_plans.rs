//! Prints, as markdown, the plans PostgreSQL chooses for the store's hot
//! queries on a database seeded with realistic data — the source of
//! `docs/postgres-query-plans.md`:
//!
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo run -p order-store-postgres --example query_plans -- 20000 > docs/postgres-query-plans.md
//! ```

use order_core::ports::{Change, OrderStore};
use order_core::{Command, Reason};
use order_store_postgres::PgOrderStore;
use order_store_postgres::testing::{fresh_pool, seed_orders};
use order_testkit::builder::{OrderBuilder, follow};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count: usize = std::env::args().nth(1).map_or(Ok(20_000), |n| n.parse())?;
    let Some(pool) = fresh_pool().await else {
        return Err("no PostgreSQL server: set DATABASE_URL".into());
    };
    let store = PgOrderStore::new(pool.clone());
    seed_orders(&store, count).await;
    let (order, record) = OrderBuilder::default().build();
    store
        .commit(Change {
            order: &order,
            expected_version: 0,
            events: std::slice::from_ref(&record),
            idempotency_key: None,
            inbound_event: None,
            stock: &[],
        })
        .await?;
    let events = order.decide(
        &Command::Cancel {
            reason: Reason::parse("plan")?,
        },
        order.created_at(),
    )?;
    let (after, records) = follow(&order, events, order.created_at());
    let version: String = sqlx::query_scalar("select version()")
        .fetch_one(&pool)
        .await?;

    println!("# PostgreSQL query plans\n");
    println!(
        "The plans PostgreSQL chooses for `PgOrderStore`'s hot queries, on a database seeded with \
         {count} orders (a third placed and holding stock, a third paid, a third shipped and delivered, \
         some with returns) and analyzed. Produced by `PgOrderStore::explain_hot_queries`, which builds \
         each query with the code that runs it; the test `hot_queries_use_indexes_not_sequential_scans` \
         (order-store-postgres/tests/postgres.rs) fails if any of them scans a large table sequentially.\n"
    );
    println!("Server: {version}\n");
    println!(
        "Regenerate with:\n\n```text\nDATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\\n  \
         cargo run -p order-store-postgres --example query_plans -- {count} > docs/postgres-query-plans.md\n```\n"
    );
    for plan in store.explain_hot_queries(&after, &records).await? {
        println!("## {}\n\n```text\n{}\n```\n", plan.name, plan.plan);
    }
    Ok(())
}
