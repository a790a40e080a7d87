//! What each use case costs the database, measured one operation at a time
//! on one connection: statements sent, transactions committed, WAL written
//! (records, bytes, full-page images) and PostgreSQL's own CPU, per
//! operation — the figures of ADR 0007.
//!
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo run --release -p order-store-postgres --example write_costs -- 2000 [20000]
//! ```
//!
//! The engine runs on this crate's adapters (`PgOrderStore` keeping the
//! stock, `PgCatalog`, `PgOrderNumbers` in blocks of 100) with an in-process
//! gateway that approves at once, on a database seeded with 20,000 orders
//! (`testing::seed_orders`, the second argument) and a catalog of 10,000
//! stocked products, analyzed. Each phase warms its statements up, then
//! runs N operations one after another:
//! - **statements**: every statement sqlx sends, counted from its
//!   `sqlx::query` tracing events;
//! - **commits**: `pg_stat_database.xact_commit` of the measured database,
//!   read from another database after the backend flushed its statistics
//!   (read-only transactions count: each autocommit statement is one);
//! - **WAL**: `pg_walinspect` over the phase, keeping the records of the
//!   measured database's blocks and of its transactions, so other
//!   databases' writes on a shared server are not counted;
//! - **server CPU**: the measured backend's run time (`/proc/<pid>/schedstat`),
//!   so this must run on the database's machine, as a user that may read it.
//!
//! `RECENT_ORDERS=0` measures the engine deciding every write on a fresh
//! read of the order (as before ADR 0013); by default a write decides on
//! the order the service last committed when it still keeps it. Each
//! phase writes the orders the phase before wrote, in the same order, so
//! an order's previous write is N + 50 writes of other orders back (2N +
//! 100 for start processing, after the place + pay phase, and for the
//! cancellations): past 1,024 orders (or 30 s) the kept ones are gone and
//! every write reads first, as `RECENT_ORDERS=0` does.
//!
//! Last, how often PostgreSQL planned each of the measured connection's
//! prepared statements anew (custom plans) or ran its generic plan.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use order_core::ports::{
    Catalog, CatalogAdmin, OrderQuery, PaymentGateway, PaymentRequest, Product,
};
use order_core::system::{SystemClock, UuidV7Ids};
use order_core::{
    Actor, Carrier, GatewayReference, LineQuantity, Money, Order, OrderService, PaymentError,
    Reason, ServiceConfig, StockKeeping,
};
use order_store_postgres::testing::{empty_pool, fresh_database_url, seed_orders};
use order_store_postgres::{PgCatalog, PgInventory, PgOrderNumbers, PgOrderStore, TokioTimer};
use order_testkit::Harness;
use order_testkit::builder::{PlaceOrderBuilder, customer};
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Row};

type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

const PRODUCTS: i64 = 10_000;

/// Counts the statements sqlx sends (one `sqlx::query` event each).
struct StatementCounter;

static STATEMENTS: AtomicU64 = AtomicU64::new(0);

impl tracing::Subscriber for StatementCounter {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.target() == "sqlx::query"
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if event.metadata().target() == "sqlx::query" {
            STATEMENTS.fetch_add(1, Ordering::Relaxed);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// A gateway that approves everything at once.
#[derive(Debug, Default)]
struct Approving(AtomicU64);

impl Approving {
    fn next(&self, kind: &str) -> Result<GatewayReference, PaymentError> {
        let n = self.0.fetch_add(1, Ordering::Relaxed);
        GatewayReference::parse(&format!("{kind}_{n}")).map_err(|e| PaymentError::Declined {
            code: "invalid".into(),
            reason: e.to_string(),
        })
    }
}

#[async_trait]
impl PaymentGateway for Approving {
    async fn authorize(&self, _: &PaymentRequest) -> Result<GatewayReference, PaymentError> {
        self.next("auth")
    }
    async fn capture(
        &self,
        _: &GatewayReference,
        _: Money,
        _: &str,
    ) -> Result<GatewayReference, PaymentError> {
        self.next("cap")
    }
    async fn void(&self, _: &GatewayReference, _: &str) -> Result<GatewayReference, PaymentError> {
        self.next("void")
    }
    async fn refund(
        &self,
        _: &GatewayReference,
        _: Money,
        _: &str,
    ) -> Result<GatewayReference, PaymentError> {
        self.next("ref")
    }
}

/// Where the measured database stands at one instant.
struct Snapshot {
    statements: u64,
    commits: i64,
    lsn: String,
    server_ns: u64,
    client_ns: u64,
    at: Instant,
}

/// The measured database, its one backend, and an observer in another
/// database.
struct Probe {
    observer: PgPool,
    database: String,
    oid: i64,
    backend: i32,
}

fn run_time_ns(pid: &str) -> Result<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/schedstat"))?;
    Ok(text
        .split_whitespace()
        .next()
        .ok_or("empty schedstat")?
        .parse()?)
}

impl Probe {
    /// Asks the measured backend to flush its statistics, then reads. The
    /// request is one statement and one transaction between two snapshots,
    /// which [`Probe::report`] leaves out.
    async fn snapshot(&self, measured: &PgPool) -> Result<Snapshot> {
        let statements = STATEMENTS.load(Ordering::Relaxed);
        let server_ns = run_time_ns(&self.backend.to_string())?;
        let client_ns = run_time_ns("self")?;
        let at = Instant::now();
        sqlx::query("select pg_stat_force_next_flush()")
            .execute(measured)
            .await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let row = sqlx::query(
            "select xact_commit, pg_current_wal_flush_lsn()::text as lsn
             from pg_stat_database where datname = $1",
        )
        .bind(&self.database)
        .fetch_one(&self.observer)
        .await?;
        Ok(Snapshot {
            statements,
            commits: row.try_get("xact_commit")?,
            lsn: row.try_get("lsn")?,
            server_ns,
            client_ns,
            at,
        })
    }

    /// WAL records, bytes and full-page-image bytes of the measured database
    /// between two positions.
    async fn wal(&self, from: &str, to: &str) -> Result<(i64, i64, i64)> {
        if from == to {
            return Ok((0, 0, 0));
        }
        let row = sqlx::query(
            "with r as (select * from pg_get_wal_records_info($1::pg_lsn, $2::pg_lsn)),
                  ours as (select distinct xid from r where block_ref like $3 and xid <> '0')
             select count(*) as records, coalesce(sum(record_length), 0)::bigint as bytes,
                    coalesce(sum(fpi_length), 0)::bigint as fpi
             from r where block_ref like $3 or xid in (select xid from ours)",
        )
        .bind(from)
        .bind(to)
        .bind(format!("%/{}/%", self.oid))
        .fetch_one(&self.observer)
        .await?;
        Ok((
            row.try_get("records")?,
            row.try_get("bytes")?,
            row.try_get("fpi")?,
        ))
    }

    async fn report(&self, name: &str, n: usize, before: Snapshot, after: Snapshot) -> Result<()> {
        let (records, bytes, fpi) = self.wal(&before.lsn, &after.lsn).await?;
        let per = |x: f64| x / n as f64;
        let wall = (after.at - before.at).as_secs_f64();
        println!(
            "| {name} | {n} | {:.2} | {:.2} | {:.1} | {:.0} | {:.0} | {:.3} | {:.3} | {:.3} |",
            per((after.statements - before.statements - 1) as f64),
            per((after.commits - before.commits - 1) as f64),
            per(records as f64),
            per((bytes - fpi) as f64),
            per(fpi as f64),
            per((after.server_ns - before.server_ns) as f64) / 1e6,
            per((after.client_ns - before.client_ns) as f64) / 1e6,
            per(wall * 1e3),
        );
        Ok(())
    }
}

/// Runs `op` for `0..warm` unmeasured, then for `0..n` measured.
async fn phase(
    probe: &Probe,
    measured: &PgPool,
    name: &str,
    warm: usize,
    n: usize,
    mut op: impl AsyncFnMut(usize) -> Result<()>,
) -> Result<()> {
    for i in 0..warm {
        op(i).await?;
    }
    let before = probe.snapshot(measured).await?;
    for i in warm..warm + n {
        op(i).await?;
    }
    let after = probe.snapshot(measured).await?;
    probe.report(name, n, before, after).await
}

async fn products(pool: &PgPool) -> Result<Vec<Product>> {
    sqlx::query(
        "insert into products (product_id, sku, name, unit_price, currency, tax_class, kind)
         select ('0193e6d2-0000-7000-8000-' || lpad(to_hex(g), 12, '0'))::uuid, 'SKU-' || g,
                'Product ' || g, 1 + (g % 500) * 0.25, 'USD', 'standard', 'physical'
         from generate_series(1, $1) g",
    )
    .bind(PRODUCTS)
    .execute(pool)
    .await?;
    sqlx::query("insert into stock_levels (sku, on_hand) select sku, 1000000000 from products")
        .execute(pool)
        .await?;
    sqlx::raw_sql("analyze").execute(pool).await?;
    let catalog = PgCatalog::new(pool.clone());
    let mut all = Vec::new();
    loop {
        let page = CatalogAdmin::list(&catalog, all.last().map(|p: &Product| &p.sku), 1_000)
            .await
            .map_err(|e| e.to_string())?;
        if page.is_empty() {
            return Ok(all);
        }
        all.extend(page);
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let n: usize = std::env::args().nth(1).map_or(Ok(2_000), |n| n.parse())?;
    let seeded: usize = std::env::args().nth(2).map_or(Ok(20_000), |n| n.parse())?;
    let warm = 50;
    tracing::subscriber::set_global_default(StatementCounter)?;
    let url = fresh_database_url()
        .await
        .ok_or("no PostgreSQL server: set DATABASE_URL")?;
    let observer = empty_pool().await.ok_or("no observer database")?;
    sqlx::query("create extension if not exists pg_walinspect")
        .execute(&observer)
        .await?;
    // A temporary slot on a connection of its own keeps every WAL segment
    // from here on until the run ends, so a checkpoint during a long phase
    // cannot recycle what `Probe::wal` is about to read.
    let mut wal_keeper = observer.acquire().await?.detach();
    sqlx::query("select pg_create_physical_replication_slot($1, true, true)")
        .bind(format!("write_costs_{}", std::process::id()))
        .execute(&mut wal_keeper)
        .await?;
    let setup = PgPoolOptions::new()
        .max_connections(8)
        .connect(&url)
        .await?;
    // Plans are made from the statistics of the tables as they are: measure
    // on tables of a realistic size, not on empty ones.
    seed_orders(&PgOrderStore::new(setup.clone()), seeded).await;
    let catalog_products = products(&setup).await?;
    // `SETTINGS="jit=off …"`: server settings for the measured
    // connection (set after seeding, so they do not slow it down).
    let name: String = sqlx::query_scalar("select current_database()")
        .fetch_one(&setup)
        .await?;
    for setting in std::env::var("SETTINGS")
        .unwrap_or_default()
        .split_whitespace()
    {
        let (key, value) = setting.split_once('=').ok_or("SETTINGS: name=value")?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            r#"alter database "{name}" set {key} = '{value}'"#
        )))
        .execute(&setup)
        .await?;
    }
    setup.close().await;

    let pool = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .connect(&url)
        .await?;
    let backend: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&pool)
        .await?;
    let database: String = sqlx::query_scalar("select current_database()")
        .fetch_one(&pool)
        .await?;
    let oid: i64 = sqlx::query_scalar("select oid::bigint from pg_database where datname = $1")
        .bind(&database)
        .fetch_one(&observer)
        .await?;
    let probe = Probe {
        observer,
        database,
        oid,
        backend,
    };

    let store = Arc::new(PgOrderStore::new(pool.clone()));
    let catalog: Arc<dyn Catalog> = Arc::new(PgCatalog::new(pool.clone()));
    let harness = Harness::with_store(store.clone());
    let ports = order_core::Ports {
        catalog,
        inventory: Arc::new(PgInventory::new(pool.clone())),
        payments: Arc::new(Approving::default()),
        numbers: Arc::new(PgOrderNumbers::new(pool.clone(), 100)),
        timer: Arc::new(TokioTimer),
        clock: Arc::new(SystemClock),
        ids: Arc::new(UuidV7Ids),
        ..harness.ports()
    };
    // `RECENT_ORDERS=0`: every write reads its order first, as before
    // ADR 0013.
    let defaults = ServiceConfig::default();
    let recent_orders = match std::env::var("RECENT_ORDERS") {
        Ok(n) => n.parse()?,
        Err(_) => defaults.recent_orders,
    };
    let service = OrderService::new(
        ports,
        ServiceConfig {
            stock: StockKeeping::Store,
            recent_orders,
            ..defaults
        },
    );
    let actor = Actor::parse("bench")?;
    let total = warm + n;
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut random = move |below: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % below as u64) as usize
    };
    let mut requests = Vec::with_capacity(3 * total);
    for i in 0..3 * total {
        let mut request = PlaceOrderBuilder::new(customer(i as u64 % 997));
        let mut picked = Vec::new();
        while picked.len() < 3 {
            let p = random(catalog_products.len());
            if !picked.contains(&p) {
                picked.push(p);
            }
        }
        for p in picked {
            request = request.line(&catalog_products[p], 1 + random(3) as u32);
        }
        requests.push(request.build());
    }
    let mut placed: Vec<Order> = Vec::with_capacity(2 * total);

    println!(
        "| operation | n | statements | commits | WAL records | WAL bytes (no FPI) | FPI bytes | server CPU ms | client CPU ms | wall ms |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    phase(&probe, &pool, "place", warm, n, async |i| {
        placed.push(service.place(requests[i].clone(), None, &actor).await?);
        Ok(())
    })
    .await?;
    phase(&probe, &pool, "pay", warm, n, async |i| {
        placed[i] = service.pay(placed[i].id(), &actor).await?;
        Ok(())
    })
    .await?;
    // Checkout as a client runs it: each order paid right after it is
    // placed (the pay phase above pays orders placed a whole phase earlier).
    phase(&probe, &pool, "place + pay", warm, n, async |i| {
        let order = service
            .place(requests[2 * total + i].clone(), None, &actor)
            .await?;
        service.pay(order.id(), &actor).await?;
        Ok(())
    })
    .await?;
    phase(&probe, &pool, "start processing", warm, n, async |i| {
        placed[i] = service
            .start_processing(placed[i].id(), None, &actor)
            .await?;
        Ok(())
    })
    .await?;
    phase(&probe, &pool, "ship", warm, n, async |i| {
        let order = &placed[i];
        let lines = order
            .lines()
            .iter()
            .map(|l| LineQuantity {
                line_id: l.id,
                quantity: l.quantity,
            })
            .collect();
        placed[i] = service
            .ship(
                order.id(),
                None,
                lines,
                Some(Carrier::parse("UPS")?),
                None,
                &actor,
            )
            .await?;
        Ok(())
    })
    .await?;
    phase(&probe, &pool, "deliver", warm, n, async |i| {
        let order = &placed[i];
        let shipment = order.shipments()[0].id;
        placed[i] = service.deliver(order.id(), None, shipment, &actor).await?;
        Ok(())
    })
    .await?;
    phase(&probe, &pool, "refund 1.00", warm, n, async |i| {
        let order = &placed[i];
        let amount = Money::from_minor(100, order.currency())?;
        placed[i] = service
            .refund(order.id(), amount, Reason::parse("goodwill")?, &actor)
            .await?;
        Ok(())
    })
    .await?;
    // Fresh placements to cancel (unmeasured), then the cancellations.
    for request in &requests[total..] {
        placed.push(service.place(request.clone(), None, &actor).await?);
    }
    phase(&probe, &pool, "cancel (pending)", warm, n, async |i| {
        let id = placed[total + i].id();
        service
            .cancel(id, None, Reason::parse("changed my mind")?, &actor)
            .await?;
        Ok(())
    })
    .await?;
    phase(&probe, &pool, "get", warm, n, async |i| {
        service.get(placed[i].id()).await?;
        Ok(())
    })
    .await?;
    phase(
        &probe,
        &pool,
        "list a customer's page",
        warm,
        n,
        async |i| {
            service
                .list(&OrderQuery {
                    customer_id: Some(customer(i as u64 % 997)),
                    limit: 20,
                    ..OrderQuery::default()
                })
                .await?;
            Ok(())
        },
    )
    .await?;
    plan_cache(&pool).await?;
    drop(wal_keeper);
    Ok(())
}

/// How often PostgreSQL planned each prepared statement of the measured
/// connection anew (a custom plan) or reused its generic plan.
async fn plan_cache(pool: &PgPool) -> Result<()> {
    let rows = sqlx::query(
        r"select left(regexp_replace(statement, '^(\s*--[^\n]*\n)*\s*', ''), 60) as head,
                 generic_plans, custom_plans
          from pg_prepared_statements order by generic_plans + custom_plans desc",
    )
    .fetch_all(pool)
    .await?;
    println!("\n| statement (start) | generic plans | custom plans |\n|---|---:|---:|");
    for row in rows {
        let head: String = row.try_get("head")?;
        println!(
            "| `{}` | {} | {} |",
            head.split_whitespace().collect::<Vec<_>>().join(" "),
            row.try_get::<i64, _>("generic_plans")?,
            row.try_get::<i64, _>("custom_plans")?
        );
    }
    Ok(())
}
