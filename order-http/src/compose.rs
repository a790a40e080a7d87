//! The composition root: every port of the engine built from the
//! configuration, and nowhere else. Each adapter chosen says in the log what
//! it is. The later integrations (remote services, Kafka, gRPC) add their
//! adapters here.
//!
//! | port | adapters | chosen by |
//! |---|---|---|
//! | store, catalog, stock, order numbers | SQLite (default: a file in the data directory), PostgreSQL | `DATABASE_URL` |
//! | payment gateway | simulator, external payment service | `--payments` |
//! | customers | the token's subject | `--customers` |
//! | tax, shipping, coupons, pricing | the policy file's tables | `--config` |
//! | event publisher | the log, Kafka | `--events`, `--kafka-*` |
//! | payment events in | the webhook, a Kafka consumer group | `--kafka-brokers` |
//! | outbox relay lease | PostgreSQL advisory lock, sole (SQLite) | `DATABASE_URL` |
//! | webhook subscriptions and deliveries | SQLite, PostgreSQL | `DATABASE_URL` |
//! | clock, ids, timer | system clock, UUID v7, tokio | — |
//! | catalog, inventory and stock, customers, payment gateway | the product, inventory, user and payment services over HTTP (`remote`) | `--product-service-url`, `--inventory-service-url`, `--user-service-url`, `--payments http` with `--payment-service-url` |
//! | (inbound) the gRPC API | order-grpc on its own port, off by default (`grpc::GrpcServer`) | `--grpc-addr`, `--grpc-currency` |

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderValue;

use order_core::ports::{
    Catalog, CatalogAdmin, EventPublisher, Inventory, OrderNumbers, OrderStore, PaymentGateway,
    RelayLease, StockLevels, WebhookStore,
};
use order_core::system::{AuthenticatedCustomers, SystemClock, UuidV7Ids};
use order_core::webhook::RetryPolicy;
use order_core::{CaptureMode, OrderService, PaymentFlow, Ports, ServiceConfig, StockKeeping};
use order_events::Wire;
use order_events::relay::{Relay, RelaySettings, SoleRelay};
use order_events_kafka::{
    EventTopics, KafkaConsumer, KafkaPublisher, KafkaSettings, PaymentEvents,
};
use order_store_postgres::{
    CachedCatalog, PgCatalog, PgInventory, PgOrderNumbers, PgOrderStore, PgRelayLease,
    PgWebhookStore, TokioTimer,
};
use order_store_sqlite::{
    SqliteCatalog, SqliteInventory, SqliteOrderNumbers, SqliteOrderStore, SqliteWebhookStore,
};
use order_webhooks::{Dispatcher, DispatcherSettings};

use crate::auth::{AuthConfig, Role};
use crate::background::LogPublisher;
use crate::catalog_seed::{self, SeedError};
use crate::config::{Capture, Config, Customers, Events, Payments};
use crate::metered;
use crate::metrics::Metrics;
use crate::payments::{ExternalPayments, SimulatedGateway};
use crate::policies::{self, PolicyFileError};
use crate::remote;
use crate::state::{AppContext, AppState, Limits};

/// The customer the dev-mode customer token names.
pub const DEMO_CUSTOMER: &str = "0193e6d2-6c1e-7b4e-9a3a-5c1d2e3f4a5b";

/// The policy file `--dev` reads when none is given.
pub const DEV_POLICY_FILE: &str = "config/sample.toml";

/// The default SQLite file's name in the data directory.
pub const DATABASE_FILE: &str = "orders.db";

/// Why the service cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Settings a production start needs are missing or contradictory.
    #[error("{0}")]
    Settings(String),
    /// The policy file is missing or wrong.
    #[error(transparent)]
    Policies(#[from] PolicyFileError),
    /// The catalog file is missing or wrong.
    #[error(transparent)]
    Seed(#[from] SeedError),
    /// A token key could not be read.
    #[error("reading the token key {}: {source}", path.display())]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A token key is not a valid key.
    #[error("the token key {}: {message}", path.display())]
    Key {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The data directory cannot be made.
    #[error("cannot create the data directory {}: {source}", path.display())]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// PostgreSQL cannot be reached or migrated.
    #[error(transparent)]
    Postgres(#[from] order_store_postgres::ConnectError),
    /// The SQLite database cannot be opened or migrated.
    #[error(transparent)]
    Sqlite(#[from] order_store_sqlite::OpenError),
}

/// Where orders live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// A PostgreSQL URL.
    Postgres(String),
    /// A SQLite URL (`sqlite::memory:`, `sqlite://file.db`).
    Sqlite(String),
    /// The default: a SQLite file.
    SqliteFile(PathBuf),
}

impl Database {
    /// The database the configuration names.
    ///
    /// # Errors
    /// [`StartError::Settings`] for a URL of an unknown kind.
    pub fn from_config(config: &Config) -> Result<Self, StartError> {
        match config.database_url.as_deref().map(str::trim) {
            None | Some("") => Ok(Self::SqliteFile(config.data_dir.join(DATABASE_FILE))),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Self::Postgres(url.to_owned()))
            }
            Some(url) if url.starts_with("sqlite:") => Ok(Self::Sqlite(url.to_owned())),
            Some(_) => Err(StartError::Settings(
                "DATABASE_URL must start with postgres://, postgresql:// or sqlite: \
                 (sqlite::memory: for a throwaway database)"
                    .into(),
            )),
        }
    }
}

/// What the start-up chose, resolved from the settings and `--dev`.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Development mode.
    pub dev: bool,
    /// Where orders live.
    pub database: Database,
    /// How customers are charged.
    pub payments: Payments,
    /// The policy file.
    pub policy_file: PathBuf,
}

impl Plan {
    /// Resolves the settings. Outside `--dev` every choice must be made
    /// explicitly; all missing ones are named at once, with how to make them.
    ///
    /// # Errors
    /// [`StartError::Settings`] listing what is missing.
    pub fn resolve(config: &Config) -> Result<Self, StartError> {
        let dev = config.dev;
        let mut missing = Vec::new();
        let payments = match (config.payments, dev) {
            (Some(Payments::Http), _)
                if config
                    .payment_service_url
                    .as_deref()
                    .is_none_or(|u| u.trim().is_empty()) =>
            {
                missing.push(
                    "the payment service for --payments http: --payment-service-url or \
                     PAYMENT_SERVICE_URL",
                );
                None
            }
            (Some(mode), _) => Some(mode),
            (None, true) => Some(Payments::Simulated),
            (None, false) => {
                missing.push(
                    "a payment mode: --payments simulated (a simulator that approves every \
                     payment), --payments external (a payment service charges, the order \
                     learns through payment events) or --payments http with \
                     --payment-service-url (checkout charges through the payment service's \
                     REST API); or ORDER_PAYMENTS",
                );
                None
            }
        };
        let policy_file = match (&config.policy_file, dev) {
            (Some(path), _) => Some(path.clone()),
            (None, true) => Some(PathBuf::from(DEV_POLICY_FILE)),
            (None, false) => {
                missing.push(
                    "a policy file: --config <file.toml> or ORDER_CONFIG (tax rates, shipping \
                     methods, coupons; config/sample.toml shows every key)",
                );
                None
            }
        };
        if !dev && !has_token_key(config) {
            missing.push(
                "a token key: --jwt-secret, --jwt-rsa-public-key or --jwt-ed25519-public-key \
                 (or ORDER_JWT_SECRET, ORDER_JWT_RSA_PUBLIC_KEY, ORDER_JWT_ED25519_PUBLIC_KEY)",
            );
        }
        if let (Some(payments), Some(policy_file), true) =
            (payments, policy_file, missing.is_empty())
        {
            return Ok(Self {
                dev,
                database: Database::from_config(config)?,
                payments,
                policy_file,
            });
        }
        let mut message =
            String::from("the service needs explicit settings outside development mode; missing:");
        for item in missing {
            message.push_str("\n  - ");
            message.push_str(item);
        }
        message.push_str("\nor start with --dev (ORDER_DEV=1) for a development set-up.");
        Err(StartError::Settings(message))
    }
}

fn has_token_key(config: &Config) -> bool {
    config.jwt_secret.is_some()
        || config.jwt_rsa_public_key.is_some()
        || config.jwt_ed25519_public_key.is_some()
}

/// The service, ready to serve.
#[allow(missing_debug_implementations)]
pub struct App {
    /// The handlers' state.
    pub state: AppState,
    /// The outbox relay, to run beside the server.
    pub relay: Relay,
    /// The webhook dispatcher, to run beside the server.
    pub webhooks: Dispatcher,
    /// The payment-event consumer, when Kafka brokers are configured.
    pub payment_events: Option<KafkaConsumer<PaymentEvents>>,
    /// Dev-mode tokens (role, token), when dev mode can mint them.
    pub dev_tokens: Vec<(Role, String)>,
}

fn random_secret() -> String {
    // Two UUID v7s carry 148 random bits; enough for a development secret.
    format!(
        "{}{}",
        uuid::Uuid::now_v7().simple(),
        uuid::Uuid::now_v7().simple()
    )
}

fn key_file(path: &Path) -> Result<Vec<u8>, StartError> {
    std::fs::read(path).map_err(|source| StartError::KeyFile {
        path: path.to_owned(),
        source,
    })
}

/// Token verification from the configuration; with `dev` and no key, an
/// HS256 secret made up for this run.
///
/// # Errors
/// When a configured key file cannot be read or parsed.
pub fn auth(config: &Config, dev: bool) -> Result<AuthConfig, StartError> {
    let bad_key = |path: &Path| {
        let path = path.to_owned();
        move |e: crate::auth::KeyError| StartError::Key {
            path,
            message: e.to_string(),
        }
    };
    let mut auth = if let Some(path) = &config.jwt_rsa_public_key {
        AuthConfig::rs256(&key_file(path)?).map_err(bad_key(path))?
    } else if let Some(path) = &config.jwt_ed25519_public_key {
        AuthConfig::eddsa(&key_file(path)?).map_err(bad_key(path))?
    } else {
        let secret = match &config.jwt_secret {
            Some(secret) => secret.clone(),
            None if dev => random_secret(),
            None => return Err(StartError::Settings("no token key configured".into())),
        };
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
    Ok(auth)
}

/// The adapters one database brings.
struct Storage {
    store: Arc<dyn OrderStore>,
    catalog: Arc<dyn Catalog>,
    catalog_admin: Arc<dyn CatalogAdmin>,
    stock: Arc<dyn StockLevels>,
    inventory: Arc<dyn Inventory>,
    numbers: Arc<dyn OrderNumbers>,
    lease: Arc<dyn RelayLease>,
    webhooks: Arc<dyn WebhookStore>,
}

async fn storage(database: &Database, max_connections: u32) -> Result<Storage, StartError> {
    match database {
        Database::Postgres(url) => {
            let pool = order_store_postgres::connect(url, max_connections).await?;
            tracing::info!(
                database = %order_store_postgres::describe(url),
                "store: PostgreSQL (migrated); the store keeps the stock"
            );
            let store = Arc::new(PgOrderStore::new(pool.clone()));
            let cached = Arc::new(CachedCatalog::new(
                Arc::new(PgCatalog::new(pool.clone())),
                pool.clone(),
            ));
            tracing::info!(
                "catalog: PostgreSQL, answered from memory while its change notifications keep it current"
            );
            Ok(Storage {
                store: store.clone(),
                catalog: cached.clone(),
                catalog_admin: cached,
                stock: store,
                inventory: Arc::new(PgInventory::new(pool.clone())),
                numbers: Arc::new(PgOrderNumbers::new(pool.clone(), 20)),
                webhooks: Arc::new(PgWebhookStore::new(pool.clone())),
                lease: Arc::new(PgRelayLease::new(pool)),
            })
        }
        Database::Sqlite(url) => sqlite(url, max_connections).await,
        Database::SqliteFile(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|source| StartError::DataDir {
                    path: dir.to_owned(),
                    source,
                })?;
            }
            sqlite(&format!("sqlite://{}", path.display()), max_connections).await
        }
    }
}

async fn sqlite(url: &str, max_connections: u32) -> Result<Storage, StartError> {
    let pool = order_store_sqlite::connect(url, max_connections).await?;
    if url.contains(":memory:") {
        tracing::warn!(
            database = url,
            "store: SQLite in memory (migrated); nothing survives a restart"
        );
    } else {
        tracing::info!(
            database = url,
            "store: SQLite file (WAL, migrated); the store keeps the stock"
        );
    }
    let store = Arc::new(SqliteOrderStore::new(pool.clone()));
    let catalog = Arc::new(SqliteCatalog::new(pool.clone()));
    Ok(Storage {
        store: store.clone(),
        catalog: catalog.clone(),
        catalog_admin: catalog,
        stock: store,
        inventory: Arc::new(SqliteInventory::new(pool.clone())),
        numbers: Arc::new(SqliteOrderNumbers::new(pool.clone(), 20)),
        webhooks: Arc::new(SqliteWebhookStore::new(pool)),
        // One process owns an SQLite file (its WAL lock); it relays alone.
        lease: Arc::new(SoleRelay),
    })
}

fn payments(
    mode: Payments,
    remote: Option<Arc<dyn PaymentGateway>>,
) -> (Arc<dyn PaymentGateway>, PaymentFlow) {
    match (mode, remote) {
        (Payments::Http, Some(gateway)) => {
            tracing::info!(
                "payments: the payment service's REST API (POST /payments, refunds through POST /payments/{{id}}/refund); checkout charges at once"
            );
            (gateway, PaymentFlow::Gateway)
        }
        (Payments::Simulated, _) => {
            tracing::warn!(
                "payments: simulated gateway; it approves every payment (development and demonstrations only)"
            );
            (Arc::new(SimulatedGateway::default()), PaymentFlow::Gateway)
        }
        (Payments::External | Payments::Http, _) => {
            tracing::info!(
                "payments: an external payment service charges customers; checkout marks the payment pending (202) until payment.processed or payment.failed arrives; refunds and voids are made by the payment service"
            );
            (Arc::new(ExternalPayments), PaymentFlow::External)
        }
    }
}

fn customers(mode: Customers) -> Arc<dyn order_core::ports::Customers> {
    match mode {
        Customers::TrustToken => {
            tracing::info!(
                "customers: trust-token; a verified token's subject is the customer, and every authenticated customer id exists"
            );
            Arc::new(AuthenticatedCustomers)
        }
    }
}

/// The origins CORS allows: `*`, or `http(s)://host[:port]` each.
fn cors_origins(raw: &[String]) -> Result<Vec<HeaderValue>, StartError> {
    raw.iter()
        .map(|origin| origin.trim())
        .filter(|origin| !origin.is_empty())
        .map(|origin| {
            let scheme = origin.starts_with("https://") || origin.starts_with("http://");
            let value = HeaderValue::from_str(origin.trim_end_matches('/')).ok();
            match value {
                Some(value) if origin == "*" || (scheme && !origin.contains(' ')) => Ok(value),
                _ => Err(StartError::Settings(format!(
                    "--cors-allowed-origins: {origin:?} is not * or an http(s)://host[:port] origin"
                ))),
            }
        })
        .collect()
}

/// The Kafka settings, when `--kafka-brokers` names brokers.
fn kafka(config: &Config) -> Result<Option<KafkaSettings>, StartError> {
    let Some(brokers) = config
        .kafka_brokers
        .as_deref()
        .filter(|b| !b.trim().is_empty())
    else {
        return Ok(None);
    };
    let topics = match &config.kafka_topic_per_type_prefix {
        Some(prefix) => EventTopics::PerType {
            prefix: prefix.clone(),
        },
        None => EventTopics::Single(config.kafka_topic.clone()),
    };
    let mut settings = KafkaSettings::new(brokers)
        .client_id("order-service")
        .event_topics(topics)
        .payment_topics(
            config
                .kafka_payment_topics
                .iter()
                .filter(|t| !t.is_empty())
                .cloned(),
        )
        .group_id(config.kafka_group.clone())
        .dead_letter_topic(config.kafka_dead_letter_topic.clone());
    for property in config
        .kafka_properties
        .iter()
        .filter(|p| !p.trim().is_empty())
    {
        let (key, value) = property.split_once('=').ok_or_else(|| {
            StartError::Settings(format!("--kafka-properties: {property:?} is not key=value"))
        })?;
        settings = settings.property(key.trim(), value.trim());
    }
    Ok(Some(settings))
}

fn publisher(
    config: &Config,
    kafka: Option<&KafkaSettings>,
    store: &Arc<dyn OrderStore>,
) -> Result<Arc<dyn EventPublisher>, StartError> {
    match (config.events, kafka) {
        (Events::Log, _) => {
            tracing::info!(
                "events: written to the log; consumers read the event feed (GET /api/v1/events)"
            );
            Ok(Arc::new(LogPublisher))
        }
        (Events::Kafka, None) => Err(StartError::Settings(
            "--events kafka needs --kafka-brokers (ORDER_KAFKA_BROKERS)".into(),
        )),
        (Events::Kafka, Some(settings)) => {
            let wire = Wire::new(Arc::clone(store), config.event_source.clone());
            let publisher = KafkaPublisher::new(settings, wire)
                .map_err(|e| StartError::Settings(format!("the Kafka producer: {e}")))?;
            tracing::info!(
                brokers = config.kafka_brokers.as_deref().unwrap_or_default(),
                topic = config
                    .kafka_topic_per_type_prefix
                    .as_deref()
                    .map_or(config.kafka_topic.clone(), |prefix| format!(
                        "{prefix}<type>"
                    )),
                "events: CloudEvents on Kafka (idempotent producer, acks=all, key = order id)"
            );
            Ok(Arc::new(publisher))
        }
    }
}

fn service_config(
    config: &Config,
    pricing: order_core::pricing::PricingPolicy,
    payments: PaymentFlow,
) -> ServiceConfig {
    ServiceConfig {
        pricing,
        capture: match config.capture {
            Capture::Immediate => CaptureMode::Immediate,
            Capture::OnProcessing => CaptureMode::OnProcessing,
        },
        payments,
        pending_ttl: chrono::Duration::minutes(config.pending_ttl_minutes),
        return_window: chrono::Duration::days(config.return_window_days),
        // Both databases keep the stock: each change and its stock effects
        // are one transaction.
        stock: StockKeeping::Store,
        ..ServiceConfig::default()
    }
}

/// Builds the service from the configuration: resolves the plan, reads the
/// policy file, opens and migrates the database, seeds the catalog when
/// asked, and wires every port.
///
/// # Errors
/// [`StartError`] saying what is missing or wrong.
pub async fn build(config: &Config) -> Result<App, StartError> {
    let plan = Plan::resolve(config)?;
    if plan.dev {
        tracing::warn!("development mode: not for production");
    }
    let policies = policies::load(&plan.policy_file)?;
    tracing::info!(
        file = %plan.policy_file.display(),
        tax_rules = policies.summary.tax_rules,
        shipping_methods = policies.summary.shipping_methods,
        coupons = policies.summary.coupons,
        tax_mode = ?policies.pricing.tax_mode,
        "policies: tax, shipping and coupons from the policy file"
    );
    let auth = auth(config, plan.dev)?;
    let storage = storage(&plan.database, config.db_max_connections).await?;
    if let Some(path) = &config.seed_catalog {
        let seeded =
            catalog_seed::seed(path, storage.catalog_admin.as_ref(), storage.stock.as_ref())
                .await?;
        tracing::info!(
            file = %path.display(),
            products = seeded.products,
            stocked = seeded.stocked,
            "catalog file loaded (only into an empty catalog)"
        );
    }
    let metrics = Arc::new(Metrics::new());
    let remote = remote::services(config, &metrics)?;
    let (gateway, flow) = payments(plan.payments, remote.payments.clone());
    let mut service_config = service_config(config, policies.pricing, flow);
    if remote.inventory.is_some() {
        service_config.stock = StockKeeping::Inventory;
    }
    if remote.any() {
        // Retries happen once, in the adapters, which know from the HTTP
        // answer what is safe to repeat; the engine waits for them.
        service_config.retry = order_core::retry::RetryPolicy {
            attempts: 1,
            timeout: remote::budget(&remote::settings(config)),
            ..service_config.retry
        };
    }
    let ports = metered::meter(
        Ports {
            store: storage.store,
            catalog: remote.catalog.clone().unwrap_or(storage.catalog),
            inventory: remote.inventory.clone().unwrap_or(storage.inventory),
            payments: gateway,
            customers: remote
                .customers
                .clone()
                .unwrap_or_else(|| customers(config.customers)),
            tax: Arc::new(policies.tax),
            shipping: Arc::new(policies.shipping),
            discounts: Arc::new(policies.coupons),
            numbers: storage.numbers,
            timer: Arc::new(TokioTimer),
            clock: Arc::new(SystemClock),
            ids: Arc::new(UuidV7Ids),
        },
        &metrics,
    );
    let store = ports.store.clone();
    let webhook_retry = RetryPolicy {
        window: chrono::Duration::seconds(
            i64::try_from(config.webhook_retry_window_secs).unwrap_or(i64::MAX / 1_000),
        ),
        ..RetryPolicy::default()
    };
    let webhooks = Dispatcher::new(
        store.clone(),
        storage.webhooks.clone(),
        storage.lease.clone(),
        config.event_source.clone(),
        DispatcherSettings {
            poll: Duration::from_millis(config.webhook_poll_ms.max(1)),
            timeout: Duration::from_secs(config.webhook_timeout_secs.max(1)),
            retry: webhook_retry,
            ..DispatcherSettings::default()
        },
    )
    .map_err(|e| StartError::Settings(format!("the webhook HTTP client: {e}")))?;
    tracing::info!(
        "webhooks: subscriptions and deliveries in the store; signed per Standard Webhooks"
    );
    let kafka = kafka(config)?;
    let relay = Relay::new(
        store.clone(),
        Arc::new(metered::MeteredPublisher::new(
            publisher(config, kafka.as_ref(), &store)?,
            metrics.clone(),
        )),
        storage.lease,
        RelaySettings {
            idle_poll: Duration::from_millis(config.relay_poll_ms.max(1)),
            ..RelaySettings::default()
        },
    );
    let orders = OrderService::new(ports, service_config);
    let payment_events = match &kafka {
        None => None,
        Some(settings) => {
            let actor = order_core::Actor::parse("service:payment-events")
                .map_err(|e| StartError::Settings(e.to_string()))?;
            let consumer = KafkaConsumer::new(settings, PaymentEvents::new(orders.clone(), actor))
                .map_err(|e| StartError::Settings(format!("the Kafka consumer: {e}")))?;
            tracing::info!(
                topics = ?config.kafka_payment_topics,
                group = %config.kafka_group,
                dead_letters = %config.kafka_dead_letter_topic,
                "payment events: consumed from Kafka"
            );
            Some(consumer)
        }
    };
    let dev_tokens = if plan.dev {
        [
            (Role::Admin, "admin"),
            (Role::Service, "service"),
            (Role::Customer, DEMO_CUSTOMER),
        ]
        .into_iter()
        .filter_map(|(role, subject)| auth.mint(subject, role, 86_400).map(|t| (role, t)))
        .collect()
    } else {
        Vec::new()
    };
    let state = AppState::new(AppContext {
        orders,
        store,
        catalog: storage.catalog_admin,
        stock: remote.stock.clone().unwrap_or(storage.stock),
        auth: Arc::new(auth),
        metrics,
        limits: Limits {
            body_bytes: config.body_limit_bytes,
            timeout: Duration::from_secs(config.request_timeout_secs),
            body_timeout: Duration::from_secs(config.body_read_timeout_secs.max(1)),
        },
        cors_origins: cors_origins(&config.cors_allowed_origins)?,
        open_metrics: !config.protect_metrics,
        webhooks: storage.webhooks,
        webhook_retry,
        seed_shipping_method: Some(
            order_core::ShippingMethod::parse(&config.default_shipping_method)
                .map_err(|e| StartError::Settings(format!("--default-shipping-method: {e}")))?,
        ),
    });
    Ok(App {
        state,
        relay,
        webhooks,
        payment_events,
        dev_tokens,
    })
}
