//! One attempt at a delivery: an HTTP POST of the stored message in
//! CloudEvents binary mode (its `ce-*` headers and JSON body) with the
//! Standard Webhooks headers, signed at the moment of sending. Any answer
//! is an outcome; no answer within the timeout is "unreachable".

use std::time::{Duration, Instant};

use chrono::Utc;
use order_core::webhook::{Delivery, Outcome, Subscription};

use crate::signature::sign;

/// Sends deliveries over HTTP(S).
#[derive(Debug, Clone)]
pub struct Sender {
    client: reqwest::Client,
}

impl Sender {
    /// A sender whose attempts give up after `timeout`.
    ///
    /// # Errors
    /// When the HTTP client cannot be built (its TLS roots).
    pub fn new(timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("order-engine-webhooks/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self { client })
    }

    /// Posts `delivery` to `subscription`; returns the outcome and how long
    /// it took, in milliseconds.
    pub async fn send(&self, subscription: &Subscription, delivery: &Delivery) -> (Outcome, u64) {
        let started = Instant::now();
        let timestamp = Utc::now().timestamp();
        let outcome = match sign(
            &subscription.secret,
            &delivery.message_id,
            timestamp,
            delivery.body.as_bytes(),
        ) {
            Err(error) => Outcome::Unreachable(error.to_string()),
            Ok(signature) => {
                let mut request = self
                    .client
                    .post(subscription.url.as_str())
                    .header("webhook-id", &delivery.message_id)
                    .header("webhook-timestamp", timestamp.to_string())
                    .header("webhook-signature", signature);
                for (name, value) in &delivery.headers {
                    request = request.header(name.as_str(), value.as_str());
                }
                match request.body(delivery.body.clone()).send().await {
                    Ok(response) => Outcome::Answered(response.status().as_u16()),
                    Err(error) => Outcome::Unreachable(describe(&error)),
                }
            }
        };
        let took = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        (outcome, took)
    }
}

/// What went wrong, without the URL (which may carry credentials).
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".into()
    } else if error.is_connect() {
        "could not connect".into()
    } else {
        let text = error.to_string();
        match error.url() {
            Some(url) => text.replace(url.as_str(), "<url>"),
            None => text,
        }
    }
}
