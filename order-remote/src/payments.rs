//! [`RemotePayments`]: the payment service of the domain-contracts seed as
//! the engine's [`PaymentGateway`]. That service knows four routes and no
//! separate authorization, so the port's four operations map onto them:
//!
//! | port call | request | reading of the answer |
//! |---|---|---|
//! | `authorize` | `POST /payments` `{orderId, userId, amount, currency, paymentMethod?, paymentToken?}` | `processed`: the payment's id is the reference; `failed` (or a 402/422): declined with its `failureCode` / `failureReason`; `pending`: no answer yet (the engine fails the attempt and logs an orphan check) |
//! | `capture` | `GET /payments/{paymentId}` | the service processed (took) the money at `POST /payments`: capture confirms the payment is `processed` for that amount and answers its id |
//! | `void` | `POST /payments/{paymentId}/refund` `{reason: "void"}` | no amount: the whole payment goes back (the service has nothing to void, the money was taken) |
//! | `refund` | `POST /payments/{paymentId}/refund` `{amount, currency}` | the refund's id is the reference; 409/422 refused |
//!
//! `GET /payments/order/{orderId}` reconciles: when `POST /payments` got no
//! answer on any attempt, the adapter asks for the order's payments and, if
//! one carries this attempt's idempotency key, answers as that payment
//! instead of reporting the gateway unavailable.
//!
//! Every `POST` carries an `Idempotency-Key`, the engine's key for that
//! operation, so retries (the adapter's and the engine's) never charge or
//! refund twice.

use std::sync::Arc;

use async_trait::async_trait;
use order_core::ports::{PaymentGateway, PaymentRequest};
use order_core::{GatewayReference, Money, PaymentError, PortError};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::body;
use crate::client::{Answer, Call, ServiceClient};
use crate::error::RemoteError;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PaymentRequestBody {
    order_id: String,
    user_id: String,
    amount: String,
    currency: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RefundRequestBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    amount: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    currency: Option<String>,
    reason: &'static str,
}

/// A payment, as the service describes it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PaymentResponseBody {
    id: String,
    status: String,
    #[serde(default)]
    amount: Option<serde_json::Value>,
    #[serde(default)]
    failure_code: Option<String>,
    #[serde(default)]
    failure_reason: Option<String>,
    #[serde(default)]
    idempotency_key: Option<String>,
}

/// A refund, as the service describes it.
#[derive(Debug, Deserialize)]
struct RefundResponseBody {
    id: String,
}

/// The payment service (see the module docs).
#[derive(Debug, Clone)]
pub struct RemotePayments {
    client: Arc<ServiceClient>,
}

impl RemotePayments {
    /// The gateway behind `client`.
    pub fn new(client: ServiceClient) -> Self {
        Self {
            client: Arc::new(client),
        }
    }

    fn service(&self) -> &'static str {
        self.client.service()
    }

    fn malformed(&self, detail: impl Into<String>) -> RemoteError {
        RemoteError::Malformed {
            service: self.service(),
            detail: detail.into(),
        }
    }

    fn reference(&self, id: &str) -> Result<GatewayReference, PaymentError> {
        GatewayReference::parse(id).map_err(|e| self.malformed(format!("id: {e}")).into())
    }

    /// A declined payment: its code and reason, or the body's explanation.
    fn declined(payment: Option<&PaymentResponseBody>, answer: &Answer) -> PaymentError {
        PaymentError::Declined {
            code: payment
                .and_then(|p| p.failure_code.clone())
                .unwrap_or_else(|| "payment_failed".to_owned()),
            reason: payment
                .and_then(|p| p.failure_reason.clone())
                .unwrap_or_else(|| body::explanation(answer)),
        }
    }

    /// Reads a payment: processed is its reference, failed a decline.
    fn settled(
        &self,
        payment: &PaymentResponseBody,
        answer: &Answer,
    ) -> Result<GatewayReference, PaymentError> {
        match payment.status.as_str() {
            "processed" | "completed" | "succeeded" => self.reference(&payment.id),
            "failed" | "declined" => Err(Self::declined(Some(payment), answer)),
            "pending" => Err(PaymentError::Port(PortError::Unavailable(format!(
                "{}: payment {} is still pending",
                self.service(),
                payment.id
            )))),
            other => Err(RemoteError::Refused {
                service: self.service(),
                status: answer.status,
                detail: format!("payment {} is {other}", payment.id),
            }
            .into()),
        }
    }

    /// After `POST /payments` got no answer: the order's payment made under
    /// `key`, if the service has one.
    async fn made_under(&self, request: &PaymentRequest) -> Option<(PaymentResponseBody, Answer)> {
        let answer = self
            .client
            .send(&Call::get(format!("/payments/order/{}", request.order_id)))
            .await
            .ok()?;
        if !answer.is_success() {
            return None;
        }
        let payments: Vec<PaymentResponseBody> = body::decode(self.service(), &answer).ok()?;
        payments
            .into_iter()
            .find(|p| p.idempotency_key.as_deref() == Some(request.idempotency_key.as_str()))
            .map(|p| (p, answer))
    }

    async fn refund_call(
        &self,
        payment: &GatewayReference,
        amount: Option<Money>,
        reason: &'static str,
        key: &str,
    ) -> Result<GatewayReference, PaymentError> {
        let body = body::encode(&RefundRequestBody {
            amount: amount.map(|m| m.amount().to_string()),
            currency: amount.map(|m| m.currency().code().to_owned()),
            reason,
        });
        let call = Call::write(
            Method::POST,
            format!("/payments/{}/refund", payment.as_str()),
            Some(body),
            key.to_owned(),
        );
        let answer = self.client.send(&call).await?;
        if answer.is_success() {
            let refund: RefundResponseBody = body::decode(self.service(), &answer)?;
            self.reference(&refund.id)
        } else {
            Err(body::refused(self.service(), &answer).into())
        }
    }
}

#[async_trait]
impl PaymentGateway for RemotePayments {
    async fn authorize(&self, request: &PaymentRequest) -> Result<GatewayReference, PaymentError> {
        let body = body::encode(&PaymentRequestBody {
            order_id: request.order_id.to_string(),
            user_id: request.customer_id.to_string(),
            amount: request.amount.amount().to_string(),
            currency: request.amount.currency().code().to_owned(),
            payment_method: request.payment_method.as_ref().map(ToString::to_string),
            payment_token: request
                .payment_token
                .as_ref()
                .map(|t| t.expose().to_owned()),
        });
        let call = Call::write(
            Method::POST,
            "/payments".to_owned(),
            Some(body),
            request.idempotency_key.clone(),
        );
        let answer = match self.client.send(&call).await {
            Ok(answer) => answer,
            Err(
                err @ (RemoteError::Timeout { .. }
                | RemoteError::Connection { .. }
                | RemoteError::ServerError { .. }),
            ) => {
                return match self.made_under(request).await {
                    Some((payment, answer)) => self.settled(&payment, &answer),
                    None => Err(err.into()),
                };
            }
            Err(err) => return Err(err.into()),
        };
        let service = self.service();
        match answer.status {
            402 | 422 => {
                let payment = body::decode::<PaymentResponseBody>(service, &answer).ok();
                Err(Self::declined(payment.as_ref(), &answer))
            }
            _ if answer.is_success() => {
                let payment: PaymentResponseBody = body::decode(service, &answer)?;
                self.settled(&payment, &answer)
            }
            _ => Err(body::refused(service, &answer).into()),
        }
    }

    async fn capture(
        &self,
        authorization: &GatewayReference,
        amount: Money,
        _idempotency_key: &str,
    ) -> Result<GatewayReference, PaymentError> {
        let service = self.service();
        let answer = self
            .client
            .send(&Call::get(format!("/payments/{}", authorization.as_str())))
            .await?;
        if !answer.is_success() {
            return Err(body::refused(service, &answer).into());
        }
        let payment: PaymentResponseBody = body::decode(service, &answer)?;
        let reference = self.settled(&payment, &answer)?;
        let taken = payment.amount.as_ref().map(|a| match a {
            serde_json::Value::String(text) => text.clone(),
            other => other.to_string(),
        });
        match taken.map(|text| Money::parse(&text, amount.currency())) {
            Some(Ok(taken)) if taken == amount => Ok(reference),
            Some(Ok(taken)) => Err(RemoteError::Refused {
                service,
                status: answer.status,
                detail: format!(
                    "payment {} took {}, the capture asks {}",
                    payment.id,
                    taken.amount(),
                    amount.amount()
                ),
            }
            .into()),
            Some(Err(e)) => Err(self.malformed(format!("amount: {e}")).into()),
            None => Err(self.malformed("amount: missing").into()),
        }
    }

    async fn void(
        &self,
        authorization: &GatewayReference,
        idempotency_key: &str,
    ) -> Result<GatewayReference, PaymentError> {
        self.refund_call(authorization, None, "void", idempotency_key)
            .await
    }

    async fn refund(
        &self,
        capture: &GatewayReference,
        amount: Money,
        idempotency_key: &str,
    ) -> Result<GatewayReference, PaymentError> {
        self.refund_call(capture, Some(amount), "refund", idempotency_key)
            .await
    }
}
