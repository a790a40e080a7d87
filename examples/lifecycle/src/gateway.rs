//! [`ApproveAllGateway`]: a stand-in for a payment provider that approves
//! every authorization, capture, void and refund. A real embedder puts its
//! provider's client behind the `PaymentGateway` port instead; what this one
//! keeps of the contract is the idempotency: the engine sends a key with
//! every call, and a key seen before gets the answer it got the first time,
//! so a retried call never moves money twice.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use order_core::ports::{PaymentGateway, PaymentRequest};
use order_core::{GatewayReference, Money, PaymentError, PortError};

/// Approves everything; references are `<operation>-<n>`, numbered in the
/// order the operations happen.
#[derive(Debug, Default)]
pub(crate) struct ApproveAllGateway {
    /// A std mutex: it is only held while a reference is looked up or
    /// issued, never across an `.await`.
    issued: Mutex<Issued>,
}

/// What the gateway has answered so far.
#[derive(Debug, Default)]
struct Issued {
    /// Operations issued, for numbering.
    count: u32,
    /// The answer to each (operation, idempotency key).
    by_key: HashMap<(&'static str, String), GatewayReference>,
}

impl ApproveAllGateway {
    /// The reference for `operation` under `idempotency_key`: the earlier
    /// answer if the key was seen, a new reference otherwise.
    fn approve(
        &self,
        operation: &'static str,
        idempotency_key: &str,
    ) -> Result<GatewayReference, PaymentError> {
        let mut issued = self.issued.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (operation, idempotency_key.to_owned());
        if let Some(earlier) = issued.by_key.get(&key) {
            return Ok(earlier.clone());
        }
        issued.count += 1;
        let reference = GatewayReference::parse(&format!("{operation}-{:04}", issued.count))
            .map_err(|e| PortError::Unavailable(format!("cannot issue a reference: {e}")))?;
        issued.by_key.insert(key, reference.clone());
        Ok(reference)
    }
}

#[async_trait]
impl PaymentGateway for ApproveAllGateway {
    async fn authorize(&self, request: &PaymentRequest) -> Result<GatewayReference, PaymentError> {
        self.approve("auth", &request.idempotency_key)
    }

    async fn capture(
        &self,
        _authorization: &GatewayReference,
        _amount: Money,
        idempotency_key: &str,
    ) -> Result<GatewayReference, PaymentError> {
        self.approve("capt", idempotency_key)
    }

    async fn void(
        &self,
        _authorization: &GatewayReference,
        idempotency_key: &str,
    ) -> Result<GatewayReference, PaymentError> {
        self.approve("void", idempotency_key)
    }

    async fn refund(
        &self,
        _capture: &GatewayReference,
        _amount: Money,
        idempotency_key: &str,
    ) -> Result<GatewayReference, PaymentError> {
        self.approve("rfnd", idempotency_key)
    }
}

#[cfg(test)]
mod tests {
    use order_core::Currency;

    use super::*;

    #[tokio::test]
    async fn a_repeated_key_gets_the_first_answer_and_a_new_key_a_new_reference()
    -> Result<(), Box<dyn std::error::Error>> {
        let gateway = ApproveAllGateway::default();
        let authorization = GatewayReference::parse("auth-0000")?;
        let amount = Money::parse("10.00", Currency::USD)?;
        let first = gateway
            .capture(&authorization, amount, "order-1:capture")
            .await?;
        let again = gateway
            .capture(&authorization, amount, "order-1:capture")
            .await?;
        let other = gateway
            .capture(&authorization, amount, "order-2:capture")
            .await?;
        assert_eq!(first, again);
        assert_ne!(first, other);
        // The same key for another operation is another operation.
        let refund = gateway.refund(&first, amount, "order-1:capture").await?;
        assert_ne!(refund, first);
        Ok(())
    }
}
