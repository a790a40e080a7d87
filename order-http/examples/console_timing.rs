//! Times the admin console's pages (and the JSON report) on PostgreSQL with
//! many orders: the server time of each, from the request to the last byte
//! of the body, through the binary's own composition (`compose::build`) and
//! router, without a socket. Median and 95th percentile of 20 requests per
//! page, after 3 to warm up.
//!
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo run --release -p order-http --example console_timing -- 100000
//! ```
//!
//! It seeds a fresh database with that many orders (through the engine's
//! decisions: a third placed, a third paid, a third delivered, some with
//! returns; `order_store_postgres::testing::seed_orders`) and 10,000
//! products, and prints the database's URL: pass it as the second argument
//! to time again without seeding.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use clap::Parser;
use http_body_util::BodyExt;
use order_http::auth::Role;
use order_http::compose;
use order_http::config::Config;
use order_store_postgres::PgOrderStore;
use order_store_postgres::testing::{fresh_database_url, seed_orders, seed_products};
use tower::ServiceExt;

const WARM_UP: usize = 3;
const RUNS: usize = 20;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let orders: usize = args.next().map_or(Ok(100_000), |n| n.parse())?;
    let url = match args.next() {
        Some(url) => url,
        None => {
            let url = fresh_database_url()
                .await
                .ok_or("no PostgreSQL server: set DATABASE_URL")?;
            let pool = sqlx::PgPool::connect(&url).await?;
            let started = Instant::now();
            seed_products(&pool, 10_000).await;
            seed_orders(&PgOrderStore::new(pool.clone()), orders).await;
            sqlx::raw_sql("vacuum analyze").execute(&pool).await?;
            eprintln!("seeded {orders} orders in {:.0?}", started.elapsed());
            url
        }
    };
    eprintln!("database: {url}");

    let config = Config::try_parse_from([
        "order-http",
        "--dev",
        "--database-url",
        &url,
        "--config",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../config/sample.toml"),
    ])?;
    let app = compose::build(&config).await?;
    let admin = app
        .dev_tokens
        .iter()
        .find(|(role, _)| *role == Role::Admin)
        .map(|(_, token)| token.clone())
        .ok_or("dev mode minted no admin token")?;
    let router = order_http::router(app.state.clone());

    let pool = sqlx::PgPool::connect(&url).await?;
    // A delivered order, the oldest order's number, the newest order's
    // customer, and the days and times the orders span.
    let (id, number, customer, from, to, start, end): (
        String,
        String,
        String,
        String,
        String,
        String,
        String,
    ) = sqlx::query_as(
        "select (select id::text from orders where status = 'delivered'
                  order by created_at desc limit 1),
                (select number from orders order by created_at limit 1),
                (select customer_id::text from orders order by created_at desc limit 1),
                (select min(created_at)::date::text from orders),
                (select max(created_at)::date::text from orders),
                (select to_char(min(created_at) at time zone 'UTC',
                                'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') from orders),
                (select to_char(max(created_at) at time zone 'UTC' + interval '1 day',
                                'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') from orders)",
    )
    .fetch_one(&pool)
    .await?;
    let last: chrono::NaiveDate = to.parse()?;
    let end_30 = last - chrono::Duration::days(29);

    let pages = [
        ("orders, newest first", "/admin/orders".to_owned()),
        (
            "orders by status",
            "/admin/orders?status=confirmed".to_owned(),
        ),
        (
            "orders by payment status `paid`",
            "/admin/orders?payment=paid".to_owned(),
        ),
        (
            "orders by payment status `partially_refunded`",
            "/admin/orders?payment=partially_refunded".to_owned(),
        ),
        (
            "orders by status and payment status",
            "/admin/orders?status=pending&payment=unpaid".to_owned(),
        ),
        (
            "orders by customer and dates",
            format!("/admin/orders?customer={customer}&from={from}&to={to}"),
        ),
        (
            "order number search",
            format!("/admin/orders?number={number}"),
        ),
        ("one order", format!("/admin/orders/{id}")),
        ("products & stock", "/admin/products".to_owned()),
        ("compensations", "/admin/compensations".to_owned()),
        (
            "reports, the last 30 days of orders",
            format!("/admin/reports?from={end_30}&to={to}"),
        ),
        (
            "reports, a period holding every order",
            format!("/admin/reports?from={from}&to={to}"),
        ),
        (
            "JSON report, every order",
            format!("/api/v1/reports?from={start}&to={end}"),
        ),
    ];

    println!("| page | median | p95 |");
    println!("|---|---|---|");
    for (name, path) in pages {
        let mut times = Vec::with_capacity(RUNS);
        for run in 0..WARM_UP + RUNS {
            let request = Request::get(&path)
                .header(header::COOKIE, format!("order_console={admin}"))
                .header(header::AUTHORIZATION, format!("Bearer {admin}"))
                .body(Body::empty())?;
            let started = Instant::now();
            let response = router.clone().oneshot(request).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            let took = started.elapsed();
            if status != StatusCode::OK {
                return Err(format!(
                    "{path}: {status}: {}",
                    String::from_utf8_lossy(&body[..body.len().min(500)])
                )
                .into());
            }
            if run >= WARM_UP {
                times.push(took);
            }
        }
        times.sort();
        println!(
            "| {name} | {} | {} |",
            ms((times[RUNS / 2 - 1] + times[RUNS / 2]) / 2),
            ms(times[RUNS * 95 / 100 - 1]),
        );
    }
    Ok(())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1_000.0)
}
