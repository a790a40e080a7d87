//! A fleet starting at once: four processes on one empty PostgreSQL
//! database all come up, and the schema is migrated exactly once (sqlx's
//! migrator holds a PostgreSQL advisory lock while it migrates; ADR 0011).

use std::time::Duration;

use order_store_postgres::MIGRATOR;
use sqlx::Connection;

use crate::process::{Scratch, Server, http, repository};

#[test]
fn four_replicas_starting_at_once_on_an_empty_database_migrate_it_once_and_all_serve() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let Some(url) = runtime.block_on(order_store_postgres::testing::empty_database_url()) else {
        return;
    };
    let config = repository().join("config/sample.toml");
    let starts: Vec<_> = (0..4)
        .map(|n| {
            let (url, config) = (url.clone(), config.to_string_lossy().into_owned());
            std::thread::spawn(move || {
                let data = Scratch::new(&format!("fleet-{n}"));
                let data_dir = data.path().to_string_lossy().into_owned();
                let server = Server::start(&[
                    ("DATABASE_URL", &url),
                    ("ORDER_JWT_SECRET", "fleet-secret"),
                    ("ORDER_PAYMENTS", "simulated"),
                    ("ORDER_CONFIG", &config),
                    ("ORDER_DATA_DIR", &data_dir),
                ]);
                (server, data)
            })
        })
        .collect();
    let servers: Vec<(Server, Scratch)> = starts
        .into_iter()
        .map(|start| start.join().expect("every replica starts"))
        .collect();
    for (server, _) in &servers {
        let (status, body) = http("GET", &format!("{}/health/ready", server.base), "", None);
        assert_eq!(status, 200, "{body}");
    }

    let (applied, versions, failed) = runtime.block_on(async {
        let mut conn = sqlx::PgConnection::connect(&url)
            .await
            .expect("a connection");
        let applied: i64 = sqlx::query_scalar("select count(*) from _sqlx_migrations")
            .fetch_one(&mut conn)
            .await
            .expect("the migrations table");
        let versions: i64 =
            sqlx::query_scalar("select count(distinct version) from _sqlx_migrations")
                .fetch_one(&mut conn)
                .await
                .expect("the versions");
        let failed: i64 =
            sqlx::query_scalar("select count(*) from _sqlx_migrations where not success")
                .fetch_one(&mut conn)
                .await
                .expect("the failures");
        (applied, versions, failed)
    });
    let expected = i64::try_from(MIGRATOR.iter().count()).expect("a count");
    assert_eq!(
        (applied, versions, failed),
        (expected, expected, 0),
        "each migration applied once"
    );
    for (mut server, _) in servers {
        server.stop_within(Duration::from_secs(20));
    }
}
