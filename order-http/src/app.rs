//! Wiring the binary: adapters chosen by configuration (PostgreSQL, or the
//! in-memory ones with no `DATABASE_URL`), authentication, the demo catalog,
//! and the background sweeps. `main.rs` only parses, logs and serves.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use order_core::ports::{CatalogAdmin, EventPublisher, OrderStore, StockLevels};
use order_core::system::{AuthenticatedCustomers, SystemClock, UuidV7Ids};
use order_core::{
    CaptureMode, OrderService, PortError, Ports, ServiceConfig, StockKeeping, StoredEvent,
};
use order_store_postgres::{
    MIGRATOR, PgCatalog, PgInventory, PgOrderNumbers, PgOrderStore, TokioTimer,
};
use order_testkit::InMemoryOrderStore;
use order_testkit::fakes::{FakeCatalog, FakeInventory, FakeOrderNumbers, FakePaymentGateway};
use order_testkit::harness::{demo_coupons, demo_shipping, demo_tax, product};

use crate::auth::{AuthConfig, Role};
use crate::config::{Capture, Config};
use crate::metered::{MeteredService, MeteredStore};
use crate::metrics::Metrics;
use crate::state::{AppState, Limits};

/// The customer the dev-mode customer token names.
pub const DEMO_CUSTOMER: &str = "0193e6d2-6c1e-7b4e-9a3a-5c1d2e3f4a5b";

/// Where orders live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL.
    Postgres,
    /// In memory: nothing survives a restart.
    Memory,
}

/// The service, ready to serve.
#[allow(missing_debug_implementations)]
pub struct App {
    /// The handlers' state.
    pub state: AppState,
    /// Where orders live.
    pub backend: Backend,
    /// Dev-mode tokens (role, token), when dev mode made its own secret or
    /// has an HS256 one.
    pub dev_tokens: Vec<(Role, String)>,
}

/// Publishes outbox events to the log: the relay's default publisher, so
/// the outbox drains and every event is visible in the logs (the event
/// feed serves them to consumers).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogPublisher;

#[async_trait]
impl EventPublisher for LogPublisher {
    async fn publish(&self, event: &StoredEvent) -> Result<(), PortError> {
        tracing::info!(
            position = event.position,
            event_id = %event.record.id,
            event_type = event.record.event_type(),
            order_id = %event.record.order_id,
            sequence = event.record.sequence,
            "event published"
        );
        Ok(())
    }
}

fn random_secret() -> String {
    // Two UUID v7s carry 148 random bits; enough for a development secret.
    format!(
        "{}{}",
        uuid::Uuid::now_v7().simple(),
        uuid::Uuid::now_v7().simple()
    )
}

/// Authentication from the configuration; dev mode (explicit, or implied by
/// no key at all) makes an HS256 secret when none is given.
///
/// # Errors
/// When a configured key file cannot be read or parsed.
pub fn auth(config: &Config) -> anyhow::Result<(AuthConfig, bool)> {
    let configured = config.jwt_secret.is_some()
        || config.jwt_rsa_public_key.is_some()
        || config.jwt_ed25519_public_key.is_some();
    let dev = config.dev || !configured;
    let mut auth = if let Some(path) = &config.jwt_rsa_public_key {
        let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        AuthConfig::rs256(&pem)?
    } else if let Some(path) = &config.jwt_ed25519_public_key {
        let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        AuthConfig::eddsa(&pem)?
    } else {
        let secret = config.jwt_secret.clone().unwrap_or_else(random_secret);
        AuthConfig::hs256(secret.as_bytes())
    };
    if let Some(issuer) = &config.jwt_issuer {
        auth = auth.with_issuer(issuer.clone());
    }
    if let Some(audience) = &config.jwt_audience {
        auth = auth.with_audience(audience.clone());
    }
    if let Some(secret) = &config.webhook_secret {
        auth = auth.with_webhook_secret(secret.as_bytes().to_vec());
    }
    Ok((auth, dev))
}

fn service_config(config: &Config, stock: StockKeeping) -> ServiceConfig {
    ServiceConfig {
        capture: match config.capture {
            Capture::Immediate => CaptureMode::Immediate,
            Capture::OnProcessing => CaptureMode::OnProcessing,
        },
        pending_ttl: chrono::Duration::minutes(config.pending_ttl_minutes),
        return_window: chrono::Duration::days(config.return_window_days),
        stock,
        ..ServiceConfig::default()
    }
}

/// The adapters one back end brings.
struct Adapters {
    backend: Backend,
    store: Arc<dyn OrderStore>,
    catalog: Arc<dyn order_core::ports::Catalog>,
    catalog_admin: Arc<dyn CatalogAdmin>,
    stock: Arc<dyn StockLevels>,
    inventory: Arc<dyn order_core::ports::Inventory>,
    numbers: Arc<dyn order_core::ports::OrderNumbers>,
}

/// Builds the service from the configuration: connects and migrates
/// PostgreSQL when `DATABASE_URL` is set, otherwise uses the in-memory
/// adapters; adds the demo catalog to an empty catalog.
///
/// # Errors
/// When the database cannot be reached or migrated, or auth is misconfigured.
pub async fn build(config: &Config) -> anyhow::Result<App> {
    let (auth, dev) = auth(config)?;
    let metrics = Arc::new(Metrics::default());
    let payments = Arc::new(FakePaymentGateway::default());
    let adapters = match &config.database_url {
        Some(url) => {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(config.db_max_connections)
                .acquire_timeout(Duration::from_secs(5))
                .connect(url)
                .await
                .context("connecting to PostgreSQL")?;
            MIGRATOR.run(&pool).await.context("applying migrations")?;
            let store = Arc::new(PgOrderStore::new(pool.clone()));
            let catalog = Arc::new(PgCatalog::new(pool.clone()));
            Adapters {
                backend: Backend::Postgres,
                store: store.clone(),
                catalog: catalog.clone(),
                catalog_admin: catalog,
                stock: store,
                inventory: Arc::new(PgInventory::new(pool.clone())),
                numbers: Arc::new(PgOrderNumbers::new(pool, 20)),
            }
        }
        None => {
            let store = Arc::new(InMemoryOrderStore::default());
            let catalog = Arc::new(FakeCatalog::default());
            Adapters {
                backend: Backend::Memory,
                store: store.clone(),
                catalog: catalog.clone(),
                catalog_admin: catalog,
                stock: store,
                inventory: Arc::new(FakeInventory::default()),
                numbers: Arc::new(FakeOrderNumbers::default()),
            }
        }
    };
    let Adapters {
        backend,
        store,
        catalog: catalog_port,
        catalog_admin,
        stock,
        inventory,
        numbers,
    } = adapters;
    let metered_store: Arc<dyn OrderStore> =
        Arc::new(MeteredStore::new(store.clone(), metrics.clone()));
    let payments: Arc<dyn order_core::ports::PaymentGateway> = payments;
    let ports = Ports {
        store: metered_store.clone(),
        catalog: Arc::new(MeteredService::new(
            catalog_port,
            "catalog",
            metrics.clone(),
        )),
        inventory: Arc::new(MeteredService::new(inventory, "inventory", metrics.clone())),
        payments: Arc::new(MeteredService::new(
            payments,
            "payment_gateway",
            metrics.clone(),
        )),
        customers: Arc::new(AuthenticatedCustomers),
        tax: Arc::new(demo_tax()),
        shipping: Arc::new(demo_shipping()),
        discounts: Arc::new(demo_coupons()),
        numbers,
        timer: Arc::new(TokioTimer),
        clock: Arc::new(SystemClock),
        ids: Arc::new(UuidV7Ids),
    };
    // The store keeps the stock in both set-ups: one transaction per change.
    let orders = OrderService::new(ports, service_config(config, StockKeeping::Store));
    if !config.no_demo_catalog {
        add_demo_catalog(catalog_admin.as_ref(), stock.as_ref()).await?;
    }
    let dev_tokens = if dev {
        let customer = DEMO_CUSTOMER.to_owned();
        [
            (Role::Admin, "admin"),
            (Role::Service, "service"),
            (Role::Customer, customer.as_str()),
        ]
        .into_iter()
        .filter_map(|(role, subject)| auth.mint(subject, role, 86_400).map(|t| (role, t)))
        .collect()
    } else {
        Vec::new()
    };
    let state = AppState {
        orders,
        store: metered_store,
        catalog: catalog_admin,
        stock,
        auth: Arc::new(auth),
        metrics,
        limits: Limits {
            body_bytes: config.body_limit_bytes,
            timeout: Duration::from_secs(config.request_timeout_secs),
        },
        open_metrics: !config.protect_metrics,
    };
    Ok(App {
        state,
        backend,
        dev_tokens,
    })
}

/// The demo catalog (TSHIRT 19.99, MUG 12.50, BOOK 24.00, EBOOK 9.99 USD;
/// 100 units of each physical one), added only when the catalog is empty.
async fn add_demo_catalog(
    catalog: &dyn CatalogAdmin,
    stock: &dyn StockLevels,
) -> anyhow::Result<()> {
    if !catalog
        .list(None, 1)
        .await
        .map_err(anyhow::Error::msg)?
        .is_empty()
    {
        return Ok(());
    }
    let usd = |minor| order_core::Money::from_minor(minor, order_core::Currency::USD);
    for (sku, minor, kind, class) in [
        (
            "TSHIRT",
            1999,
            order_core::ProductKind::Physical,
            "standard",
        ),
        ("MUG", 1250, order_core::ProductKind::Physical, "standard"),
        ("BOOK", 2400, order_core::ProductKind::Physical, "reduced"),
        ("EBOOK", 999, order_core::ProductKind::Digital, "standard"),
    ] {
        let item = product(sku, usd(minor)?, kind, class);
        catalog.upsert(&item).await.map_err(anyhow::Error::msg)?;
        if kind == order_core::ProductKind::Physical {
            stock
                .set_on_hand(&item.sku, 100)
                .await
                .map_err(anyhow::Error::msg)?;
        }
    }
    tracing::info!("added the demo catalog: TSHIRT, MUG, BOOK, EBOOK");
    Ok(())
}

/// Every `interval`: expires stale pending orders, completes delivered
/// orders past their return window, and relays the outbox, until `stop`.
pub async fn sweep(
    state: AppState,
    interval: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(interval);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => return,
        }
        match state.orders.expire_stale(200).await {
            Ok(expired) if !expired.is_empty() => {
                tracing::info!(count = expired.len(), "expired stale pending orders")
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "expiring stale orders failed"),
        }
        match state.orders.complete_due(200).await {
            Ok(done) if !done.is_empty() => tracing::info!(
                count = done.len(),
                "completed orders past their return window"
            ),
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "completing orders failed"),
        }
        if let Err(err) =
            order_core::relay::relay_outbox(state.store.as_ref(), &LogPublisher, 500).await
        {
            tracing::warn!(error = %err, "relaying the outbox failed");
        }
    }
}
