//! [`ServiceClient`]: one remote service's HTTP client, through which every
//! call of its adapter goes. A call is one or more attempts:
//!
//! - each attempt has a timeout covering the whole answer, body included
//!   (a slow answer is a timeout);
//! - a call that is safe to repeat — a `GET`, or a write carrying an
//!   `Idempotency-Key`, which the service answers the same way however
//!   often it sees it — is attempted up to [`RetryPolicy::attempts`] times
//!   with exponential back-off, after a timeout, a broken connection, a 5xx
//!   or a 429; any other call is attempted once;
//! - the [`Breaker`] admits each attempt: while the circuit is open the call
//!   fails at once with [`RemoteError::CircuitOpen`];
//! - every attempt (and every refusal by the breaker) is reported to the
//!   [`Observer`];
//! - the current W3C `traceparent` goes along ([`crate::trace`]).
//!
//! A 4xx is an answer, not a failure: the adapter reads it.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use tokio::time::Instant;

use crate::breaker::{Breaker, BreakerSettings};
use crate::error::RemoteError;
use crate::metrics::{Observer, Outcome};
use crate::retry::RetryPolicy;
use crate::trace;

/// How calls to one service are bounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceSettings {
    /// Longest one attempt may take, answer body included.
    pub timeout: Duration,
    /// Retries of calls that are safe to repeat.
    pub retry: RetryPolicy,
    /// When the circuit opens.
    pub breaker: BreakerSettings,
}

impl Default for ServiceSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(3),
            retry: RetryPolicy::default(),
            breaker: BreakerSettings::default(),
        }
    }
}

/// One request to make.
#[derive(Clone, Debug)]
pub(crate) struct Call {
    method: Method,
    path: String,
    body: Option<Vec<u8>>,
    idempotency_key: Option<String>,
}

impl Call {
    /// `GET path`.
    pub(crate) fn get(path: String) -> Self {
        Self {
            method: Method::GET,
            path,
            body: None,
            idempotency_key: None,
        }
    }

    /// A write: `method path` with a JSON `body` and an `Idempotency-Key`.
    pub(crate) fn write(
        method: Method,
        path: String,
        body: Option<Vec<u8>>,
        idempotency_key: String,
    ) -> Self {
        Self {
            method,
            path,
            body,
            idempotency_key: Some(idempotency_key),
        }
    }

    fn repeatable(&self) -> bool {
        self.method == Method::GET || self.idempotency_key.is_some()
    }
}

/// A service's answer: its status and body.
#[derive(Clone, Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// One remote service's client (see the module docs).
pub struct ServiceClient {
    service: &'static str,
    base: String,
    http: reqwest::Client,
    settings: ServiceSettings,
    breaker: Breaker,
    observer: Arc<dyn Observer>,
}

impl std::fmt::Debug for ServiceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceClient")
            .field("service", &self.service)
            .field("base", &self.base)
            .field("settings", &self.settings)
            .field("breaker", &self.breaker)
            .finish_non_exhaustive()
    }
}

impl ServiceClient {
    /// A client for `service` (its metrics label, e.g. `payment-service`)
    /// at `base_url` (`http(s)://host[:port][/prefix]`).
    ///
    /// # Errors
    /// [`RemoteError::BadUrl`] for another kind of URL;
    /// [`RemoteError::Connection`] when no HTTP client can be built (no TLS
    /// roots).
    pub fn new(
        service: &'static str,
        base_url: &str,
        settings: ServiceSettings,
        observer: Arc<dyn Observer>,
    ) -> Result<Self, RemoteError> {
        let base = base_url.trim().trim_end_matches('/');
        let rest = base
            .strip_prefix("http://")
            .or_else(|| base.strip_prefix("https://"));
        if rest.is_none_or(|rest| rest.is_empty() || rest.contains(char::is_whitespace)) {
            return Err(RemoteError::BadUrl {
                service,
                url: base_url.to_owned(),
            });
        }
        let http = reqwest::Client::builder()
            .connect_timeout(settings.timeout)
            .build()
            .map_err(|e| RemoteError::Connection {
                service,
                detail: e.to_string(),
            })?;
        Ok(Self {
            service,
            base: base.to_owned(),
            http,
            settings,
            breaker: Breaker::new(settings.breaker),
            observer,
        })
    }

    /// The service's metrics label.
    pub fn service(&self) -> &'static str {
        self.service
    }

    /// The base URL calls go to.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// True while the circuit is open and calls fail fast.
    pub fn is_open(&self) -> bool {
        self.breaker.is_open()
    }

    /// Makes `call` (see the module docs): the first answer that is not a
    /// server error, or why there was none.
    pub(crate) async fn send(&self, call: &Call) -> Result<Answer, RemoteError> {
        let attempts = self.settings.retry.attempts_for(call.repeatable());
        let mut last = None;
        for attempt in 1..=attempts {
            if attempt > 1 {
                tokio::time::sleep(self.settings.retry.backoff_after(attempt - 1)).await;
            }
            let Some(permit) = self.breaker.admit() else {
                self.observer
                    .observe(self.service, Outcome::CircuitOpen, Duration::ZERO);
                return Err(RemoteError::CircuitOpen {
                    service: self.service,
                });
            };
            let started = Instant::now();
            let result = self.attempt(call).await;
            let outcome = match &result {
                Ok(answer) if answer.status >= 500 || answer.status == 429 => Outcome::ServerError,
                Ok(answer) if answer.status >= 400 => Outcome::ClientError,
                Ok(_) => Outcome::Success,
                Err(RemoteError::Timeout { .. }) => Outcome::Timeout,
                Err(_) => Outcome::ConnectionError,
            };
            self.observer
                .observe(self.service, outcome, started.elapsed());
            match result {
                Ok(answer) if outcome != Outcome::ServerError => {
                    permit.success();
                    return Ok(answer);
                }
                Ok(answer) => {
                    permit.failure();
                    last = Some(RemoteError::ServerError {
                        service: self.service,
                        status: answer.status,
                    });
                }
                Err(err) => {
                    permit.failure();
                    last = Some(err);
                }
            }
            tracing::debug!(
                service = self.service,
                path = %call.path,
                attempt,
                attempts,
                outcome = outcome.as_str(),
                "remote call attempt failed"
            );
        }
        Err(last.unwrap_or(RemoteError::CircuitOpen {
            service: self.service,
        }))
    }

    async fn attempt(&self, call: &Call) -> Result<Answer, RemoteError> {
        let url = format!("{}{}", self.base, call.path);
        let mut request = self
            .http
            .request(call.method.clone(), url)
            .timeout(self.settings.timeout)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(key) = &call.idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = &call.body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        if let Some(trace) = trace::outgoing() {
            request = request.header("traceparent", trace.to_string());
        }
        let transport = |e: reqwest::Error| {
            if e.is_timeout() {
                RemoteError::Timeout {
                    service: self.service,
                    timeout_ms: self.settings.timeout.as_millis(),
                }
            } else {
                RemoteError::Connection {
                    service: self.service,
                    detail: without_url(&e),
                }
            }
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(transport)?;
        Ok(Answer {
            status,
            body: body.to_vec(),
        })
    }
}

/// The client's error text without the URL, which may carry credentials.
fn without_url(err: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = Some(err);
    let mut deepest = err.to_string();
    while let Some(e) = source {
        deepest = e.to_string();
        source = e.source();
    }
    if err.is_connect() {
        format!("cannot connect ({deepest})")
    } else {
        deepest
    }
}
