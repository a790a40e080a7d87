//! Decorators that feed the metrics from the ports: the store times every
//! operation (`database_query_duration_seconds`) and, for each change it
//! committed, counts the orders created (`orders_created_total`), the
//! status changes (`orders_status_total`) and observes the time from
//! placement to confirmation (`order_processing_duration_seconds`); the
//! external services — payment gateway, catalog, inventory — are counted
//! and timed (`external_service_requests_total`,
//! `external_service_duration_seconds`); the event publisher observes each
//! event's delivery latency (`order_events_delivery_seconds`). They only
//! measure; behaviour is the wrapped adapter's. [`meter`] wraps a service's
//! ports in them.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use order_core::order::Compensation;
use order_core::ports::{
    Catalog, Change, EventPublisher, FigureGroup, IdempotencyClaim, IdempotencyKey, Inventory,
    OrderFigures, OrderPage, OrderQuery, OrderStore, PaymentGateway, PaymentRequest, Product,
    ProductKey, StockItem,
};
use order_core::{
    EventRecord, GatewayReference, InventoryError, Money, Order, OrderEvent, OrderId, OrderNumber,
    PaymentError, PortError, Ports, StoreError, StoredEvent,
};

use crate::metrics::Metrics;

async fn timed<T>(work: impl Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let out = work.await;
    (out, started.elapsed())
}

/// An [`OrderStore`] whose every call is timed.
#[allow(missing_debug_implementations)]
pub struct MeteredStore {
    inner: Arc<dyn OrderStore>,
    metrics: Arc<Metrics>,
}

impl MeteredStore {
    /// Times `inner`'s calls into `metrics`.
    pub fn new(inner: Arc<dyn OrderStore>, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }

    async fn run<T>(&self, operation: &'static str, work: impl Future<Output = T>) -> T {
        let (out, took) = timed(work).await;
        self.metrics.database_query(operation, took);
        out
    }

    /// What a committed change did to the order metrics: only committed
    /// events count, so a replay or a lost race counts nothing.
    fn committed(&self, change: &Change<'_>) {
        let order = change.order;
        for record in change.events {
            match record.event {
                OrderEvent::Placed(_) => self.metrics.order_created(),
                OrderEvent::Confirmed => {
                    let took = record.occurred_at - order.created_at();
                    self.metrics
                        .order_processed(took.to_std().unwrap_or_default());
                }
                _ => {}
            }
        }
        for status in order
            .history()
            .iter()
            .filter(|c| c.sequence > change.expected_version)
        {
            self.metrics.order_status(status.to);
        }
    }
}

/// `ports` with the store, catalog, inventory and payment gateway metered
/// into `metrics`.
pub fn meter(ports: Ports, metrics: &Arc<Metrics>) -> Ports {
    Ports {
        store: Arc::new(MeteredStore::new(ports.store, metrics.clone())),
        catalog: Arc::new(MeteredService::new(
            ports.catalog,
            "catalog",
            metrics.clone(),
        )),
        inventory: Arc::new(MeteredService::new(
            ports.inventory,
            "inventory",
            metrics.clone(),
        )),
        payments: Arc::new(MeteredService::new(
            ports.payments,
            "payment_gateway",
            metrics.clone(),
        )),
        ..ports
    }
}

#[async_trait]
impl OrderFigures for MeteredStore {
    async fn figures(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<FigureGroup>, StoreError> {
        self.run("figures", self.inner.figures(from, to)).await
    }
}

#[async_trait]
impl OrderStore for MeteredStore {
    async fn get(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        self.run("get", self.inner.get(id)).await
    }
    async fn get_by_number(&self, number: &OrderNumber) -> Result<Option<Order>, StoreError> {
        self.run("get_by_number", self.inner.get_by_number(number))
            .await
    }
    async fn commit(&self, change: Change<'_>) -> Result<(), StoreError> {
        // `Change` is `Copy`: the copy is read once the commit succeeded.
        self.run("commit", self.inner.commit(change)).await?;
        self.committed(&change);
        Ok(())
    }
    async fn list(&self, query: &OrderQuery) -> Result<OrderPage, StoreError> {
        self.run("list", self.inner.list(query)).await
    }
    async fn events(&self, id: OrderId) -> Result<Vec<EventRecord>, StoreError> {
        self.run("events", self.inner.events(id)).await
    }
    async fn feed(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.run("feed", self.inner.feed(after, limit)).await
    }
    async fn unpublished(&self, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.run("unpublished", self.inner.unpublished(limit)).await
    }
    async fn mark_published(&self, positions: &[u64]) -> Result<(), StoreError> {
        self.run("mark_published", self.inner.mark_published(positions))
            .await
    }
    async fn claim_idempotency_key(
        &self,
        key: &IdempotencyKey,
        fingerprint: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<IdempotencyClaim, StoreError> {
        self.run(
            "claim_idempotency_key",
            self.inner
                .claim_idempotency_key(key, fingerprint, now, lease),
        )
        .await
    }
    async fn release_idempotency_key(&self, key: &IdempotencyKey) -> Result<(), StoreError> {
        self.run(
            "release_idempotency_key",
            self.inner.release_idempotency_key(key),
        )
        .await
    }
    async fn inbound_event_processed(&self, event_id: &str) -> Result<bool, StoreError> {
        self.run(
            "inbound_event_processed",
            self.inner.inbound_event_processed(event_id),
        )
        .await
    }
    async fn record_compensation(&self, compensation: &Compensation) -> Result<(), StoreError> {
        self.run(
            "record_compensation",
            self.inner.record_compensation(compensation),
        )
        .await
    }
    async fn compensations(&self) -> Result<Vec<Compensation>, StoreError> {
        self.run("compensations", self.inner.compensations()).await
    }
    async fn resolve_compensation(
        &self,
        id: order_core::CompensationId,
        resolution: &order_core::order::Resolution,
    ) -> Result<Option<Compensation>, StoreError> {
        self.run(
            "resolve_compensation",
            self.inner.resolve_compensation(id, resolution),
        )
        .await
    }
}

/// An external service port whose every call is counted and timed.
#[allow(missing_debug_implementations)]
pub struct MeteredService<T: ?Sized> {
    inner: Arc<T>,
    name: &'static str,
    metrics: Arc<Metrics>,
}

impl<T: ?Sized> MeteredService<T> {
    /// Times `inner`'s calls under `name`.
    pub fn new(inner: Arc<T>, name: &'static str, metrics: Arc<Metrics>) -> Self {
        Self {
            inner,
            name,
            metrics,
        }
    }

    async fn run<R, E>(&self, work: impl Future<Output = Result<R, E>>) -> Result<R, E> {
        let (out, took) = timed(work).await;
        self.metrics
            .external_call(self.name, if out.is_ok() { "ok" } else { "error" }, took);
        out
    }
}

#[async_trait]
impl PaymentGateway for MeteredService<dyn PaymentGateway> {
    async fn authorize(&self, request: &PaymentRequest) -> Result<GatewayReference, PaymentError> {
        self.run(self.inner.authorize(request)).await
    }
    async fn capture(
        &self,
        authorization: &GatewayReference,
        amount: Money,
        key: &str,
    ) -> Result<GatewayReference, PaymentError> {
        self.run(self.inner.capture(authorization, amount, key))
            .await
    }
    async fn void(
        &self,
        authorization: &GatewayReference,
        key: &str,
    ) -> Result<GatewayReference, PaymentError> {
        self.run(self.inner.void(authorization, key)).await
    }
    async fn refund(
        &self,
        capture: &GatewayReference,
        amount: Money,
        key: &str,
    ) -> Result<GatewayReference, PaymentError> {
        self.run(self.inner.refund(capture, amount, key)).await
    }
}

#[async_trait]
impl Catalog for MeteredService<dyn Catalog> {
    async fn products(&self, keys: &[ProductKey]) -> Result<Vec<Product>, PortError> {
        self.run(self.inner.products(keys)).await
    }
}

#[async_trait]
impl Inventory for MeteredService<dyn Inventory> {
    async fn reserve(
        &self,
        order: OrderId,
        items: &[StockItem],
        expires_at: DateTime<Utc>,
    ) -> Result<(), InventoryError> {
        self.run(self.inner.reserve(order, items, expires_at)).await
    }
    async fn commit(&self, order: OrderId) -> Result<(), InventoryError> {
        self.run(self.inner.commit(order)).await
    }
    async fn release(&self, order: OrderId) -> Result<(), InventoryError> {
        self.run(self.inner.release(order)).await
    }
    async fn restock(
        &self,
        order: OrderId,
        key: &str,
        items: &[StockItem],
    ) -> Result<(), InventoryError> {
        self.run(self.inner.restock(order, key, items)).await
    }
}

/// An [`EventPublisher`] that observes, for each event it acknowledged, the
/// time since the event's change.
#[allow(missing_debug_implementations)]
pub struct MeteredPublisher {
    inner: Arc<dyn EventPublisher>,
    metrics: Arc<Metrics>,
}

impl MeteredPublisher {
    /// Observes `inner`'s deliveries.
    pub fn new(inner: Arc<dyn EventPublisher>, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }
}

#[async_trait]
impl EventPublisher for MeteredPublisher {
    async fn publish(&self, events: &[StoredEvent]) -> Result<(), PortError> {
        self.inner.publish(events).await?;
        let now = Utc::now();
        for event in events {
            let took = (now - event.record.occurred_at)
                .to_std()
                .unwrap_or_default();
            self.metrics.event_delivered(took);
        }
        Ok(())
    }
}
