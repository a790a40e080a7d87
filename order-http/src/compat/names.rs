//! The seeds' status names, both ways: how each seed names an order's
//! state (the engine's status and payment status, per SPEC.md's mapping of
//! seed terms), and which [`StatusGoal`] a seed's "set status" request
//! names. Naming only: which move is allowed is the engine's to decide.

use order_core::{Carrier, TrackingNumber};
use order_core::{OrderStatus, PaymentStatus, Reason, StatusGoal};

use crate::error::ApiError;

/// The seeds with a status vocabulary of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Seed {
    /// kubestock-ms-order-management: `PENDING`, `PAID`, `PROCESSING`,
    /// `SHIPPED`, `DELIVERED`, `COMPLETED`, `CANCELLED`.
    Kubestock,
    /// node-order-service: `pending`, `payment_pending`, `payment_failed`,
    /// `confirmed`, `processing`, `shipped`, `delivered`, `cancelled`,
    /// `refunded`.
    Node,
    /// ts-order-service-saga: `pending`, `paid`, `processing`, `shipped`,
    /// `delivered`, `cancelled`, `failed`.
    Saga,
    /// order-management-domain-contracts: `pending`, `confirmed`,
    /// `shipped`, `delivered`, `cancelled`, `payment_failed`, `returned`,
    /// `refunded`.
    Contracts,
}

impl Seed {
    /// How this seed names an order in `status` with `payment`. A state the
    /// seed has no name for keeps the engine's name (in the seed's case).
    pub(crate) fn status_name(self, status: OrderStatus, payment: PaymentStatus) -> String {
        use OrderStatus as S;
        use PaymentStatus as P;
        let name = match (self, status, payment) {
            (Self::Kubestock, S::Confirmed, _) => "PAID",
            (Self::Kubestock, other, _) => return other.as_str().to_uppercase(),
            (Self::Node | Self::Contracts, _, P::Refunded) => "refunded",
            (Self::Node, S::Pending, P::Pending | P::Authorized) => "payment_pending",
            (Self::Node | Self::Contracts, S::Pending, P::Failed) => "payment_failed",
            (Self::Node, S::PartiallyShipped, _) => "processing",
            (Self::Node | Self::Saga | Self::Contracts, S::Completed, _) => "delivered",
            (Self::Saga, S::Pending, P::Failed) => "failed",
            (Self::Saga, S::Confirmed, _) => "paid",
            (Self::Saga, S::PartiallyShipped, _) => "processing",
            (Self::Contracts, S::Processing | S::PartiallyShipped, _) => "confirmed",
            (_, other, _) => other.as_str(),
        };
        name.to_owned()
    }
}

/// The engine's status a list filtered by a seed's status `name` shows
/// (`PAID` lists confirmed orders).
///
/// # Errors
/// 422 naming `status` for a name that is not an order status of the
/// engine's (a payment state such as `payment_failed` is not a filter).
pub(crate) fn status_filter(name: &str) -> Result<OrderStatus, ApiError> {
    match name.trim().to_lowercase().as_str() {
        "paid" => Ok(OrderStatus::Confirmed),
        other => Ok(other.parse::<OrderStatus>()?),
    }
}

/// What a "set status" request may carry besides the status: why, and the
/// parcel's carrier and tracking number.
#[derive(Debug, Default)]
pub(crate) struct GoalDetails {
    /// Why (cancel, return, refund); a default names the route otherwise.
    pub(crate) reason: Option<Reason>,
    /// The carrier, for `shipped`.
    pub(crate) carrier: Option<Carrier>,
    /// The tracking number, for `shipped`.
    pub(crate) tracking_number: Option<TrackingNumber>,
}

/// The goal a seed's status `name` asks for, in any seed's vocabulary and
/// case.
///
/// # Errors
/// 422 naming `status` for a name no seed uses, and for a state no request
/// leads to (`pending`, a failed payment: the payment service reports
/// those), saying which state the order is in.
pub(crate) fn goal(
    name: &str,
    details: GoalDetails,
    current: (OrderStatus, PaymentStatus),
    default_reason: &str,
) -> Result<StatusGoal, ApiError> {
    let GoalDetails {
        reason,
        carrier,
        tracking_number,
    } = details;
    let reason = || match reason {
        Some(reason) => Ok(reason),
        None => Reason::parse(default_reason).map_err(ApiError::from),
    };
    let lower = name.trim().to_lowercase();
    let goal = match lower.as_str() {
        "paid" | "confirmed" | "payment_pending" | "payment_successful" => StatusGoal::Paid,
        "processing" => StatusGoal::Processing,
        "shipped" => StatusGoal::Shipped {
            carrier,
            tracking_number,
        },
        "delivered" => StatusGoal::Delivered,
        "completed" => StatusGoal::Completed,
        "cancelled" | "canceled" => StatusGoal::Cancelled { reason: reason()? },
        "returned" => StatusGoal::ReturnRequested { reason: reason()? },
        "refunded" => StatusGoal::Refunded { reason: reason()? },
        "pending" | "payment_failed" | "failed" => {
            let (status, payment) = current;
            return Err(ApiError::Refused {
                field: "status",
                detail: format!(
                    "{lower} is not reached by a request (an order starts pending; a payment \
                     fails when the payment service says so); the order is {status} with \
                     payment {payment}"
                ),
            });
        }
        _ => {
            return Err(ApiError::Refused {
                field: "status",
                detail: format!(
                    "{name:?} is not an order status; one of: paid, confirmed, payment_pending, \
                     processing, shipped, delivered, completed, cancelled, returned, refunded \
                     (any case)"
                ),
            });
        }
    };
    Ok(goal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seed_names_a_confirmed_order_its_own_way() {
        let confirmed = (OrderStatus::Confirmed, PaymentStatus::Paid);
        let names: Vec<String> = [Seed::Kubestock, Seed::Node, Seed::Saga, Seed::Contracts]
            .iter()
            .map(|seed| seed.status_name(confirmed.0, confirmed.1))
            .collect();
        assert_eq!(names, ["PAID", "confirmed", "paid", "confirmed"]);
    }

    #[test]
    fn a_failed_payment_is_named_as_each_seed_names_it() {
        let failed = (OrderStatus::Pending, PaymentStatus::Failed);
        assert_eq!(Seed::Node.status_name(failed.0, failed.1), "payment_failed");
        assert_eq!(Seed::Saga.status_name(failed.0, failed.1), "failed");
        assert_eq!(Seed::Kubestock.status_name(failed.0, failed.1), "PENDING");
    }

    #[test]
    fn a_refunded_payment_names_the_order_refunded_where_the_seed_has_the_state() {
        let refunded = (OrderStatus::Cancelled, PaymentStatus::Refunded);
        assert_eq!(Seed::Node.status_name(refunded.0, refunded.1), "refunded");
        assert_eq!(
            Seed::Contracts.status_name(refunded.0, refunded.1),
            "refunded"
        );
        assert_eq!(Seed::Saga.status_name(refunded.0, refunded.1), "cancelled");
    }

    #[test]
    fn seed_status_names_become_goals_in_any_case() {
        let pending = (OrderStatus::Pending, PaymentStatus::Unpaid);
        for name in ["PAID", "paid", "confirmed", "payment_pending"] {
            let goal = goal(name, GoalDetails::default(), pending, "x").unwrap();
            assert_eq!(goal, StatusGoal::Paid, "{name}");
        }
        let cancel = goal("CANCELLED", GoalDetails::default(), pending, "by request").unwrap();
        assert!(
            matches!(cancel, StatusGoal::Cancelled { reason } if reason.as_str() == "by request")
        );
    }

    #[test]
    fn a_state_no_request_leads_to_is_refused_naming_the_current_state() {
        let pending = (OrderStatus::Pending, PaymentStatus::Unpaid);
        let err = goal("payment_failed", GoalDetails::default(), pending, "x").unwrap_err();
        assert!(
            err.to_string()
                .contains("the order is pending with payment unpaid"),
            "{err}"
        );
        let err = goal("teleported", GoalDetails::default(), pending, "x").unwrap_err();
        assert!(err.to_string().contains("not an order status"), "{err}");
    }
}
