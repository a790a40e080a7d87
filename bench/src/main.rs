//! # order-bench: the load tool
//!
//! One run on the local PostgreSQL measures, side by side and at each
//! concurrency (1, 8 and 32 connections by default):
//!
//! - **pgbench** running the repository's own placement script
//!   (`bench/sql/place.sql`: 1 order, 3 lines, 1 status-history row and 1
//!   outbox event in one transaction) on its own pre-filled tables: the
//!   ceiling;
//! - **the engine in-process** (`OrderService` on `PgOrderStore`, composed
//!   as the binary composes it), placing orders, and placing and paying;
//! - **the release `order-http` binary**, started with production settings,
//!   driven by a lean HTTP/1.1 keep-alive client, placing, and placing and
//!   paying.
//!
//! It reports throughput, p50/p95/p99, CPU per operation of the client, the
//! service and the PostgreSQL backends (from `/proc`), the database's
//! statements, round trips, commits, WAL and table reads per operation
//! (counted one operation at a time through a counting proxy), the
//! server's peak RSS, and listing latency as the table grows, with the
//! targets of issue 9 met or missed. The report is Markdown: printed, and
//! with `--write-doc docs/benchmarks.md` put between that file's markers.
//!
//! ```text
//! cargo build --release -p order-http -p order-bench
//! target/release/order-bench --write-doc docs/benchmarks.md
//! ```
//!
//! `pgbench` must be on `PATH`, and PostgreSQL must run on this machine
//! (its backends' CPU is read from `/proc`). The tool creates and drops its
//! own databases (`order_bench_service`, `order_bench_pgbench`).

mod db;
mod delivery;
mod engine;
mod http;
mod load;
mod pgbench;
mod procfs;
mod proxy;
mod report;
mod server;
mod stats;
mod symbol_order;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use sqlx::PgConnection;

use crate::db::{Counters, DbUrl, WalReader};
use crate::engine::{Engine, Pay};
use crate::load::{Limit, Meters, Op, OrderRequest, Rng, Shop, Usage, drive};
use crate::pgbench::{Length, Pgbench};
use crate::procfs::PgCpu;
use crate::proxy::Proxy;
use crate::report::{Backlog, Cost, Listing, Micro, Phase, Report, Soak, System, Workload};
use crate::server::{Call, HttpOp, Launch, Requests, Server};
use crate::stats::{Percentiles, thousands};

type Error = Box<dyn std::error::Error + Send + Sync>;
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

/// The order requests cycled through (each worker starts elsewhere in them).
const REQUESTS: usize = 4_096;
/// Orders of the customer whose listing is timed.
const LISTED_ORDERS: usize = 20;
/// Workers of the pre-fill.
const PREFILL_WORKERS: usize = 8;

/// Measures pgbench, the engine in-process and the `order-http` binary on
/// the local PostgreSQL, side by side, and reports in Markdown.
#[derive(Debug, Clone, Parser)]
#[command(name = "order-bench", version)]
struct Args {
    /// The PostgreSQL server (any database on it; the tool creates its own).
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    database_url: String,

    /// Concurrency levels: connections (HTTP, pgbench) or tasks (engine).
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    levels: Vec<usize>,

    /// Seconds each phase is measured.
    #[arg(long, default_value_t = 20)]
    secs: u64,

    /// Unmeasured seconds before each engine and HTTP phase.
    #[arg(long, default_value_t = 2)]
    warmup_secs: u64,

    /// Products in the catalog (3 distinct ones per order).
    #[arg(long, default_value_t = 1_000)]
    products: usize,

    /// Orders pre-filled before anything is measured (half of them paid);
    /// pgbench's tables get as many.
    #[arg(long, default_value_t = 30_000)]
    orders: usize,

    /// Customers placing orders (a token each).
    #[arg(long, default_value_t = 200)]
    customers: usize,

    /// Operations per counted window (statements, commits, WAL) and per
    /// listing measurement.
    #[arg(long, default_value_t = 200)]
    count: usize,

    /// Seconds to wait for PostgreSQL's statistics to settle around a
    /// counted window (backends report idle statistics after 10 s).
    #[arg(long, default_value_t = 11)]
    settle_secs: u64,

    /// Threads of the tool's runtime (the HTTP client, the engine) and most
    /// pgbench threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,

    /// Also place and pay this many orders at 8 connections, sampling the
    /// server's RSS (10⁶ for the memory target).
    #[arg(long, default_value_t = 0)]
    soak_flows: usize,

    /// After the load phases, grow the service's orders table to this many
    /// orders by SQL copies of other customers' orders and time the listing
    /// again (10⁶ for the listing target; quicker than pre-filling as many
    /// through the engine).
    #[arg(long, default_value_t = 0)]
    listing_orders: usize,

    /// The `order-http` binary [default: `release/order-http` in this
    /// tool's target directory].
    #[arg(long)]
    server_bin: Option<PathBuf>,

    /// Put the report between the `<!-- order-bench:begin/end -->` markers
    /// of this file (e.g. docs/benchmarks.md).
    #[arg(long)]
    write_doc: Option<PathBuf>,

    /// Keep the databases at the end.
    #[arg(long)]
    keep_databases: bool,

    /// Run the service under valgrind's callgrind and write the functions
    /// of the binary it executed, busiest first, to this file
    /// (`order-http/link/symbol-order.txt`, by which the release build lays
    /// out its code; ADR 0014). Valgrind slows the service some fifty-fold,
    /// so the run's figures are not measurements: a short run is enough
    /// (`--levels 1,8 --secs 5 --count 5 --settle-secs 1 --orders 1000`).
    #[arg(long)]
    symbol_order: Option<PathBuf>,
}

fn main() {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .thread_name(load::WORKER_THREAD)
        .enable_all()
        .build();
    let outcome = match runtime {
        Ok(runtime) => runtime.block_on(run(&args)),
        Err(e) => Err(e.into()),
    };
    match outcome {
        Ok(report) => {
            let section = report.markdown();
            println!("{section}");
            if let Some(path) = &args.write_doc {
                match report::write_between_markers(path, &section) {
                    Ok(()) => say(&format!("report written to {}", path.display())),
                    Err(e) => {
                        eprintln!("order-bench: {e}");
                        std::process::exit(1);
                    }
                }
            }
        }
        Err(e) => {
            eprintln!("order-bench: {e}");
            std::process::exit(1);
        }
    }
}

/// Progress, on stderr (the report goes to stdout).
fn say(what: &str) {
    eprintln!("[{}] {what}", chrono::Utc::now().format("%H:%M:%S"));
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// `release/order-http` beside this tool's profile directory.
fn default_server_bin() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("release").join("order-http")))
        .unwrap_or_else(|| repository().join("target/release/order-http"))
}

/// What the run needs, set up once.
struct Bench {
    args: Args,
    admin: PgConnection,
    service: DbUrl,
    pgbench_url: DbUrl,
    postgres: PgCpu,
    shop: Shop,
    orders: Vec<OrderRequest>,
    launch: Launch,
    work: PathBuf,
}

#[allow(clippy::too_many_lines)]
async fn run(args: &Args) -> Result<Report> {
    let url = DbUrl::parse(&args.database_url)?;
    if !(1..=1_000).contains(&args.products) || args.customers == 0 {
        return Err("--products must be 1–1,000, --customers at least 1".into());
    }
    let mut admin = db::connect(&url).await?;
    let backend: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&mut admin)
        .await?;
    let postgres = PgCpu::start(u32::try_from(backend)?)?;
    let mut report = Report {
        command: std::env::args()
            .map(|a| {
                if a.starts_with("postgres") {
                    "…".into()
                } else {
                    a
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
        ..Report::default()
    };
    report.machine = machine(&mut admin).await?;

    let work = std::env::temp_dir().join(format!("order-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    // Customer 0 only lists; the others place the orders.
    let shop = Shop::new(args.products, args.customers + 1);
    let catalog_file = work.join("catalog.toml");
    std::fs::write(&catalog_file, shop.catalog_file())?;
    let service = url.database("order_bench_service");
    let pgbench_url = url.database("order_bench_pgbench");
    db::recreate(&mut admin, &service.database).await?;
    db::recreate(&mut admin, &pgbench_url.database).await?;
    let launch = Launch {
        binary: args.server_bin.clone().unwrap_or_else(default_server_bin),
        database_url: service.render(),
        policy_file: repository().join("config/sample.toml"),
        catalog_file,
        quiet: false,
        callgrind: args.symbol_order.as_ref().map(|_| work.join("callgrind")),
    };
    if let Some(dir) = &launch.callgrind {
        std::fs::create_dir_all(dir)?;
        report.setup.push(
            "**The service ran under callgrind (`--symbol-order`): its figures are not \
             measurements.**"
                .to_owned(),
        );
    }
    report.setup.push(format!(
        "Service: `{}` (built {}), `ORDER_PAYMENTS=simulated`, `ORDER_CONFIG=config/sample.toml`, \
         a generated `ORDER_SEED_CATALOG`, `ORDER_JWT_SECRET`, `RUST_LOG=warn`, other settings default \
         (16 database connections, 30 s sweep, the outbox relay every 100 ms to the log \
         publisher); the engine in-process is composed by `order_http::compose::build` with the \
         same settings",
        launch.binary.display(),
        modified(&launch.binary)
    ));
    let mut bench = Bench {
        args: args.clone(),
        admin,
        orders: shop.orders(REQUESTS, 0x0DE5),
        service,
        pgbench_url,
        postgres,
        shop,
        launch,
        work,
    };
    let mut result = measure_all(&mut bench, &mut report).await;
    if let (Ok(()), Some(file), Some(dir)) = (&result, &args.symbol_order, &bench.launch.callgrind)
    {
        result = symbol_order::write(dir, &bench.launch.binary, file).map(|functions| {
            say(&format!(
                "{functions} functions of the service, busiest first, written to {}",
                file.display()
            ));
        });
    }
    if !args.keep_databases {
        for name in [&bench.service.database, &bench.pgbench_url.database] {
            if let Err(e) = db::drop_database(&mut bench.admin, name).await {
                say(&format!("cannot drop {name}: {e}"));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&bench.work);
    result?;
    if let Some(line) = report
        .machine
        .iter_mut()
        .find(|l| l.starts_with("Load average"))
    {
        line.push_str(&format!("; {} at the end", load_average()));
    }
    report.micro = micro_benchmarks();
    Ok(report)
}

#[allow(clippy::too_many_lines)]
async fn measure_all(bench: &mut Bench, report: &mut Report) -> Result<()> {
    let args = bench.args.clone();
    say("starting order-http (it migrates its database and loads the catalog)");
    let server = Server::start(&bench.launch)?;
    report.rss_at_start_kib = server.rss_kib();
    say(&format!(
        "minting {} customer tokens with `order-http token`",
        bench.shop.customers.len()
    ));
    let tokens = bench
        .shop
        .customers
        .iter()
        .map(|c| server::mint(&bench.launch.binary, "customer", &c.to_string()))
        .collect::<Result<Vec<_>>>()?;
    let policy = bench.launch.policy_file.clone();
    let engine = Engine::build(&bench.service, &policy, 16, &bench.shop, &bench.orders).await?;

    // The pre-fill: the listed customer's orders, then everyone's.
    let started = Instant::now();
    let mut rng = Rng::new(0x1157);
    let listed: Vec<OrderRequest> = (0..LISTED_ORDERS)
        .map(|_| bench.shop.order_for(0, &mut rng))
        .collect();
    let listed_engine = engine.with_requests(&bench.shop, &listed)?;
    prefill(&listed_engine, 1, LISTED_ORDERS).await?;
    let list_request = http::request("GET", "/api/v1/orders", server.addr, &tokens[0], None);
    let all_tokens = tokens.clone();
    let requests = Arc::new(Requests::new(server.addr, &bench.orders, tokens));
    let small = 1_000.min(args.orders).max(LISTED_ORDERS);
    say(&format!(
        "pre-filling {} orders through the engine",
        thousands(args.orders as u64)
    ));
    prefill(&engine, PREFILL_WORKERS, small - LISTED_ORDERS).await?;
    report
        .listings
        .push(listing(&requests, &list_request, small, args.count).await?);
    prefill(&engine, PREFILL_WORKERS, args.orders.saturating_sub(small)).await?;
    db::vacuum(&bench.service).await?;
    let filled = args.orders.max(small);
    report
        .listings
        .push(listing(&requests, &list_request, filled, args.count).await?);
    let prefill_secs = started.elapsed().as_secs();
    say("pre-filling pgbench's tables");
    {
        let mut conn = db::connect(&bench.pgbench_url).await?;
        pgbench::prepare(&mut conn, args.orders, args.customers, args.products).await?;
    }
    db::vacuum(&bench.pgbench_url).await?;
    report.setup.push(format!(
        "Data: {} products (3 distinct per order, 1–5 units each), {} customers, {} orders pre-filled \
         through the engine in {prefill_secs} s (every other one paid), then `VACUUM ANALYZE`; pgbench's \
         tables pre-filled with as many orders. Both grow during the run.",
        thousands(args.products as u64),
        thousands(args.customers as u64),
        thousands(filled as u64),
    ));
    report.setup.push(format!(
        "Each phase: `CHECKPOINT`, {} s unmeasured warm-up (not pgbench), {} s measured; pgbench runs \
         `-n -M prepared -c C -j min(C, {})`, the HTTP client and the engine share a runtime of {} threads.",
        args.warmup_secs, args.secs, args.threads, args.threads
    ));

    let pgbench = Pgbench::new(&bench.work, args.customers, args.products)?;
    let service_meters = Meters {
        postgres: bench.postgres.clone(),
        database: bench.service.database.clone(),
        server: Some(server.pid),
    };
    let engine_meters = Meters {
        server: None,
        ..service_meters.clone()
    };
    let pgbench_meters = Meters {
        postgres: bench.postgres.clone(),
        database: bench.pgbench_url.database.clone(),
        server: None,
    };
    let (warmup, secs) = (
        Duration::from_secs(args.warmup_secs),
        Duration::from_secs(args.secs),
    );
    for &conns in &args.levels {
        say(&format!("{conns} connection(s): pgbench"));
        checkpoint(&mut bench.admin).await?;
        let before = Usage::read(&pgbench_meters);
        let outcome = pgbench.run(
            &bench.pgbench_url,
            conns,
            args.threads,
            Length::Seconds(args.secs),
        )?;
        let usage = Usage::read(&pgbench_meters).since(&before);
        let mut latencies = outcome.latencies;
        report.phases.push(Phase {
            system: System::Pgbench,
            workload: Workload::Place,
            conns,
            ops: outcome.transactions,
            errors: outcome.failed,
            first_error: None,
            per_sec: outcome.tps,
            latency: Percentiles::of(&mut latencies),
            usage,
            rss_kib: None,
            delivery: None,
        });
        for (workload, pay) in [
            (Workload::Place, Pay::Never),
            (Workload::PlaceAndPay, Pay::Always),
        ] {
            say(&format!("{conns} connection(s): engine, {workload:?}"));
            checkpoint(&mut bench.admin).await?;
            let workers = engine.workers(conns, pay);
            let (run, usage) = measured(workers, &engine_meters, warmup, secs).await?;
            report
                .phases
                .push(Phase::of_run(System::Engine, workload, conns, &run, usage));
        }
        for (workload, call) in [
            (Workload::Place, Call::Place),
            (Workload::PlaceAndPay, Call::PlaceAndPay),
        ] {
            say(&format!("{conns} connection(s): HTTP, {workload:?}"));
            checkpoint(&mut bench.admin).await?;
            let workers = HttpOp::open(&requests, &call, conns).await?;
            // The engine's phases wrote events the server's relay publishes:
            // their delay is not this phase's.
            work_off_outbox(&bench.service, chrono::Utc::now(), Duration::from_secs(60)).await?;
            let delivered_before = delivery::scrape(server.addr).await?;
            let (run, usage) = measured(workers, &service_meters, warmup, secs).await?;
            // The relay publishes what the phase's last requests committed.
            tokio::time::sleep(Duration::from_secs(1)).await;
            let delivered = delivery::scrape(server.addr)
                .await?
                .since(&delivered_before);
            report.flows_served += run.ok() + run.errors;
            let mut phase = Phase::of_run(System::Http, workload, conns, &run, usage);
            phase.rss_kib = server.rss_kib();
            phase.delivery = Some(delivered);
            report.phases.push(phase);
        }
    }
    // The soak's peak is its own: the phases before it (32 connections at
    // once) are not the steady state it measures.
    let peak_before_soak = server.peak_rss_kib();
    if args.soak_flows > 0 {
        say(&format!(
            "soak: {} place + pay flows",
            thousands(args.soak_flows as u64)
        ));
        report.soak = Some(soak(&server, &requests, args.soak_flows).await?);
        report.flows_served += args.soak_flows;
    }
    if args.listing_orders > filled {
        say(&format!(
            "growing the orders table to {} orders by SQL copies",
            thousands(args.listing_orders as u64)
        ));
        let orders =
            db::pad_orders(&bench.service, bench.shop.customers[0], args.listing_orders).await?;
        db::vacuum(&bench.service).await?;
        let mut padded = listing(&requests, &list_request, orders, args.count).await?;
        padded.copied = true;
        report.listings.push(padded);
    }
    report.peak_rss_kib = server.peak_rss_kib().max(peak_before_soak);
    say("stopping order-http");
    report.stopped = Some(server.stop()?);

    say("counting the database's work per operation");
    let (costs, backlog) = costs(bench, &all_tokens).await?;
    report.costs = costs;
    report.backlog = Some(backlog);
    Ok(())
}

/// Runs `count` placements (every other one paid) on `workers` workers.
async fn prefill(engine: &Engine, workers: usize, count: usize) -> Result<()> {
    if count == 0 {
        return Ok(());
    }
    let (_, run) = drive(
        engine.workers(workers, Pay::EveryOther),
        Limit::Count(count),
    )
    .await?;
    if run.errors > 0 {
        return Err(format!(
            "the pre-fill failed {} times, first: {}",
            run.errors,
            run.first_error.unwrap_or_default()
        )
        .into());
    }
    Ok(())
}

/// A warm-up, then the measured run with its CPU.
async fn measured<O: Op>(
    workers: Vec<O>,
    meters: &Meters,
    warmup: Duration,
    secs: Duration,
) -> Result<(load::Run, Usage)> {
    let (workers, _) = drive(workers, Limit::For(warmup)).await?;
    let before = Usage::read(meters);
    let (_, run) = drive(workers, Limit::For(secs)).await?;
    Ok((run, Usage::read(meters).since(&before)))
}

async fn listing(
    requests: &Arc<Requests>,
    list_request: &[u8],
    orders_in_table: usize,
    count: usize,
) -> Result<Listing> {
    let workers = HttpOp::open(requests, &Call::Get(list_request.to_vec()), 1).await?;
    let (workers, _) = drive(workers, Limit::Count(count / 10 + 1)).await?;
    let (_, run) = drive(workers, Limit::Count(count)).await?;
    Ok(Listing {
        orders_in_table,
        copied: false,
        requests: run.ok(),
        errors: run.errors,
        latency: run.percentiles(),
    })
}

async fn soak(server: &Server, requests: &Arc<Requests>, flows: usize) -> Result<Soak> {
    let mut soak = Soak::default();
    let mut workers = HttpOp::open(requests, &Call::PlaceAndPay, 8).await?;
    let steps = 20;
    let mut done = 0;
    server.reset_peak_rss()?;
    soak.samples.push((0, server.rss_kib().unwrap_or_default()));
    for step in 1..=steps {
        let target = flows * step / steps;
        let (back, run) = drive(workers, Limit::Count(target - done)).await?;
        workers = back;
        soak.errors += run.errors;
        soak.elapsed += run.elapsed;
        done = target;
        soak.samples
            .push((done, server.rss_kib().unwrap_or_default()));
    }
    soak.peak_kib = server.peak_rss_kib().unwrap_or_default();
    Ok(soak)
}

async fn checkpoint(admin: &mut PgConnection) -> Result<()> {
    db::execute(admin, "checkpoint").await
}

/// The counted windows: each subject runs `count` operations on one
/// connection through the counting proxy, between settled statistics.
async fn costs(bench: &mut Bench, tokens: &[String]) -> Result<(Vec<Cost>, Backlog)> {
    let args = bench.args.clone();
    let proxy = Proxy::start((bench.service.host.clone(), bench.service.port)).await?;
    let counted_engine = Engine::build(
        &bench.service.via_proxy(proxy.port),
        &bench.launch.policy_file,
        16,
        &bench.shop,
        &bench.orders,
    )
    .await?;
    let load_ended = chrono::Utc::now();
    let counted_server = Server::start(&Launch {
        database_url: bench.service.via_proxy(proxy.port).render(),
        quiet: true,
        ..bench.launch.clone()
    })?;
    // The counted server's relay publishes what the load left at start;
    // it would otherwise do so inside the windows.
    let backlog = work_off_outbox(&bench.service, load_ended, Duration::from_secs(600)).await?;
    db::vacuum(&bench.service).await?;
    let requests = Arc::new(Requests::new(
        counted_server.addr,
        &bench.orders,
        tokens.to_vec(),
    ));
    let pgbench = Pgbench::new(&bench.work, args.customers, args.products)?;
    let mut wal = WalReader::open(&bench.pgbench_url).await?;
    let count = args.count;
    // A checkpoint, then every subject warmed up (pools, prepared
    // statements, and the full-page images of the pages each one writes
    // first after a checkpoint), outside the windows.
    checkpoint(&mut bench.admin).await?;
    let warmup = (count / 10).max(10);
    pgbench.run(
        &bench.pgbench_url.via_proxy(proxy.port),
        1,
        1,
        Length::Transactions(warmup),
    )?;
    // The engine and the service keep the catalog in memory: placing twice
    // as many orders as there are products fills it (each order names 3),
    // so the windows count what a placement costs once it is warm.
    let fill = Limit::Count(2 * args.products);
    drive(counted_engine.workers(1, Pay::Never), fill).await?;
    drive(counted_engine.workers(1, Pay::Always), Limit::Count(warmup)).await?;
    drive(HttpOp::open(&requests, &Call::Place, 1).await?, fill).await?;
    drive(
        HttpOp::open(&requests, &Call::PlaceAndPay, 1).await?,
        Limit::Count(warmup),
    )
    .await?;
    let settle = Duration::from_secs(args.settle_secs);
    let mut costs = Vec::new();
    let mut settled = false;
    for label in [
        "pgbench `place.sql`",
        "engine: place",
        "engine: place + pay",
        "HTTP: place",
        "HTTP: place + pay",
    ] {
        let database = if label.starts_with("pgbench") {
            bench.pgbench_url.clone()
        } else {
            bench.service.clone()
        };
        let mut inside = db::connect(&database).await?;
        if !settled {
            tokio::time::sleep(settle).await;
        }
        let before = Counters::read(&mut bench.admin, &mut inside, &database.database).await?;
        let wire_before = proxy.tally();
        let wal_from = wal.position().await?;
        let (ops, errors) = match label {
            "engine: place" => counted(counted_engine.workers(1, Pay::Never), count).await?,
            "engine: place + pay" => counted(counted_engine.workers(1, Pay::Always), count).await?,
            "HTTP: place" => {
                counted(HttpOp::open(&requests, &Call::Place, 1).await?, count).await?
            }
            "HTTP: place + pay" => {
                counted(HttpOp::open(&requests, &Call::PlaceAndPay, 1).await?, count).await?
            }
            _ => {
                let outcome = pgbench.run(
                    &bench.pgbench_url.via_proxy(proxy.port),
                    1,
                    1,
                    Length::Transactions(count),
                )?;
                (outcome.transactions, outcome.failed)
            }
        };
        let wire = proxy.tally().since(wire_before);
        // Read the WAL back at once, before a checkpoint can recycle it.
        let wal_to = wal.position().await?;
        let written = match wal.of(&database.database, &wal_from, &wal_to).await {
            Ok(written) => Some(written),
            Err(e) => {
                say(&format!("cannot read the WAL of {label} back: {e}"));
                None
            }
        };
        tokio::time::sleep(settle).await;
        settled = true;
        let after = Counters::read(&mut bench.admin, &mut inside, &database.database).await?;
        costs.push(Cost {
            label: label.to_owned(),
            ops,
            errors,
            wire,
            db: after.since(&before),
            wal: written,
        });
    }
    counted_server.stop()?;
    Ok((costs, backlog))
}

/// Waits, up to `limit`, until a server's relay has published what
/// occurred before `before`. (What occurs later, such as a counted
/// server's first sweep, it may leave to a pass that does not come.)
async fn work_off_outbox(
    service: &DbUrl,
    before: chrono::DateTime<chrono::Utc>,
    limit: Duration,
) -> Result<Backlog> {
    let started = Instant::now();
    let at_start = db::unpublished_events(service, before).await?;
    let mut left = at_start;
    while left > 0 && started.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(500)).await;
        left = db::unpublished_events(service, before).await?;
    }
    Ok(Backlog {
        at_start,
        left,
        waited: started.elapsed(),
    })
}

async fn counted<O: Op>(workers: Vec<O>, count: usize) -> Result<(usize, usize)> {
    let (_, run) = drive(workers, Limit::Count(count)).await?;
    Ok((run.ok(), run.errors))
}

/// When a file was last written.
fn modified(path: &Path) -> String {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map(|t| {
            chrono::DateTime::<chrono::Utc>::from(t)
                .format("%Y-%m-%d %H:%M UTC")
                .to_string()
        })
        .unwrap_or_else(|_| "?".into())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program)
        .args(args)
        .current_dir(repository())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The machine, the server and the tree measured.
async fn machine(admin: &mut PgConnection) -> Result<Vec<String>> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                Some(
                    l.strip_prefix("model name")?
                        .split_once(':')?
                        .1
                        .trim()
                        .to_owned(),
                )
            })
        })
        .unwrap_or_else(|| "?".into());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            let kib: f64 = text
                .lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))?
                .split_whitespace()
                .next()?
                .parse()
                .ok()?;
            Some(format!("{:.0} GiB", kib / 1024.0 / 1024.0))
        })
        .unwrap_or_else(|| "?".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "?".into());
    let tree = match (
        command_output("git", &["rev-parse", "--short", "HEAD"]),
        command_output("git", &["status", "--porcelain"]),
    ) {
        (Some(head), Some(status)) if status.is_empty() => head,
        (Some(head), Some(status)) => format!(
            "{head} plus uncommitted changes in {} paths",
            status.lines().count()
        ),
        _ => "?".into(),
    };
    Ok(vec![
        format!(
            "Date: {} (UTC)",
            chrono::Utc::now().format("%Y-%m-%d %H:%M")
        ),
        format!(
            "Machine: {} CPUs (`nproc`), {cpu}, {memory} RAM, kernel {kernel}; client, service, \
             pgbench and PostgreSQL share it",
            std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
        ),
        format!("Load average at the start: {}", load_average()),
        format!("Server: {}", db::describe_server(admin).await?),
        format!(
            "Tree: {tree}; {}",
            command_output("rustc", &["--version"]).unwrap_or_else(|| "rustc ?".into())
        ),
    ])
}

/// Criterion's medians for the core targets, when present.
fn micro_benchmarks() -> Vec<Micro> {
    let criterion = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("criterion")));
    [
        "pricing/10_lines_discount_tax",
        "transition/decide_apply",
        "service/place_and_pay",
    ]
    .into_iter()
    .map(|name| Micro {
        name,
        median_ns: criterion.as_ref().and_then(|dir| {
            let text = std::fs::read_to_string(dir.join(name).join("new/estimates.json")).ok()?;
            let value: serde_json::Value = serde_json::from_str(&text).ok()?;
            value["median"]["point_estimate"].as_f64()
        }),
    })
    .collect()
}
