//! Commands: what a caller asks of an existing order, with every input a
//! decision needs already resolved (prices looked up, gateway answers
//! received, ids minted). [`Order::decide`](crate::Order::decide) turns one
//! into events or refuses it.

use chrono::{DateTime, Duration, Utc};

use crate::address::Address;
use crate::id::{ReturnId, ShipmentId};
use crate::ledger::PaymentEntry;
use crate::order::{LineQuantity, OrderLine};
use crate::pricing::Totals;
use crate::status::{Action, PaymentAction};
use crate::text::{Carrier, Notes, PaymentMethod, Reason, ShippingMethod, TrackingNumber};

/// New values for an order's details; `None` leaves a field unchanged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DetailsChange {
    /// New notes (`Some(None)` clears them).
    pub notes: Option<Option<Notes>>,
    /// New shipping address.
    pub shipping_address: Option<Address>,
    /// New billing address (`Some(None)` clears it).
    pub billing_address: Option<Option<Address>>,
    /// New shipping method.
    pub shipping_method: Option<ShippingMethod>,
}

impl DetailsChange {
    /// True when nothing would change.
    pub fn is_empty(&self) -> bool {
        self.notes.is_none()
            && self.shipping_address.is_none()
            && self.billing_address.is_none()
            && self.shipping_method.is_none()
    }
}

/// A command on an existing order.
// Commands are short-lived values built once per request; boxing the large
// variants would cost more than it saves.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Replace the lines with re-priced ones (built by `OrderService`).
    ChangeLines {
        /// Every line after the edit.
        lines: Vec<OrderLine>,
        /// The totals after the edit.
        totals: Totals,
        /// Set when the stock reservation was adjusted to the new lines.
        reservation_expires_at: Option<DateTime<Utc>>,
    },
    /// Change notes, addresses or the shipping method.
    UpdateDetails {
        /// The change.
        change: DetailsChange,
        /// The totals after the change.
        totals: Totals,
    },
    /// Start a payment attempt.
    StartPayment {
        /// Set when stock released by a failed attempt was reserved again.
        reservation_expires_at: Option<DateTime<Utc>>,
        /// The payment method the payer chose for this attempt, if any.
        payment_method: Option<PaymentMethod>,
    },
    /// The gateway authorized the amount due.
    RecordAuthorization {
        /// The ledger entry.
        entry: PaymentEntry,
        /// Confirm on authorization (authorize-then-capture gateways).
        confirm: bool,
    },
    /// The gateway captured the amount due.
    RecordCapture {
        /// The ledger entry.
        entry: PaymentEntry,
    },
    /// The payment attempt failed.
    RecordPaymentFailure {
        /// The gateway's code.
        code: String,
        /// The gateway's explanation.
        reason: String,
    },
    /// The gateway voided the open authorization.
    RecordVoid {
        /// The ledger entry.
        entry: PaymentEntry,
    },
    /// The gateway refunded money.
    Refund {
        /// The ledger entry.
        entry: PaymentEntry,
    },
    /// Start picking and packing.
    StartProcessing,
    /// Ship units.
    Ship {
        /// The new shipment's id.
        shipment_id: ShipmentId,
        /// What to ship.
        lines: Vec<LineQuantity>,
        /// The carrier; required when any line is physical.
        carrier: Option<Carrier>,
        /// The tracking number.
        tracking_number: Option<TrackingNumber>,
    },
    /// A shipment arrived.
    Deliver {
        /// The shipment.
        shipment_id: ShipmentId,
    },
    /// Close a delivered order whose return window has passed.
    Complete {
        /// How long after delivery returns are accepted.
        return_window: Duration,
    },
    /// Cancel the order.
    Cancel {
        /// Why.
        reason: Reason,
    },
    /// Cancel a stale pending order whose payment never started.
    Expire {
        /// How long a pending order may sit without payment.
        ttl: Duration,
    },
    /// Open a return.
    RequestReturn {
        /// The new return's id.
        return_id: ReturnId,
        /// What comes back.
        lines: Vec<LineQuantity>,
        /// Why.
        reason: Reason,
        /// How long after delivery returns are accepted.
        return_window: Duration,
    },
    /// Returned units arrived.
    ReceiveReturn {
        /// The return.
        return_id: ReturnId,
    },
}

impl Command {
    /// The state machine action this command takes.
    pub const fn action(&self) -> Action {
        match self {
            Self::ChangeLines { .. } => Action::EditLines,
            Self::UpdateDetails { .. } => Action::UpdateDetails,
            Self::StartPayment { .. } => Action::StartPayment,
            Self::RecordAuthorization { .. }
            | Self::RecordCapture { .. }
            | Self::RecordPaymentFailure { .. }
            | Self::RecordVoid { .. } => Action::RecordPayment,
            Self::Refund { .. } => Action::Refund,
            Self::StartProcessing => Action::StartProcessing,
            Self::Ship { .. } => Action::Ship,
            Self::Deliver { .. } => Action::Deliver,
            Self::Complete { .. } => Action::Complete,
            Self::Cancel { .. } => Action::Cancel,
            Self::Expire { .. } => Action::Expire,
            Self::RequestReturn { .. } => Action::RequestReturn,
            Self::ReceiveReturn { .. } => Action::ReceiveReturn,
        }
    }

    /// The payment action this command takes, if it moves money.
    pub const fn payment_action(&self) -> Option<PaymentAction> {
        match self {
            Self::StartPayment { .. } => Some(PaymentAction::Start),
            Self::RecordAuthorization { .. } => Some(PaymentAction::Authorize),
            Self::RecordCapture { .. } => Some(PaymentAction::Capture),
            Self::RecordPaymentFailure { .. } => Some(PaymentAction::Fail),
            Self::RecordVoid { .. } => Some(PaymentAction::Void),
            Self::Refund { .. } => Some(PaymentAction::Refund),
            Self::ChangeLines { .. }
            | Self::UpdateDetails { .. }
            | Self::StartProcessing
            | Self::Ship { .. }
            | Self::Deliver { .. }
            | Self::Complete { .. }
            | Self::Cancel { .. }
            | Self::Expire { .. }
            | Self::RequestReturn { .. }
            | Self::ReceiveReturn { .. } => None,
        }
    }
}
