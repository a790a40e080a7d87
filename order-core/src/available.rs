//! What staff can ask of an order now: the fulfilment and money actions
//! (start processing, ship, deliver, receive a return, refund, cancel) that
//! the transition tables and the order's ledgers allow in its current
//! state, so an operator's screen offers those and only those.
//!
//! These are the checks `Order::decide` makes before it looks at a
//! command's own inputs (which lines, how much): an action listed here can
//! still be refused for its inputs (shipping more than remains, refunding
//! more than is refundable), never for the order's state. A test previews
//! every action on orders in every status to keep the two in step.

use crate::order::Order;
use crate::status::{Action, PaymentAction, PaymentStatus, order_targets, payment_targets};

/// The actions staff take on an order by hand, in lifecycle order.
pub const STAFF_ACTIONS: &[Action] = &[
    Action::StartProcessing,
    Action::Ship,
    Action::Deliver,
    Action::ReceiveReturn,
    Action::Refund,
    Action::Cancel,
];

impl Order {
    /// True when the order's state lets `action` through now: the order
    /// table has a row for it from the current status, the payment table
    /// one for the money it moves, and the ledgers hold something for it
    /// to act on (units left to ship, an undelivered shipment, an
    /// unreceived return, refundable money).
    pub fn allows(&self, action: Action) -> bool {
        if order_targets(self.status(), action).is_empty() {
            return false;
        }
        let unpaid = matches!(
            self.payment_status(),
            PaymentStatus::Unpaid | PaymentStatus::Failed
        );
        match action {
            Action::StartProcessing => matches!(
                self.payment_status(),
                PaymentStatus::Paid | PaymentStatus::Authorized
            ),
            Action::Ship => self.lines().iter().any(|l| l.quantities.to_ship() > 0),
            Action::Deliver => self.shipments().iter().any(|s| s.delivered_at.is_none()),
            Action::ReceiveReturn => self.returns().iter().any(|r| r.received_at.is_none()),
            Action::RequestReturn => self.lines().iter().any(|l| {
                l.kind == crate::order::ProductKind::Physical && l.quantities.returnable() > 0
            }),
            Action::Refund => {
                !payment_targets(self.payment_status(), PaymentAction::Refund).is_empty()
                    && self
                        .payments()
                        .refundable()
                        .is_ok_and(|m| !m.is_zero() && !m.is_negative())
            }
            Action::EditLines | Action::StartPayment => unpaid,
            Action::UpdateDetails
            | Action::RecordPayment
            | Action::Confirm
            | Action::DeliverDigital
            | Action::Complete
            | Action::Cancel
            | Action::Expire => true,
        }
    }

    /// The [`STAFF_ACTIONS`] the order allows now.
    pub fn staff_actions(&self) -> Vec<Action> {
        STAFF_ACTIONS
            .iter()
            .copied()
            .filter(|&action| self.allows(action))
            .collect()
    }
}
