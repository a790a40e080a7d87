//! The `order-http` binary: parse settings, start logging (and OTLP span
//! export when configured), compose the service, serve until SIGTERM or
//! Ctrl-C, then finish in-flight requests.

use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use order_http::auth::Role;
use order_http::compose::{self, Database, Plan};
use order_http::config::{Config, Tool};
use order_http::{background, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    if let Some(Tool::Token {
        role,
        subject,
        ttl_secs,
    }) = &config.command
    {
        let auth = compose::auth(&config, false)
            .context("minting needs an HS256 secret (--jwt-secret / ORDER_JWT_SECRET)")?;
        let role: Role = serde_json::from_value(serde_json::Value::String(role.clone()))
            .context("role must be customer, admin or service")?;
        let token = auth
            .mint(subject, role, *ttl_secs)
            .context("minting needs an HS256 secret (--jwt-secret / ORDER_JWT_SECRET)")?;
        println!("{token}");
        return Ok(());
    }

    // Kept to the end of `main`: dropping it flushes the exported spans.
    let _telemetry = telemetry::init(&config)?;

    // Say where the data goes before anything can fail on it.
    if let Ok(Plan {
        database: Database::SqliteFile(path),
        ..
    }) = Plan::resolve(&config)
    {
        println!(
            "data directory: {} (orders in {})",
            config.data_dir.display(),
            path.display()
        );
    }
    let app = compose::build(&config).await?;
    if !app.dev_tokens.is_empty() {
        println!(
            "development mode: tokens valid for 24 hours (mint more with `order-http token --role <role>` and the same ORDER_JWT_SECRET)"
        );
        for (role, token) in &app.dev_tokens {
            println!("  {role:?} token: {token}");
        }
        println!(
            "  the customer token's customer id is {}",
            compose::DEMO_CUSTOMER
        );
    }

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let address = listener.local_addr()?;
    println!("listening on http://{address}");
    tracing::info!(%address, "listening");

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let sweeper = tokio::spawn(background::sweep(
        app.state.clone(),
        app.publisher,
        Duration::from_secs(config.sweep_interval_secs.max(1)),
        stopped,
    ));
    let router = order_http::router(app.state);
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    let server = axum::serve(listener, router).with_graceful_shutdown(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
    });
    let serving = tokio::spawn(async move { server.await });
    let result = serving.await;
    let _ = stop.send(true);
    let _ = tokio::time::timeout(grace, sweeper).await;
    result.context("server task")?.context("server")?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
