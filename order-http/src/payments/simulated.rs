//! [`SimulatedGateway`]: a payment processor stand-in for development and
//! demonstrations. It approves every authorization, capture, void and
//! refund, so it honours refunds and voids of any capture or authorization
//! it is told about by reference — one made by another process, or
//! reported by a payment webhook — as a processor would.
//!
//! Its memory is bounded: it remembers the answers to the last
//! [`SimulatedGateway::DEFAULT_MEMORY`] idempotency keys (so a retried call
//! answers as before) and nothing else, so a long-running service does not
//! grow with every payment. References are `sim_<kind>_<UUID v7>`: random,
//! so two processes never issue the same one.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use order_core::ports::{PaymentGateway, PaymentRequest};
use order_core::{GatewayReference, Money, PaymentError, PortError};

/// Approves everything; remembers a bounded number of answers by key.
#[derive(Debug)]
pub struct SimulatedGateway {
    /// A std mutex: never held across an `.await`.
    answers: Mutex<Answers>,
}

#[derive(Debug)]
struct Answers {
    capacity: usize,
    by_key: HashMap<String, GatewayReference>,
    oldest_first: VecDeque<String>,
}

impl Answers {
    fn answer(&mut self, key: &str, kind: &str) -> Result<GatewayReference, PaymentError> {
        if let Some(reference) = self.by_key.get(key) {
            return Ok(reference.clone());
        }
        let reference =
            GatewayReference::parse(&format!("sim_{kind}_{}", uuid::Uuid::now_v7().simple()))
                .map_err(|e| PaymentError::Port(PortError::Unavailable(e.to_string())))?;
        if self.oldest_first.len() >= self.capacity
            && let Some(evicted) = self.oldest_first.pop_front()
        {
            self.by_key.remove(&evicted);
        }
        self.oldest_first.push_back(key.to_owned());
        self.by_key.insert(key.to_owned(), reference.clone());
        Ok(reference)
    }
}

impl SimulatedGateway {
    /// How many idempotency keys the default simulator remembers: far more
    /// than can be retried within any retry window.
    pub const DEFAULT_MEMORY: usize = 10_000;

    /// A simulator remembering the answers of the last `memory` keys (at
    /// least one).
    pub fn new(memory: usize) -> Self {
        let capacity = memory.max(1);
        Self {
            answers: Mutex::new(Answers {
                capacity,
                by_key: HashMap::with_capacity(capacity.min(1024)),
                oldest_first: VecDeque::with_capacity(capacity.min(1024)),
            }),
        }
    }

    /// How many answers it remembers now.
    pub fn remembered(&self) -> usize {
        self.lock().by_key.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Answers> {
        self.answers.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn answer(&self, key: &str, kind: &str) -> Result<GatewayReference, PaymentError> {
        // The key names the operation: the same key for another kind of
        // call is another operation.
        self.lock().answer(&format!("{kind}:{key}"), kind)
    }
}

impl Default for SimulatedGateway {
    fn default() -> Self {
        Self::new(Self::DEFAULT_MEMORY)
    }
}

#[async_trait]
impl PaymentGateway for SimulatedGateway {
    async fn authorize(&self, request: &PaymentRequest) -> Result<GatewayReference, PaymentError> {
        self.answer(&request.idempotency_key, "auth")
    }

    async fn capture(
        &self,
        _authorization: &GatewayReference,
        _amount: Money,
        idempotency_key: &str,
    ) -> Result<GatewayReference, PaymentError> {
        self.answer(idempotency_key, "cap")
    }

    async fn void(
        &self,
        _authorization: &GatewayReference,
        idempotency_key: &str,
    ) -> Result<GatewayReference, PaymentError> {
        self.answer(idempotency_key, "void")
    }

    async fn refund(
        &self,
        _capture: &GatewayReference,
        _amount: Money,
        idempotency_key: &str,
    ) -> Result<GatewayReference, PaymentError> {
        self.answer(idempotency_key, "ref")
    }
}

#[cfg(test)]
mod tests {
    use order_core::{Currency, CustomerId, OrderId};

    use super::*;

    fn request(key: &str) -> PaymentRequest {
        PaymentRequest {
            order_id: OrderId::new(uuid::Uuid::now_v7()).expect("an id"),
            customer_id: CustomerId::new(uuid::Uuid::now_v7()).expect("an id"),
            amount: Money::from_minor(1999, Currency::USD).expect("an amount"),
            idempotency_key: key.to_owned(),
            payment_method: None,
            payment_token: None,
        }
    }

    fn reference(text: &str) -> GatewayReference {
        GatewayReference::parse(text).expect("a reference")
    }

    #[tokio::test]
    async fn a_retried_key_answers_as_before_and_a_new_key_anew() {
        let gateway = SimulatedGateway::default();
        let first = gateway.authorize(&request("k1")).await.expect("approved");
        let retry = gateway.authorize(&request("k1")).await.expect("approved");
        let other = gateway.authorize(&request("k2")).await.expect("approved");
        assert_eq!(first, retry);
        assert_ne!(first, other);
        assert!(first.as_str().starts_with("sim_auth_"));
    }

    #[tokio::test]
    async fn two_simulators_never_issue_the_same_reference() {
        let (a, b) = (SimulatedGateway::default(), SimulatedGateway::default());
        let from_a = a.authorize(&request("same-key")).await.expect("approved");
        let from_b = b.authorize(&request("same-key")).await.expect("approved");
        assert_ne!(from_a, from_b);
    }

    #[tokio::test]
    async fn refunds_and_voids_of_references_it_never_issued_are_honoured() {
        let gateway = SimulatedGateway::default();
        let amount = Money::from_minor(500, Currency::USD).expect("an amount");
        let refund = gateway
            .refund(&reference("pay_from_a_webhook"), amount, "r1")
            .await;
        let void = gateway
            .void(&reference("auth_of_another_process"), "v1")
            .await;
        assert!(refund.is_ok() && void.is_ok());
    }

    #[tokio::test]
    async fn memory_stays_bounded_however_many_payments_pass() {
        let gateway = SimulatedGateway::new(100);
        for n in 0..1_000 {
            gateway
                .authorize(&request(&format!("key-{n}")))
                .await
                .expect("approved");
        }
        assert_eq!(gateway.remembered(), 100);
        // The most recent keys are still answered as before.
        let recent = gateway
            .authorize(&request("key-999"))
            .await
            .expect("approved");
        assert_eq!(gateway.authorize(&request("key-999")).await, Ok(recent));
    }
}
