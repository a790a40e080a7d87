//! [`RemoteError`]: why a remote call gave no usable answer, and its one
//! mapping onto the ports' errors. A service's refusal that a port names
//! (a decline, a shortage, an unknown id) is read by its adapter; everything
//! else ends here.

use order_core::{InventoryError, PaymentError, PortError};

/// A remote call that gave no usable answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RemoteError {
    /// The base URL is not an `http://` or `https://` URL.
    #[error("{service}: {url:?} is not an http(s):// URL")]
    BadUrl {
        /// The service.
        service: &'static str,
        /// The URL given.
        url: String,
    },
    /// No complete answer within the timeout, on every attempt.
    #[error("{service}: no answer within {timeout_ms} ms")]
    Timeout {
        /// The service.
        service: &'static str,
        /// The timeout of one attempt.
        timeout_ms: u128,
    },
    /// No connection could be made, or it broke mid-answer.
    #[error("{service}: connection failed: {detail}")]
    Connection {
        /// The service.
        service: &'static str,
        /// What the client said.
        detail: String,
    },
    /// A server error (5xx, or 429) on the last attempt.
    #[error("{service}: answered {status}")]
    ServerError {
        /// The service.
        service: &'static str,
        /// The HTTP status.
        status: u16,
    },
    /// The circuit is open: the call was not made.
    #[error("{service}: circuit open after repeated failures; failing fast until a probe succeeds")]
    CircuitOpen {
        /// The service.
        service: &'static str,
    },
    /// The answer does not follow the contract.
    #[error("{service}: unreadable answer: {detail}")]
    Malformed {
        /// The service.
        service: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// The service refused the request, in a way the port has no word for.
    #[error("{service}: refused ({status}): {detail}")]
    Refused {
        /// The service.
        service: &'static str,
        /// The HTTP status.
        status: u16,
        /// The service's explanation, if any.
        detail: String,
    },
}

impl From<RemoteError> for PortError {
    fn from(err: RemoteError) -> Self {
        match err {
            RemoteError::Timeout { .. } => Self::Unavailable(err.to_string()),
            RemoteError::Refused { .. } | RemoteError::BadUrl { .. } => {
                Self::Refused(err.to_string())
            }
            RemoteError::Connection { .. }
            | RemoteError::ServerError { .. }
            | RemoteError::CircuitOpen { .. }
            | RemoteError::Malformed { .. } => Self::Unavailable(err.to_string()),
        }
    }
}

impl From<RemoteError> for PaymentError {
    fn from(err: RemoteError) -> Self {
        Self::Port(err.into())
    }
}

impl From<RemoteError> for InventoryError {
    fn from(err: RemoteError) -> Self {
        Self::Port(err.into())
    }
}
