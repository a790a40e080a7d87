//! The event types on the wire: the engine's own names and the seeds' names
//! for the same facts, and which messages one stored event becomes.

use order_core::{OrderEvent, OrderStatus};

/// The seed's name for a captured payment (node-order-service); the engine
/// calls it `order.payment_succeeded`.
pub const PAYMENT_SUCCESSFUL: &str = "order.payment_successful";

/// Published beside an event whenever the order's status moved (both
/// seeds), with `previousStatus` and `newStatus`.
pub const STATUS_CHANGED: &str = "order.status_changed";

/// Every type a message can carry: the engine's own types, then the seeds'
/// names that are not the engine's.
pub const ALL: &[&str] = &[
    "order.created",
    "order.updated",
    "order.payment_started",
    "order.payment_authorized",
    "order.payment_succeeded",
    "order.payment_failed",
    "order.payment_voided",
    "order.refunded",
    "order.confirmed",
    "order.processing",
    "order.shipped",
    "order.delivered",
    "order.completed",
    "order.cancelled",
    "order.return_requested",
    "order.returned",
    PAYMENT_SUCCESSFUL,
    STATUS_CHANGED,
];

/// The types one stored event is published as, in order: the engine's own
/// type first, then the seed's alias if it has one, then
/// `order.status_changed` when the status moved from `before` (none for the
/// order's first event, which creates rather than changes).
pub fn published_as(
    event: &OrderEvent,
    before: Option<OrderStatus>,
    after: OrderStatus,
) -> Vec<&'static str> {
    let mut types = vec![event.event_type()];
    if matches!(event, OrderEvent::PaymentCaptured(_)) {
        types.push(PAYMENT_SUCCESSFUL);
    }
    if before.is_some_and(|status| status != after) {
        types.push(STATUS_CHANGED);
    }
    types
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_type_and_every_seed_name_is_listed_once() {
        let mut sorted = ALL.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ALL.len());
        for seed_name in [
            "order.created",
            "order.confirmed",
            "order.status_changed",
            "order.payment_successful",
            "order.payment_failed",
            "order.cancelled",
            "order.shipped",
            "order.delivered",
        ] {
            assert!(ALL.contains(&seed_name), "{seed_name}");
        }
    }

    #[test]
    fn a_status_move_adds_a_status_change_and_creation_does_not() {
        let confirmed = OrderEvent::Confirmed;
        assert_eq!(
            published_as(
                &confirmed,
                Some(OrderStatus::Pending),
                OrderStatus::Confirmed
            ),
            ["order.confirmed", STATUS_CHANGED]
        );
        assert_eq!(
            published_as(&OrderEvent::Completed, None, OrderStatus::Pending),
            ["order.completed"]
        );
        assert_eq!(
            published_as(
                &OrderEvent::ProcessingStarted,
                Some(OrderStatus::Processing),
                OrderStatus::Processing
            ),
            ["order.processing"]
        );
    }
}
