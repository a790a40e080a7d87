//! mockall mocks of the ports, for failure paths that a fake cannot reach
//! (a store that errors on the third call, a gateway that answers garbage).
//! Behavioural tests use the fakes and the conformance suite instead.

#![allow(missing_docs)]

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mockall::mock;
use order_core::CompensationId;
use order_core::order::{Compensation, Resolution};
use order_core::ports::{
    Catalog, Change, Customers, DiscountPolicy, EventPublisher, FigureGroup, IdempotencyClaim,
    IdempotencyKey, Inventory, OrderFigures, OrderNumbers, OrderPage, OrderQuery, OrderStore,
    PaymentGateway, PaymentRequest, Product, ProductKey, ShippingPolicy, StockEffect, StockItem,
    TaxPolicy,
};
use order_core::pricing::{Discount, Percent};
use order_core::{
    Address, CouponCode, CustomerId, EventRecord, GatewayReference, InventoryError, Money, Order,
    OrderId, OrderNumber, PaymentError, PolicyError, PortError, ShippingMethod, StoreError,
    StoredEvent, TaxClass,
};

/// The store's calls with owned arguments: mockall cannot mock a method
/// whose argument carries a lifetime (`Change<'_>`), so the mock records this
/// shape and [`MockOrderStore`] implements `OrderStore` by forwarding to it.
pub trait OrderStoreCalls {
    fn get(&self, id: OrderId) -> Result<Option<Order>, StoreError>;
    fn get_by_number(&self, number: &OrderNumber) -> Result<Option<Order>, StoreError>;
    fn commit(&self, change: CommitCall) -> Result<(), StoreError>;
    fn list(&self, query: &OrderQuery) -> Result<OrderPage, StoreError>;
    fn figures(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<FigureGroup>, StoreError>;
    fn events(&self, id: OrderId) -> Result<Vec<EventRecord>, StoreError>;
    fn feed(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;
    fn unpublished(&self, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;
    fn mark_published(&self, positions: &[u64]) -> Result<(), StoreError>;
    fn claim_idempotency_key(
        &self,
        key: &IdempotencyKey,
        fingerprint: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<IdempotencyClaim, StoreError>;
    fn release_idempotency_key(&self, key: &IdempotencyKey) -> Result<(), StoreError>;
    fn inbound_event_processed(&self, event_id: &str) -> Result<bool, StoreError>;
    fn record_compensation(&self, compensation: &Compensation) -> Result<(), StoreError>;
    fn compensations(&self) -> Result<Vec<Compensation>, StoreError>;
    fn resolve_compensation(
        &self,
        id: CompensationId,
        resolution: &Resolution,
    ) -> Result<Option<Compensation>, StoreError>;
}

/// An owned copy of a [`Change`], as [`MockOrderStore::expect_commit`] sees it.
#[derive(Clone, Debug)]
pub struct CommitCall {
    pub order: Order,
    pub expected_version: u64,
    pub events: Vec<EventRecord>,
    pub idempotency_key: Option<IdempotencyKey>,
    pub inbound_event: Option<String>,
    pub stock: Vec<StockEffect>,
}

mock! {
    pub OrderStore {}
    impl OrderStoreCalls for OrderStore {
        fn get(&self, id: OrderId) -> Result<Option<Order>, StoreError>;
        fn get_by_number(&self, number: &OrderNumber) -> Result<Option<Order>, StoreError>;
        fn commit(&self, change: CommitCall) -> Result<(), StoreError>;
        fn list(&self, query: &OrderQuery) -> Result<OrderPage, StoreError>;
        fn figures(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<FigureGroup>, StoreError>;
        fn events(&self, id: OrderId) -> Result<Vec<EventRecord>, StoreError>;
        fn feed(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;
        fn unpublished(&self, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;
        fn mark_published(&self, positions: &[u64]) -> Result<(), StoreError>;
        fn claim_idempotency_key(&self, key: &IdempotencyKey, fingerprint: &str, now: DateTime<Utc>, lease: Duration) -> Result<IdempotencyClaim, StoreError>;
        fn release_idempotency_key(&self, key: &IdempotencyKey) -> Result<(), StoreError>;
        fn inbound_event_processed(&self, event_id: &str) -> Result<bool, StoreError>;
        fn record_compensation(&self, compensation: &Compensation) -> Result<(), StoreError>;
        fn compensations(&self) -> Result<Vec<Compensation>, StoreError>;
        fn resolve_compensation(
            &self,
            id: CompensationId,
            resolution: &Resolution,
        ) -> Result<Option<Compensation>, StoreError>;
    }
}

#[async_trait]
impl OrderFigures for MockOrderStore {
    async fn figures(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<FigureGroup>, StoreError> {
        OrderStoreCalls::figures(self, from, to)
    }
}

#[async_trait]
impl OrderStore for MockOrderStore {
    async fn get(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        OrderStoreCalls::get(self, id)
    }
    async fn get_by_number(&self, number: &OrderNumber) -> Result<Option<Order>, StoreError> {
        OrderStoreCalls::get_by_number(self, number)
    }
    async fn commit(&self, change: Change<'_>) -> Result<(), StoreError> {
        OrderStoreCalls::commit(
            self,
            CommitCall {
                order: change.order.clone(),
                expected_version: change.expected_version,
                events: change.events.to_vec(),
                idempotency_key: change.idempotency_key.cloned(),
                inbound_event: change.inbound_event.map(str::to_owned),
                stock: change.stock.to_vec(),
            },
        )
    }
    async fn list(&self, query: &OrderQuery) -> Result<OrderPage, StoreError> {
        OrderStoreCalls::list(self, query)
    }
    async fn events(&self, id: OrderId) -> Result<Vec<EventRecord>, StoreError> {
        OrderStoreCalls::events(self, id)
    }
    async fn feed(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        OrderStoreCalls::feed(self, after, limit)
    }
    async fn unpublished(&self, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        OrderStoreCalls::unpublished(self, limit)
    }
    async fn mark_published(&self, positions: &[u64]) -> Result<(), StoreError> {
        OrderStoreCalls::mark_published(self, positions)
    }
    async fn claim_idempotency_key(
        &self,
        key: &IdempotencyKey,
        fingerprint: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<IdempotencyClaim, StoreError> {
        OrderStoreCalls::claim_idempotency_key(self, key, fingerprint, now, lease)
    }
    async fn release_idempotency_key(&self, key: &IdempotencyKey) -> Result<(), StoreError> {
        OrderStoreCalls::release_idempotency_key(self, key)
    }
    async fn inbound_event_processed(&self, event_id: &str) -> Result<bool, StoreError> {
        OrderStoreCalls::inbound_event_processed(self, event_id)
    }
    async fn record_compensation(&self, compensation: &Compensation) -> Result<(), StoreError> {
        OrderStoreCalls::record_compensation(self, compensation)
    }
    async fn compensations(&self) -> Result<Vec<Compensation>, StoreError> {
        OrderStoreCalls::compensations(self)
    }
    async fn resolve_compensation(
        &self,
        id: CompensationId,
        resolution: &Resolution,
    ) -> Result<Option<Compensation>, StoreError> {
        OrderStoreCalls::resolve_compensation(self, id, resolution)
    }
}

mock! {
    pub Catalog {}
    #[async_trait]
    impl Catalog for Catalog {
        async fn products(&self, keys: &[ProductKey]) -> Result<Vec<Product>, PortError>;
    }
}

mock! {
    pub Inventory {}
    #[async_trait]
    impl Inventory for Inventory {
        async fn reserve(&self, order: OrderId, items: &[StockItem], expires_at: DateTime<Utc>) -> Result<(), InventoryError>;
        async fn commit(&self, order: OrderId) -> Result<(), InventoryError>;
        async fn release(&self, order: OrderId) -> Result<(), InventoryError>;
        async fn restock(&self, order: OrderId, key: &str, items: &[StockItem]) -> Result<(), InventoryError>;
    }
}

mock! {
    pub PaymentGateway {}
    #[async_trait]
    impl PaymentGateway for PaymentGateway {
        async fn authorize(&self, request: &PaymentRequest) -> Result<GatewayReference, PaymentError>;
        async fn capture(&self, authorization: &GatewayReference, amount: Money, idempotency_key: &str) -> Result<GatewayReference, PaymentError>;
        async fn void(&self, authorization: &GatewayReference, idempotency_key: &str) -> Result<GatewayReference, PaymentError>;
        async fn refund(&self, capture: &GatewayReference, amount: Money, idempotency_key: &str) -> Result<GatewayReference, PaymentError>;
    }
}

mock! {
    pub Customers {}
    #[async_trait]
    impl Customers for Customers {
        async fn exists(&self, id: CustomerId) -> Result<bool, PortError>;
    }
}

/// The tax policy's call with an owned destination (see [`OrderStoreCalls`]).
pub trait TaxPolicyCalls {
    fn rates(
        &self,
        destination: Option<Address>,
        classes: &[TaxClass],
    ) -> Result<Vec<Percent>, PolicyError>;
}

mock! {
    pub TaxPolicy {}
    impl TaxPolicyCalls for TaxPolicy {
        fn rates(&self, destination: Option<Address>, classes: &[TaxClass]) -> Result<Vec<Percent>, PolicyError>;
    }
}

#[async_trait]
impl TaxPolicy for MockTaxPolicy {
    async fn rates(
        &self,
        destination: Option<&Address>,
        classes: &[TaxClass],
    ) -> Result<Vec<Percent>, PolicyError> {
        TaxPolicyCalls::rates(self, destination.cloned(), classes)
    }
}

mock! {
    pub ShippingPolicy {}
    #[async_trait]
    impl ShippingPolicy for ShippingPolicy {
        async fn quote(&self, method: &ShippingMethod, destination: &Address, merchandise: Money) -> Result<Money, PolicyError>;
    }
}

mock! {
    pub DiscountPolicy {}
    #[async_trait]
    impl DiscountPolicy for DiscountPolicy {
        async fn discount(&self, code: &CouponCode, customer: CustomerId, subtotal: Money, at: DateTime<Utc>) -> Result<Discount, PolicyError>;
    }
}

mock! {
    pub OrderNumbers {}
    #[async_trait]
    impl OrderNumbers for OrderNumbers {
        async fn next(&self, at: DateTime<Utc>) -> Result<OrderNumber, PortError>;
    }
}

mock! {
    pub EventPublisher {}
    #[async_trait]
    impl EventPublisher for EventPublisher {
        async fn publish(&self, events: &[StoredEvent]) -> Result<(), PortError>;
    }
}
