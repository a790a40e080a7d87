//! Reaching a status: what older order APIs call "set status" (the seeds'
//! `PUT …/status`, `PATCH …/status`, the Go plan's `UpdateOrderStatus`).
//! A [`StatusGoal`] names where the caller wants the order to be; the
//! engine runs the use case that leads there, on the whole order (every
//! unit still to ship, every shipment in transit, every unit that may come
//! back, everything still refundable), and the state machine decides as it
//! does for the use case itself. A status the engine never reaches by a
//! caller's request (`pending`, a failed payment) is not a goal.

use super::OrderService;
use crate::error::{OrderError, TransitionError};
use crate::id::OrderId;
use crate::ledger::LineQuantities;
use crate::order::Order;
use crate::scope::Scope;
use crate::status::{Action, PaymentStatus};
use crate::text::{Actor, Carrier, Reason, TrackingNumber};

/// A status a caller asks an order to reach.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatusGoal {
    /// Paid and confirmed: checkout ([`OrderService::pay_in`]); with an
    /// external payment service, the payment is started and stays pending.
    Paid,
    /// Being picked and packed ([`OrderService::start_processing`]).
    Processing,
    /// Every unit still to ship, in one shipment ([`OrderService::ship`]).
    Shipped {
        /// The carrier (required for physical goods).
        carrier: Option<Carrier>,
        /// The tracking number.
        tracking_number: Option<TrackingNumber>,
    },
    /// Every shipment in transit delivered ([`OrderService::deliver`], once
    /// per shipment).
    Delivered,
    /// Closed after the return window ([`OrderService::complete`]).
    Completed,
    /// Cancelled ([`OrderService::cancel`]).
    Cancelled {
        /// Why.
        reason: Reason,
    },
    /// A return opened for every unit that may still come back
    /// ([`OrderService::request_return`]); the order is `returned` once the
    /// units are received.
    ReturnRequested {
        /// Why.
        reason: Reason,
    },
    /// Everything captured and not yet refunded, refunded
    /// ([`OrderService::refund`]).
    Refunded {
        /// Why.
        reason: Reason,
    },
}

impl StatusGoal {
    /// The action the goal starts with: the one a refusal names.
    pub const fn action(&self) -> Action {
        match self {
            Self::Paid => Action::StartPayment,
            Self::Processing => Action::StartProcessing,
            Self::Shipped { .. } => Action::Ship,
            Self::Delivered => Action::Deliver,
            Self::Completed => Action::Complete,
            Self::Cancelled { .. } => Action::Cancel,
            Self::ReturnRequested { .. } => Action::RequestReturn,
            Self::Refunded { .. } => Action::Refund,
        }
    }
}

/// `order`'s refusal of `action`: its status, its payment status, the action.
fn refusal(order: &Order, action: Action) -> OrderError {
    TransitionError {
        from: order.status(),
        payment: order.payment_status(),
        action,
    }
    .into()
}

impl OrderService {
    /// Runs the use case that leads the order `id` (within `scope`) to
    /// `goal`. A goal that needs a selection (ship, return, deliver,
    /// refund) takes the whole of what is left, read at one version: if the
    /// order changes meanwhile the request is a version conflict, never a
    /// selection made on a stale state.
    ///
    /// # Errors
    /// Those of the use case; [`OrderError::Transition`] naming the goal's
    /// action when nothing is left to act on (no shipment in transit,
    /// nothing captured to refund).
    pub async fn reach(
        &self,
        id: OrderId,
        scope: Scope,
        goal: StatusGoal,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        if goal == StatusGoal::Paid {
            // Checkout reads the order itself, within the scope.
            return self.pay_in(id, scope, actor).await;
        }
        // A goal whose use case would move money from the order's state
        // (a refund, a capture, giving a payment back) is reached from the
        // store's order, as a kept one's staleness could only show after
        // the money moved.
        let moves_money = |order: &Order| match goal {
            StatusGoal::Refunded { .. } => true,
            StatusGoal::Processing => order.payment_status() == PaymentStatus::Authorized,
            StatusGoal::Cancelled { .. } => matches!(
                order.payment_status(),
                PaymentStatus::Authorized | PaymentStatus::Paid | PaymentStatus::PartiallyRefunded
            ),
            _ => false,
        };
        self.decide_on(id, scope, None, moves_money, |order| {
            self.reach_from(order, goal.clone(), actor)
        })
        .await
    }

    async fn reach_from(
        &self,
        order: Order,
        goal: StatusGoal,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        let id = order.id();
        let version = Some(order.version());
        match goal {
            StatusGoal::Paid => self.pay(id, actor).await,
            StatusGoal::Processing => self.start_processing(id, version, actor).await,
            StatusGoal::Shipped {
                carrier,
                tracking_number,
            } => {
                let lines = order.units(LineQuantities::to_ship);
                self.ship(id, version, lines, carrier, tracking_number, actor)
                    .await
            }
            StatusGoal::Delivered => {
                let in_transit: Vec<_> = order
                    .shipments()
                    .iter()
                    .filter(|s| s.delivered_at.is_none())
                    .map(|s| s.id)
                    .collect();
                if in_transit.is_empty() {
                    return Err(refusal(&order, Action::Deliver));
                }
                let mut after = order;
                for shipment in in_transit {
                    after = self
                        .deliver(id, Some(after.version()), shipment, actor)
                        .await?;
                }
                Ok(after)
            }
            StatusGoal::Completed => self.complete(id, version, actor).await,
            StatusGoal::Cancelled { reason } => self.cancel(id, version, reason, actor).await,
            StatusGoal::ReturnRequested { reason } => {
                let lines = order.units(LineQuantities::returnable);
                self.request_return(id, version, lines, reason, actor).await
            }
            StatusGoal::Refunded { reason } => {
                let amount = order.payments().refundable()?;
                if amount.is_zero() {
                    return Err(refusal(&order, Action::Refund));
                }
                self.refund(id, amount, reason, actor).await
            }
        }
    }
}
