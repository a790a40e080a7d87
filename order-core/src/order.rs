//! The [`Order`] aggregate: lines with their quantity ledger, addresses,
//! totals, payment ledger, shipments, returns, status history and version.
//!
//! An order changes only by [`Order::apply`]ing an [`EventRecord`]; the
//! decisions that produce events live in `decide.rs`. Applying is total (an
//! event is a fact) and derives the status from the ledgers where the state
//! machine says so, recording every status change in the history.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::event::{EventRecord, OrderEvent, Placed};
use crate::id::{
    CompensationId, CustomerId, LineId, OrderId, ProductId, ReturnId, ShipmentId, VariantId,
};
use crate::ledger::{LineQuantities, PaymentLedger};
use crate::money::{Currency, Money};
use crate::order_number::OrderNumber;
use crate::pricing::{Discount, LineAmounts, Percent, PricingPolicy, Totals};
use crate::quantity::Quantity;
use crate::status::{OrderStatus, PaymentStatus};
use crate::text::{
    Actor, Carrier, CouponCode, Notes, PaymentMethod, ProductName, Reason, ShippingMethod, Sku,
    TaxClass, TrackingNumber,
};

/// Whether a product travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductKind {
    /// Needs a shipping address and a carrier.
    Physical,
    /// Fulfilled without shipping.
    Digital,
}

/// One line of an order: what was bought, at what price, and where its units
/// are (the quantity ledger).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OrderLine {
    /// The line's id.
    pub id: LineId,
    /// The product.
    pub product_id: ProductId,
    /// The variant, if any.
    pub variant_id: Option<VariantId>,
    /// The SKU stock is kept under.
    pub sku: Sku,
    /// The product's name at the time of ordering.
    pub name: ProductName,
    /// Physical or digital.
    pub kind: ProductKind,
    /// The tax class.
    pub tax_class: TaxClass,
    /// The tax rate applied.
    pub tax_rate: Percent,
    /// Units ordered.
    pub quantity: Quantity,
    /// The catalog's unit price at the time of ordering.
    pub unit_price: Money,
    /// Priced amounts.
    pub amounts: LineAmounts,
    /// Where the units are.
    pub quantities: LineQuantities,
}

/// Units of one line in a shipment or a return.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LineQuantity {
    /// The line.
    pub line_id: LineId,
    /// Units.
    pub quantity: Quantity,
}

/// Units handed to a carrier together.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Shipment {
    /// The shipment's id.
    pub id: ShipmentId,
    /// What is in it.
    pub lines: Vec<LineQuantity>,
    /// The carrier (none for digital-only fulfilments).
    pub carrier: Option<Carrier>,
    /// The tracking number.
    pub tracking_number: Option<TrackingNumber>,
    /// When it left.
    pub shipped_at: DateTime<Utc>,
    /// When it arrived.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// Units the customer sends back.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Return {
    /// The return's id.
    pub id: ReturnId,
    /// What comes back.
    pub lines: Vec<LineQuantity>,
    /// Why.
    pub reason: Reason,
    /// The share of the order's amounts these units were paid with.
    pub refund_amount: Money,
    /// When it was asked for.
    pub requested_at: DateTime<Utc>,
    /// When the units arrived.
    pub received_at: Option<DateTime<Utc>>,
}

/// One status change, as the history shows it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StatusChange {
    /// Status before (none for the first entry).
    pub from: Option<OrderStatus>,
    /// Status after.
    pub to: OrderStatus,
    /// Why.
    pub reason: String,
    /// Who.
    pub actor: Actor,
    /// When.
    pub at: DateTime<Utc>,
    /// The event that caused it.
    pub sequence: u64,
}

/// An order's status changes, oldest first.
#[derive(Debug, PartialEq, Eq)]
struct History(Vec<StatusChange>);

impl Clone for History {
    /// A copy with room for one more entry: a shared history is copied to
    /// add a status change to it, which would otherwise grow the copy (a
    /// reallocation) right away.
    fn clone(&self) -> Self {
        let mut entries = Vec::with_capacity(self.0.len() + 1);
        entries.extend_from_slice(&self.0);
        Self(entries)
    }
}

/// Where the order's stock reservation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "expires_at")]
pub enum Reservation {
    /// Stock is held until the given time.
    Held(DateTime<Utc>),
    /// Stock was taken for the order (it is paid).
    Committed,
    /// The hold was given back (payment failed, cancelled, expired).
    Released,
    /// Committed stock was put back (cancelled after payment).
    Restocked,
}

/// A step that could not be compensated and waits for an operator.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Compensation {
    /// The entry.
    pub id: CompensationId,
    /// The order.
    pub order_id: OrderId,
    /// What should have happened ("void authorization", "release stock").
    pub step: String,
    /// The amount involved, if any.
    pub amount: Option<Money>,
    /// What went wrong.
    pub detail: String,
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// How an operator settled it; `None` while it waits.
    #[serde(default)]
    pub resolution: Option<Resolution>,
}

/// An operator's word that a compensation was dealt with.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Resolution {
    /// Who resolved it.
    pub by: Actor,
    /// When.
    pub at: DateTime<Utc>,
    /// What they did, if they said.
    pub note: Option<Reason>,
}

/// An order and everything that happened to it.
///
/// Copies share one state until a copy applies an event, which then takes
/// a state of its own (copy on write): the engine copies an order to load,
/// decide on, preview and store it far more often than it changes it.
#[derive(Clone, PartialEq, Eq)]
pub struct Order(Arc<OrderState>);

/// The lines and the history are shared between states too: most events
/// change neither (a payment, a confirmation without a status change), so
/// the copy an event makes of a shared state copies them only when it
/// changes them.
#[derive(Clone, Debug, PartialEq, Eq)]
struct OrderState {
    id: OrderId,
    number: OrderNumber,
    customer_id: CustomerId,
    currency: Currency,
    status: OrderStatus,
    payment_status: PaymentStatus,
    lines: Arc<Vec<OrderLine>>,
    shipping_address: Option<Address>,
    billing_address: Option<Address>,
    shipping_method: Option<ShippingMethod>,
    payment_method: Option<PaymentMethod>,
    coupon: Option<CouponCode>,
    discount: Option<Discount>,
    notes: Option<Notes>,
    pricing: PricingPolicy,
    totals: Totals,
    payments: PaymentLedger,
    payment_attempts: u32,
    reservation: Reservation,
    shipments: Vec<Shipment>,
    returns: Vec<Return>,
    history: Arc<History>,
    cancellation: Option<(Reason, Actor)>,
    version: u64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    confirmed_at: Option<DateTime<Utc>>,
    cancelled_at: Option<DateTime<Utc>>,
    delivered_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
}

/// Every field of an [`Order`], for stores that keep orders in their own
/// shape and rebuild them with [`Order::restore`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct OrderSnapshot {
    pub id: OrderId,
    pub number: OrderNumber,
    pub customer_id: CustomerId,
    pub currency: Currency,
    pub status: OrderStatus,
    pub payment_status: PaymentStatus,
    pub lines: Vec<OrderLine>,
    pub shipping_address: Option<Address>,
    pub billing_address: Option<Address>,
    pub shipping_method: Option<ShippingMethod>,
    pub payment_method: Option<PaymentMethod>,
    pub coupon: Option<CouponCode>,
    pub discount: Option<Discount>,
    pub notes: Option<Notes>,
    pub pricing: PricingPolicy,
    pub totals: Totals,
    pub payments: PaymentLedger,
    pub payment_attempts: u32,
    pub reservation: Reservation,
    pub shipments: Vec<Shipment>,
    pub returns: Vec<Return>,
    pub history: Vec<StatusChange>,
    pub cancellation: Option<(Reason, Actor)>,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// A snapshot that breaks an invariant of the aggregate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("order {id} cannot be restored: {broken}")]
pub struct CorruptOrder {
    /// The order.
    pub id: OrderId,
    /// The invariant.
    pub broken: &'static str,
}

impl Order {
    /// Rebuilds an order from its events, oldest first; `None` unless the
    /// first is `Placed` and the sequence has no gap.
    pub fn from_events<'a>(records: impl IntoIterator<Item = &'a EventRecord>) -> Option<Self> {
        let mut records = records.into_iter();
        let first = records.next()?;
        let mut order = Self::placed(first)?;
        for record in records {
            if record.sequence != order.version() + 1 {
                return None;
            }
            order.apply(record);
        }
        Some(order)
    }

    /// The order a `Placed` event creates; `None` for any other event.
    pub fn placed(record: &EventRecord) -> Option<Self> {
        let OrderEvent::Placed(placed) = &record.event else {
            return None;
        };
        let Placed {
            id,
            number,
            customer_id,
            currency,
            lines,
            shipping_address,
            billing_address,
            shipping_method,
            payment_method,
            coupon,
            discount,
            notes,
            pricing,
            totals,
            reservation_expires_at,
        } = placed.as_ref().clone();
        let at = record.occurred_at;
        Some(Self(Arc::new(OrderState {
            id,
            number,
            customer_id,
            currency,
            status: OrderStatus::Pending,
            payment_status: PaymentStatus::Unpaid,
            lines: Arc::new(lines),
            shipping_address,
            billing_address,
            shipping_method,
            payment_method,
            coupon,
            discount,
            notes,
            pricing,
            totals,
            payments: PaymentLedger::new(currency),
            payment_attempts: 0,
            reservation: Reservation::Held(reservation_expires_at),
            shipments: Vec::new(),
            returns: Vec::new(),
            history: Arc::new(History(vec![StatusChange {
                from: None,
                to: OrderStatus::Pending,
                reason: "order placed".into(),
                actor: record.actor.clone(),
                at,
                sequence: record.sequence,
            }])),
            cancellation: None,
            version: record.sequence,
            created_at: at,
            updated_at: at,
            confirmed_at: None,
            cancelled_at: None,
            delivered_at: None,
            completed_at: None,
        })))
    }

    /// Applies one event. Events are facts: applying never fails; a decision
    /// has already checked that the event is allowed.
    pub fn apply(&mut self, record: &EventRecord) {
        self.apply_event(
            &record.event,
            record.sequence,
            record.occurred_at,
            &record.actor,
        );
    }

    /// Applies `events` as the records that will carry them would: numbered
    /// on from the version, at `at`, by `actor`. A preview of a decision
    /// needs no more, and no record.
    pub(crate) fn apply_events(&mut self, events: &[OrderEvent], actor: &Actor, at: DateTime<Utc>) {
        for event in events {
            self.apply_event(event, self.version() + 1, at, actor);
        }
    }

    /// True when both copies still share one state (neither applied an
    /// event since one was copied from the other).
    #[cfg(test)]
    pub(crate) fn shares_state_with(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// A copy of this order with `events` applied ([`Order::apply_events`]).
    pub(crate) fn with_events(
        &self,
        events: &[OrderEvent],
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Self {
        let mut next = self.clone();
        next.apply_events(events, actor, at);
        next
    }

    fn apply_event(&mut self, event: &OrderEvent, sequence: u64, at: DateTime<Utc>, actor: &Actor) {
        let state = Arc::make_mut(&mut self.0);
        let before = state.status;
        // Built only when the status changes: most events do not.
        let mut reason: Option<String> = None;
        match event {
            OrderEvent::Placed(_) => {}
            OrderEvent::LinesChanged {
                lines,
                totals,
                reservation_expires_at,
            } => {
                state.lines = Arc::new(lines.clone());
                state.totals = *totals;
                if let Some(until) = reservation_expires_at {
                    state.reservation = Reservation::Held(*until);
                }
            }
            OrderEvent::DetailsChanged {
                notes,
                shipping_address,
                billing_address,
                shipping_method,
                totals,
            } => {
                state.notes.clone_from(notes);
                state.shipping_address.clone_from(shipping_address);
                state.billing_address.clone_from(billing_address);
                state.shipping_method.clone_from(shipping_method);
                state.totals = *totals;
            }
            OrderEvent::PaymentStarted {
                attempt,
                reservation_expires_at,
                payment_method,
                ..
            } => {
                if payment_method.is_some() {
                    state.payment_method.clone_from(payment_method);
                }
                state.payment_attempts = *attempt;
                state.payment_status = PaymentStatus::Pending;
                if let Some(until) = reservation_expires_at {
                    state.reservation = Reservation::Held(*until);
                }
            }
            OrderEvent::PaymentAuthorized(entry) => {
                state.payments.append(entry.clone());
                state.payment_status = PaymentStatus::Authorized;
            }
            OrderEvent::PaymentCaptured(entry) => {
                state.payments.append(entry.clone());
                state.payment_status = PaymentStatus::Paid;
            }
            OrderEvent::PaymentFailed { .. } => {
                state.payment_status = PaymentStatus::Failed;
                if matches!(state.reservation, Reservation::Held(_)) {
                    state.reservation = Reservation::Released;
                }
            }
            OrderEvent::PaymentVoided(entry) => {
                state.payments.append(entry.clone());
                if state.payment_status != PaymentStatus::Failed {
                    state.payment_status = PaymentStatus::Voided;
                }
            }
            OrderEvent::Refunded(entry) => {
                state.payments.append(entry.clone());
                state.payment_status = if state.payments.refunded() == state.payments.captured() {
                    PaymentStatus::Refunded
                } else {
                    PaymentStatus::PartiallyRefunded
                };
            }
            OrderEvent::Confirmed => {
                state.status = OrderStatus::Confirmed;
                state.reservation = Reservation::Committed;
                state.confirmed_at = Some(at);
                reason = Some("payment received".into());
            }
            OrderEvent::ProcessingStarted => state.status = OrderStatus::Processing,
            OrderEvent::Shipped(shipment) => {
                for part in &shipment.lines {
                    if let Some(line) = state.line_mut(part.line_id) {
                        line.quantities.shipped += part.quantity.get();
                    }
                }
                state.shipments.push(shipment.clone());
                state.status = state.fulfilment_status();
            }
            OrderEvent::ShipmentDelivered { shipment_id } => {
                let mut delivered = Vec::new();
                if let Some(shipment) = state.shipments.iter_mut().find(|s| s.id == *shipment_id) {
                    shipment.delivered_at = Some(at);
                    delivered.clone_from(&shipment.lines);
                }
                for part in delivered {
                    if let Some(line) = state.line_mut(part.line_id) {
                        line.quantities.delivered += part.quantity.get();
                    }
                }
                state.status = state.fulfilment_status();
                if state.status == OrderStatus::Delivered {
                    state.delivered_at = Some(at);
                }
            }
            OrderEvent::DeliveredDigitally { lines } => {
                for part in lines {
                    if let Some(line) = state.line_mut(part.line_id) {
                        line.quantities.shipped += part.quantity.get();
                        line.quantities.delivered += part.quantity.get();
                    }
                }
                state.status = state.fulfilment_status();
                if state.status == OrderStatus::Delivered {
                    state.delivered_at = Some(at);
                }
            }
            OrderEvent::Completed => {
                state.status = OrderStatus::Completed;
                state.completed_at = Some(at);
            }
            OrderEvent::Cancelled {
                reason: why,
                expired: _,
            } => {
                state.status = OrderStatus::Cancelled;
                state.cancelled_at = Some(at);
                state.cancellation = Some((why.clone(), actor.clone()));
                for line in Arc::make_mut(&mut state.lines) {
                    line.quantities.cancelled = line.quantities.ordered - line.quantities.shipped;
                }
                state.reservation = match state.reservation {
                    Reservation::Held(_) => Reservation::Released,
                    Reservation::Committed => Reservation::Restocked,
                    other @ (Reservation::Released | Reservation::Restocked) => other,
                };
                reason = Some(why.to_string());
            }
            OrderEvent::ReturnRequested(ret) => {
                for part in &ret.lines {
                    if let Some(line) = state.line_mut(part.line_id) {
                        line.quantities.return_requested += part.quantity.get();
                    }
                }
                state.returns.push(ret.clone());
            }
            OrderEvent::ReturnReceived { return_id } => {
                let mut received = Vec::new();
                if let Some(ret) = state.returns.iter_mut().find(|r| r.id == *return_id) {
                    ret.received_at = Some(at);
                    received.clone_from(&ret.lines);
                }
                for part in received {
                    if let Some(line) = state.line_mut(part.line_id) {
                        line.quantities.return_requested -= part.quantity.get();
                        line.quantities.returned += part.quantity.get();
                    }
                }
                state.status = state.fulfilment_status();
            }
        }
        if state.status != before {
            Arc::make_mut(&mut state.history).0.push(StatusChange {
                from: Some(before),
                to: state.status,
                reason: reason.unwrap_or_else(|| {
                    let event_type = event.event_type();
                    event_type
                        .strip_prefix("order.")
                        .unwrap_or(event_type)
                        .replace('_', " ")
                }),
                actor: actor.clone(),
                at,
                sequence,
            });
        }
        state.version = sequence;
        state.updated_at = at;
    }

    /// Rebuilds an order from a store's snapshot, checking its invariants.
    ///
    /// # Errors
    /// [`CorruptOrder`] when the snapshot breaks the line ledger, the payment
    /// ledger or the totals identity.
    pub fn restore(s: OrderSnapshot) -> Result<Self, CorruptOrder> {
        let broken = |broken| CorruptOrder { id: s.id, broken };
        if s.lines.is_empty() {
            return Err(broken("an order has at least one line"));
        }
        if !s.lines.iter().all(|l| l.quantities.is_consistent()) {
            return Err(broken("line quantity ledger"));
        }
        if !s.payments.is_consistent() {
            return Err(broken("payment ledger"));
        }
        if !totals_identity_holds(&s.totals) {
            return Err(broken("total = subtotal - discount + tax + shipping"));
        }
        Ok(Self(Arc::new(OrderState {
            id: s.id,
            number: s.number,
            customer_id: s.customer_id,
            currency: s.currency,
            status: s.status,
            payment_status: s.payment_status,
            lines: Arc::new(s.lines),
            shipping_address: s.shipping_address,
            billing_address: s.billing_address,
            shipping_method: s.shipping_method,
            payment_method: s.payment_method,
            coupon: s.coupon,
            discount: s.discount,
            notes: s.notes,
            pricing: s.pricing,
            totals: s.totals,
            payments: s.payments,
            payment_attempts: s.payment_attempts,
            reservation: s.reservation,
            shipments: s.shipments,
            returns: s.returns,
            history: Arc::new(History(s.history)),
            cancellation: s.cancellation,
            version: s.version,
            created_at: s.created_at,
            updated_at: s.updated_at,
            confirmed_at: s.confirmed_at,
            cancelled_at: s.cancelled_at,
            delivered_at: s.delivered_at,
            completed_at: s.completed_at,
        })))
    }

    /// Every field, for stores.
    pub fn snapshot(&self) -> OrderSnapshot {
        OrderSnapshot {
            id: self.0.id,
            number: self.0.number.clone(),
            customer_id: self.0.customer_id,
            currency: self.0.currency,
            status: self.0.status,
            payment_status: self.0.payment_status,
            lines: self.0.lines.to_vec(),
            shipping_address: self.0.shipping_address.clone(),
            billing_address: self.0.billing_address.clone(),
            shipping_method: self.0.shipping_method.clone(),
            payment_method: self.0.payment_method.clone(),
            coupon: self.0.coupon.clone(),
            discount: self.0.discount.clone(),
            notes: self.0.notes.clone(),
            pricing: self.0.pricing,
            totals: self.0.totals,
            payments: self.0.payments.clone(),
            payment_attempts: self.0.payment_attempts,
            reservation: self.0.reservation,
            shipments: self.0.shipments.clone(),
            returns: self.0.returns.clone(),
            history: self.0.history.0.clone(),
            cancellation: self.0.cancellation.clone(),
            version: self.0.version,
            created_at: self.0.created_at,
            updated_at: self.0.updated_at,
            confirmed_at: self.0.confirmed_at,
            cancelled_at: self.0.cancelled_at,
            delivered_at: self.0.delivered_at,
            completed_at: self.0.completed_at,
        }
    }

    /// The id.
    pub fn id(&self) -> OrderId {
        self.0.id
    }
    /// The order number.
    pub fn number(&self) -> &OrderNumber {
        &self.0.number
    }
    /// The customer.
    pub fn customer_id(&self) -> CustomerId {
        self.0.customer_id
    }
    /// The currency of every amount.
    pub fn currency(&self) -> Currency {
        self.0.currency
    }
    /// The lifecycle status.
    pub fn status(&self) -> OrderStatus {
        self.0.status
    }
    /// The payment status.
    pub fn payment_status(&self) -> PaymentStatus {
        self.0.payment_status
    }
    /// The lines.
    pub fn lines(&self) -> &[OrderLine] {
        &self.0.lines
    }
    /// Whether `self` and `other` share their lines: one is the other with
    /// events applied that changed no line, so the lines are the same.
    /// `false` says nothing: equal lines may be held apart (an order read
    /// back from a store holds its own).
    pub fn shares_lines_with(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0.lines, &other.0.lines)
    }
    /// Per line, the units `units` counts (say, [`LineQuantities::to_ship`]),
    /// for the lines that have any: the selection that ships, returns or
    /// delivers all of them.
    pub fn units(&self, units: impl Fn(&LineQuantities) -> u32) -> Vec<LineQuantity> {
        self.lines()
            .iter()
            .filter_map(|line| {
                Quantity::new(units(&line.quantities))
                    .ok()
                    .map(|quantity| LineQuantity {
                        line_id: line.id,
                        quantity,
                    })
            })
            .collect()
    }
    /// One line.
    pub fn line(&self, id: LineId) -> Option<&OrderLine> {
        self.0.lines.iter().find(|l| l.id == id)
    }
    /// Where physical goods go.
    pub fn shipping_address(&self) -> Option<&Address> {
        self.0.shipping_address.as_ref()
    }
    /// Where the invoice goes.
    pub fn billing_address(&self) -> Option<&Address> {
        self.0.billing_address.as_ref()
    }
    /// How physical goods travel.
    pub fn shipping_method(&self) -> Option<&ShippingMethod> {
        self.0.shipping_method.as_ref()
    }

    /// How the customer pays: chosen at checkout, or by the latest payment
    /// attempt that named a method.
    pub fn payment_method(&self) -> Option<&PaymentMethod> {
        self.0.payment_method.as_ref()
    }
    /// The coupon used.
    pub fn coupon(&self) -> Option<&CouponCode> {
        self.0.coupon.as_ref()
    }
    /// The discount granted.
    pub fn discount(&self) -> Option<&Discount> {
        self.0.discount.as_ref()
    }
    /// Customer notes.
    pub fn notes(&self) -> Option<&Notes> {
        self.0.notes.as_ref()
    }
    /// The pricing rules.
    pub fn pricing(&self) -> &PricingPolicy {
        &self.0.pricing
    }
    /// The totals.
    pub fn totals(&self) -> &Totals {
        &self.0.totals
    }
    /// The payment ledger.
    pub fn payments(&self) -> &PaymentLedger {
        &self.0.payments
    }
    /// Payment attempts so far.
    pub fn payment_attempts(&self) -> u32 {
        self.0.payment_attempts
    }
    /// The stock reservation.
    pub fn reservation(&self) -> Reservation {
        self.0.reservation
    }
    /// The shipments.
    pub fn shipments(&self) -> &[Shipment] {
        &self.0.shipments
    }
    /// One shipment.
    pub fn shipment(&self, id: ShipmentId) -> Option<&Shipment> {
        self.0.shipments.iter().find(|s| s.id == id)
    }
    /// The returns.
    pub fn returns(&self) -> &[Return] {
        &self.0.returns
    }
    /// One return.
    pub fn return_(&self, id: ReturnId) -> Option<&Return> {
        self.0.returns.iter().find(|r| r.id == id)
    }
    /// Every status change, oldest first.
    pub fn history(&self) -> &[StatusChange] {
        &self.0.history.0
    }
    /// Why and by whom the order was cancelled.
    pub fn cancellation(&self) -> Option<(&Reason, &Actor)> {
        self.0.cancellation.as_ref().map(|(r, a)| (r, a))
    }
    /// The version: the sequence number of the last applied event.
    pub fn version(&self) -> u64 {
        self.0.version
    }
    /// When placed.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When last changed.
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// When confirmed.
    pub fn confirmed_at(&self) -> Option<DateTime<Utc>> {
        self.0.confirmed_at
    }
    /// When cancelled.
    pub fn cancelled_at(&self) -> Option<DateTime<Utc>> {
        self.0.cancelled_at
    }
    /// When every shipment had arrived.
    pub fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }
    /// When completed.
    pub fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at
    }
    /// True when any line is physical.
    pub fn needs_shipping(&self) -> bool {
        self.0.lines.iter().any(|l| l.kind == ProductKind::Physical)
    }
    /// Total minus captured, floored at zero: what a payment must still bring.
    pub fn amount_due(&self) -> Money {
        let due = self
            .0
            .totals
            .total
            .checked_sub(&self.0.payments.captured())
            .unwrap_or(self.0.totals.total);
        if due.is_negative() {
            Money::zero(self.0.currency)
        } else {
            due
        }
    }
}

impl OrderState {
    fn line_mut(&mut self, id: LineId) -> Option<&mut OrderLine> {
        Arc::make_mut(&mut self.lines)
            .iter_mut()
            .find(|l| l.id == id)
    }

    /// The status the line ledger implies once shipping has started.
    fn fulfilment_status(&self) -> OrderStatus {
        let shipped: u32 = self.lines.iter().map(|l| l.quantities.shipped).sum();
        let returned: u32 = self.lines.iter().map(|l| l.quantities.returned).sum();
        let all_shipped = self.lines.iter().all(|l| l.quantities.to_ship() == 0);
        if shipped > 0 && all_shipped && returned == shipped {
            OrderStatus::Returned
        } else if all_shipped && self.shipments.iter().all(|s| s.delivered_at.is_some()) {
            OrderStatus::Delivered
        } else if all_shipped {
            OrderStatus::Shipped
        } else if shipped > 0 {
            OrderStatus::PartiallyShipped
        } else {
            self.status
        }
    }
}

// Debug shows the fields, as it did before they were shared.
impl fmt::Debug for Order {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// True when `total = subtotal − discount + tax + shipping` exactly.
pub fn totals_identity_holds(t: &Totals) -> bool {
    t.subtotal
        .checked_sub(&t.discount)
        .and_then(|m| m.checked_add(&t.tax))
        .and_then(|m| m.checked_add(&t.shipping))
        .is_ok_and(|m| m == t.total)
}

/// Orders for the crate's unit tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;
    use crate::id::EventId;

    /// The tests' clock.
    pub(crate) fn t0() -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::days(20_000)
    }

    /// Order `n` (below 4,096) as placed, without lines: version 1.
    pub(crate) fn placed(n: u64) -> Order {
        // Version 7, variant 10.
        let uuid = uuid::Uuid::from_u128(u128::from(n & 0xfff) | (0x7 << 76) | (0b10 << 62));
        let id = OrderId::new(uuid).expect("v7");
        let record = EventRecord {
            id: EventId::new(uuid).expect("v7"),
            order_id: id,
            sequence: 1,
            occurred_at: t0(),
            actor: Actor::system(),
            event: OrderEvent::Placed(Box::new(Placed {
                id,
                number: OrderNumber::from_sequence(2026, n),
                customer_id: CustomerId::new(uuid).expect("v7"),
                currency: Currency::USD,
                lines: Vec::new(),
                shipping_address: None,
                billing_address: None,
                shipping_method: None,
                payment_method: None,
                coupon: None,
                discount: None,
                notes: None,
                pricing: PricingPolicy::default(),
                totals: Totals::zero(Currency::USD),
                reservation_expires_at: t0(),
            })),
        };
        Order::placed(&record).expect("placed")
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{placed, t0};
    use super::*;

    #[test]
    fn an_event_copies_the_lines_and_the_history_only_when_it_changes_them() {
        let placed = placed(1);
        let started = placed.with_events(
            &[OrderEvent::PaymentStarted {
                attempt: 1,
                amount: Money::zero(Currency::USD),
                reservation_expires_at: None,
                payment_method: None,
            }],
            &Actor::system(),
            t0(),
        );
        assert!(!started.shares_state_with(&placed));
        assert!(Arc::ptr_eq(&started.0.lines, &placed.0.lines));
        assert!(Arc::ptr_eq(&started.0.history, &placed.0.history));

        let confirmed = started.with_events(&[OrderEvent::Confirmed], &Actor::system(), t0());
        assert!(Arc::ptr_eq(&confirmed.0.lines, &started.0.lines));
        assert_eq!(confirmed.history().len(), 2);
        assert_eq!(started.history().len(), 1);
        assert_eq!(placed.history().len(), 1);
    }
}
