//! [`ExternalPayments`]: the gateway port of a deployment whose payment
//! service charges customers itself (`--payments external`). Checkout only
//! marks the payment pending (`PaymentFlow::External`), so the engine never
//! calls it to charge; refunds and voids belong to the payment service too,
//! and until the engine has an adapter to ask it (`--payments http`) they
//! are refused, so an operator sees why instead of a silent success.

use async_trait::async_trait;
use order_core::ports::{PaymentGateway, PaymentRequest};
use order_core::{GatewayReference, Money, PaymentError, PortError};

/// Refuses every call, saying who moves the money.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExternalPayments;

fn refused(what: &str) -> PaymentError {
    PaymentError::Port(PortError::Refused(format!(
        "{what} are made by the payment service (--payments external), which this service \
         cannot call yet; make it there, and its payment event will update the order"
    )))
}

#[async_trait]
impl PaymentGateway for ExternalPayments {
    async fn authorize(&self, _request: &PaymentRequest) -> Result<GatewayReference, PaymentError> {
        Err(refused("charges"))
    }

    async fn capture(
        &self,
        _authorization: &GatewayReference,
        _amount: Money,
        _idempotency_key: &str,
    ) -> Result<GatewayReference, PaymentError> {
        Err(refused("captures"))
    }

    async fn void(
        &self,
        _authorization: &GatewayReference,
        _idempotency_key: &str,
    ) -> Result<GatewayReference, PaymentError> {
        Err(refused("voids"))
    }

    async fn refund(
        &self,
        _capture: &GatewayReference,
        _amount: Money,
        _idempotency_key: &str,
    ) -> Result<GatewayReference, PaymentError> {
        Err(refused("refunds"))
    }
}
