//! The state machine: [`OrderStatus`], [`PaymentStatus`], the [`Action`]s a
//! command can take, and the two transition tables. Every status change the
//! engine makes is one of these rows; `docs/state-machine.md` prints the same
//! rows and a test keeps the two equal.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident, $field:literal { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in lifecycle order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The snake_case name used in APIs, events and the database.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    _ => Err(ValidationError::BadFormat {
                        field: $field.into(),
                        rule: concat!("must be one of: ", $($text, " "),+),
                    }),
                }
            }
        }
    };
}

named_enum!(
    /// Where an order is in its lifecycle.
    OrderStatus, "status" {
        /// Placed, stock reserved, not yet paid.
        Pending => "pending",
        /// Paid (or authorized in full); stock committed.
        Confirmed => "confirmed",
        /// Being picked and packed.
        Processing => "processing",
        /// Some units shipped, some not yet.
        PartiallyShipped => "partially_shipped",
        /// Every unit shipped.
        Shipped => "shipped",
        /// Every shipment delivered.
        Delivered => "delivered",
        /// Delivered and the return window has passed.
        Completed => "completed",
        /// Cancelled before anything shipped.
        Cancelled => "cancelled",
        /// Every shipped unit came back.
        Returned => "returned",
    }
);

named_enum!(
    /// Where the order's money is: the second dimension of the state machine.
    PaymentStatus, "payment_status" {
        /// No payment attempted.
        Unpaid => "unpaid",
        /// A payment attempt is in flight.
        Pending => "pending",
        /// The full total is authorized, not captured.
        Authorized => "authorized",
        /// The full total is captured.
        Paid => "paid",
        /// The last attempt failed; a retry is allowed.
        Failed => "failed",
        /// The authorization was voided.
        Voided => "voided",
        /// Part of the capture was refunded.
        PartiallyRefunded => "partially_refunded",
        /// The whole capture was refunded.
        Refunded => "refunded",
    }
);

named_enum!(
    /// What a command does to an order's status.
    Action, "action" {
        /// Add, change or remove lines.
        EditLines => "edit_lines",
        /// Change notes, addresses or the shipping method.
        UpdateDetails => "update_details",
        /// Start a payment attempt.
        StartPayment => "start_payment",
        /// Record a payment outcome (authorization, capture, failure).
        RecordPayment => "record_payment",
        /// Confirm a fully paid order.
        Confirm => "confirm",
        /// Start picking and packing.
        StartProcessing => "start_processing",
        /// Ship some or all remaining units.
        Ship => "ship",
        /// Mark a shipment delivered.
        Deliver => "deliver",
        /// Hand over a paid digital-only order's goods: nothing to ship.
        DeliverDigital => "deliver_digital",
        /// Close the order after its return window.
        Complete => "complete",
        /// Cancel the order.
        Cancel => "cancel",
        /// Cancel a stale unpaid order.
        Expire => "expire",
        /// Open a return.
        RequestReturn => "request_return",
        /// Receive a return's units back.
        ReceiveReturn => "receive_return",
        /// Refund captured money.
        Refund => "refund",
    }
);

named_enum!(
    /// What a payment step does to the payment status.
    PaymentAction, "payment_action" {
        /// Start an attempt.
        Start => "start",
        /// The full amount was authorized.
        Authorize => "authorize",
        /// The full amount was captured.
        Capture => "capture",
        /// The attempt failed.
        Fail => "fail",
        /// The authorization was voided.
        Void => "void",
        /// Money was refunded.
        Refund => "refund",
    }
);

use Action as A;
use OrderStatus as S;
use PaymentAction as PA;
use PaymentStatus as P;

/// The order statuses `action` may lead to from `from`; empty when the state
/// machine refuses it. Where there is more than one target, the line
/// quantity ledger decides (for example `ship` from `processing` leads to
/// `partially_shipped` or `shipped`).
///
/// ```
/// # use order_core::{Action, OrderStatus, status::order_targets};
/// assert_eq!(order_targets(OrderStatus::Pending, Action::Confirm), &[OrderStatus::Confirmed]);
/// assert!(order_targets(OrderStatus::Shipped, Action::Cancel).is_empty());
/// ```
pub const fn order_targets(from: OrderStatus, action: Action) -> &'static [OrderStatus] {
    match (from, action) {
        (S::Pending, A::EditLines | A::StartPayment | A::RecordPayment) => &[S::Pending],
        (S::Pending, A::UpdateDetails) => &[S::Pending],
        (S::Confirmed, A::UpdateDetails | A::RecordPayment) => &[S::Confirmed],
        (S::Processing, A::UpdateDetails) => &[S::Processing],
        (S::Pending, A::Confirm) => &[S::Confirmed],
        (S::Confirmed, A::StartProcessing) => &[S::Processing],
        (S::Processing | S::PartiallyShipped, A::Ship) => &[S::PartiallyShipped, S::Shipped],
        (S::PartiallyShipped, A::Deliver) => &[S::PartiallyShipped],
        (S::Shipped, A::Deliver) => &[S::Shipped, S::Delivered],
        (S::Confirmed, A::DeliverDigital) => &[S::Delivered],
        (S::Delivered, A::Complete) => &[S::Completed],
        (S::Pending | S::Confirmed | S::Processing, A::Cancel) => &[S::Cancelled],
        (S::Pending, A::Expire) => &[S::Cancelled],
        (S::Shipped, A::RequestReturn) => &[S::Shipped],
        (S::Delivered, A::RequestReturn) => &[S::Delivered],
        (S::Shipped, A::ReceiveReturn) => &[S::Shipped, S::Returned],
        (S::Delivered, A::ReceiveReturn) => &[S::Delivered, S::Returned],
        // A payment that lands after cancellation is recorded, then refunded.
        (S::Cancelled, A::RecordPayment) => &[S::Cancelled],
        (S::Confirmed, A::Refund) => &[S::Confirmed],
        (S::Processing, A::Refund) => &[S::Processing],
        (S::PartiallyShipped, A::Refund) => &[S::PartiallyShipped],
        (S::Shipped, A::Refund) => &[S::Shipped],
        (S::Delivered, A::Refund) => &[S::Delivered],
        (S::Completed, A::Refund) => &[S::Completed],
        (S::Cancelled, A::Refund) => &[S::Cancelled],
        (S::Returned, A::Refund) => &[S::Returned],
        _ => &[],
    }
}

/// The payment statuses `action` may lead to from `from`; empty when
/// refused. A refund leads to `partially_refunded` or `refunded` depending on
/// how much of the capture is then refunded.
pub const fn payment_targets(
    from: PaymentStatus,
    action: PaymentAction,
) -> &'static [PaymentStatus] {
    match (from, action) {
        (P::Unpaid | P::Failed, PA::Start) => &[P::Pending],
        (P::Pending, PA::Authorize) => &[P::Authorized],
        (P::Pending | P::Authorized, PA::Capture) => &[P::Paid],
        // Money reported by the provider without an attempt of ours (a
        // webhook for an external checkout, or one landing after a failure).
        (P::Unpaid | P::Failed, PA::Capture) => &[P::Paid],
        (P::Pending | P::Authorized, PA::Fail) => &[P::Failed],
        (P::Authorized, PA::Void) => &[P::Voided],
        // A failed capture's authorization is voided; the attempt stays failed.
        (P::Failed, PA::Void) => &[P::Failed],
        (P::Paid | P::PartiallyRefunded, PA::Refund) => &[P::PartiallyRefunded, P::Refunded],
        _ => &[],
    }
}

/// One row of the order transition table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition<S: 'static, A> {
    /// The status before.
    pub from: S,
    /// The action.
    pub action: A,
    /// The possible statuses after.
    pub to: &'static [S],
}

/// Every allowed row of the order table, in status then action order.
pub fn order_table() -> Vec<Transition<OrderStatus, Action>> {
    S::ALL
        .iter()
        .flat_map(|&from| {
            A::ALL.iter().filter_map(move |&action| {
                let to = order_targets(from, action);
                (!to.is_empty()).then_some(Transition { from, action, to })
            })
        })
        .collect()
}

/// Every allowed row of the payment table, in status then action order.
pub fn payment_table() -> Vec<Transition<PaymentStatus, PaymentAction>> {
    P::ALL
        .iter()
        .flat_map(|&from| {
            PA::ALL.iter().filter_map(move |&action| {
                let to = payment_targets(from, action);
                (!to.is_empty()).then_some(Transition { from, action, to })
            })
        })
        .collect()
}

impl OrderStatus {
    /// True once nothing about the order's goods can change any more.
    pub const fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Cancelled | Self::Returned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancelling_after_any_shipment_is_refused() {
        for from in [S::PartiallyShipped, S::Shipped, S::Delivered, S::Completed] {
            assert!(order_targets(from, A::Cancel).is_empty(), "{from}");
        }
    }

    #[test]
    fn cancel_is_allowed_before_shipping() {
        for from in [S::Pending, S::Confirmed, S::Processing] {
            assert_eq!(order_targets(from, A::Cancel), &[S::Cancelled]);
        }
    }

    #[test]
    fn a_failed_payment_may_be_retried() {
        assert_eq!(payment_targets(P::Failed, PA::Start), &[P::Pending]);
    }

    #[test]
    fn no_row_leaves_a_final_status_except_refunds_and_late_payments() {
        for row in order_table() {
            if row.from.is_final() {
                assert!(
                    matches!(row.action, A::Refund | A::RecordPayment),
                    "{row:?}"
                );
                assert_eq!(row.to, &[row.from]);
            }
        }
    }

    #[test]
    fn statuses_round_trip_through_text() {
        for s in S::ALL {
            assert_eq!(s.as_str().parse::<OrderStatus>().unwrap(), *s);
        }
        assert!("PAID".parse::<OrderStatus>().is_err());
    }
}
