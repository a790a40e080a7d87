//! [`AppState`]: what every handler can reach — the engine, the catalog and
//! stock administration, authentication, metrics and limits — behind one
//! reference count, since axum clones the state for every extractor and
//! layer that takes it.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderValue;

use order_core::ports::{CatalogAdmin, OrderStore, StockLevels, WebhookStore};
use order_core::webhook::RetryPolicy;
use order_core::{OrderService, ShippingMethod};

use crate::auth::AuthConfig;
use crate::metrics::Metrics;

/// Request limits.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The largest request body accepted, in bytes.
    pub body_bytes: usize,
    /// How long a request may take.
    pub timeout: Duration,
    /// How long a request's body may take to arrive once its headers have
    /// (408 after that).
    pub body_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            body_bytes: 64 * 1024,
            timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(5),
        }
    }
}

/// Shared by every handler: a handle on one [`AppContext`], so a clone is
/// one reference count (cloning the context's dozen shared ports on every
/// extraction was about 2 % of the service's CPU per placement).
#[derive(Clone)]
#[allow(missing_debug_implementations)]
pub struct AppState(Arc<AppContext>);

impl AppState {
    /// The state of an app serving `context`.
    pub fn new(context: AppContext) -> Self {
        Self(Arc::new(context))
    }
}

impl Deref for AppState {
    type Target = AppContext;

    fn deref(&self) -> &AppContext {
        &self.0
    }
}

/// What the handlers reach through [`AppState`].
#[allow(missing_debug_implementations)]
pub struct AppContext {
    /// The use cases.
    pub orders: OrderService,
    /// The store, for the event feed.
    pub store: Arc<dyn OrderStore>,
    /// Products.
    pub catalog: Arc<dyn CatalogAdmin>,
    /// Stock levels.
    pub stock: Arc<dyn StockLevels>,
    /// Who may call.
    pub auth: Arc<AuthConfig>,
    /// What is counted.
    pub metrics: Arc<Metrics>,
    /// Request limits.
    pub limits: Limits,
    /// Whether `/metrics` needs no credentials.
    pub open_metrics: bool,
    /// The browser origins allowed by CORS (`*` for any; none by default).
    pub cors_origins: Vec<HeaderValue>,
    /// Webhook subscriptions and deliveries.
    pub webhooks: Arc<dyn WebhookStore>,
    /// How webhook deliveries are retried (an admin's redelivery opens a new
    /// window).
    pub webhook_retry: RetryPolicy,
    /// The shipping method of an order placed through a seed's route whose
    /// body names none (`--default-shipping-method`).
    pub seed_shipping_method: Option<ShippingMethod>,
}
