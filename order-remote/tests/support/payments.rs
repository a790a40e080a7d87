//! The payment service of the domain-contracts seed: `POST /payments`,
//! `GET /payments/{paymentId}`, `POST /payments/{paymentId}/refund`,
//! `GET /payments/order/{orderId}`; idempotent by `Idempotency-Key`.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Fault, Faults, Server};

#[derive(Clone, Debug)]
pub struct Payment {
    pub id: String,
    pub order_id: String,
    pub user_id: String,
    pub amount: Decimal,
    pub currency: String,
    pub status: String,
    pub key: String,
    pub refunded: Decimal,
    pub failure: Option<&'static str>,
    pub method: Option<String>,
    /// The token the payer's client got from the provider.
    pub token: Option<String>,
}

impl Payment {
    fn body(&self) -> Value {
        json!({
            "id": self.id,
            "orderId": self.order_id,
            "userId": self.user_id,
            "amount": self.amount.to_string(),
            "currency": self.currency,
            "status": self.status,
            "transactionId": format!("ext-{}", &self.id[..8]),
            "idempotencyKey": self.key,
            "failureCode": self.failure,
            "failureReason": self.failure.map(|_| "Insufficient funds"),
            "paymentMethod": self.method,
        })
    }
}

#[derive(Default)]
pub struct Ledger {
    pub payments: HashMap<String, Payment>,
    /// Answers already given, by idempotency key.
    pub answers: HashMap<String, Value>,
}

#[derive(Default)]
pub struct Payments {
    pub ledger: Mutex<Ledger>,
    pub faults: Arc<Faults>,
}

impl Payments {
    /// The order's payments.
    pub fn of(&self, order: &str) -> Vec<Payment> {
        self.ledger
            .lock()
            .unwrap()
            .payments
            .values()
            .filter(|p| p.order_id == order)
            .cloned()
            .collect()
    }
}

fn key(headers: &HeaderMap) -> Option<String> {
    headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PayBody {
    order_id: String,
    user_id: String,
    amount: String,
    currency: String,
    payment_method: Option<String>,
    payment_token: Option<String>,
}

async fn pay(
    State(service): State<Arc<Payments>>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<PayBody>,
) -> Response {
    // A slow answer is slow after the payment was made: the caller that
    // gives up has been charged, as with a real service.
    let (fault, delay) = match service.faults.take("POST /payments") {
        Some(Fault::Slow(wait)) => (None, Some(wait)),
        other => match super::answer(other) {
            Err(answer) => return answer,
            Ok(fault) => (fault, None),
        },
    };
    let answer = charge(&service, &headers, body, fault.as_ref());
    if let Some(wait) = delay {
        tokio::time::sleep(wait).await;
    }
    answer
}

fn charge(
    service: &Payments,
    headers: &HeaderMap,
    body: PayBody,
    fault: Option<&Fault>,
) -> Response {
    let Some(key) = key(headers) else {
        return super::json(400, json!({ "message": "Idempotency-Key is required" }));
    };
    let mut ledger = service.ledger.lock().unwrap();
    if let Some(answer) = ledger.answers.get(&key) {
        return super::json(201, answer.clone());
    }
    let failure = match fault {
        Some(Fault::Decline(code)) => Some(*code),
        _ => None,
    };
    let payment = Payment {
        id: uuid::Uuid::new_v4().to_string(),
        order_id: body.order_id,
        user_id: body.user_id,
        amount: Decimal::from_str(&body.amount).unwrap(),
        currency: body.currency,
        status: if failure.is_some() {
            "failed"
        } else {
            "processed"
        }
        .to_owned(),
        key: key.clone(),
        refunded: Decimal::ZERO,
        failure,
        method: body.payment_method,
        token: body.payment_token,
    };
    let answer = payment.body();
    ledger.payments.insert(payment.id.clone(), payment);
    ledger.answers.insert(key, answer.clone());
    super::json(201, answer)
}

async fn payment(State(service): State<Arc<Payments>>, Path(id): Path<String>) -> Response {
    if let Err(answer) = service.faults.apply("GET /payments").await {
        return answer;
    }
    match service.ledger.lock().unwrap().payments.get(&id) {
        Some(payment) => super::json(200, payment.body()),
        None => super::json(404, json!({ "message": "payment not found" })),
    }
}

async fn of_order(State(service): State<Arc<Payments>>, Path(order): Path<String>) -> Response {
    if let Err(answer) = service.faults.apply("GET /payments/order").await {
        return answer;
    }
    let payments: Vec<Value> = service.of(&order).iter().map(Payment::body).collect();
    super::json(200, Value::Array(payments))
}

#[derive(Deserialize)]
struct RefundBody {
    amount: Option<String>,
    reason: Option<String>,
}

async fn refund(
    State(service): State<Arc<Payments>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<RefundBody>,
) -> Response {
    if let Err(answer) = service.faults.apply("POST /payments/refund").await {
        return answer;
    }
    let Some(key) = key(&headers) else {
        return super::json(400, json!({ "message": "Idempotency-Key is required" }));
    };
    let mut ledger = service.ledger.lock().unwrap();
    if let Some(answer) = ledger.answers.get(&key) {
        return super::json(201, answer.clone());
    }
    let Some(payment) = ledger.payments.get_mut(&id) else {
        return super::json(404, json!({ "message": "payment not found" }));
    };
    if payment.status != "processed" && payment.status != "partially_refunded" {
        return super::json(
            409,
            json!({ "message": format!("payment is {}", payment.status) }),
        );
    }
    let remaining = payment.amount - payment.refunded;
    let amount = body
        .amount
        .map_or(remaining, |a| Decimal::from_str(&a).unwrap());
    if amount > remaining {
        return super::json(409, json!({ "message": "refund exceeds the payment" }));
    }
    payment.refunded += amount;
    payment.status = if payment.refunded == payment.amount {
        "refunded"
    } else {
        "partially_refunded"
    }
    .to_owned();
    let answer = json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "paymentId": id,
        "amount": amount.to_string(),
        "reason": body.reason,
        "status": "refunded",
    });
    ledger.answers.insert(key, answer.clone());
    super::json(201, answer)
}

/// The routes served, as `METHOD path`.
pub const ROUTES: &[&str] = &[
    "POST /payments",
    "GET /payments/{id}",
    "POST /payments/{id}/refund",
    "GET /payments/order/{order}",
];

pub async fn start(payments: Arc<Payments>) -> Server {
    let faults = payments.faults.clone();
    let router = Router::new()
        .route("/payments", post(pay))
        .route("/payments/{id}", get(payment))
        .route("/payments/{id}/refund", post(refund))
        .route("/payments/order/{order}", get(of_order))
        .with_state(payments);
    Server::start(router, faults).await
}
