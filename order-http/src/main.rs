//! The `order-http` binary: parse settings, start logging (and OTLP span
//! export when configured), compose the service, serve until SIGTERM or
//! Ctrl-C, then finish in-flight requests within the grace period and exit,
//! whatever the clients still connected do.
//!
//! Connections are served by hyper's HTTP/1 server with a header read
//! timeout (a client that never finishes its headers, or an idle keep-alive
//! connection, is closed); the router bounds the time a body may take
//! (408) and the time a request may take (503).
//!
//! With `--grpc-addr` the gRPC API (order-grpc) is served beside, on its own
//! port, and stops with the HTTP server.

use std::future::Future;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use clap::Parser;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use order_http::auth::Role;
use order_http::compose::{self, Database, Plan};
use order_http::config::{Config, Tool};
use order_http::{background, telemetry};
use tokio::net::TcpListener;
use tokio::time::Instant;
use tower::ServiceExt as _;

/// mimalloc rather than glibc's malloc, which took 13 % of the service's
/// CPU under placement load (many small buffers allocated on one worker
/// thread and freed on another); built without transparent huge pages, so
/// that its arenas do not fault in 2 MiB at a time (ADR 0014).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = config.worker_threads {
        runtime.worker_threads(threads.get());
    }
    runtime
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(run(config))
}

async fn run(config: Config) -> anyhow::Result<()> {
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

    let grpc = order_http::grpc::GrpcServer::bind(&config, &app.state).await?;
    if let Some(server) = &grpc {
        let address = server.local_addr()?;
        println!("gRPC listening on {address}");
        tracing::info!(%address, "gRPC listening");
    }
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let address = listener.local_addr()?;
    println!("listening on http://{address}");
    tracing::info!(%address, "listening");

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let relay = tokio::spawn(app.relay.run(stopped.clone()));
    let webhooks = tokio::spawn(app.webhooks.run(stopped.clone()));
    let payment_events = app.payment_events.map(|consumer| {
        let mut stop = stopped.clone();
        tokio::spawn(consumer.run(async move {
            let _ = stop.wait_for(|stopping| *stopping).await;
        }))
    });
    let grpc = grpc.map(|server| {
        let mut stop = stopped.clone();
        tokio::spawn(async move {
            let stopping = async move {
                let _ = stop.wait_for(|stopping| *stopping).await;
            };
            if let Err(err) = server.run(stopping).await {
                tracing::error!(error = %err, "the gRPC server stopped");
            }
        })
    });
    let sweeper = tokio::spawn(background::sweep(
        app.state.clone(),
        Duration::from_secs(config.sweep_interval_secs.max(1)),
        stopped,
    ));
    let metrics = app.state.metrics.clone();
    let upkeep = tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            metrics.run_upkeep();
        }
    });
    let router = order_http::router(app.state);
    let header_read_timeout = Duration::from_secs(config.header_read_timeout_secs.max(1));
    let connections = serve(listener, router, header_read_timeout, shutdown_signal()).await;

    let grace = Duration::from_secs(config.shutdown_grace_secs);
    let deadline = Instant::now() + grace;
    tracing::info!(
        connections = connections.count(),
        grace_secs = grace.as_secs(),
        "shutting down: finishing in-flight requests"
    );
    let _ = stop.send(true);
    let mut background = vec![
        ("the sweep", sweeper),
        ("the relay", relay),
        ("webhooks", webhooks),
    ];
    background.extend(payment_events.map(|consumer| ("the payment-event consumer", consumer)));
    background.extend(grpc.map(|server| ("the gRPC server", server)));
    let mut connections_closed = false;
    let drained = tokio::time::timeout_at(deadline, async {
        connections.shutdown().await;
        connections_closed = true;
        for (_, task) in &mut background {
            let _ = task.await;
        }
    })
    .await;
    if drained.is_err() {
        // Name what is unfinished: an operator who sees every shutdown take
        // the whole grace needs to know which part to look at.
        let unfinished: Vec<&str> = (!connections_closed)
            .then_some("HTTP connections")
            .into_iter()
            .chain(
                background
                    .iter()
                    .filter(|(_, task)| !task.is_finished())
                    .map(|(name, _)| *name),
            )
            .collect();
        tracing::warn!(
            grace_secs = grace.as_secs(),
            unfinished = %unfinished.join(", "),
            "the grace period is over: exiting with work unfinished"
        );
    }
    upkeep.abort();
    tracing::info!("stopped");
    // Returning drops the runtime, and with it every connection still open.
    Ok(())
}

/// Serves `router` on `listener`, each connection with `header_read_timeout`,
/// until `signal`; then stops accepting and hands back the open connections.
async fn serve(
    listener: TcpListener,
    router: Router,
    header_read_timeout: Duration,
    signal: impl Future<Output = ()>,
) -> GracefulShutdown {
    let connections = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    tokio::pin!(signal);
    loop {
        let stream = tokio::select! {
            () = &mut signal => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    // Out of file descriptors, say: wait instead of spinning.
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            router.clone().oneshot(request)
        });
        let connection = connections.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "connection closed with an error");
            }
        });
    }
    connections
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
