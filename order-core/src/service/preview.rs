//! Previews: what an [`Operation`] would do to an order, computed by running
//! the very use case that performs it on a copy of the service whose
//! writing ports only pretend. So a preview can never drift from the real
//! thing: a cancellation's preview shows its refund or void, a paid order's
//! address change is refused in the preview as it would be for real.
//!
//! A preview reads the real store and asks the real catalog and policies
//! (prices and taxes are what they are), and assumes what it cannot know
//! without acting: the payment gateway approves, and stock suffices.
//! Nothing is written and no money or stock moves.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{LineEdit, OrderService, Ports, Preview};
use crate::command::DetailsChange;
use crate::error::{InventoryError, OrderError, PaymentError, StoreError};
use crate::event::{EventRecord, StoredEvent};
use crate::id::{OrderId, ReturnId, ShipmentId};
use crate::money::Money;
use crate::order::{Compensation, LineQuantity, Order};
use crate::order_number::OrderNumber;
use crate::ports::{
    Change, FigureGroup, IdempotencyClaim, IdempotencyKey, Inventory, OrderFigures, OrderPage,
    OrderQuery, OrderStore, PaymentGateway, PaymentRequest, StockItem,
};
use crate::status::Action;
use crate::text::{Actor, Carrier, GatewayReference, Reason, TrackingNumber};

/// Something a caller can do to an existing order, as a value: what
/// [`OrderService::preview`] previews. Each variant is one use case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    /// [`OrderService::edit_lines`].
    EditLines(Vec<LineEdit>),
    /// [`OrderService::update_details`] (boxed: addresses are large).
    UpdateDetails(Box<DetailsChange>),
    /// [`OrderService::pay`].
    Pay,
    /// [`OrderService::start_processing`].
    StartProcessing,
    /// [`OrderService::ship`].
    Ship {
        /// What.
        lines: Vec<LineQuantity>,
        /// The carrier.
        carrier: Option<Carrier>,
        /// The tracking number.
        tracking_number: Option<TrackingNumber>,
    },
    /// [`OrderService::deliver`].
    Deliver {
        /// The shipment.
        shipment_id: ShipmentId,
    },
    /// [`OrderService::complete`].
    Complete,
    /// [`OrderService::cancel`].
    Cancel {
        /// Why.
        reason: Reason,
    },
    /// [`OrderService::request_return`].
    RequestReturn {
        /// What comes back.
        lines: Vec<LineQuantity>,
        /// Why.
        reason: Reason,
    },
    /// [`OrderService::receive_return`].
    ReceiveReturn {
        /// The return.
        return_id: ReturnId,
        /// Whether to refund its share.
        refund: bool,
    },
    /// [`OrderService::refund`].
    Refund {
        /// How much.
        amount: Money,
        /// Why.
        reason: Reason,
    },
}

impl Operation {
    /// The action the operation takes (its payment, for [`Operation::Pay`]).
    pub const fn action(&self) -> Action {
        match self {
            Self::EditLines(_) => Action::EditLines,
            Self::UpdateDetails(_) => Action::UpdateDetails,
            Self::Pay => Action::StartPayment,
            Self::StartProcessing => Action::StartProcessing,
            Self::Ship { .. } => Action::Ship,
            Self::Deliver { .. } => Action::Deliver,
            Self::Complete => Action::Complete,
            Self::Cancel { .. } => Action::Cancel,
            Self::RequestReturn { .. } => Action::RequestReturn,
            Self::ReceiveReturn { .. } => Action::ReceiveReturn,
            Self::Refund { .. } => Action::Refund,
        }
    }
}

impl OrderService {
    /// Performs `operation` on the order `id` as `actor`; with
    /// `expected_version`, only on that version of the order (every
    /// operation but payment, whose attempt is retried on fresh state).
    ///
    /// # Errors
    /// Those of the use case the operation names;
    /// [`OrderError::VersionConflict`] when the order is no longer at
    /// `expected_version`.
    pub async fn perform(
        &self,
        id: OrderId,
        expected_version: Option<u64>,
        operation: Operation,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        match operation {
            Operation::EditLines(edits) => {
                self.edit_lines(id, expected_version, &edits, actor).await
            }
            Operation::UpdateDetails(change) => {
                self.update_details(id, expected_version, *change, actor)
                    .await
            }
            Operation::Pay => self.pay(id, actor).await,
            Operation::StartProcessing => self.start_processing(id, expected_version, actor).await,
            Operation::Ship {
                lines,
                carrier,
                tracking_number,
            } => {
                self.ship(id, expected_version, lines, carrier, tracking_number, actor)
                    .await
            }
            Operation::Deliver { shipment_id } => {
                self.deliver(id, expected_version, shipment_id, actor).await
            }
            Operation::Complete => self.complete(id, expected_version, actor).await,
            Operation::Cancel { reason } => self.cancel(id, expected_version, reason, actor).await,
            Operation::RequestReturn { lines, reason } => {
                self.request_return(id, expected_version, lines, reason, actor)
                    .await
            }
            Operation::ReceiveReturn { return_id, refund } => {
                self.receive_return(id, expected_version, return_id, refund, actor)
                    .await
            }
            Operation::Refund { amount, reason } => {
                // A refund is not decided against a version of its own (it
                // retries to record money that moved), so a caller's
                // expected version is checked before the gateway is asked.
                if expected_version.is_some() {
                    self.load_at(id, expected_version).await?;
                }
                self.refund(id, amount, reason, actor).await
            }
        }
    }

    /// What `operation` would do to the order `id` now: the events it would
    /// cause and the order after them, computed by the use case itself with
    /// nothing stored, no money moved and no stock held. The gateway is
    /// assumed to approve (references read `preview`) and stock to suffice.
    ///
    /// # Errors
    /// The errors the operation itself would meet (a refused transition, a
    /// refund above what was captured, a policy refusal…).
    pub async fn preview(
        &self,
        id: OrderId,
        operation: Operation,
        actor: &Actor,
    ) -> Result<Preview, OrderError> {
        let store = Arc::new(PreviewStore {
            inner: self.ports.store.clone(),
            changes: Mutex::new(Vec::new()),
        });
        let ports = Ports {
            store: store.clone(),
            payments: Arc::new(PreviewGateway),
            inventory: Arc::new(PreviewInventory),
            ..self.ports.clone()
        };
        let dry = Self::new(ports, self.config);
        let after = dry.perform(id, None, operation, actor).await?;
        let events = store
            .changes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .flat_map(|(_, records)| records.iter().map(|r| r.event.clone()))
            .collect();
        Ok(Preview {
            events,
            order: after,
        })
    }
}

/// Reads through to the real store; keeps commits to itself and serves
/// them back, so a use case that commits twice sees its first commit.
struct PreviewStore {
    inner: Arc<dyn OrderStore>,
    /// The orders "committed", with their events; a std mutex, never held
    /// across an `.await`.
    changes: Mutex<Vec<(Order, Vec<EventRecord>)>>,
}

impl PreviewStore {
    fn committed(&self, id: OrderId) -> Option<Order> {
        self.changes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .rev()
            .find(|(order, _)| order.id() == id)
            .map(|(order, _)| order.clone())
    }
}

#[async_trait]
impl OrderFigures for PreviewStore {
    async fn figures(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<FigureGroup>, StoreError> {
        self.inner.figures(from, to).await
    }
}

#[async_trait]
impl OrderStore for PreviewStore {
    async fn get(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        match self.committed(id) {
            Some(order) => Ok(Some(order)),
            None => self.inner.get(id).await,
        }
    }

    async fn get_by_number(&self, number: &OrderNumber) -> Result<Option<Order>, StoreError> {
        self.inner.get_by_number(number).await
    }

    async fn commit(&self, change: Change<'_>) -> Result<(), StoreError> {
        let current = match self.committed(change.order.id()) {
            Some(order) => Some(order),
            None => self.inner.get(change.order.id()).await?,
        };
        let actual = current.as_ref().map_or(0, Order::version);
        if actual != change.expected_version {
            return Err(StoreError::VersionConflict {
                id: change.order.id(),
                expected: change.expected_version,
                actual,
            });
        }
        self.changes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((change.order.clone(), change.events.to_vec()));
        Ok(())
    }

    async fn list(&self, query: &OrderQuery) -> Result<OrderPage, StoreError> {
        self.inner.list(query).await
    }

    async fn events(&self, id: OrderId) -> Result<Vec<EventRecord>, StoreError> {
        self.inner.events(id).await
    }

    async fn feed(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.feed(after, limit).await
    }

    async fn unpublished(&self, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.unpublished(limit).await
    }

    async fn mark_published(&self, _positions: &[u64]) -> Result<(), StoreError> {
        Ok(())
    }

    async fn claim_idempotency_key(
        &self,
        _key: &IdempotencyKey,
        _fingerprint: &str,
        _now: DateTime<Utc>,
        _lease: Duration,
    ) -> Result<IdempotencyClaim, StoreError> {
        Ok(IdempotencyClaim::Claimed)
    }

    async fn release_idempotency_key(&self, _key: &IdempotencyKey) -> Result<(), StoreError> {
        Ok(())
    }

    async fn inbound_event_processed(&self, event_id: &str) -> Result<bool, StoreError> {
        self.inner.inbound_event_processed(event_id).await
    }

    async fn record_compensation(&self, _compensation: &Compensation) -> Result<(), StoreError> {
        Ok(())
    }

    async fn compensations(&self) -> Result<Vec<Compensation>, StoreError> {
        self.inner.compensations().await
    }
    async fn resolve_compensation(
        &self,
        id: crate::id::CompensationId,
        _resolution: &crate::order::Resolution,
    ) -> Result<Option<Compensation>, StoreError> {
        // A preview resolves nothing.
        Ok(self
            .inner
            .compensations()
            .await?
            .into_iter()
            .find(|c| c.id == id))
    }
}

/// Approves every call without calling anyone.
struct PreviewGateway;

fn preview_reference() -> Result<GatewayReference, PaymentError> {
    GatewayReference::parse("preview")
        .map_err(|e| PaymentError::Port(crate::error::PortError::Unavailable(e.to_string())))
}

#[async_trait]
impl PaymentGateway for PreviewGateway {
    async fn authorize(&self, _request: &PaymentRequest) -> Result<GatewayReference, PaymentError> {
        preview_reference()
    }

    async fn capture(
        &self,
        _authorization: &GatewayReference,
        _amount: Money,
        _idempotency_key: &str,
    ) -> Result<GatewayReference, PaymentError> {
        preview_reference()
    }

    async fn void(
        &self,
        _authorization: &GatewayReference,
        _idempotency_key: &str,
    ) -> Result<GatewayReference, PaymentError> {
        preview_reference()
    }

    async fn refund(
        &self,
        _capture: &GatewayReference,
        _amount: Money,
        _idempotency_key: &str,
    ) -> Result<GatewayReference, PaymentError> {
        preview_reference()
    }
}

/// Holds, commits, releases and restocks nothing, successfully.
struct PreviewInventory;

#[async_trait]
impl Inventory for PreviewInventory {
    async fn reserve(
        &self,
        _order: OrderId,
        _items: &[StockItem],
        _expires_at: DateTime<Utc>,
    ) -> Result<(), InventoryError> {
        Ok(())
    }

    async fn commit(&self, _order: OrderId) -> Result<(), InventoryError> {
        Ok(())
    }

    async fn release(&self, _order: OrderId) -> Result<(), InventoryError> {
        Ok(())
    }

    async fn restock(
        &self,
        _order: OrderId,
        _key: &str,
        _items: &[StockItem],
    ) -> Result<(), InventoryError> {
        Ok(())
    }
}
