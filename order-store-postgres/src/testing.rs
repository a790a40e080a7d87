//! Test databases: a fresh, migrated database per test, for this crate's
//! tests and for any crate that tests against [`crate::PgOrderStore`].
//!
//! Where the server comes from, in order:
//! 1. `DATABASE_URL`, when set (any database on the server; test databases
//!    are created beside it);
//! 2. otherwise a throwaway cluster, made with `initdb` and started with
//!    `pg_ctl` (found on `PATH` or under `/usr/lib/postgresql/*/bin`) in the
//!    system's temp directory, reused by later test runs;
//! 3. otherwise the tests print one line saying why they did not run — and
//!    fail instead when `ORDER_REQUIRE_POSTGRES` is set, as CI sets it.
//!
//! Every test database is a copy of a template migrated once per set of
//! migrations, so a test pays for `CREATE DATABASE … TEMPLATE`, not for the
//! migrations. Databases left by earlier runs are dropped.
//!
//! Tests that need a server configured their own way (TLS on, TLS off) get
//! one from [`own_server`], made and kept the same way as the throwaway
//! cluster, and report a missing one through [`skip_or_fail`].

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

use crate::MIGRATOR;

const PREFIX: &str = "order_test_";
/// Test databases older than this are leftovers of an earlier run.
const STALE_AFTER_SECS: u64 = 3_600;

/// Where test databases live, or why there are none.
static SERVER: OnceLock<Result<String, String>> = OnceLock::new();
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A pool on a fresh, migrated database, or `None` (after printing why)
/// when no PostgreSQL server can be had.
///
/// # Panics
/// When `ORDER_REQUIRE_POSTGRES` is set and no server can be had, or when
/// the server refuses to create a database: a test set-up failure.
pub async fn fresh_pool() -> Option<PgPool> {
    let admin_url = server_or_skip()?;
    match create_database(&admin_url).await {
        Ok(options) => Some(
            PgPoolOptions::new()
                .max_connections(40)
                .connect_with(options)
                .await
                .unwrap_or_else(|e| panic!("cannot connect to the test database: {e}")),
        ),
        Err(e) => panic!("cannot create a test database: {e}"),
    }
}

/// The URL of a fresh, migrated database, or `None` as [`fresh_pool`]: for
/// tests that hand a database to another process.
///
/// # Panics
/// As [`fresh_pool`].
pub async fn fresh_database_url() -> Option<String> {
    let admin_url = server_or_skip()?;
    let options = create_database(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("cannot create a test database: {e}"));
    let name = options.get_database().unwrap_or("postgres").to_owned();
    Some(url_of(admin_url, &name))
}

/// The URL of a fresh, empty database (no migrations), or `None` as
/// [`fresh_pool`]: for tests of processes that migrate it themselves.
///
/// # Panics
/// As [`fresh_pool`].
pub async fn empty_database_url() -> Option<String> {
    let admin_url = server_or_skip()?;
    let name = create_empty(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("cannot create an empty test database: {e}"));
    Some(url_of(admin_url, &name))
}

/// `admin_url` with its database replaced by `name`.
fn url_of(admin_url: String, name: &str) -> String {
    let mut url = admin_url;
    if let Some(slash) = url.rfind('/') {
        if url[..slash].ends_with('/') {
            url.push('/');
        } else {
            url.truncate(slash + 1);
        }
    }
    url.push_str(name);
    url
}

/// Creates an empty database on the server of `admin_url`; its name.
async fn create_empty(admin_url: &str) -> Result<String, sqlx::Error> {
    let admin: PgConnectOptions = admin_url.parse()?;
    let mut conn = PgConnection::connect_with(&admin).await?;
    let name = next_name();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(r#"create database "{name}""#)))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(name)
}

/// A pool on a fresh, empty database (no migrations), or `None` as
/// [`fresh_pool`].
///
/// # Panics
/// As [`fresh_pool`].
pub async fn empty_pool() -> Option<PgPool> {
    let admin_url = server_or_skip()?;
    let create = async {
        let name = create_empty(&admin_url).await?;
        let admin: PgConnectOptions = admin_url.parse()?;
        PgPoolOptions::new()
            .max_connections(4)
            .connect_with(admin.database(&name))
            .await
    };
    Some(
        create
            .await
            .unwrap_or_else(|e: sqlx::Error| panic!("cannot create an empty test database: {e}")),
    )
}

fn next_name() -> String {
    format!(
        "{PREFIX}{}_{}_{}",
        now_secs(),
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    )
}

fn server_or_skip() -> Option<String> {
    match SERVER.get_or_init(find_server) {
        Ok(url) => Some(url.clone()),
        Err(why) => {
            skip_or_fail(why);
            None
        }
    }
}

/// Says why a PostgreSQL test cannot run: one printed line, after which the
/// test returns as skipped.
///
/// # Panics
/// When `ORDER_REQUIRE_POSTGRES` is set (as CI sets it): there, a test that
/// cannot run fails.
pub fn skip_or_fail(why: &str) {
    if std::env::var_os("ORDER_REQUIRE_POSTGRES").is_some() {
        panic!("PostgreSQL tests are required (ORDER_REQUIRE_POSTGRES) but cannot run: {why}");
    }
    eprintln!("postgres tests skipped: {why}");
}

/// The admin URL of the test database server, for tests that need their own
/// connections (counting statements, say).
pub fn server_url() -> Option<String> {
    SERVER.get_or_init(find_server).as_ref().ok().cloned()
}

async fn create_database(admin_url: &str) -> Result<PgConnectOptions, sqlx::Error> {
    let admin: PgConnectOptions = admin_url.parse()?;
    let mut conn = PgConnection::connect_with(&admin).await?;
    let template = ensure_template(&mut conn, &admin).await?;
    let name = format!(
        "{PREFIX}{}_{}_{}",
        now_secs(),
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        r#"create database "{name}" template "{template}""#
    )))
    .execute(&mut conn)
    .await?;
    conn.close().await?;
    Ok(admin.database(&name))
}

/// The template for the current migrations, made once (under an advisory
/// lock, so concurrent test processes make it once between them).
async fn ensure_template(
    conn: &mut PgConnection,
    admin: &PgConnectOptions,
) -> Result<String, sqlx::Error> {
    let version: String = MIGRATOR
        .iter()
        .map(|m| {
            format!(
                "{}:{}",
                m.version,
                m.checksum
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            )
        })
        .collect::<Vec<_>>()
        .join(",");
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in version.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let template = format!("order_template_{hash:016x}");
    sqlx::query("select pg_advisory_lock(7243)")
        .execute(&mut *conn)
        .await?;
    let made = async {
        drop_stale(conn).await?;
        let exists: bool =
            sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
                .bind(&template)
                .fetch_one(&mut *conn)
                .await?;
        if !exists {
            let building = format!("{template}_building");
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                r#"drop database if exists "{building}" with (force)"#
            )))
            .execute(&mut *conn)
            .await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                r#"create database "{building}""#
            )))
            .execute(&mut *conn)
            .await?;
            let mut target = PgConnection::connect_with(&admin.clone().database(&building)).await?;
            MIGRATOR
                .run(&mut target)
                .await
                .map_err(|e| sqlx::Error::Migrate(Box::new(e)))?;
            target.close().await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                r#"alter database "{building}" rename to "{template}""#
            )))
            .execute(&mut *conn)
            .await?;
        }
        Ok::<_, sqlx::Error>(())
    }
    .await;
    sqlx::query("select pg_advisory_unlock(7243)")
        .execute(&mut *conn)
        .await?;
    made.map(|()| template)
}

async fn drop_stale(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    let names: Vec<String> =
        sqlx::query_scalar("select datname from pg_database where datname like 'order\\_test\\_%'")
            .fetch_all(&mut *conn)
            .await?;
    let cutoff = now_secs().saturating_sub(STALE_AFTER_SECS);
    for name in names {
        let created = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|secs| secs.parse::<u64>().ok());
        if created.is_some_and(|secs| secs < cutoff) {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                r#"drop database if exists "{name}" with (force)"#
            )))
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

fn find_server() -> Result<String, String> {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        return Ok(url);
    }
    throwaway_cluster()
}

fn tool(name: &str) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    on_path.or_else(|| {
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(Result::ok)
            .map(|entry| entry.path().join("bin").join(name))
            .filter(|candidate| candidate.is_file())
            .collect();
        found.sort();
        found.pop()
    })
}

/// Runs a PostgreSQL tool as the current user, or as `postgres` when the
/// current user is root (PostgreSQL refuses to run as root).
fn run(program: &Path, args: &[&str], as_postgres: bool) -> Result<(), String> {
    let output = if as_postgres {
        Command::new("runuser")
            .arg("-u")
            .arg("postgres")
            .arg("--")
            .arg(program)
            .args(args)
            .output()
    } else {
        Command::new(program).args(args).output()
    }
    .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} failed: {}",
            program.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

fn throwaway_cluster() -> Result<String, String> {
    let dir = std::env::temp_dir().join("order-engine-test-cluster");
    let port = start_server(&dir, Some(54_329), &["max_connections=200"], |_| Ok(()))
        .map_err(|why| format!("DATABASE_URL is not set and {why}"))?;
    Ok(format!("postgres://postgres@127.0.0.1:{port}/postgres"))
}

/// A PostgreSQL server of a test's own, from [`own_server`].
#[derive(Debug, Clone)]
pub struct OwnServer {
    /// The server's directory: its data directory (`data/`), socket, log
    /// (`server.log`), and the files `prepare` wrote.
    pub dir: PathBuf,
    /// The port it listens on, on 127.0.0.1 only.
    pub port: u16,
    /// This test process's database on it.
    pub database: String,
}

impl OwnServer {
    /// The URL of this process's database as the `postgres` superuser
    /// (trust authentication), followed by `query` (`"?sslmode=require"`,
    /// say).
    pub fn url(&self, query: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{}{query}",
            self.port, self.database
        )
    }
}

/// An empty database `order_<pid>` for this process on the server at
/// `port`, after dropping those of test processes that have ended. The
/// server outlives the runs, and runs from checkouts with other migrations
/// share it: each migrates a database of its own.
fn process_database(port: u16) -> Result<String, String> {
    let psql = tool("psql").ok_or("psql was not found")?;
    let port = port.to_string();
    let sql = |statement: &str| -> Result<String, String> {
        let output = Command::new(&psql)
            .args(["-h", "127.0.0.1", "-p", &port, "-U", "postgres"])
            .args(["-d", "postgres", "-qAtc", statement])
            .output()
            .map_err(|e| format!("cannot run {}: {e}", psql.display()))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(format!(
                "{statement}: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ))
        }
    };
    let me = std::process::id();
    let listed = sql("select datname from pg_database where datname ~ '^order_[0-9]+$'")?;
    for name in listed.lines() {
        let ended = name
            .trim_start_matches("order_")
            .parse::<u32>()
            .is_ok_and(|pid| pid == me || !Path::new(&format!("/proc/{pid}")).exists());
        if ended {
            sql(&format!(r#"drop database if exists "{name}" with (force)"#))?;
        }
    }
    let name = format!("order_{me}");
    sql(&format!(r#"create database "{name}""#))?;
    Ok(name)
}

/// A throwaway PostgreSQL server named `name`, run with `settings` (server
/// settings such as `"ssl=on"`, given when it starts; relative paths are
/// relative to its data directory), in the system's temp directory on a
/// free port. Made once with `initdb` (found as the
/// throwaway cluster's is) after `prepare` has written what the settings
/// refer to (certificates, say) into the server's directory; started with
/// `pg_ctl` when it is not running; left running for later runs, which find
/// it by name. Concurrent test processes make and start it once between
/// them; each gets a database of its own on it ([`OwnServer::url`]).
///
/// # Errors
/// Why there is no server: no `initdb`/`pg_ctl`, or a step that failed,
/// with its output; for [`skip_or_fail`].
pub fn own_server(
    name: &str,
    settings: &[&str],
    prepare: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<OwnServer, String> {
    let dir = std::env::temp_dir().join(format!("order-engine-{name}"));
    let port = start_server(&dir, None, settings, prepare)?;
    let database = process_database(port)?;
    Ok(OwnServer {
        dir,
        port,
        database,
    })
}

/// Makes the server in `dir` unless it exists, starts it unless it runs
/// (on `port`, or a free one), and returns the port it listens on.
fn start_server(
    dir: &Path,
    port: Option<u16>,
    settings: &[&str],
    prepare: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<u16, String> {
    let initdb = tool("initdb").ok_or("initdb was not found")?;
    let pg_ctl = tool("pg_ctl").ok_or("pg_ctl was not found")?;
    let as_postgres = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let data = dir.join("data");
    let data_arg = data.to_string_lossy().into_owned();
    // Another test process may be making or starting the same server.
    let lock_path = dir.with_extension("lock");
    let lock = std::fs::File::create(&lock_path)
        .map_err(|e| format!("cannot create {}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
    if !data.join("PG_VERSION").is_file() {
        // What a failed earlier attempt left is of no use.
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        prepare(dir)?;
        if as_postgres {
            run(
                Path::new("chown"),
                &["-R", "postgres", &dir.to_string_lossy()],
                false,
            )?;
        }
        run(
            &initdb,
            &[
                "-D",
                &data_arg,
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
            as_postgres,
        )?;
    }
    let running = run(&pg_ctl, &["-D", &data_arg, "status"], as_postgres).is_ok();
    if running {
        return running_port(&data);
    }
    let port = match port {
        Some(port) => port,
        None => free_port()?,
    };
    let mut options = format!(
        "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off",
        dir.display()
    );
    for setting in settings {
        options.push_str(" -c ");
        options.push_str(setting);
    }
    let log = dir.join("server.log").to_string_lossy().into_owned();
    run(
        &pg_ctl,
        &["-D", &data_arg, "-o", &options, "-l", &log, "-w", "start"],
        as_postgres,
    )?;
    Ok(port)
}

/// The port a running server listens on: line 4 of its `postmaster.pid`.
fn running_port(data: &Path) -> Result<u16, String> {
    let pid_file = data.join("postmaster.pid");
    std::fs::read_to_string(&pid_file)
        .map_err(|e| format!("cannot read {}: {e}", pid_file.display()))?
        .lines()
        .nth(3)
        .and_then(|line| line.trim().parse().ok())
        .ok_or_else(|| format!("{} names no port", pid_file.display()))
}

/// A port nothing listens on now, on 127.0.0.1.
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

/// Fills `store` with `count` orders from 97 customers over 30 days (8
/// writers at a time): a third only placed, a third paid, a third paid,
/// shipped and delivered (some of them with a return), and refreshes the
/// planner's statistics, so query plans are the ones a real database gets.
///
/// # Panics
/// When a write fails: a test set-up failure.
pub async fn seed_orders(store: &crate::PgOrderStore, count: usize) {
    use order_core::ports::{Change, OrderStore};
    use order_core::system::UuidV7Ids;

    let start = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH + chrono::Duration::days(20_400);
    let sku = must(order_core::Sku::parse("SEED-1"));
    crate::inventory::set_on_hand(store.pool(), &sku, 10_000_000)
        .await
        .unwrap_or_else(|e| panic!("seeding stock failed: {e}"));
    let mut writers = tokio::task::JoinSet::new();
    for writer in 0..8 {
        let store = store.clone();
        let sku = sku.clone();
        writers.spawn(async move {
            let ids = UuidV7Ids;
            for n in (writer..count).step_by(8) {
                let customer =
                    order_core::CustomerId::new(uuid::Uuid::from_u128(0xC000 + (n % 97) as u128))
                        .unwrap_or_else(|e| panic!("{e}"));
                let at = start + chrono::Duration::seconds(i64::try_from(n).unwrap_or(0) * 863);
                let price = order_core::Money::from_minor(
                    1_000 + (n % 5_000) as i128,
                    order_core::Currency::USD,
                )
                .unwrap_or_else(|e| panic!("{e}"));
                let (placed, record) = seed_order(customer, at, price, &[seed_product()], &ids);
                let (order, records) = advance(placed, record, n, &ids);
                // Pending orders hold their stock, as placed orders do.
                let hold = [order_core::ports::StockEffect::Reserve {
                    items: vec![order_core::ports::StockItem {
                        sku: sku.clone(),
                        quantity: must(order_core::Quantity::new(2)),
                    }],
                    expires_at: at,
                }];
                store
                    .commit(Change {
                        order: &order,
                        expected_version: 0,
                        events: &records,
                        idempotency_key: None,
                        inbound_event: None,
                        lines_changed: true,
                        stock: if n.is_multiple_of(3) { &hold } else { &[] },
                    })
                    .await
                    .unwrap_or_else(|e| panic!("seeding failed: {e}"));
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.unwrap_or_else(|e| panic!("seeding task failed: {e}"));
    }
    // A running service sequences its outbox continuously, so little waits
    // when statistics are taken; so does this (one call sequences a bounded
    // number of batches).
    loop {
        let _ = order_core::ports::OrderStore::feed(store, 0, 1)
            .await
            .unwrap_or_else(|e| panic!("sequencing the outbox failed: {e}"));
        let waiting: bool = sqlx::query_scalar(
            "select exists (select 1 from outbox_events where position is null)",
        )
        .fetch_one(store.pool())
        .await
        .unwrap_or_else(|e| panic!("reading the outbox failed: {e}"));
        if !waiting {
            break;
        }
    }
    // Idempotency keys as many clients send them.
    sqlx::query(
        "insert into idempotency_keys (key, fingerprint, state, claimed_at)
         select 'seed-' || g, 'seed', 'in_flight', now() from generate_series(1, $1) g",
    )
    .bind(i32::try_from(count).unwrap_or(i32::MAX))
    .execute(store.pool())
    .await
    .unwrap_or_else(|e| panic!("seeding keys failed: {e}"));
    sqlx::raw_sql("analyze")
        .execute(store.pool())
        .await
        .unwrap_or_else(|e| panic!("analyze failed: {e}"));
}

/// Takes a placed order further along its life by `n % 3` (see
/// [`seed_orders`]), through the engine's own decisions.
fn advance(
    order: order_core::Order,
    placed: order_core::EventRecord,
    n: usize,
    ids: &dyn order_core::ports::IdGenerator,
) -> (order_core::Order, Vec<order_core::EventRecord>) {
    use order_core::*;

    let at = placed.occurred_at;
    let mut records = vec![placed];
    let mut order = order;
    let mut step = |order: &mut Order, command: Command| {
        let (next, new) = follow(order, &command, at, ids);
        *order = next;
        records.extend(new);
    };
    if n.is_multiple_of(3) {
        return (order, records);
    }
    let total = order.totals().total;
    let entry = |kind| PaymentEntry {
        id: must(PaymentEntryId::new(ids.new_v7())),
        kind,
        amount: total,
        reference: Some(must(GatewayReference::parse(&format!("seed_{n}")))),
        idempotency_key: format!("seed-{n}"),
        reason: None,
        return_id: None,
        at,
    };
    step(
        &mut order,
        Command::StartPayment {
            reservation_expires_at: None,
            payment_method: None,
        },
    );
    step(
        &mut order,
        Command::RecordCapture {
            entry: entry(PaymentKind::Capture),
        },
    );
    if n % 3 == 1 {
        return (order, records);
    }
    step(&mut order, Command::StartProcessing);
    let line = order.lines()[0].id;
    let shipment_id = must(ShipmentId::new(ids.new_v7()));
    step(
        &mut order,
        Command::Ship {
            shipment_id,
            lines: vec![LineQuantity {
                line_id: line,
                quantity: must(Quantity::new(2)),
            }],
            carrier: Some(must(Carrier::parse("UPS"))),
            tracking_number: None,
        },
    );
    step(&mut order, Command::Deliver { shipment_id });
    if n % 9 == 2 {
        step(
            &mut order,
            Command::RequestReturn {
                return_id: must(ReturnId::new(ids.new_v7())),
                lines: vec![LineQuantity {
                    line_id: line,
                    quantity: must(Quantity::new(1)),
                }],
                reason: must(Reason::parse("seed")),
                return_window: chrono::Duration::days(30),
            },
        );
    }
    (order, records)
}

/// `order` after `command`, decided by the engine at `at`, with the records
/// of its events.
///
/// # Panics
/// When the engine refuses the command: a set-up failure.
pub(crate) fn follow(
    order: &order_core::Order,
    command: &order_core::Command,
    at: chrono::DateTime<chrono::Utc>,
    ids: &dyn order_core::ports::IdGenerator,
) -> (order_core::Order, Vec<order_core::EventRecord>) {
    use order_core::*;

    let events = order
        .decide(command, at)
        .unwrap_or_else(|e| panic!("seed step refused: {e}"));
    let mut next = order.clone();
    let records = events
        .into_iter()
        .map(|event| {
            let record = EventRecord {
                id: must(EventId::new(ids.new_v7())),
                order_id: order.id(),
                sequence: next.version() + 1,
                occurred_at: at,
                actor: Actor::system(),
                event,
            };
            next.apply(&record);
            record
        })
        .collect();
    (next, records)
}

/// The product every seeded order buys.
fn seed_product() -> (order_core::ProductId, order_core::Sku) {
    (
        must(order_core::ProductId::new(uuid::Uuid::from_u128(0xA11))),
        must(order_core::Sku::parse("SEED-1")),
    )
}

/// Adds `count` active products `SKU-1` … `SKU-<count>`, each with a million
/// units on hand, and refreshes the planner's statistics: a catalog of a
/// realistic size for placements and for their plans.
///
/// # Panics
/// When a write fails: a test set-up failure.
pub async fn seed_products(pool: &sqlx::PgPool, count: usize) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "insert into products (product_id, sku, name, unit_price, currency, tax_class, kind)
         select ('0193e6d2-0000-7000-8000-' || lpad(to_hex(g), 12, '0'))::uuid, 'SKU-' || g,
                'Product ' || g, 1 + (g % 500) * 0.25, 'USD', 'standard', 'physical'
           from generate_series(1, {count}) g;
         insert into stock_levels (sku, on_hand)
         select 'SKU-' || g, 1000000 from generate_series(1, {count}) g;
         analyze products, stock_levels;"
    )))
    .execute(pool)
    .await
    .unwrap_or_else(|e| panic!("seeding products failed: {e}"));
}

fn must<T>(value: Result<T, order_core::ValidationError>) -> T {
    value.unwrap_or_else(|e| panic!("seed data is invalid: {e}"))
}

/// A placed order of two units of each of `products` at `price`.
pub(crate) fn seed_order(
    customer: order_core::CustomerId,
    at: chrono::DateTime<chrono::Utc>,
    price: order_core::Money,
    products: &[(order_core::ProductId, order_core::Sku)],
    ids: &dyn order_core::ports::IdGenerator,
) -> (order_core::Order, order_core::EventRecord) {
    use order_core::pricing::{PriceLine, PricingPolicy, price_lines};
    use order_core::*;

    let quantity = must(Quantity::new(2));
    let priced = price_lines(
        Currency::USD,
        &products
            .iter()
            .map(|_| PriceLine {
                unit_price: price,
                quantity,
                tax_rate: pricing::Percent::ZERO,
                discountable: false,
            })
            .collect::<Vec<_>>(),
        None,
        &PricingPolicy::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let totals = priced
        .with_shipping(Money::zero(Currency::USD))
        .unwrap_or_else(|e| panic!("{e}"));
    let id = must(OrderId::new(ids.new_v7()));
    let lines = products
        .iter()
        .zip(&priced.lines)
        .map(|((product_id, sku), amounts)| OrderLine {
            id: must(LineId::new(ids.new_v7())),
            product_id: *product_id,
            variant_id: None,
            sku: sku.clone(),
            name: must(ProductName::parse("Seed product")),
            kind: ProductKind::Physical,
            tax_class: must(TaxClass::parse("standard")),
            tax_rate: pricing::Percent::ZERO,
            quantity,
            unit_price: price,
            amounts: *amounts,
            quantities: LineQuantities {
                ordered: 2,
                ..LineQuantities::default()
            },
        })
        .collect();
    let record = EventRecord {
        id: must(EventId::new(ids.new_v7())),
        order_id: id,
        sequence: 1,
        occurred_at: at,
        actor: Actor::system(),
        event: OrderEvent::Placed(Box::new(event::Placed {
            id,
            number: must(OrderNumber::parse(
                &format!("SEED-{}", id.as_uuid().simple()).to_uppercase()[..30],
            )),
            customer_id: customer,
            currency: Currency::USD,
            lines,
            shipping_address: Some(must(Address::parse(AddressInput {
                name: "Seed Customer".into(),
                line1: "1 Seed Street".into(),
                city: "Springfield".into(),
                postal_code: "97475".into(),
                country: "US".into(),
                ..AddressInput::default()
            }))),
            billing_address: None,
            shipping_method: Some(must(ShippingMethod::parse("standard"))),
            payment_method: None,
            coupon: None,
            discount: None,
            notes: None,
            pricing: PricingPolicy::default(),
            totals,
            reservation_expires_at: at,
        })),
    };
    let order = Order::placed(&record).unwrap_or_else(|| panic!("a Placed record makes an order"));
    (order, record)
}
