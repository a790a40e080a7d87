//! Writes, as markdown, the plans PostgreSQL runs for every statement the
//! adapters send on the hot paths, on a database seeded with realistic data:
//! `docs/postgres-query-plans.md`.
//!
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo run --release -p order-store-postgres --example query_plans -- 100000 10000 \
//!   > docs/postgres-query-plans.md
//! ```

use order_store_postgres::PgOrderStore;
use order_store_postgres::testing::{fresh_pool, seed_orders, seed_products};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let orders: usize = args.next().map_or(Ok(100_000), |n| n.parse())?;
    let products: usize = args.next().map_or(Ok(10_000), |n| n.parse())?;
    let Some(pool) = fresh_pool().await else {
        return Err("no PostgreSQL server: set DATABASE_URL".into());
    };
    let store = PgOrderStore::new(pool.clone());
    seed_products(&pool, products).await;
    seed_orders(&store, orders).await;
    // As autovacuum keeps a running database: the seed's sequenced outbox
    // rows leave dead index entries behind until a vacuum.
    sqlx::raw_sql("vacuum analyze").execute(&pool).await?;
    let plans = store.explain_hot_queries().await?;
    let version: String = sqlx::query_scalar("select version()")
        .fetch_one(&pool)
        .await?;

    println!("# PostgreSQL query plans\n");
    println!(
        "The plans PostgreSQL runs for every statement `PgOrderStore`, `PgCatalog`, `PgInventory` \
         and `PgOrderNumbers` send on the hot paths, on a database seeded with {orders} orders (a \
         third placed and holding stock, a third paid, a third shipped and delivered, some with \
         returns) and {products} stocked products, vacuumed and analyzed.\n\n\
         Produced by `PgOrderStore::explain_hot_queries`: each statement is the very text the \
         adapter sends (`order-store-postgres/src/sql/`), with the values it binds, prepared and \
         explained with `EXPLAIN (ANALYZE, BUFFERS)` under `plan_cache_mode = force_generic_plan`, \
         the plan a pooled connection settles on. The statements run in order in one \
         transaction, rolled back at the end: an order is placed, paid, shipped, delivered and \
         refunded, a pending order is cancelled, then the listings, the outbox and the inventory \
         run. The test `hot_queries_use_indexes_not_sequential_scans` \
         (order-store-postgres/tests/postgres.rs) fails if any of them reads a large table \
         sequentially. Timings are of one run on a 2-core machine, each statement's first on its \
         connection (with some catalog caches and pages still cold).\n"
    );
    println!("Server: {version}\n");
    println!(
        "Regenerate with:\n\n```text\nDATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\\n  \
         cargo run --release -p order-store-postgres --example query_plans -- {orders} {products} \\\n  \
         > docs/postgres-query-plans.md\n```\n"
    );
    for plan in plans {
        println!("## {}\n\n```text\n{}\n```\n", plan.name, plan.plan);
    }
    Ok(())
}
