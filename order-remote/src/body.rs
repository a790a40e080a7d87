//! JSON bodies on the wire: encoding requests, decoding answers into the
//! adapters' DTOs (a body that does not decode is
//! [`RemoteError::Malformed`]), and the explanation a refusal carries.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::Answer;
use crate::error::RemoteError;

/// `value` as a JSON body.
pub(crate) fn encode(value: &impl Serialize) -> Vec<u8> {
    // The adapters' DTOs are plain structs of strings and numbers.
    serde_json::to_vec(value).unwrap_or_default()
}

/// The answer's body as `T`.
pub(crate) fn decode<T: DeserializeOwned>(
    service: &'static str,
    answer: &Answer,
) -> Result<T, RemoteError> {
    serde_json::from_slice(&answer.body).map_err(|e| RemoteError::Malformed {
        service,
        detail: format!("{} body: {e}", answer.status),
    })
}

/// The explanation in a refusal's body: its `message`, `detail` or
/// `error` field, else the start of the body.
pub(crate) fn explanation(answer: &Answer) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(&answer.body).ok();
    let field = parsed.as_ref().and_then(|v| {
        ["message", "detail", "error", "failureReason"]
            .iter()
            .find_map(|k| v.get(*k).and_then(serde_json::Value::as_str))
            .map(str::to_owned)
    });
    field.unwrap_or_else(|| {
        String::from_utf8_lossy(&answer.body)
            .chars()
            .take(200)
            .collect()
    })
}

/// A refusal the adapter has no better word for.
pub(crate) fn refused(service: &'static str, answer: &Answer) -> RemoteError {
    RemoteError::Refused {
        service,
        status: answer.status,
        detail: explanation(answer),
    }
}

/// FNV-1a (64-bit) of `bytes`, hex: a stable digest for idempotency keys
/// derived from a request body.
pub(crate) fn digest(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{hash:016x}")
}
