//! # placement: order placements on PostgreSQL against PostgreSQL's own limit
//!
//! A benchmark (not a test, not criterion): it drives the real engine,
//! `OrderService` over `PgOrderStore`, `PgCatalog`, `PgInventory`,
//! `PgOrderNumbers` (blocks of 100), `AuthenticatedCustomers`, the
//! table-driven tax, shipping and coupon policies, `TokioTimer`,
//! `SystemClock` and `UuidV7Ids`. The payment gateway is a trivial in-bench
//! one that answers at once. Both ways of keeping stock are measured:
//! `StockKeeping::Store` (the reservation is written in the order's own
//! statement: the one-database deployment) and `StockKeeping::Inventory`
//! (`PgInventory` called through the port around each commit).
//!
//! At each concurrency (1, 8 and 32 tasks by default) it measures:
//! - **placements/s** of `OrderService::place` (3 lines, random products,
//!   quantities 1–5, no coupon) with p50/p95/p99 latency, in both stock
//!   modes, plus placements that carry an idempotency key (store mode);
//! - **lifecycles/s** of place → pay → start processing → ship every line
//!   (carrier "UPS") → deliver;
//! - **pgbench** at the same concurrency on a separate database, exactly as
//!   `../shared/bench/README.md` runs it (`schema.sql`, `prefill.sql` with
//!   100,000 orders, `VACUUM ANALYZE`, `CHECKPOINT`, then
//!   `pgbench -n -M prepared -f place_order.sql -c C -j min(C,2) -T 20`),
//!   before each level. The only addition is `-l` (a per-transaction log in
//!   a temp directory) to get pgbench's own p50/p95/p99. Our placements/s are
//!   reported as a percentage of pgbench's tps (target: ≥ 70 %).
//!
//! Every run also reports CPU: this process's (the engine, sqlx, tokio) per
//! operation, read from `/proc/self/stat`, and the whole machine's busy time
//! per operation (`/proc/stat`), for pgbench too. Everything shares the same
//! cores, so that is what throughput is traded against.
//!
//! It also counts what ONE place + pay costs the database, once the levels
//! are done and the bench database is idle (vacuumed, analyzed,
//! checkpointed): the delta of `pg_stat_database.xact_commit` and of the sum
//! of `pg_stat_statements.calls`, over 100 sequential place + pays
//! (averaged), with the statements listed (calls, WAL records and execution
//! time each), for both stock modes with and without an idempotency key, and
//! the same for 100 runs of `place_order.sql` on the pgbench database. That
//! needs `pg_stat_statements` in `shared_preload_libraries`; the bench creates
//! the extension in its databases and says so when the library is not
//! loaded (commits are counted either way). Each window first waits 11 s
//! for every backend's statistics to reach shared memory, runs the work on
//! one warmed-up connection, and closes it (which flushes its statistics);
//! commits are read from the admin database, and an idle window with no
//! work is counted first to show the background noise (expected: 0).
//!
//! ## The database
//! A fresh database from `order_store_postgres::testing::fresh_pool()`: a
//! catalog of 300 products (`PgCatalog::upsert`) with 1,000,000,000 units
//! each (nothing runs out), then ~100,000 orders pre-filled so that the
//! tables are realistically sized (measured from empty tables, plans decay;
//! see the bench README). The pre-fill places 1,000 seed orders through the
//! service (a third left pending, a third paid, a third delivered), then
//! copies them in bulk SQL (fresh UUID v7s, order numbers from the same
//! sequence, times shifted into the past) to the target, sequences and marks
//! the outbox published, and runs `VACUUM ANALYZE` and `CHECKPOINT`. Every
//! measured run starts after a `CHECKPOINT` and a short unmeasured warm-up.
//! The databases are dropped at the end (set `KEEP_DB=1` to keep them).
//!
//! ## Running it
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo bench -p order-store-postgres --bench placement
//! ```
//! `pgbench` and `psql` must be on `PATH`. About 4½–6½ minutes on 2 cores
//! once built. Environment (all optional):
//! - `PLACEMENTS` (3000): placements per concurrency level and mode;
//! - `PRODUCTS` (300): catalog size (3 distinct per order);
//! - `LIFECYCLES` (1000): lifecycles per level and mode;
//! - `LEVELS` (`1,8,32`): concurrency levels;
//! - `PREFILL` (100000) and `PREFILL_SEEDS` (1000): orders pre-filled;
//! - `PGBENCH_SECS` (20), `PGBENCH_PREFILL` (100000), `PGBENCH_DB`
//!   (`orders_limit_placement_bench`), `BENCH_SQL` (the directory holding
//!   `schema.sql`, `prefill.sql`, `place_order.sql`; default
//!   `../shared/bench` beside the workspace), `SKIP_PGBENCH=1`;
//! - `COUNT_OPS` (100): place + pays per statement count; `SKIP_COUNT=1`;
//! - `KEYED=0`: skip the idempotency-keyed placements;
//! - `KEEP_DB=1`: keep the databases;
//! - `EXPLAIN=1`: diagnostics; `auto_explain` logs the plan of every
//!   statement (with timings, buffers and RI triggers) of the bench
//!   database's new connections to the server log. Use it with small
//!   `PLACEMENTS`, `PREFILL` and `SKIP_PGBENCH=1 SKIP_COUNT=1`.

use std::collections::HashMap;
use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use order_core::ports::{IdempotencyKey, PaymentGateway, PaymentRequest, Product, StockLevels};
use order_core::system::{AuthenticatedCustomers, SystemClock, UuidV7Ids};
use order_core::{
    Actor, Address, AddressInput, Carrier, Currency, CustomerId, GatewayReference, LineQuantity,
    Money, NewLine, OrderService, OrderStatus, PaymentError, PaymentStatus, PlaceOrder, PortError,
    Ports, ProductId, ProductKind, ProductName, Quantity, ServiceConfig, ShippingMethod, Sku,
    StockKeeping, TaxClass, TrackingNumber,
};
use order_store_postgres::testing::{fresh_pool, server_url};
use order_store_postgres::{PgCatalog, PgInventory, PgOrderNumbers, PgOrderStore, TokioTimer};
use order_testkit::harness::{demo_coupons, demo_shipping, demo_tax};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool, Row};
use uuid::Uuid;

type BoxError = Box<dyn Error + Send + Sync>;
type Result<T, E = BoxError> = std::result::Result<T, E>;

/// Order numbers fetched per round trip.
const NUMBER_BLOCK: u32 = 100;
/// Units on hand per product: nothing runs out.
const ON_HAND: u32 = 1_000_000_000;
/// Distinct customers ordering.
const CUSTOMERS: u64 = 10_000;

// ---- settings -----------------------------------------------------------------

#[derive(Debug, Clone)]
struct Settings {
    placements: usize,
    lifecycles: usize,
    levels: Vec<usize>,
    products: usize,
    prefill: usize,
    prefill_seeds: usize,
    pgbench_secs: u32,
    pgbench_prefill: usize,
    pgbench_db: String,
    sql_dir: PathBuf,
    skip_pgbench: bool,
    count_ops: usize,
    skip_count: bool,
    keyed: bool,
    keep_db: bool,
    explain: bool,
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn env_flag(name: &str, default: bool) -> bool {
    std::env::var(name).map_or(default, |v| {
        !matches!(v.trim(), "" | "0" | "false" | "no" | "off")
    })
}

impl Settings {
    fn from_env() -> Self {
        let levels = std::env::var("LEVELS")
            .ok()
            .map(|v| {
                v.split(',')
                    .filter_map(|c| c.trim().parse().ok())
                    .filter(|&c: &usize| c > 0)
                    .collect::<Vec<_>>()
            })
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| vec![1, 8, 32]);
        let sql_dir = std::env::var_os("BENCH_SQL").map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/bench"),
            PathBuf::from,
        );
        Self {
            placements: env_usize("PLACEMENTS", 3_000).max(1),
            lifecycles: env_usize("LIFECYCLES", 1_000).max(1),
            levels,
            products: env_usize("PRODUCTS", 300).max(3),
            prefill: env_usize("PREFILL", 100_000),
            prefill_seeds: env_usize("PREFILL_SEEDS", 1_000).max(3),
            pgbench_secs: u32::try_from(env_usize("PGBENCH_SECS", 20)).unwrap_or(20),
            pgbench_prefill: env_usize("PGBENCH_PREFILL", 100_000),
            pgbench_db: std::env::var("PGBENCH_DB")
                .unwrap_or_else(|_| "orders_limit_placement_bench".to_owned()),
            sql_dir,
            skip_pgbench: env_flag("SKIP_PGBENCH", false),
            count_ops: env_usize("COUNT_OPS", 100).max(1),
            skip_count: env_flag("SKIP_COUNT", false),
            keyed: env_flag("KEYED", true),
            keep_db: env_flag("KEEP_DB", false),
            explain: env_flag("EXPLAIN", false),
        }
    }
}

// ---- small helpers ------------------------------------------------------------

/// SplitMix64: a fast, seedable generator; the bench needs no crypto.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_owned())
}

/// CPU seconds this process has used (user + system), from /proc.
fn process_cpu() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            // Fields after the command name (which ends with ')'): utime is
            // the 12th, stime the 13th.
            let rest = stat.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let ticks =
                fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
            Some(ticks / 100.0)
        })
        .unwrap_or(0.0)
}

/// (busy, total) CPU seconds of the whole machine, from /proc/stat.
fn machine_cpu() -> (f64, f64) {
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|stat| {
            let line = stat.lines().next()?;
            let ticks: Vec<f64> = line
                .split_whitespace()
                .skip(1)
                .filter_map(|t| t.parse().ok())
                .collect();
            let total: f64 = ticks.iter().take(8).sum();
            let idle = ticks.get(3)? + ticks.get(4)?;
            Some(((total - idle) / 100.0, total / 100.0))
        })
        .unwrap_or((0.0, 0.0))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

/// Nearest-rank percentiles of sorted latencies.
#[derive(Debug, Clone, Copy, Default)]
struct Percentiles {
    p50: Duration,
    p95: Duration,
    p99: Duration,
}

impl Percentiles {
    fn of(sorted: &[Duration]) -> Self {
        let at = |p: usize| -> Duration {
            if sorted.is_empty() {
                return Duration::ZERO;
            }
            let rank = (sorted.len() * p).div_ceil(100).max(1);
            sorted[rank.min(sorted.len()) - 1]
        };
        Self {
            p50: at(50),
            p95: at(95),
            p99: at(99),
        }
    }

    fn show(&self) -> String {
        format!(
            "{:.2} / {:.2} / {:.2}",
            ms(self.p50),
            ms(self.p95),
            ms(self.p99)
        )
    }
}

// ---- the in-bench payment gateway ---------------------------------------------

/// A gateway that approves everything at once, so the bench measures the
/// engine and the database, not a payment provider.
#[derive(Debug, Clone, Copy, Default)]
struct InstantGateway;

fn reference(kind: &str, key: &str) -> Result<GatewayReference, PaymentError> {
    GatewayReference::parse(&format!("{kind}-{key}"))
        .map_err(|e| PaymentError::Port(PortError::Unavailable(e.to_string())))
}

#[async_trait]
impl PaymentGateway for InstantGateway {
    async fn authorize(&self, request: &PaymentRequest) -> Result<GatewayReference, PaymentError> {
        reference("auth", &request.idempotency_key)
    }

    async fn capture(
        &self,
        _authorization: &GatewayReference,
        _amount: Money,
        idempotency_key: &str,
    ) -> Result<GatewayReference, PaymentError> {
        reference("cap", idempotency_key)
    }

    async fn void(
        &self,
        _authorization: &GatewayReference,
        idempotency_key: &str,
    ) -> Result<GatewayReference, PaymentError> {
        reference("void", idempotency_key)
    }

    async fn refund(
        &self,
        _capture: &GatewayReference,
        _amount: Money,
        idempotency_key: &str,
    ) -> Result<GatewayReference, PaymentError> {
        reference("ref", idempotency_key)
    }
}

// ---- policies and catalog (the shape of the testkit's demo tables) ------------

fn usd(minor: i128) -> Result<Money> {
    Ok(Money::from_minor(minor, Currency::USD)?)
}

fn catalog(count: usize) -> Result<Vec<Product>> {
    let mut rng = Rng::new(0x00C0_FFEE);
    (0..count)
        .map(|i| {
            let sku = format!("BENCH-{i:05}");
            Ok(Product {
                product_id: ProductId::new(Uuid::from_u128(
                    0xB000_0000_0000_4000_8000_0000_0000_0000 | (i as u128 + 1),
                ))?,
                variant_id: None,
                sku: Sku::parse(&sku)?,
                name: ProductName::parse(&format!("Bench product {i}"))?,
                unit_price: usd(199 + rng.below(99_800) as i128)?,
                tax_class: TaxClass::parse(if i % 4 == 0 { "reduced" } else { "standard" })?,
                kind: ProductKind::Physical,
                active: true,
            })
        })
        .collect()
}

/// What every request is made of.
#[derive(Debug)]
struct Fixture {
    products: Vec<Product>,
    address: Address,
    method: ShippingMethod,
    carrier: Carrier,
    actor: Actor,
}

impl Fixture {
    fn new(products: Vec<Product>) -> Result<Self> {
        Ok(Self {
            products,
            address: Address::parse(AddressInput {
                name: "Jane Doe".into(),
                line1: "742 Evergreen Terrace".into(),
                line2: None,
                city: "Springfield".into(),
                region: Some("OR".into()),
                postal_code: "97475".into(),
                country: "US".into(),
                phone: Some("+1-555-0100".into()),
            })?,
            method: ShippingMethod::parse("standard")?,
            carrier: Carrier::parse("UPS")?,
            actor: Actor::parse("bench:placement")?,
        })
    }

    /// Three distinct random products, 1–5 units each, for a random customer.
    fn request(&self, rng: &mut Rng) -> Result<PlaceOrder> {
        let mut picked: Vec<usize> = Vec::with_capacity(3);
        while picked.len() < 3 {
            let i = rng.below(self.products.len());
            if !picked.contains(&i) {
                picked.push(i);
            }
        }
        let lines = picked
            .into_iter()
            .map(|i| {
                Ok(NewLine {
                    product_id: self.products[i].product_id,
                    variant_id: None,
                    quantity: Quantity::new(1 + rng.below(5) as u32)?,
                    expected_unit_price: None,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let customer = 1 + rng.next() % CUSTOMERS;
        Ok(PlaceOrder {
            customer_id: CustomerId::new(Uuid::from_u128(
                0xC000_0000_0000_4000_8000_0000_0000_0000 | u128::from(customer),
            ))?,
            currency: Currency::USD,
            lines,
            shipping_address: Some(self.address.clone()),
            billing_address: None,
            shipping_method: Some(self.method.clone()),
            coupon: None,
            notes: None,
        })
    }
}

/// The engine on real adapters over `pool`.
fn service(pool: &PgPool, stock: StockKeeping) -> Result<OrderService> {
    let ports = Ports {
        store: Arc::new(PgOrderStore::new(pool.clone())),
        catalog: Arc::new(PgCatalog::new(pool.clone())),
        inventory: Arc::new(PgInventory::new(pool.clone())),
        payments: Arc::new(InstantGateway),
        customers: Arc::new(AuthenticatedCustomers),
        tax: Arc::new(demo_tax()),
        shipping: Arc::new(demo_shipping()),
        discounts: Arc::new(demo_coupons()),
        numbers: Arc::new(PgOrderNumbers::new(pool.clone(), NUMBER_BLOCK)),
        timer: Arc::new(TokioTimer),
        clock: Arc::new(SystemClock),
        ids: Arc::new(UuidV7Ids),
    };
    Ok(OrderService::new(
        ports,
        ServiceConfig {
            stock,
            ..ServiceConfig::default()
        },
    ))
}

// ---- workloads ----------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Workload {
    /// `place`, no idempotency key.
    Place,
    /// `place` with a fresh idempotency key.
    PlaceKeyed,
    /// place → pay → start processing → ship all → deliver.
    Lifecycle,
    /// The pre-fill mix: a third placed, a third paid, a third delivered.
    Seed,
}

async fn lifecycle(fixture: &Fixture, service: &OrderService, rng: &mut Rng) -> Result<()> {
    let actor = &fixture.actor;
    let order = service.place(fixture.request(rng)?, None, actor).await?;
    let id = order.id();
    service.pay(id, actor).await?;
    let order = service.start_processing(id, None, actor).await?;
    let lines = order
        .lines()
        .iter()
        .map(|l| LineQuantity {
            line_id: l.id,
            quantity: l.quantity,
        })
        .collect();
    let tracking =
        TrackingNumber::parse(&format!("1Z{:016}", rng.next() % 10_000_000_000_000_000))?;
    let order = service
        .ship(
            id,
            None,
            lines,
            Some(fixture.carrier.clone()),
            Some(tracking),
            actor,
        )
        .await?;
    let shipment = order
        .shipments()
        .last()
        .map(|s| s.id)
        .ok_or("ship recorded no shipment")?;
    let order = service.deliver(id, None, shipment, actor).await?;
    if order.status() != OrderStatus::Delivered || order.payment_status() != PaymentStatus::Paid {
        return Err(format!(
            "order {id} ended {} / {} after the lifecycle, not delivered / paid",
            order.status().as_str(),
            order.payment_status().as_str()
        )
        .into());
    }
    Ok(())
}

async fn run_one(
    fixture: &Fixture,
    service: &OrderService,
    workload: Workload,
    rng: &mut Rng,
) -> Result<()> {
    let actor = &fixture.actor;
    match workload {
        Workload::Place => {
            service.place(fixture.request(rng)?, None, actor).await?;
        }
        Workload::PlaceKeyed => {
            let key = IdempotencyKey::parse(&format!("bench-{}", Uuid::now_v7()))?;
            service
                .place(fixture.request(rng)?, Some(&key), actor)
                .await?;
        }
        Workload::Lifecycle => lifecycle(fixture, service, rng).await?,
        Workload::Seed => match rng.below(3) {
            0 => {
                service.place(fixture.request(rng)?, None, actor).await?;
            }
            1 => {
                let order = service.place(fixture.request(rng)?, None, actor).await?;
                service.pay(order.id(), actor).await?;
            }
            _ => lifecycle(fixture, service, rng).await?,
        },
    }
    Ok(())
}

/// One measured run.
#[derive(Debug, Clone, Default)]
struct Measured {
    ok: usize,
    errors: usize,
    first_error: Option<String>,
    elapsed: Duration,
    latency: Percentiles,
    /// CPU this process (the engine and sqlx) used per operation, in ms.
    client_cpu_ms: f64,
    /// How busy the whole machine was, in % of all CPUs.
    machine_busy: f64,
    /// Busy CPU time of the whole machine (bench, PostgreSQL, kernel, and
    /// whatever else runs) per operation, in ms.
    machine_cpu_ms: f64,
}

impl Measured {
    fn per_sec(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn cpu(&self) -> String {
        format!(
            "CPU/op {:.2} ms here, {:.2} ms machine ({:.0} % busy)",
            self.client_cpu_ms, self.machine_cpu_ms, self.machine_busy
        )
    }
}

/// Runs `total` operations on `concurrency` tasks, each taking the next
/// operation when it finishes one.
async fn drive(
    fixture: &Arc<Fixture>,
    service: &Arc<OrderService>,
    workload: Workload,
    concurrency: usize,
    total: usize,
    seed: u64,
) -> Result<Measured> {
    let next = Arc::new(AtomicUsize::new(0));
    let (cpu_before, (busy_before, total_before)) = (process_cpu(), machine_cpu());
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(concurrency);
    for task in 0..concurrency {
        let (fixture, service, next) = (fixture.clone(), service.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng::new(seed ^ (task as u64).wrapping_mul(0xA24B_AED4_963E_E407));
            let mut latencies = Vec::with_capacity(total / concurrency + 1);
            let mut errors = 0;
            let mut first_error = None;
            while next.fetch_add(1, Ordering::Relaxed) < total {
                let t = Instant::now();
                match run_one(&fixture, &service, workload, &mut rng).await {
                    Ok(()) => latencies.push(t.elapsed()),
                    Err(err) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| err.to_string());
                    }
                }
            }
            (latencies, errors, first_error)
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    let mut measured = Measured::default();
    for task in tasks {
        let (l, errors, first_error) = task.await?;
        latencies.extend(l);
        measured.errors += errors;
        if measured.first_error.is_none() {
            measured.first_error = first_error;
        }
    }
    measured.elapsed = started.elapsed();
    measured.ok = latencies.len();
    let (busy_after, total_after) = machine_cpu();
    measured.client_cpu_ms = (process_cpu() - cpu_before) * 1_000.0 / total.max(1) as f64;
    measured.machine_busy =
        (busy_after - busy_before) * 100.0 / (total_after - total_before).max(1e-9);
    measured.machine_cpu_ms = (busy_after - busy_before) * 1_000.0 / measured.ok.max(1) as f64;
    latencies.sort_unstable();
    measured.latency = Percentiles::of(&latencies);
    Ok(measured)
}

async fn checkpoint(pool: &PgPool) -> Result<()> {
    sqlx::query("checkpoint").execute(pool).await?;
    Ok(())
}

/// A checkpoint, an unmeasured warm-up at the same concurrency (every
/// connection prepares its statements), then the measured run.
async fn measure(
    pool: &PgPool,
    fixture: &Arc<Fixture>,
    service: &Arc<OrderService>,
    workload: Workload,
    concurrency: usize,
    total: usize,
    seed: u64,
) -> Result<Measured> {
    checkpoint(pool).await?;
    let warm = drive(
        fixture,
        service,
        workload,
        concurrency,
        (concurrency * 4).max(20),
        seed ^ 0x5555,
    )
    .await?;
    if warm.errors > 0 {
        eprintln!(
            "  warm-up: {} errors, first: {}",
            warm.errors,
            warm.first_error.as_deref().unwrap_or("?")
        );
    }
    let measured = drive(fixture, service, workload, concurrency, total, seed).await?;
    if measured.errors > 0 {
        eprintln!(
            "  {workload:?} at {concurrency}: {} errors, first: {}",
            measured.errors,
            measured.first_error.as_deref().unwrap_or("?")
        );
    }
    Ok(measured)
}

// ---- catalog, stock and pre-fill ----------------------------------------------

async fn stock_catalog(pool: &PgPool, products: &[Product]) -> Result<()> {
    let catalog = PgCatalog::new(pool.clone());
    let inventory = PgInventory::new(pool.clone());
    for product in products {
        catalog.upsert(product).await?;
        inventory.set_on_hand(&product.sku, ON_HAND).await?;
    }
    Ok(())
}

/// A UUID v7 for a timestamp, for the bulk copy (the engine reads back only
/// v7 ids for what it mints).
const UUID7_FN: &str = r"
create or replace function pg_temp.uuid7(ts timestamptz) returns uuid language sql volatile as $$
  select encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
           placing substring(int8send(floor(extract(epoch from ts) * 1000)::bigint) from 3) from 1 for 6),
         52, 1), 53, 1), 'hex')::uuid
$$";

/// Copies every order in the database `copies` times (as one transaction):
/// fresh ids and numbers, times shifted into the past, children re-pointed.
fn clone_script(copies: usize) -> String {
    format!(
        r"
create temp table m_ord as
  select o.id as old_id, c.k, c.k * interval '37 minutes' as shift,
         pg_temp.uuid7(o.created_at - c.k * interval '37 minutes') as new_id
  from orders o cross join generate_series(1, {copies}) as c(k);
create temp table m_line as
  select l.id as old_id, m.k, m.new_id as order_id, pg_temp.uuid7(o.created_at - m.shift) as new_id
  from order_lines l join orders o on o.id = l.order_id join m_ord m on m.old_id = l.order_id;
create temp table m_ship as
  select s.id as old_id, m.k, m.new_id as order_id, pg_temp.uuid7(s.shipped_at - m.shift) as new_id
  from shipments s join m_ord m on m.old_id = s.order_id;
insert into orders (id, number, customer_id, currency, status, payment_status, subtotal, discount, tax,
    shipping, total, shipping_address, billing_address, shipping_method, coupon_code, discount_rule, notes,
    pricing, reservation, payment_attempts, cancellation_reason, cancelled_by, version, created_at,
    updated_at, confirmed_at, cancelled_at, delivered_at, completed_at)
  select o.new_id, 'ORD-' || to_char(o.created_at - o.shift, 'YYYY') || '-'
           || lpad(o.n::text, greatest(6, length(o.n::text)), '0'),
         o.customer_id, o.currency, o.status, o.payment_status, o.subtotal, o.discount, o.tax,
         o.shipping, o.total, o.shipping_address, o.billing_address, o.shipping_method, o.coupon_code,
         o.discount_rule, o.notes, o.pricing, o.reservation, o.payment_attempts, o.cancellation_reason,
         o.cancelled_by, o.version, o.created_at - o.shift, o.updated_at - o.shift,
         o.confirmed_at - o.shift, o.cancelled_at - o.shift, o.delivered_at - o.shift,
         o.completed_at - o.shift
  from (select src.*, m.new_id, m.shift, nextval('order_number_seq') as n
        from orders src join m_ord m on m.old_id = src.id
        order by src.created_at - m.shift) o;
insert into order_lines (id, order_id, position, product_id, variant_id, sku, name, kind, tax_class,
    tax_rate, quantity, unit_price, subtotal, discount, tax, total, qty_ordered, qty_cancelled,
    qty_shipped, qty_delivered, qty_returned, qty_return_requested)
  select ml.new_id, ml.order_id, l.position, l.product_id, l.variant_id, l.sku, l.name, l.kind,
         l.tax_class, l.tax_rate, l.quantity, l.unit_price, l.subtotal, l.discount, l.tax, l.total,
         l.qty_ordered, l.qty_cancelled, l.qty_shipped, l.qty_delivered, l.qty_returned,
         l.qty_return_requested
  from order_lines l join m_line ml on ml.old_id = l.id;
insert into order_status_history (order_id, sequence, from_status, to_status, reason, actor, at)
  select m.new_id, h.sequence, h.from_status, h.to_status, h.reason, h.actor, h.at - m.shift
  from order_status_history h join m_ord m on m.old_id = h.order_id;
insert into payment_entries (id, order_id, position, kind, amount, reference, idempotency_key, reason,
    return_id, at)
  select pg_temp.uuid7(p.at - m.shift), m.new_id, p.position, p.kind, p.amount, p.reference,
         p.idempotency_key, p.reason, p.return_id, p.at - m.shift
  from payment_entries p join m_ord m on m.old_id = p.order_id;
insert into shipments (id, order_id, position, carrier, tracking_number, shipped_at, delivered_at)
  select ms.new_id, ms.order_id, s.position, s.carrier, s.tracking_number, s.shipped_at - m.shift,
         s.delivered_at - m.shift
  from shipments s join m_ship ms on ms.old_id = s.id join m_ord m on m.old_id = s.order_id and m.k = ms.k;
insert into shipment_lines (shipment_id, position, line_id, quantity)
  select ms.new_id, sl.position, ml.new_id, sl.quantity
  from shipment_lines sl join m_ship ms on ms.old_id = sl.shipment_id
       join m_line ml on ml.old_id = sl.line_id and ml.k = ms.k;
insert into outbox_events (id, order_id, sequence, event_type, occurred_at, actor, payload)
  select pg_temp.uuid7(e.occurred_at - m.shift), m.new_id, e.sequence, e.event_type,
         e.occurred_at - m.shift, e.actor, e.payload
  from outbox_events e join m_ord m on m.old_id = e.order_id;
drop table m_ord, m_line, m_ship;
"
    )
}

/// Gives every outbox event a position and marks it published, as a relay
/// would have by now.
const RELAYED: &str = "update outbox_events o set position = n.position, published_at = now()
    from (select id, nextval('outbox_position_seq') as position
          from (select id from outbox_events where position is null order by occurred_at, order_id, sequence) p) n
    where o.id = n.id";

async fn prefill(
    pool: &PgPool,
    fixture: &Arc<Fixture>,
    service: &Arc<OrderService>,
    settings: &Settings,
) -> Result<()> {
    if settings.prefill == 0 {
        println!("pre-fill: none (PREFILL=0)");
        return Ok(());
    }
    let started = Instant::now();
    let seeds = settings.prefill_seeds.min(settings.prefill);
    let seeded = drive(fixture, service, Workload::Seed, 8, seeds, 0x5EED).await?;
    if seeded.errors > 0 {
        return Err(format!(
            "pre-fill seeds failed {} times, first: {}",
            seeded.errors,
            seeded.first_error.unwrap_or_default()
        )
        .into());
    }
    let copies = settings.prefill.div_ceil(seeds).saturating_sub(1);
    let seeded_in = started.elapsed();
    if copies > 0 {
        let mut conn = pool.acquire().await?;
        sqlx::raw_sql(UUID7_FN).execute(&mut *conn).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "begin; {} commit;",
            clone_script(copies)
        )))
        .execute(&mut *conn)
        .await?;
        // A temp function belongs to this session: end it.
        conn.close_on_drop();
    }
    sqlx::query(RELAYED).execute(pool).await?;
    sqlx::query("vacuum analyze").execute(pool).await?;
    checkpoint(pool).await?;
    let row = sqlx::query(
        "select (select count(*) from orders) as orders, (select count(*) from order_lines) as lines,
                (select count(*) from order_status_history) as history,
                (select count(*) from outbox_events) as events,
                (select count(*) from payment_entries) as payments,
                pg_size_pretty(pg_database_size(current_database())) as size",
    )
    .fetch_one(pool)
    .await?;
    println!(
        "pre-fill: {} seed orders through the service ({:.1} s), copied ×{} in SQL; now {} orders, {} lines, \
         {} history rows, {} outbox events, {} payment entries, database {} ({:.1} s in all)",
        seeds,
        seeded_in.as_secs_f64(),
        copies + 1,
        row.try_get::<i64, _>("orders")?,
        row.try_get::<i64, _>("lines")?,
        row.try_get::<i64, _>("history")?,
        row.try_get::<i64, _>("events")?,
        row.try_get::<i64, _>("payments")?,
        row.try_get::<String, _>("size")?,
        started.elapsed().as_secs_f64(),
    );
    Ok(())
}

// ---- pgbench --------------------------------------------------------------------

/// Where psql and pgbench connect.
#[derive(Debug, Clone)]
struct Server {
    host: String,
    port: u16,
    user: String,
}

impl Server {
    fn from_url(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)?;
        Ok(Self {
            host: options.get_host().to_owned(),
            port: options.get_port(),
            user: options.get_username().to_owned(),
        })
    }

    fn args(&self) -> Vec<String> {
        vec![
            "-h".into(),
            self.host.clone(),
            "-p".into(),
            self.port.to_string(),
            "-U".into(),
            self.user.clone(),
        ]
    }
}

#[derive(Debug, Clone, Default)]
struct PgbenchResult {
    tps: f64,
    latency_avg_ms: f64,
    transactions: u64,
    failed: u64,
    latency: Option<Percentiles>,
    /// How busy the whole machine was during the run, in % of all CPUs.
    machine_busy: f64,
    /// Busy CPU time of the whole machine per transaction, in ms.
    machine_cpu_ms: f64,
}

fn run_tool(program: &str, args: &[String]) -> Result<String> {
    let output = Process::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{program} {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn psql(server: &Server, db: &str, extra: &[&str]) -> Result<()> {
    let mut args = server.args();
    args.extend(["-d".into(), db.to_owned(), "-q".into()]);
    args.extend(["-v".into(), "ON_ERROR_STOP=1".into()]);
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    run_tool("psql", &args).map(|_| ())
}

fn field_after(output: &str, prefix: &str) -> Option<f64> {
    output.lines().find_map(|line| {
        line.trim()
            .strip_prefix(prefix)?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    })
}

/// The README's steps for one concurrency level: schema, pre-fill, vacuum,
/// checkpoint, pgbench.
fn pgbench_level(settings: &Settings, server: &Server, clients: usize) -> Result<PgbenchResult> {
    let dir = &settings.sql_dir;
    let file = |name: &str| -> Result<String> {
        let path = dir.join(name);
        if !path.is_file() {
            return Err(format!("{} not found (set BENCH_SQL)", path.display()).into());
        }
        Ok(path.to_string_lossy().into_owned())
    };
    let db = settings.pgbench_db.as_str();
    let n = format!("n={}", settings.pgbench_prefill);
    psql(server, db, &["-f", &file("schema.sql")?])?;
    psql(server, db, &["-v", &n, "-f", &file("prefill.sql")?])?;
    psql(server, db, &["-c", "VACUUM ANALYZE", "-c", "CHECKPOINT"])?;

    let logs = std::env::temp_dir().join(format!(
        "placement-bench-pgbench-{}-{clients}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&logs);
    std::fs::create_dir_all(&logs)?;
    let mut args = server.args();
    args.extend(
        [
            "-n",
            "-M",
            "prepared",
            "-f",
            &file("place_order.sql")?,
            "-c",
            &clients.to_string(),
            "-j",
            &clients.min(2).to_string(),
            "-T",
            &settings.pgbench_secs.to_string(),
            "-l",
            &format!("--log-prefix={}", logs.join("log").display()),
            db,
        ]
        .map(str::to_owned),
    );
    let (busy_before, total_before) = machine_cpu();
    let output = run_tool("pgbench", &args)?;
    let (busy_after, total_after) = machine_cpu();
    let mut result = PgbenchResult {
        machine_busy: (busy_after - busy_before) * 100.0 / (total_after - total_before).max(1e-9),
        machine_cpu_ms: 0.0,
        tps: field_after(&output, "tps =").ok_or("pgbench printed no tps")?,
        latency_avg_ms: field_after(&output, "latency average =").unwrap_or(f64::NAN),
        transactions: field_after(&output, "number of transactions actually processed:")
            .unwrap_or(0.0) as u64,
        failed: field_after(&output, "number of failed transactions:").unwrap_or(0.0) as u64,
        latency: None,
    };
    result.machine_cpu_ms =
        (busy_after - busy_before) * 1_000.0 / result.transactions.max(1) as f64;
    // -l: "client transaction latency_us script epoch_s epoch_us" per line.
    let mut latencies = Vec::new();
    for entry in std::fs::read_dir(&logs)? {
        let text = std::fs::read_to_string(entry?.path())?;
        latencies.extend(text.lines().filter_map(|line| {
            let us: u64 = line.split_whitespace().nth(2)?.parse().ok()?;
            Some(Duration::from_micros(us))
        }));
    }
    let _ = std::fs::remove_dir_all(&logs);
    if !latencies.is_empty() {
        latencies.sort_unstable();
        result.latency = Some(Percentiles::of(&latencies));
    }
    Ok(result)
}

async fn ensure_database(admin: &mut PgConnection, name: &str) -> Result<()> {
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
            .bind(name)
            .fetch_one(&mut *admin)
            .await?;
    if !exists {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(r#"create database "{name}""#)))
            .execute(&mut *admin)
            .await?;
    }
    Ok(())
}

async fn drop_database(admin: &mut PgConnection, name: &str) -> Result<()> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        r#"drop database if exists "{name}" with (force)"#
    )))
    .execute(&mut *admin)
    .await?;
    Ok(())
}

// ---- what one place + pay costs -------------------------------------------------

/// One statement's counters in `pg_stat_statements` (or their change).
#[derive(Debug, Clone, Default)]
struct StatementStats {
    calls: i64,
    wal_records: i64,
    exec_ms: f64,
    query: String,
}

/// The statements and commits of `ops` operations in one window.
#[derive(Debug, Clone)]
struct Cost {
    label: String,
    ops: usize,
    commits: i64,
    /// Changes per statement, most called first; `None` without
    /// `pg_stat_statements`.
    statements: Option<Vec<StatementStats>>,
}

impl Cost {
    fn per_op(&self, n: f64) -> f64 {
        n / self.ops.max(1) as f64
    }

    fn calls(&self) -> Option<i64> {
        self.statements
            .as_ref()
            .map(|s| s.iter().map(|s| s.calls).sum())
    }

    fn exec_ms(&self) -> Option<f64> {
        self.statements
            .as_ref()
            .map(|s| s.iter().map(|s| s.exec_ms).sum::<f64>() + 0.0)
    }
}

type Snapshot = HashMap<i64, StatementStats>;

async fn statements_snapshot(reader: &mut PgConnection) -> Result<Snapshot> {
    let rows = sqlx::query(
        "select queryid, calls, wal_records, total_exec_time, query from pg_stat_statements
         where dbid = (select oid from pg_database where datname = current_database()) and queryid is not null",
    )
    .fetch_all(&mut *reader)
    .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get::<i64, _>("queryid")?,
                StatementStats {
                    calls: row.try_get("calls")?,
                    wal_records: row.try_get("wal_records")?,
                    exec_ms: row.try_get("total_exec_time")?,
                    query: row.try_get("query")?,
                },
            ))
        })
        .collect()
}

async fn xact_commit(admin: &mut PgConnection, db: &str) -> Result<i64> {
    Ok(
        sqlx::query_scalar("select xact_commit from pg_stat_database where datname = $1")
            .bind(db)
            .fetch_one(&mut *admin)
            .await?,
    )
}

/// A reader of `pg_stat_statements` in the database of `options`, with its
/// backend's pid; `None` when the library is not loaded.
async fn statements_reader(
    options: &PgConnectOptions,
    preloaded: bool,
) -> Result<Option<(PgConnection, i32)>> {
    if !preloaded {
        return Ok(None);
    }
    let mut conn = PgConnection::connect_with(options).await?;
    sqlx::query("create extension if not exists pg_stat_statements")
        .execute(&mut conn)
        .await?;
    let pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&mut conn)
        .await?;
    Ok(Some((conn, pid)))
}

/// Counts what `work` costs the idle database `db`. Every backend's pending
/// statistics are first given time to reach shared memory (PostgreSQL 15
/// flushes an idle backend's within 10 s); `work` must end by closing its
/// connections, which flushes theirs as the backends exit. Commits are read
/// from another database (`admin`), so reading them costs `db` nothing; the
/// reader's own queries are left out of the statements.
async fn cost_window(
    label: &str,
    db: &str,
    ops: usize,
    admin: &mut PgConnection,
    reader: &mut Option<(PgConnection, i32)>,
    work: impl AsyncFnOnce() -> Result<()>,
) -> Result<Cost> {
    let before = match reader.as_mut() {
        Some((r, _)) => Some(statements_snapshot(r).await?),
        None => None,
    };
    tokio::time::sleep(Duration::from_secs(11)).await;
    let commits_before = xact_commit(admin, db).await?;
    work().await?;
    let reader_pid = reader.as_ref().map_or(0, |(_, pid)| *pid);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let others: i64 = sqlx::query_scalar(
            "select count(*) from pg_stat_activity where datname = $1 and pid <> $2",
        )
        .bind(db)
        .bind(reader_pid)
        .fetch_one(&mut *admin)
        .await?;
        if others == 0 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let commits = xact_commit(admin, db).await? - commits_before;
    let statements = match (before, reader.as_mut()) {
        (Some(before), Some((r, _))) => {
            let mut changed: Vec<StatementStats> = statements_snapshot(r)
                .await?
                .into_iter()
                .filter_map(|(id, after)| {
                    let earlier = before.get(&id).cloned().unwrap_or_default();
                    let own = after.query.contains("pg_stat_statements");
                    (after.calls > earlier.calls && !own).then(|| StatementStats {
                        calls: after.calls - earlier.calls,
                        wal_records: after.wal_records - earlier.wal_records,
                        exec_ms: after.exec_ms - earlier.exec_ms,
                        query: after.query,
                    })
                })
                .collect();
            changed.sort_by(|a, b| b.calls.cmp(&a.calls).then(a.query.cmp(&b.query)));
            Some(changed)
        }
        _ => None,
    };
    Ok(Cost {
        label: label.to_owned(),
        ops,
        commits,
        statements,
    })
}

/// One place + pay, with or without an idempotency key.
async fn place_and_pay(
    fixture: &Fixture,
    service: &OrderService,
    keyed: bool,
    rng: &mut Rng,
) -> Result<()> {
    let actor = &fixture.actor;
    let request = fixture.request(rng)?;
    let order = if keyed {
        let key = IdempotencyKey::parse(&format!("bench-{}", Uuid::now_v7()))?;
        service.place(request, Some(&key), actor).await?
    } else {
        service.place(request, None, actor).await?
    };
    service.pay(order.id(), actor).await?;
    Ok(())
}

/// A statement's text, shortened to its shape.
fn shape(query: &str) -> String {
    let flat = query.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::new();
    for (i, c) in flat.chars().enumerate() {
        if i >= 100 {
            out.push('…');
            break;
        }
        out.push(c);
    }
    out
}

fn print_cost(cost: &Cost) {
    println!(
        "{:.2} commits, {} statements",
        cost.per_op(cost.commits as f64),
        cost.calls().map_or_else(
            || "n/a".to_owned(),
            |s| format!("{:.2}", cost.per_op(s as f64))
        )
    );
}

/// Vacuums and analyzes the database of `options` and checkpoints, so that
/// autovacuum has nothing left to do there during a counting window.
async fn settle(options: &PgConnectOptions) -> Result<()> {
    let mut conn = PgConnection::connect_with(options).await?;
    sqlx::query("vacuum analyze").execute(&mut conn).await?;
    sqlx::query("checkpoint").execute(&mut conn).await?;
    conn.close().await?;
    Ok(())
}

/// Counts on the bench database itself, once the levels are done (idle and
/// realistically sized, so the server's execution times compare with
/// pgbench's on its own pre-filled database).
async fn count_costs(
    settings: &Settings,
    server: &Server,
    admin: &mut PgConnection,
    fixture: &Fixture,
    options: &PgConnectOptions,
) -> Result<Vec<Cost>> {
    let libraries: String = sqlx::query_scalar("show shared_preload_libraries")
        .fetch_one(&mut *admin)
        .await?;
    let preloaded = libraries.contains("pg_stat_statements");
    if !preloaded {
        println!(
            "pg_stat_statements is not in shared_preload_libraries ({libraries:?}): statements are not counted. \
             Enable it with ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements' and a restart."
        );
    }
    let db = options.get_database().ok_or("no database name")?.to_owned();
    settle(options).await?;
    let mut reader = statements_reader(options, preloaded).await?;
    let ops = settings.count_ops;
    let mut costs = Vec::new();
    // What a window costs with no work at all: background noise (autovacuum
    // visiting the database, statistics flushed late).
    print!("counting an idle window … ");
    let idle = cost_window(
        "idle window (no work)",
        &db,
        ops,
        admin,
        &mut reader,
        async || Ok(()),
    )
    .await?;
    print_cost(&idle);
    costs.push(idle);
    let configs: &[(&str, StockKeeping, bool)] = &[
        ("store", StockKeeping::Store, false),
        ("inventory", StockKeeping::Inventory, false),
        ("store + idempotency key", StockKeeping::Store, true),
        ("inventory + idempotency key", StockKeeping::Inventory, true),
    ];
    for &(label, stock, keyed) in configs {
        if keyed && !settings.keyed {
            continue;
        }
        print!("counting one place + pay ({label}) over {ops} … ");
        // A pool of its own, warmed up (connections made, statements
        // prepared) before the window and closed at its end.
        // One connection: a second one opened inside the window would
        // count its start-up as a commit.
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        let service = service(&pool, stock)?;
        let mut rng = Rng::new(0xC0DE ^ ops as u64);
        for _ in 0..5 {
            place_and_pay(fixture, &service, keyed, &mut rng).await?;
        }
        let cost = cost_window(label, &db, ops, admin, &mut reader, async || {
            for _ in 0..ops {
                place_and_pay(fixture, &service, keyed, &mut rng).await?;
            }
            pool.close().await;
            Ok(())
        })
        .await?;
        print_cost(&cost);
        costs.push(cost);
    }
    if let Some((r, _)) = reader.take() {
        r.close().await?;
    }

    // The ceiling, counted the same way: `ops` runs of place_order.sql on
    // the pgbench database (one client, prepared statements).
    if !settings.skip_pgbench {
        let pg_options = options.clone().database(&settings.pgbench_db);
        settle(&pg_options).await?;
        let mut reader = statements_reader(&pg_options, preloaded).await?;
        let script = settings.sql_dir.join("place_order.sql");
        print!("counting pgbench place_order.sql over {ops} … ");
        let mut args = server.args();
        args.extend(
            [
                "-n",
                "-M",
                "prepared",
                "-f",
                &script.to_string_lossy(),
                "-c",
                "1",
                "-j",
                "1",
                "-t",
                &ops.to_string(),
                &settings.pgbench_db,
            ]
            .map(str::to_owned),
        );
        let cost = cost_window(
            "pgbench place_order.sql",
            &settings.pgbench_db,
            ops,
            admin,
            &mut reader,
            async || {
                tokio::task::spawn_blocking(move || run_tool("pgbench", &args)).await??;
                Ok(())
            },
        )
        .await?;
        print_cost(&cost);
        costs.push(cost);
        if let Some((r, _)) = reader.take() {
            r.close().await?;
        }
    }
    Ok(costs)
}

// ---- the run --------------------------------------------------------------------

#[derive(Debug, Clone, Default)]
struct Level {
    concurrency: usize,
    load_before: String,
    load_after: String,
    pgbench: Option<PgbenchResult>,
    place_store: Measured,
    place_inventory: Measured,
    place_keyed: Option<Measured>,
    life_store: Measured,
    life_inventory: Measured,
}

fn ratio(ours: f64, pgbench: Option<&PgbenchResult>) -> (String, &'static str) {
    match pgbench {
        Some(p) if p.tps > 0.0 => {
            let r = ours / p.tps * 100.0;
            (
                format!("{r:.0} %"),
                if r >= 70.0 { "met" } else { "missed" },
            )
        }
        _ => ("n/a".to_owned(), "n/a"),
    }
}

fn report(settings: &Settings, levels: &[Level], costs: &[Cost]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n== placements/s vs pgbench (target ≥ 70 % of pgbench tps), p50 / p95 / p99 in ms =="
    );
    let _ = writeln!(
        out,
        "| tasks | pgbench tps | pgbench p50/p95/p99 | pgbench machine CPU ms/txn | mode | placements/s | % of pgbench | target | p50/p95/p99 | bench CPU ms/op | machine CPU ms/op | machine busy | errors |"
    );
    let _ = writeln!(
        out,
        "|---:|---:|---|---:|---|---:|---:|---|---|---:|---:|---:|---:|"
    );
    for level in levels {
        let pg = level.pgbench.as_ref();
        let pg_tps = pg.map_or_else(|| "n/a".to_owned(), |p| format!("{:.0}", p.tps));
        let pg_lat = pg
            .and_then(|p| p.latency.as_ref())
            .map_or_else(|| "n/a".to_owned(), Percentiles::show);
        let pg_cpu = pg.map_or_else(|| "n/a".to_owned(), |p| format!("{:.2}", p.machine_cpu_ms));
        let mut rows = vec![
            ("store", &level.place_store),
            ("inventory", &level.place_inventory),
        ];
        if let Some(keyed) = &level.place_keyed {
            rows.push(("store + key", keyed));
        }
        for (mode, m) in rows {
            let (r, met) = ratio(m.per_sec(), pg);
            let _ = writeln!(
                out,
                "| {} | {pg_tps} | {pg_lat} | {pg_cpu} | {mode} | {:.0} | {r} | {met} | {} | {:.2} | {:.2} | {:.0} % | {} |",
                level.concurrency,
                m.per_sec(),
                m.latency.show(),
                m.client_cpu_ms,
                m.machine_cpu_ms,
                m.machine_busy,
                m.errors
            );
        }
    }
    let _ = writeln!(
        out,
        "\n== lifecycles/s: place → pay → start processing → ship (UPS) → deliver =="
    );
    let _ = writeln!(
        out,
        "| tasks | mode | lifecycles/s | p50/p95/p99 ms (whole lifecycle) | bench CPU ms/op | machine CPU ms/op | machine busy | errors |"
    );
    let _ = writeln!(out, "|---:|---|---:|---|---:|---:|---:|---:|");
    for level in levels {
        for (mode, m) in [
            ("store", &level.life_store),
            ("inventory", &level.life_inventory),
        ] {
            let _ = writeln!(
                out,
                "| {} | {mode} | {:.0} | {} | {:.2} | {:.2} | {:.0} % | {} |",
                level.concurrency,
                m.per_sec(),
                m.latency.show(),
                m.client_cpu_ms,
                m.machine_cpu_ms,
                m.machine_busy,
                m.errors
            );
        }
    }
    let _ = writeln!(out, "\n== pgbench detail ==");
    for level in levels {
        if let Some(p) = &level.pgbench {
            let _ = writeln!(
                out,
                "c={}: tps {:.1}, latency average {:.3} ms, {} transactions, {} failed, machine {:.0} % busy, {:.2} ms machine CPU per transaction",
                level.concurrency,
                p.tps,
                p.latency_avg_ms,
                p.transactions,
                p.failed,
                p.machine_busy,
                p.machine_cpu_ms
            );
        }
    }
    let _ = writeln!(out, "\n== load average (1/5/15 min) per level ==");
    for level in levels {
        let _ = writeln!(
            out,
            "c={}: before {}, after {}",
            level.concurrency, level.load_before, level.load_after
        );
    }
    if !costs.is_empty() {
        let _ = writeln!(
            out,
            "\n== one place + pay: database cost on an idle database (target ≤ 12 statements, ≤ 2 commits) =="
        );
        let _ = writeln!(
            out,
            "| what | runs | commits/op | statements/op | WAL records/op | server exec ms/op | statements | commits |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---|---|");
        for c in costs {
            let commits = c.per_op(c.commits as f64);
            let statements = c.calls().map(|s| c.per_op(s as f64));
            let wal = c
                .statements
                .as_ref()
                .map(|s| c.per_op(s.iter().map(|s| s.wal_records).sum::<i64>() as f64));
            let na = || "n/a".to_owned();
            let _ = writeln!(
                out,
                "| {} | {} | {commits:.2} | {} | {} | {} | {} | {} |",
                c.label,
                c.ops,
                statements.map_or_else(na, |s| format!("{s:.2}")),
                wal.map_or_else(na, |w| format!("{w:.1}")),
                c.exec_ms()
                    .map_or_else(na, |e| format!("{:.3}", c.per_op(e))),
                if c.ops == 0 || c.label.starts_with("idle") {
                    "–"
                } else {
                    statements.map_or("n/a", |s| if s <= 12.0 { "met" } else { "missed" })
                },
                if c.label.starts_with("idle") {
                    "–"
                } else if commits <= 2.0 {
                    "met"
                } else {
                    "missed"
                },
            );
        }
        for c in costs {
            let Some(statements) = &c.statements else {
                continue;
            };
            let _ = writeln!(
                out,
                "\n{}: per run, calls | WAL records | mean exec ms | statement",
                c.label
            );
            for s in statements {
                let _ = writeln!(
                    out,
                    "  {:>5.2} | {:>6.1} | {:>6.3} | {}",
                    c.per_op(s.calls as f64),
                    c.per_op(s.wal_records as f64),
                    s.exec_ms / s.calls.max(1) as f64,
                    shape(&s.query)
                );
            }
        }
    }
    let _ = writeln!(
        out,
        "\n(placements {} and lifecycles {} per level and mode; pgbench -T {} with {} pre-filled orders)",
        settings.placements, settings.lifecycles, settings.pgbench_secs, settings.pgbench_prefill
    );
    out
}

async fn run() -> Result<()> {
    let settings = Settings::from_env();
    let started = Instant::now();
    let Some(pool) = fresh_pool().await else {
        return Err("no PostgreSQL server: set DATABASE_URL".into());
    };
    let url = server_url().ok_or("no PostgreSQL server URL")?;
    let server = Server::from_url(&url)?;
    let mut admin = PgConnection::connect(&url).await?;
    let version: String = sqlx::query_scalar("show server_version")
        .fetch_one(&mut admin)
        .await?;
    let bench_db = pool
        .connect_options()
        .get_database()
        .unwrap_or("?")
        .to_owned();
    println!(
        "placement bench: PostgreSQL {version} at {}:{}, database {bench_db}; {} CPUs; load {}; {}",
        server.host,
        server.port,
        std::thread::available_parallelism().map_or(0, usize::from),
        load_average(),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
    );

    if settings.explain {
        // Diagnostics: connections opened from now on log every statement's
        // plan with timings and buffers (the server log), RI checks included.
        for set in [
            "session_preload_libraries = 'auto_explain'",
            "auto_explain.log_min_duration = 0",
            "auto_explain.log_analyze = on",
            "auto_explain.log_buffers = on",
            "auto_explain.log_triggers = on",
            "auto_explain.log_nested_statements = on",
        ] {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                r#"alter database "{bench_db}" set {set}"#
            )))
            .execute(&mut admin)
            .await?;
        }
        println!("EXPLAIN=1: plans of new connections go to the server log");
    }
    let fixture = Arc::new(Fixture::new(catalog(settings.products)?)?);
    stock_catalog(&pool, &fixture.products).await?;
    let store_mode = Arc::new(service(&pool, StockKeeping::Store)?);
    let inventory_mode = Arc::new(service(&pool, StockKeeping::Inventory)?);
    prefill(&pool, &fixture, &store_mode, &settings).await?;

    if !settings.skip_pgbench {
        ensure_database(&mut admin, &settings.pgbench_db).await?;
    }
    let mut levels = Vec::new();
    for (round, &c) in settings.levels.iter().enumerate() {
        let mut level = Level {
            concurrency: c,
            load_before: load_average(),
            ..Level::default()
        };
        let seed = 0x1000 * (round as u64 + 1);
        if !settings.skip_pgbench {
            let (s, srv) = (settings.clone(), server.clone());
            let p = tokio::task::spawn_blocking(move || pgbench_level(&s, &srv, c)).await??;
            println!(
                "c={c:>2} pgbench: {:.0} tps, p50/p95/p99 {} ms; CPU/txn {:.2} ms machine ({:.0} % busy)",
                p.tps,
                p.latency
                    .as_ref()
                    .map_or_else(|| "n/a".to_owned(), Percentiles::show),
                p.machine_cpu_ms,
                p.machine_busy
            );
            level.pgbench = Some(p);
        }
        let total = settings.placements;
        level.place_store = measure(
            &pool,
            &fixture,
            &store_mode,
            Workload::Place,
            c,
            total,
            seed,
        )
        .await?;
        println!(
            "c={c:>2} place (store):     {:>6.0}/s, p50/p95/p99 {} ms; {}",
            level.place_store.per_sec(),
            level.place_store.latency.show(),
            level.place_store.cpu()
        );
        level.place_inventory = measure(
            &pool,
            &fixture,
            &inventory_mode,
            Workload::Place,
            c,
            total,
            seed + 1,
        )
        .await?;
        println!(
            "c={c:>2} place (inventory): {:>6.0}/s, p50/p95/p99 {} ms; {}",
            level.place_inventory.per_sec(),
            level.place_inventory.latency.show(),
            level.place_inventory.cpu()
        );
        if settings.keyed {
            let keyed = measure(
                &pool,
                &fixture,
                &store_mode,
                Workload::PlaceKeyed,
                c,
                total,
                seed + 2,
            )
            .await?;
            println!(
                "c={c:>2} place (store+key): {:>6.0}/s, p50/p95/p99 {} ms; {}",
                keyed.per_sec(),
                keyed.latency.show(),
                keyed.cpu()
            );
            level.place_keyed = Some(keyed);
        }
        let lifecycles = settings.lifecycles;
        level.life_store = measure(
            &pool,
            &fixture,
            &store_mode,
            Workload::Lifecycle,
            c,
            lifecycles,
            seed + 3,
        )
        .await?;
        println!(
            "c={c:>2} lifecycle (store):     {:>6.0}/s, p50/p95/p99 {} ms; {}",
            level.life_store.per_sec(),
            level.life_store.latency.show(),
            level.life_store.cpu()
        );
        level.life_inventory = measure(
            &pool,
            &fixture,
            &inventory_mode,
            Workload::Lifecycle,
            c,
            lifecycles,
            seed + 4,
        )
        .await?;
        println!(
            "c={c:>2} lifecycle (inventory): {:>6.0}/s, p50/p95/p99 {} ms; {}",
            level.life_inventory.per_sec(),
            level.life_inventory.latency.show(),
            level.life_inventory.cpu()
        );
        level.load_after = load_average();
        levels.push(level);
    }
    let options = (*pool.connect_options()).clone();
    pool.close().await;

    let costs = if settings.skip_count {
        Vec::new()
    } else {
        count_costs(&settings, &server, &mut admin, &fixture, &options).await?
    };

    if !settings.keep_db {
        drop_database(&mut admin, &bench_db).await?;
        if !settings.skip_pgbench {
            drop_database(&mut admin, &settings.pgbench_db).await?;
        }
    }
    admin.close().await?;
    print!("{}", report(&settings, &levels, &costs));
    println!(
        "whole run: {:.0} s; load average at the end {}",
        started.elapsed().as_secs_f64(),
        load_average()
    );
    Ok(())
}

#[tokio::main]
async fn main() {
    if let Err(err) = run().await {
        eprintln!("placement bench failed: {err}");
        std::process::exit(1);
    }
}
