//! The remote services chosen by `--product-service-url`,
//! `--inventory-service-url`, `--user-service-url` and `--payments http`
//! with `--payment-service-url`: the `order-remote` adapters, built with
//! the `--remote-*` bounds and recording their attempts into the app's
//! [`Metrics`]. Each one chosen says so in the log.

use std::sync::Arc;
use std::time::Duration;

use order_core::ports::{Catalog, Customers, Inventory, PaymentGateway, StockLevels};
use order_remote::{
    BreakerSettings, Observer, Outcome, RemoteCatalog, RemoteCustomers, RemoteInventory,
    RemotePayments, RetryPolicy, ServiceClient, ServiceSettings,
};

use crate::compose::StartError;
use crate::config::{Config, Payments};
use crate::metrics::Metrics;

/// Records each attempt into the app's own recorder.
struct AppMetrics(Arc<Metrics>);

impl Observer for AppMetrics {
    fn observe(&self, service: &'static str, outcome: Outcome, took: Duration) {
        self.0.remote_call(service, outcome.as_str(), took);
    }
}

/// The remote adapters configured; `None` where the local one stays.
#[derive(Default)]
#[allow(missing_debug_implementations)]
pub struct RemoteServices {
    /// The product service.
    pub catalog: Option<Arc<dyn Catalog>>,
    /// The inventory service: reservations.
    pub inventory: Option<Arc<dyn Inventory>>,
    /// The inventory service: stock levels.
    pub stock: Option<Arc<dyn StockLevels>>,
    /// The user service.
    pub customers: Option<Arc<dyn Customers>>,
    /// The payment service.
    pub payments: Option<Arc<dyn PaymentGateway>>,
}

impl RemoteServices {
    /// True when any remote service is configured.
    pub fn any(&self) -> bool {
        self.catalog.is_some()
            || self.inventory.is_some()
            || self.customers.is_some()
            || self.payments.is_some()
    }
}

/// The bounds of every remote call, from the `--remote-*` settings.
pub fn settings(config: &Config) -> ServiceSettings {
    ServiceSettings {
        timeout: Duration::from_millis(config.remote_timeout_ms.max(1)),
        retry: RetryPolicy {
            attempts: config.remote_attempts.max(1),
            backoff: Duration::from_millis(config.remote_backoff_ms),
            ..RetryPolicy::default()
        },
        breaker: BreakerSettings {
            failure_threshold: config.remote_breaker_failures.max(1),
            cool_down: Duration::from_millis(config.remote_breaker_cool_down_ms),
        },
    }
}

/// The longest a remote call may take, all its attempts and waits included.
pub fn budget(settings: &ServiceSettings) -> Duration {
    let attempts = settings.retry.attempts.max(1);
    let waits = (1..attempts)
        .map(|failures| settings.retry.backoff_after(failures))
        .sum::<Duration>();
    settings.timeout.saturating_mul(attempts) + waits
}

/// The remote adapters the configuration names.
///
/// # Errors
/// [`StartError::Settings`] for a URL that is not `http(s)://…`.
pub fn services(config: &Config, metrics: &Arc<Metrics>) -> Result<RemoteServices, StartError> {
    let settings = settings(config);
    let observer: Arc<dyn Observer> = Arc::new(AppMetrics(metrics.clone()));
    let client = |service: &'static str, flag: &str, url: &str| {
        ServiceClient::new(service, url, settings, observer.clone())
            .map_err(|e| StartError::Settings(format!("{flag}: {e}")))
    };
    let mut remote = RemoteServices::default();
    if let Some(url) = non_empty(&config.product_service_url) {
        remote.catalog = Some(Arc::new(RemoteCatalog::new(client(
            "product-service",
            "--product-service-url",
            url,
        )?)));
        tracing::info!(
            url,
            "catalog: the product service (GET /products/{{id}}); the database's catalog is not used for pricing"
        );
    }
    if let Some(url) = non_empty(&config.inventory_service_url) {
        let inventory = Arc::new(RemoteInventory::new(client(
            "inventory-service",
            "--inventory-service-url",
            url,
        )?));
        remote.inventory = Some(inventory.clone());
        remote.stock = Some(inventory);
        tracing::info!(
            url,
            "inventory: the inventory service holds, commits and releases stock (/reservations/{{orderId}}); failures it leaves go to the compensation log"
        );
    }
    if let Some(url) = non_empty(&config.user_service_url) {
        remote.customers = Some(Arc::new(RemoteCustomers::new(client(
            "user-service",
            "--user-service-url",
            url,
        )?)));
        tracing::info!(
            url,
            "customers: the user service (GET /users/{{id}}; 404 is an unknown customer)"
        );
    }
    if config.payments == Some(Payments::Http) {
        let url = non_empty(&config.payment_service_url).ok_or_else(|| {
            StartError::Settings(
                "--payments http needs --payment-service-url (PAYMENT_SERVICE_URL)".into(),
            )
        })?;
        remote.payments = Some(Arc::new(RemotePayments::new(client(
            "payment-service",
            "--payment-service-url",
            url,
        )?)));
    }
    if remote.any() {
        tracing::info!(
            timeout_ms = config.remote_timeout_ms,
            attempts = config.remote_attempts,
            breaker_failures = config.remote_breaker_failures,
            breaker_cool_down_ms = config.remote_breaker_cool_down_ms,
            "remote calls: timeout per attempt, retries only when safe, a circuit breaker per service"
        );
    }
    Ok(remote)
}

fn non_empty(url: &Option<String>) -> Option<&str> {
    url.as_deref().map(str::trim).filter(|u| !u.is_empty())
}
