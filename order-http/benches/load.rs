//! # load: the `order-http` binary under HTTP load, against pgbench
//!
//! A benchmark (not a test, not criterion). It starts the real binary
//! (`CARGO_BIN_EXE_order-http`, built in release by `cargo bench`) on a
//! fresh PostgreSQL database (`order_store_postgres::testing::
//! fresh_database_url()`), on `--listen 127.0.0.1:0`, with
//! `ORDER_JWT_SECRET`, simulated payments, the sample policy file and the
//! demo catalog file (its USD products), and otherwise default settings (16
//! database connections, JSON logs at `info`). A small HTTP/1.1
//! client on hyper drives it: one TCP connection per simulated client,
//! keep-alive, one request in flight per connection, only to 127.0.0.1.
//!
//! ## What it does
//! 1. Sets a large stock (2,000,000,000 units) for the demo catalog's
//!    physical products (`PUT /api/v1/stock/{sku}` as admin) and mints
//!    customer tokens for many customers (`CUSTOMERS`, 1,000).
//! 2. Pre-fills the database through the API: `PREFILL` (30,000) orders
//!    placed at `PREFILL_CONNECTIONS` (32) connections; then every other
//!    one is paid at `PREFILL_PAY_CONNECTIONS` (1) connection — concurrent
//!    payments deadlock on `stock_levels` in this version of the store (see
//!    `docs/benchmarks.md`), which makes a concurrent pre-fill crawl; then
//!    `VACUUM ANALYZE` and `CHECKPOINT`.
//! 3. At each level of concurrency (`LEVELS`, `1,8,32`):
//!    - pgbench on a separate database, exactly as `../shared/bench/README.md`
//!      runs it: `schema.sql`, `prefill.sql` with `n=100000`,
//!      `VACUUM ANALYZE` + `CHECKPOINT`, then `pgbench -n -M prepared -f
//!      place_order.sql -c C -j (C < 2 ? 1 : 2) -T 20` (`PGBENCH_LOG=1` adds
//!      `-l` to get pgbench's own percentiles);
//!    - `CHECKPOINT`, a short unmeasured warm-up, then **placements**:
//!      `POST /api/v1/orders` with 3 lines (3 distinct random demo
//!      products, quantities 1–5, a shipping address, `standard` shipping)
//!      as a random customer; placements/s and p50/p95/p99 latency;
//!    - `CHECKPOINT`, then **flows**: the same placement followed by
//!      `POST /api/v1/orders/{id}/pay` by the same customer; flows/s and
//!      per-flow latency (place + pay) percentiles.
//!
//!    Failed requests (any status but 201 / 200, or no answer within 30 s)
//!    are counted as errors, not as operations, and the first one is shown.
//!    Each phase stops at `PLACEMENTS` (20,000) / `FLOWS` (10,000)
//!    operations or after `MEASURE_SECS` (20), whichever comes first.
//! 4. Reads the server's peak RSS (`VmHWM` in `/proc/<pid>/status`) after
//!    every phase and at the end, stops the server with SIGTERM, and prints
//!    the tables: placements/s as a % of pgbench tps (target ≥ 60 %), p95 of
//!    placement at 8 connections (target < 10 ms), peak RSS (target
//!    < 64 MiB).
//!
//! ## Running it
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo bench -p order-http --bench load
//! ```
//! `psql` and `pgbench` must be on `PATH`. About 5 minutes on 2 cores.
//! Environment (all optional): `LEVELS`, `PLACEMENTS`, `FLOWS`,
//! `MEASURE_SECS`, `WARMUP_MS` (2000), `PREFILL`, `PREFILL_CONNECTIONS`,
//! `PREFILL_PAY_CONNECTIONS`, `CUSTOMERS`, `EXTRA_PRODUCTS` (0; for
//! diagnosis: that many more stocked products, so orders spread over more
//! stock rows), `CLIENT_THREADS` (2: the client's Tokio workers),
//! `SERVER_LOG` (`info`: the server's log filter), `PGBENCH_SECS` (20),
//! `PGBENCH_PREFILL` (100000), `PGBENCH_DB` (`orders_limit_load_bench`),
//! `PGBENCH_LOG=1`, `SKIP_PGBENCH=1`, `BENCH_SQL` (the directory of the
//! SQL files; default `../shared/bench` beside the workspace), `KEEP_DB=1`
//! (keep both databases).

use std::error::Error;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use order_http::auth::{AuthConfig, Role};
use serde::Deserialize;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use tokio::net::TcpStream;

type BoxError = Box<dyn Error + Send + Sync>;
type Result<T, E = BoxError> = std::result::Result<T, E>;

/// The HS256 secret the server checks and the bench signs with.
const SECRET: &str = "load-bench-secret-not-for-production";
/// Units on hand per physical demo product: nothing runs out.
const ON_HAND: u32 = 2_000_000_000;
/// Longest one request may take before it counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The shipping address of every order.
const ADDRESS: &str = r#"{"name":"Jane Doe","line1":"742 Evergreen Terrace","city":"Springfield","region":"OR","postal_code":"97475","country":"US"}"#;

// ---- settings -----------------------------------------------------------------

#[derive(Debug, Clone)]
struct Settings {
    levels: Vec<usize>,
    placements: usize,
    flows: usize,
    measure: Duration,
    warmup: Duration,
    prefill: usize,
    prefill_connections: usize,
    prefill_pay_connections: usize,
    extra_products: usize,
    customers: usize,
    client_threads: usize,
    server_log: String,
    pgbench_secs: u32,
    pgbench_prefill: usize,
    pgbench_db: String,
    pgbench_log: bool,
    skip_pgbench: bool,
    sql_dir: PathBuf,
    keep_db: bool,
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false" | "no" | "off"))
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
            levels,
            placements: env_usize("PLACEMENTS", 20_000).max(1),
            flows: env_usize("FLOWS", 10_000).max(1),
            measure: Duration::from_secs(env_usize("MEASURE_SECS", 20).max(1) as u64),
            warmup: Duration::from_millis(env_usize("WARMUP_MS", 2_000) as u64),
            prefill: env_usize("PREFILL", 30_000),
            prefill_connections: env_usize("PREFILL_CONNECTIONS", 32).max(1),
            prefill_pay_connections: env_usize("PREFILL_PAY_CONNECTIONS", 1).max(1),
            extra_products: env_usize("EXTRA_PRODUCTS", 0),
            customers: env_usize("CUSTOMERS", 1_000).max(1),
            client_threads: env_usize("CLIENT_THREADS", 2).max(1),
            server_log: std::env::var("SERVER_LOG").unwrap_or_else(|_| "info".to_owned()),
            pgbench_secs: u32::try_from(env_usize("PGBENCH_SECS", 20)).unwrap_or(20),
            pgbench_prefill: env_usize("PGBENCH_PREFILL", 100_000),
            pgbench_db: std::env::var("PGBENCH_DB")
                .unwrap_or_else(|_| "orders_limit_load_bench".to_owned()),
            pgbench_log: env_flag("PGBENCH_LOG"),
            skip_pgbench: env_flag("SKIP_PGBENCH"),
            sql_dir,
            keep_db: env_flag("KEEP_DB"),
        }
    }
}

// ---- small helpers ------------------------------------------------------------

/// SplitMix64: fast and seedable; the bench needs no crypto.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_owned())
}

/// CPU seconds (user + system) of a process, from `/proc/<pid>/stat`.
fn process_cpu(pid: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            // After the command name (which ends with ')'): utime is the
            // 12th field, stime the 13th.
            let rest = stat.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let ticks =
                fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
            Some(ticks / 100.0)
        })
        .unwrap_or(0.0)
}

/// (busy, total) CPU seconds of the whole machine, from `/proc/stat`.
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

/// A `kB` field of `/proc/<pid>/status` (`VmHWM`, `VmRSS`), in KiB.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|line| {
            line.strip_prefix(field)?
                .strip_prefix(':')?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
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

// ---- the server -----------------------------------------------------------------

/// What the server's log said that deserves a look.
#[derive(Debug, Default)]
struct LogStats {
    lines: u64,
    warnings: u64,
    errors: u64,
    samples: Vec<String>,
}

/// A file of the repository, by its path from the root.
fn repository_file(path: &str) -> String {
    format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))
}

/// The running `order-http` binary.
#[derive(Debug)]
struct Server {
    child: Child,
    pid: u32,
    addr: SocketAddr,
    log: Arc<Mutex<LogStats>>,
}

impl Server {
    fn start(database_url: &str, settings: &Settings) -> Result<Self> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_order-http"))
            .args(["--listen", "127.0.0.1:0"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", database_url)
            .env("ORDER_JWT_SECRET", SECRET)
            .env("ORDER_PAYMENTS", "simulated")
            .env("ORDER_CONFIG", repository_file("config/sample.toml"))
            .env(
                "ORDER_SEED_CATALOG",
                repository_file("config/demo-catalog.toml"),
            )
            .env("ORDER_LOG_FORMAT", "json")
            .env("RUST_LOG", &settings.server_log)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", env!("CARGO_BIN_EXE_order-http")))?;
        let pid = child.id();
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let log = Arc::new(Mutex::new(LogStats::default()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stats = log.clone();
        // Reads every line, so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(address) = line.strip_prefix("listening on http://") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(address.trim().to_owned());
                    }
                    continue;
                }
                let Ok(mut stats) = stats.lock() else { break };
                stats.lines += 1;
                let error = line.contains(r#""level":"ERROR""#);
                let warning = line.contains(r#""level":"WARN""#);
                stats.errors += u64::from(error);
                stats.warnings += u64::from(warning);
                // The start-up warnings (simulated gateway) are expected.
                if (error || (warning && !line.contains("simulated gateway")))
                    && stats.samples.len() < 5
                {
                    stats.samples.push(line.chars().take(400).collect());
                }
            }
        });
        let address = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(address) => address,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("the server did not print `listening on http://…`".into());
            }
        };
        Ok(Self {
            child,
            pid,
            addr: address.parse()?,
            log,
        })
    }

    fn pid(&self) -> String {
        self.pid.to_string()
    }

    fn cpu(&self) -> f64 {
        process_cpu(&self.pid())
    }

    fn peak_rss_kib(&self) -> Option<u64> {
        status_kib(self.pid, "VmHWM")
    }

    fn rss_kib(&self) -> Option<u64> {
        status_kib(self.pid, "VmRSS")
    }

    /// SIGTERM, then waits (up to 30 s) for a clean exit.
    fn stop(mut self) -> Result<(String, Duration)> {
        let started = Instant::now();
        let status = Command::new("kill").args(["-TERM", &self.pid()]).status()?;
        if !status.success() {
            return Err("kill -TERM failed".into());
        }
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok((status.to_string(), started.elapsed()));
            }
            if started.elapsed() > Duration::from_secs(30) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return Err("the server did not stop within 30 s of SIGTERM (killed)".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

// ---- the HTTP client --------------------------------------------------------------

async fn handshake(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// One keep-alive HTTP/1.1 connection; one request in flight at a time.
#[derive(Debug)]
struct Client {
    addr: SocketAddr,
    host: String,
    sender: SendRequest<Full<Bytes>>,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Result<Self> {
        Ok(Self {
            addr,
            host: addr.to_string(),
            sender: handshake(addr).await?,
        })
    }

    async fn send(
        &mut self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<String>,
    ) -> Result<(StatusCode, Bytes)> {
        if self.sender.is_closed() {
            self.sender = handshake(self.addr).await?;
        }
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host)
            .header("authorization", format!("Bearer {token}"));
        let body = match body {
            Some(body) => {
                builder = builder.header("content-type", "application/json");
                Full::new(Bytes::from(body))
            }
            None => Full::new(Bytes::new()),
        };
        let request = builder.body(body)?;
        let sender = &mut self.sender;
        let exchange = async move {
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            Ok::<_, BoxError>((status, body))
        };
        let outcome = tokio::time::timeout(REQUEST_TIMEOUT, exchange).await;
        match outcome {
            Ok(result) => result,
            Err(_) => {
                // The connection's state is unknown: start a new one.
                self.sender = handshake(self.addr).await?;
                Err(format!("{path}: no answer within {REQUEST_TIMEOUT:?}").into())
            }
        }
    }
}

// ---- the workload -----------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct ProductInfo {
    product_id: String,
    sku: String,
    kind: String,
    currency: String,
}

#[derive(Debug, Deserialize)]
struct Created {
    id: String,
}

/// What the requests are made of.
#[derive(Debug)]
struct Fixture {
    /// Product ids to order from.
    products: Vec<String>,
    /// Customer bearer tokens.
    customers: Vec<String>,
    /// Pre-filled orders still to pay: (order id, customer index).
    to_pay: Mutex<Vec<(String, usize)>>,
}

impl Fixture {
    fn order_body(&self, rng: &mut Rng) -> String {
        // Three distinct products (a partial shuffle), quantities 1–5.
        let mut picks: Vec<usize> = (0..self.products.len()).collect();
        let lines = picks.len().min(3);
        for i in 0..lines {
            let j = i + rng.below(picks.len() - i);
            picks.swap(i, j);
        }
        let mut body = String::with_capacity(512);
        body.push_str(r#"{"currency":"USD","lines":["#);
        for (n, &p) in picks.iter().take(lines).enumerate() {
            if n > 0 {
                body.push(',');
            }
            let _ = write!(
                body,
                r#"{{"product_id":"{}","quantity":{}}}"#,
                self.products[p],
                1 + rng.below(5)
            );
        }
        let _ = write!(
            body,
            r#"],"shipping_address":{ADDRESS},"shipping_method":"standard"}}"#
        );
        body
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Workload {
    /// `POST /api/v1/orders`.
    Place,
    /// Place, then `POST /api/v1/orders/{id}/pay`.
    Flow,
    /// Place; every other order is queued to be paid later.
    Prefill,
    /// Pay the queued pre-filled orders.
    PayQueued,
}

fn refused(what: &str, status: StatusCode, body: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(body).chars().take(300).collect();
    format!("{what}: {status} {text}")
}

/// One operation of the workload; `Err` describes what went wrong.
async fn operation(
    client: &mut Client,
    fixture: &Fixture,
    workload: Workload,
    rng: &mut Rng,
) -> Result<(), String> {
    if workload == Workload::PayQueued {
        let next = fixture.to_pay.lock().ok().and_then(|mut queue| queue.pop());
        return match next {
            Some((id, customer)) => pay(client, &fixture.customers[customer], &id).await,
            None => Ok(()),
        };
    }
    let customer = rng.below(fixture.customers.len());
    let token = &fixture.customers[customer];
    let body = fixture.order_body(rng);
    let (status, answer) = client
        .send(Method::POST, "/api/v1/orders", token, Some(body))
        .await
        .map_err(|e| format!("place: {e}"))?;
    if status != StatusCode::CREATED {
        return Err(refused("place", status, &answer));
    }
    let pay_now = match workload {
        Workload::Place | Workload::PayQueued => return Ok(()),
        Workload::Flow => true,
        Workload::Prefill => {
            if rng.next() & 1 == 1 {
                return Ok(());
            }
            false
        }
    };
    let created: Created =
        serde_json::from_slice(&answer).map_err(|e| format!("place answer: {e}"))?;
    if pay_now {
        return pay(client, token, &created.id).await;
    }
    if let Ok(mut queue) = fixture.to_pay.lock() {
        queue.push((created.id, customer));
    }
    Ok(())
}

/// `POST /api/v1/orders/{id}/pay` as the order's customer.
async fn pay(client: &mut Client, token: &str, id: &str) -> Result<(), String> {
    let path = format!("/api/v1/orders/{id}/pay");
    let (status, answer) = client
        .send(Method::POST, &path, token, None)
        .await
        .map_err(|e| format!("pay: {e}"))?;
    if status != StatusCode::OK {
        return Err(refused("pay", status, &answer));
    }
    Ok(())
}

/// What one measured phase gave.
#[derive(Debug, Clone, Default)]
struct Measured {
    ops: usize,
    errors: usize,
    first_error: Option<String>,
    elapsed: Duration,
    latency: Percentiles,
    mean: Duration,
    server_cpu: f64,
    client_cpu: f64,
    machine_busy_cpu: f64,
    machine_cpu: f64,
}

impl Measured {
    fn per_sec(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn per_op_ms(&self, cpu_secs: f64) -> f64 {
        cpu_secs * 1_000.0 / self.ops.max(1) as f64
    }

    /// Server / client / everything else (PostgreSQL, other processes),
    /// in CPU ms per operation.
    fn cpu(&self) -> String {
        let other = (self.machine_busy_cpu - self.server_cpu - self.client_cpu).max(0.0);
        format!(
            "{:.2} / {:.2} / {:.2}",
            self.per_op_ms(self.server_cpu),
            self.per_op_ms(self.client_cpu),
            self.per_op_ms(other)
        )
    }

    fn busy(&self) -> f64 {
        if self.machine_cpu > 0.0 {
            self.machine_busy_cpu / self.machine_cpu * 100.0
        } else {
            0.0
        }
    }
}

#[derive(Debug, Default)]
struct Worker {
    latencies: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
}

/// Runs `workload` on `connections` connections until `total` operations
/// have been issued or `limit` has passed.
async fn drive(
    server: &Server,
    fixture: &Arc<Fixture>,
    workload: Workload,
    connections: usize,
    total: usize,
    limit: Duration,
    seed: u64,
) -> Result<Measured> {
    let mut clients = Vec::with_capacity(connections);
    for _ in 0..connections {
        clients.push(Client::connect(server.addr).await?);
    }
    let issued = Arc::new(AtomicUsize::new(0));
    let server_before = server.cpu();
    let client_before = process_cpu("self");
    let (busy_before, all_before) = machine_cpu();
    let started = Instant::now();
    let deadline = started + limit;
    let mut tasks = tokio::task::JoinSet::new();
    for (i, mut client) in clients.into_iter().enumerate() {
        let fixture = fixture.clone();
        let issued = issued.clone();
        let mut rng = Rng(seed ^ ((i as u64 + 1) << 32));
        tasks.spawn(async move {
            let mut worker = Worker {
                latencies: Vec::with_capacity((total / connections).min(1 << 16) + 1),
                ..Worker::default()
            };
            while Instant::now() < deadline && issued.fetch_add(1, Ordering::Relaxed) < total {
                let at = Instant::now();
                match operation(&mut client, &fixture, workload, &mut rng).await {
                    Ok(()) => worker.latencies.push(at.elapsed()),
                    Err(e) => {
                        worker.errors += 1;
                        worker.first_error.get_or_insert(e);
                    }
                }
            }
            worker
        });
    }
    let mut latencies = Vec::with_capacity(total.min(1 << 20));
    let mut measured = Measured::default();
    while let Some(done) = tasks.join_next().await {
        let worker = done?;
        latencies.extend(worker.latencies);
        measured.errors += worker.errors;
        if measured.first_error.is_none() {
            measured.first_error = worker.first_error;
        }
    }
    measured.elapsed = started.elapsed();
    measured.server_cpu = server.cpu() - server_before;
    measured.client_cpu = process_cpu("self") - client_before;
    let (busy_after, all_after) = machine_cpu();
    measured.machine_busy_cpu = busy_after - busy_before;
    measured.machine_cpu = all_after - all_before;
    measured.ops = latencies.len();
    latencies.sort_unstable();
    measured.latency = Percentiles::of(&latencies);
    measured.mean = latencies
        .iter()
        .sum::<Duration>()
        .checked_div(u32::try_from(latencies.len().max(1)).unwrap_or(u32::MAX))
        .unwrap_or_default();
    Ok(measured)
}

// ---- set-up through the API ---------------------------------------------------------

/// Stocks the demo catalog and mints the tokens.
async fn fixture(server: &Server, settings: &Settings) -> Result<Fixture> {
    let auth = AuthConfig::hs256(SECRET.as_bytes());
    let ttl = 6 * 3_600;
    let admin = auth.mint("load-bench", Role::Admin, ttl).ok_or("minting")?;
    let mut client = Client::connect(server.addr).await?;
    let (status, body) = client
        .send(Method::GET, "/api/v1/products?limit=200", &admin, None)
        .await?;
    if status != StatusCode::OK {
        return Err(refused("list products", status, &body).into());
    }
    let mut products: Vec<ProductInfo> = serde_json::from_slice(&body)?;
    // The workload orders in USD, as the policy file prices its shipping.
    products.retain(|p| p.currency == "USD");
    // Diagnostics only (EXTRA_PRODUCTS): more products, to spread the
    // stock-row locks over more rows than the demo catalog's three.
    for n in 0..settings.extra_products {
        let product = ProductInfo {
            product_id: uuid::Uuid::from_u128(
                0x0193_e6d2_0000_7000_8000_00ad_d000_0000 | n as u128,
            )
            .to_string(),
            sku: format!("LOAD-{n:04}"),
            kind: "physical".to_owned(),
            currency: "USD".to_owned(),
        };
        let body = format!(
            r#"{{"product_id":"{}","sku":"{}","name":"Load product {n}","unit_price":"{}.{:02}","currency":"USD","tax_class":"standard","kind":"physical"}}"#,
            product.product_id,
            product.sku,
            5 + n % 40,
            n % 100
        );
        let (status, answer) = client
            .send(Method::POST, "/api/v1/products", &admin, Some(body))
            .await?;
        if !status.is_success() {
            return Err(refused("add product", status, &answer).into());
        }
        products.push(product);
    }
    if products.len() < 3 {
        return Err(format!("the catalog has {} products; 3 needed", products.len()).into());
    }
    let mut skus = Vec::new();
    for product in products.iter().filter(|p| p.kind == "physical") {
        let (status, body) = client
            .send(
                Method::PUT,
                &format!("/api/v1/stock/{}", product.sku),
                &admin,
                Some(format!(r#"{{"on_hand":{ON_HAND}}}"#)),
            )
            .await?;
        if !status.is_success() {
            return Err(refused("set stock", status, &body).into());
        }
        skus.push(product.sku.clone());
    }
    println!(
        "catalog: {} products: {}{} ({ON_HAND} units on hand for each of the {} physical ones)",
        products.len(),
        products
            .iter()
            .take(8)
            .map(|p| format!("{} ({})", p.sku, p.kind))
            .collect::<Vec<_>>()
            .join(", "),
        if products.len() > 8 { ", …" } else { "" },
        skus.len()
    );
    let customers = (0..settings.customers)
        .map(|n| {
            let id = uuid::Uuid::from_u128(0x0193_e6d2_0000_7000_8000_0000_0000_0000 | n as u128);
            auth.mint(&id.to_string(), Role::Customer, ttl)
                .ok_or("minting")
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Fixture {
        products: products.into_iter().map(|p| p.product_id).collect(),
        customers,
        to_pay: Mutex::new(Vec::new()),
    })
}

async fn sql(url: &str, statements: &str) -> Result<()> {
    let mut conn = PgConnection::connect(url).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(statements.to_owned()))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

/// (orders, database size) of the service's database.
async fn database_size(url: &str) -> Result<(i64, String)> {
    let mut conn = PgConnection::connect(url).await?;
    let orders: i64 = sqlx::query_scalar("select count(*) from orders")
        .fetch_one(&mut conn)
        .await?;
    let size: String =
        sqlx::query_scalar("select pg_size_pretty(pg_database_size(current_database()))")
            .fetch_one(&mut conn)
            .await?;
    conn.close().await?;
    Ok((orders, size))
}

// ---- pgbench ------------------------------------------------------------------------

/// Where psql and pgbench connect.
#[derive(Debug, Clone)]
struct PgServer {
    host: String,
    port: u16,
    user: String,
}

impl PgServer {
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
    load_before: String,
}

fn run_tool(program: &str, args: &[String]) -> Result<String> {
    let output = Command::new(program)
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

fn psql(server: &PgServer, db: &str, extra: &[&str]) -> Result<()> {
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

/// The README's steps for one level: schema, pre-fill, vacuum, checkpoint,
/// pgbench.
fn pgbench_level(settings: &Settings, server: &PgServer, clients: usize) -> Result<PgbenchResult> {
    let file = |name: &str| -> Result<String> {
        let path = settings.sql_dir.join(name);
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
        "order-http-load-pgbench-{}-{clients}",
        std::process::id()
    ));
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
            if clients < 2 { "1" } else { "2" },
            "-T",
            &settings.pgbench_secs.to_string(),
        ]
        .map(str::to_owned),
    );
    if settings.pgbench_log {
        let _ = std::fs::remove_dir_all(&logs);
        std::fs::create_dir_all(&logs)?;
        args.push("-l".to_owned());
        args.push(format!("--log-prefix={}", logs.join("log").display()));
    }
    args.push(db.to_owned());
    let load_before = load_average();
    let output = run_tool("pgbench", &args)?;
    let mut result = PgbenchResult {
        tps: field_after(&output, "tps =").ok_or("pgbench printed no tps")?,
        latency_avg_ms: field_after(&output, "latency average =").unwrap_or(f64::NAN),
        transactions: field_after(&output, "number of transactions actually processed:")
            .unwrap_or(0.0) as u64,
        failed: field_after(&output, "number of failed transactions:").unwrap_or(0.0) as u64,
        latency: None,
        load_before,
    };
    if settings.pgbench_log {
        // -l: "client transaction latency_us script epoch_s epoch_us".
        let mut latencies = Vec::new();
        for entry in std::fs::read_dir(&logs)? {
            let text = std::fs::read_to_string(entry?.path())?;
            latencies.extend(text.lines().filter_map(|line| {
                let us: u64 = line.split_whitespace().nth(2)?.parse().ok()?;
                Some(Duration::from_micros(us))
            }));
        }
        let _ = std::fs::remove_dir_all(&logs);
        latencies.sort_unstable();
        if !latencies.is_empty() {
            result.latency = Some(Percentiles::of(&latencies));
        }
    }
    Ok(result)
}

async fn recreate_database(admin: &mut PgConnection, name: &str) -> Result<()> {
    drop_database(admin, name).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(r#"create database "{name}""#)))
        .execute(&mut *admin)
        .await?;
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

// ---- the run ------------------------------------------------------------------------

#[derive(Debug, Clone, Default)]
struct Level {
    connections: usize,
    pgbench: Option<PgbenchResult>,
    place: Measured,
    flow: Measured,
    load_before: String,
    load_after: String,
    peak_rss_kib: Option<u64>,
}

#[derive(Debug, Clone, Default)]
struct Prefill {
    measured: Measured,
    paid: Measured,
    orders_in_db: i64,
    db_size: String,
    vacuum: Duration,
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "missed" }
}

fn show_mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "n/a".to_owned(), |k| format!("{:.1} MiB", mib(k)))
}

#[derive(Debug, Default)]
struct Memory {
    after_start: Option<u64>,
    after_prefill: Option<u64>,
    peak: Option<u64>,
    rss_at_end: Option<u64>,
}

fn report(
    settings: &Settings,
    prefill: &Prefill,
    levels: &[Level],
    memory: &Memory,
    log: &LogStats,
) -> String {
    let mut out = String::new();
    let (p, paid) = (&prefill.measured, &prefill.paid);
    let _ = writeln!(
        out,
        "\n== pre-fill through the API ==\n\
         {} orders placed at {} connections in {:.1} s ({:.0}/s, {} errors); \
         then every other one paid at {} connection(s): {} in {:.1} s ({:.0}/s, {} errors); \
         VACUUM ANALYZE + CHECKPOINT {:.1} s; the database then held {} orders, {}",
        p.ops,
        settings.prefill_connections,
        p.elapsed.as_secs_f64(),
        p.per_sec(),
        p.errors,
        settings.prefill_pay_connections,
        paid.ops,
        paid.elapsed.as_secs_f64(),
        paid.per_sec(),
        paid.errors,
        prefill.vacuum.as_secs_f64(),
        prefill.orders_in_db,
        prefill.db_size
    );
    let _ = writeln!(
        out,
        "\n== placements: POST /api/v1/orders (3 lines) vs pgbench place_order.sql; latency in ms =="
    );
    let _ = writeln!(
        out,
        "| conns | pgbench tps | placements/s | % of pgbench (≥ 60 %) | p50 / p95 / p99 | mean | p95 < 10 ms @ 8 | ok / errors | CPU ms/op server / client / other | machine busy |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---|---|---:|---|---:|---|---:|");
    for level in levels {
        let m = &level.place;
        let pg = level.pgbench.as_ref().filter(|p| p.tps > 0.0);
        let (pg_tps, ratio) = pg.map_or_else(
            || ("n/a".to_owned(), "n/a".to_owned()),
            |p| {
                let r = m.per_sec() / p.tps * 100.0;
                (
                    format!("{:.0}", p.tps),
                    format!("{r:.0} % {}", met(r >= 60.0)),
                )
            },
        );
        let p95 = if level.connections == 8 {
            met(m.latency.p95 < Duration::from_millis(10))
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "| {} | {pg_tps} | {:.0} | {ratio} | {} | {:.2} | {p95} | {} / {} | {} | {:.0} % |",
            level.connections,
            m.per_sec(),
            m.latency.show(),
            ms(m.mean),
            m.ops,
            m.errors,
            m.cpu(),
            m.busy()
        );
    }
    let _ = writeln!(
        out,
        "\n== flows: place + POST /api/v1/orders/{{id}}/pay; latency per flow in ms =="
    );
    let _ = writeln!(
        out,
        "| conns | flows/s | requests/s | p50 / p95 / p99 | mean | ok / errors | CPU ms/flow server / client / other | machine busy |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---|---:|---:|---|---:|");
    for level in levels {
        let m = &level.flow;
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.0} | {} | {:.2} | {} / {} | {} | {:.0} % |",
            level.connections,
            m.per_sec(),
            m.per_sec() * 2.0,
            m.latency.show(),
            ms(m.mean),
            m.ops,
            m.errors,
            m.cpu(),
            m.busy()
        );
    }
    let _ = writeln!(out, "\n== pgbench detail ==");
    for level in levels {
        if let Some(p) = &level.pgbench {
            let _ = writeln!(
                out,
                "c={}: tps {:.1}, latency average {:.3} ms{}, {} transactions, {} failed; load before {}",
                level.connections,
                p.tps,
                p.latency_avg_ms,
                p.latency
                    .map_or_else(String::new, |l| format!(", p50/p95/p99 {} ms", l.show())),
                p.transactions,
                p.failed,
                p.load_before
            );
        }
    }
    let _ = writeln!(
        out,
        "\n== server memory (VmHWM = peak RSS; target < 64 MiB) ==\n\
         after start {}, after pre-fill {}, {}; peak over the run {} ({}); RSS at the end {}",
        show_mib(memory.after_start),
        show_mib(memory.after_prefill),
        levels
            .iter()
            .map(|l| format!("after c={} {}", l.connections, show_mib(l.peak_rss_kib)))
            .collect::<Vec<_>>()
            .join(", "),
        show_mib(memory.peak),
        memory.peak.map_or("n/a", |k| met(k < 64 * 1024)),
        show_mib(memory.rss_at_end)
    );
    let _ = writeln!(out, "\n== load average (1/5/15 min) per level ==");
    for level in levels {
        let _ = writeln!(
            out,
            "c={}: before {}, after {}",
            level.connections, level.load_before, level.load_after
        );
    }
    let _ = writeln!(
        out,
        "\n== server log: {} lines, {} warnings, {} errors ==",
        log.lines, log.warnings, log.errors
    );
    for sample in &log.samples {
        let _ = writeln!(out, "  {sample}");
    }
    for level in levels {
        for (what, m) in [("place", &level.place), ("flow", &level.flow)] {
            if let Some(e) = &m.first_error {
                let _ = writeln!(out, "c={} {what}: first error: {e}", level.connections);
            }
        }
    }
    let _ = writeln!(
        out,
        "\n(each phase: at most {} placements / {} flows or {} s; warm-up {} ms; {} customers; client: {} Tokio threads; pgbench -T {} on {} pre-filled orders{})",
        settings.placements,
        settings.flows,
        settings.measure.as_secs(),
        settings.warmup.as_millis(),
        settings.customers,
        settings.client_threads,
        settings.pgbench_secs,
        settings.pgbench_prefill,
        if settings.pgbench_log { ", -l" } else { "" }
    );
    out
}

async fn checkpoint(url: &str) -> Result<()> {
    sql(url, "CHECKPOINT").await
}

async fn run(settings: &Settings) -> Result<()> {
    let started = Instant::now();
    let Some(database_url) = order_store_postgres::testing::fresh_database_url().await else {
        return Err("no PostgreSQL server: set DATABASE_URL".into());
    };
    let admin_url =
        order_store_postgres::testing::server_url().ok_or("no PostgreSQL server URL")?;
    let pg = PgServer::from_url(&admin_url)?;
    let mut admin = PgConnection::connect(&admin_url).await?;
    let version: String = sqlx::query_scalar("show server_version")
        .fetch_one(&mut admin)
        .await?;
    let db_name = PgConnectOptions::from_str(&database_url)?
        .get_database()
        .unwrap_or("?")
        .to_owned();
    println!(
        "order-http load bench: PostgreSQL {version} at {}:{}, database {db_name}; {} CPUs; load {}; {}",
        pg.host,
        pg.port,
        std::thread::available_parallelism().map_or(0, usize::from),
        load_average(),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
    );

    let server = Server::start(&database_url, settings)?;
    println!(
        "server: {} (pid {}) on http://{}",
        env!("CARGO_BIN_EXE_order-http"),
        server.pid,
        server.addr
    );
    let mut memory = Memory {
        after_start: server.peak_rss_kib(),
        ..Memory::default()
    };
    let outcome = measure_all(
        settings,
        &server,
        &database_url,
        &pg,
        &mut admin,
        &mut memory,
    )
    .await;
    memory.peak = server.peak_rss_kib();
    memory.rss_at_end = server.rss_kib();
    let log = std::mem::take(&mut *server.log.lock().map_err(|_| "log lock")?);
    let stopped = server.stop();
    match &stopped {
        Ok((status, took)) => {
            println!("server stopped by SIGTERM in {:.0} ms: {status}", ms(*took))
        }
        Err(e) => println!("server stop: {e}"),
    }
    if !settings.keep_db {
        drop_database(&mut admin, &db_name).await?;
        if !settings.skip_pgbench {
            drop_database(&mut admin, &settings.pgbench_db).await?;
        }
    }
    admin.close().await?;
    let (prefill, levels) = outcome?;
    print!("{}", report(settings, &prefill, &levels, &memory, &log));
    println!(
        "whole run: {:.0} s; load average at the end {}",
        started.elapsed().as_secs_f64(),
        load_average()
    );
    stopped.map(|_| ())
}

async fn measure_all(
    settings: &Settings,
    server: &Server,
    database_url: &str,
    pg: &PgServer,
    admin: &mut PgConnection,
    memory: &mut Memory,
) -> Result<(Prefill, Vec<Level>)> {
    let fixture = Arc::new(fixture(server, settings).await?);

    print!(
        "pre-filling {} orders through the API at {} connections … ",
        settings.prefill, settings.prefill_connections
    );
    let mut prefill = Prefill::default();
    if settings.prefill > 0 {
        prefill.measured = drive(
            server,
            &fixture,
            Workload::Prefill,
            settings.prefill_connections,
            settings.prefill,
            Duration::from_secs(1_800),
            0xF111,
        )
        .await?;
        print!(
            "{} placed in {:.1} s ({:.0}/s, {} errors); paying every other one … ",
            prefill.measured.ops,
            prefill.measured.elapsed.as_secs_f64(),
            prefill.measured.per_sec(),
            prefill.measured.errors
        );
        // Concurrent payments deadlock in this version of the store (see
        // the docs), so the pre-fill pays at PREFILL_PAY_CONNECTIONS (1).
        let queued = fixture.to_pay.lock().map_or(0, |q| q.len());
        prefill.paid = drive(
            server,
            &fixture,
            Workload::PayQueued,
            settings.prefill_pay_connections,
            queued,
            Duration::from_secs(1_800),
            0xF112,
        )
        .await?;
    }
    let vacuum = Instant::now();
    sql(database_url, "VACUUM ANALYZE").await?;
    checkpoint(database_url).await?;
    prefill.vacuum = vacuum.elapsed();
    (prefill.orders_in_db, prefill.db_size) = database_size(database_url).await?;
    memory.after_prefill = server.peak_rss_kib();
    println!(
        "{} paid in {:.1} s ({:.0}/s, {} errors); VACUUM ANALYZE + CHECKPOINT {:.1} s; {} orders, {}",
        prefill.paid.ops,
        prefill.paid.elapsed.as_secs_f64(),
        prefill.paid.per_sec(),
        prefill.paid.errors,
        prefill.vacuum.as_secs_f64(),
        prefill.orders_in_db,
        prefill.db_size
    );
    for e in [&prefill.measured.first_error, &prefill.paid.first_error]
        .into_iter()
        .flatten()
    {
        println!("  first pre-fill error: {e}");
    }

    if !settings.skip_pgbench {
        recreate_database(admin, &settings.pgbench_db).await?;
    }
    let mut levels = Vec::new();
    for (round, &c) in settings.levels.iter().enumerate() {
        let mut level = Level {
            connections: c,
            load_before: load_average(),
            ..Level::default()
        };
        let seed = 0x1000 * (round as u64 + 1);
        if !settings.skip_pgbench {
            let (s, p) = (settings.clone(), pg.clone());
            let result = tokio::task::spawn_blocking(move || pgbench_level(&s, &p, c)).await??;
            println!(
                "c={c:>2} pgbench: {:.0} tps, latency average {:.3} ms{}",
                result.tps,
                result.latency_avg_ms,
                result
                    .latency
                    .map_or_else(String::new, |l| format!(", p50/p95/p99 {} ms", l.show()))
            );
            level.pgbench = Some(result);
        }
        for (workload, total, salt) in [
            (Workload::Place, settings.placements, 1),
            (Workload::Flow, settings.flows, 2),
        ] {
            checkpoint(database_url).await?;
            if !settings.warmup.is_zero() {
                drive(
                    server,
                    &fixture,
                    workload,
                    c,
                    usize::MAX,
                    settings.warmup,
                    seed + 10 + salt,
                )
                .await?;
            }
            let m = drive(
                server,
                &fixture,
                workload,
                c,
                total,
                settings.measure,
                seed + salt,
            )
            .await?;
            println!(
                "c={c:>2} {:<5} {:>6.0}/s, p50/p95/p99 {} ms, {} ok, {} errors; CPU ms/op server/client/other {}; machine busy {:.0} %",
                if workload == Workload::Place {
                    "place"
                } else {
                    "flow"
                },
                m.per_sec(),
                m.latency.show(),
                m.ops,
                m.errors,
                m.cpu(),
                m.busy()
            );
            if workload == Workload::Place {
                level.place = m;
            } else {
                level.flow = m;
            }
        }
        level.peak_rss_kib = server.peak_rss_kib();
        level.load_after = load_average();
        levels.push(level);
    }
    Ok((prefill, levels))
}

fn main() {
    let settings = Settings::from_env();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(settings.client_threads)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("order-http load bench: no runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(err) = runtime.block_on(run(&settings)) {
        eprintln!("order-http load bench failed: {err}");
        std::process::exit(1);
    }
}
