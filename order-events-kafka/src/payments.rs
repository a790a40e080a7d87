//! The payment service's events from Kafka, applied through the same use
//! case as the HTTP webhook (`order_events::inbound`). The seed's bodies
//! carry no type: it comes from the `ce_type` header, or else from the
//! topic's name (`payment.processed`, or any name ending `.payment.processed`).
//! The engine's own bodies carry it in their `type` field.

use async_trait::async_trait;
use order_core::{Actor, OrderService};
use order_events::inbound;

use crate::consumer::{Handler, Received};
use crate::error::KafkaEventsError;

/// Applies payment events to their orders as one actor.
#[derive(Clone)]
#[allow(missing_debug_implementations)] // `OrderService` has no `Debug`.
pub struct PaymentEvents {
    service: OrderService,
    actor: Actor,
}

impl PaymentEvents {
    /// Applies through `service` as `actor` (e.g. `service:payments`).
    pub fn new(service: OrderService, actor: Actor) -> Self {
        Self { service, actor }
    }
}

#[async_trait]
impl Handler for PaymentEvents {
    async fn handle(&self, message: &Received<'_>) -> Result<(), KafkaEventsError> {
        let event_type = message
            .header("ce_type")
            .or_else(|| message.header("ce-type"))
            .or_else(|| type_of_topic(message.topic()));
        let event_id = message.header("ce_id").or_else(|| message.header("ce-id"));
        let payment = inbound::decode(event_type, event_id, message.body()).map_err(|err| {
            KafkaEventsError::Unapplicable {
                reason: err.to_string(),
            }
        })?;
        match inbound::apply(&self.service, &payment, &self.actor).await {
            Ok(_) => Ok(()),
            Err(err) if err.is_permanent() => Err(KafkaEventsError::Unapplicable {
                reason: err.to_string(),
            }),
            Err(err) => Err(KafkaEventsError::Unavailable(Box::new(err))),
        }
    }
}

/// The payment event type a topic is named after, if any.
fn type_of_topic(topic: &str) -> Option<&str> {
    inbound::TYPES.into_iter().find(|kind| {
        topic == *kind
            || topic
                .strip_suffix(kind)
                .is_some_and(|prefix| prefix.ends_with('.'))
    })
}

#[cfg(test)]
mod tests {
    use super::type_of_topic;

    #[test]
    fn a_topic_named_after_a_type_gives_that_type() {
        assert_eq!(type_of_topic("payment.failed"), Some("payment.failed"));
        assert_eq!(
            type_of_topic("shop.payment.refunded"),
            Some("payment.refunded")
        );
    }

    #[test]
    fn any_other_topic_gives_no_type() {
        assert_eq!(type_of_topic("payment-events"), None);
        assert_eq!(type_of_topic("xpayment.failed"), None);
    }
}
