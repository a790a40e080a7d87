//! Extractors that turn every malformed request into the API's problem
//! document instead of axum's plain-text rejections: [`AppJson`] for bodies,
//! [`AppQuery`] for query strings, [`id`] for path ids, and the `If-Match` and
//! `Idempotency-Key` headers.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use order_core::ports::IdempotencyKey;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body whose rejections are problems: 400 for unreadable or
/// ill-typed JSON (naming the path of the bad field), 413 over the limit,
/// 415 without a JSON content type.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for AppJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(&rejection, state.limits.body_bytes)),
        }
    }
}

fn json_rejection(rejection: &JsonRejection, limit: usize) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
        JsonRejection::BytesRejection(bytes)
            if bytes.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
        {
            ApiError::PayloadTooLarge { limit }
        }
        JsonRejection::JsonDataError(err) => {
            // "lines[0].quantity: invalid type…" → field and message.
            let text = err.body_text();
            let detail = text
                .trim_start_matches("Failed to deserialize the JSON body into the target type: ")
                .to_owned();
            let field = detail
                .split_once(": ")
                .map(|(path, _)| path.to_owned())
                .filter(|p| !p.contains(' '));
            ApiError::BadRequest { detail, field }
        }
        other => ApiError::BadRequest {
            detail: other.body_text(),
            field: None,
        },
    }
}

/// A JSON body a client may leave out: no body, a blank one or `null` is
/// `T::default()`; anything else is read as [`AppJson`] reads it.
#[derive(Debug, Clone, Copy, Default)]
pub struct OptionalAppJson<T>(pub T);

impl<T: DeserializeOwned + Default> FromRequest<AppState> for OptionalAppJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(req) = unless_blank(req, state.limits.body_bytes).await? else {
            return Ok(Self(T::default()));
        };
        let AppJson(value) = AppJson::<Option<T>>::from_request(req, state).await?;
        Ok(Self(value.unwrap_or_default()))
    }
}

/// `req` with its body read (within `limit` bytes), or `None` when the body
/// is empty or only white space: what the optional-body extractors share.
///
/// # Errors
/// 413 over the limit, 400 when the body breaks off.
pub(crate) async fn unless_blank(req: Request, limit: usize) -> Result<Option<Request>, ApiError> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|err| unreadable(&err, limit))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    Ok(Some(Request::from_parts(
        parts,
        axum::body::Body::from(bytes),
    )))
}

/// Why a body could not be read: over the limit, or broken off (a body
/// that arrives too late is answered 408 by the request middleware).
pub(crate) fn unreadable(err: &axum::Error, limit: usize) -> ApiError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(cause) = source {
        if cause.is::<http_body_util::LengthLimitError>() {
            return ApiError::PayloadTooLarge { limit };
        }
        source = cause.source();
    }
    ApiError::BadRequest {
        detail: "the request body could not be read".into(),
        field: None,
    }
}

/// A query string whose rejections are problems (400).
#[derive(Debug, Clone, Copy, Default)]
pub struct AppQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for AppQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(query_rejection(&rejection)),
        }
    }
}

fn query_rejection(rejection: &QueryRejection) -> ApiError {
    ApiError::BadRequest {
        detail: rejection.body_text(),
        field: None,
    }
}

/// Parses a path segment with `parse`, naming `field` when it is not valid.
pub fn id<T>(
    field: &str,
    raw: &str,
    parse: impl Fn(&str) -> Result<T, order_core::ValidationError>,
) -> Result<T, ApiError> {
    parse(raw).map_err(|err| ApiError::BadRequest {
        detail: format!("{field}: {err}"),
        field: Some(field.to_owned()),
    })
}

/// A page size: `requested`, or `default` when absent, within 1 to `max`.
///
/// # Errors
/// A validation error naming `limit` when it is out of range.
pub fn page_limit(requested: Option<usize>, default: usize, max: usize) -> Result<usize, ApiError> {
    let limit = requested.unwrap_or(default);
    if (1..=max).contains(&limit) {
        Ok(limit)
    } else {
        Err(order_core::ValidationError::OutOfRange {
            field: "limit".into(),
            value: i64::try_from(limit).unwrap_or(i64::MAX),
            min: 1,
            max: i64::try_from(max).unwrap_or(i64::MAX),
        }
        .into())
    }
}

/// The version in `If-Match` (`"3"`, `W/"3"` or `3`), if the header is there.
///
/// # Errors
/// 400 when the header is not a version.
pub fn if_match(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get(axum::http::header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    let bare = text.trim_start_matches("W/").trim_matches('"');
    bare.parse::<u64>()
        .map(Some)
        .map_err(|_| ApiError::BadRequest {
            detail: format!("If-Match: {text:?} is not an order version such as \"3\""),
            field: Some("If-Match".into()),
        })
}

/// The `Idempotency-Key` header, if there.
///
/// # Errors
/// 400 when the key is empty, too long or not printable ASCII.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| ApiError::BadRequest {
        detail: "Idempotency-Key: must be printable ASCII".into(),
        field: Some("Idempotency-Key".into()),
    })?;
    IdempotencyKey::parse(text)
        .map(Some)
        .map_err(|err| ApiError::BadRequest {
            detail: format!("Idempotency-Key: {err}"),
            field: Some("Idempotency-Key".into()),
        })
}
