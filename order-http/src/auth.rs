//! Authentication and the roles' reach: JWT bearer tokens (HS256 with a
//! shared secret, or RS256 / EdDSA with a public key), the [`Caller`]
//! extractor, and HMAC signatures for the payment webhook.
//!
//! Tokens must carry `sub`, `role` (`customer`, `admin` or `service`) and
//! `exp`; `iss` and `aud` are checked when configured. Only the configured
//! algorithm is accepted, so unsigned (`alg: none`) and wrongly signed
//! tokens are refused. A customer's `sub` is their customer id. A token
//! verified once is served from [`verified`] until its `exp`.

mod verified;

use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use order_core::{Actor, CustomerId, Order, Scope};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::ApiError;
use crate::state::AppState;
use verified::VerifiedTokens;

/// How many verified tokens are kept: a client's token is reused for its
/// whole life, and a thousand callers at once is well past what one
/// replica serves.
const VERIFIED_TOKENS: usize = 1_024;

/// What a caller may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A shopper: their own orders only.
    Customer,
    /// Staff: everything.
    Admin,
    /// Another service: fulfilment, payment events, the event feed.
    Service,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Admin => "admin",
            Self::Service => "service",
        }
    }
}

/// The claims this API reads.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    role: Role,
    exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    aud: Option<String>,
}

/// How tokens and webhook signatures are verified.
#[allow(missing_debug_implementations)]
pub struct AuthConfig {
    decoding: DecodingKey,
    validation: Validation,
    /// Kept only for HS256, so dev mode can mint tokens.
    signing: Option<EncodingKey>,
    issuer: Option<String>,
    audience: Option<String>,
    webhook_secret: Option<Vec<u8>>,
    verified: VerifiedTokens,
}

/// Why an authentication set-up failed.
#[derive(Debug, thiserror::Error)]
#[error("invalid JWT key: {0}")]
pub struct KeyError(#[from] jsonwebtoken::errors::Error);

impl AuthConfig {
    fn with(decoding: DecodingKey, algorithm: Algorithm, signing: Option<EncodingKey>) -> Self {
        let mut validation = Validation::new(algorithm);
        validation.leeway = 0;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            decoding,
            validation,
            signing,
            issuer: None,
            audience: None,
            webhook_secret: None,
            verified: VerifiedTokens::new(VERIFIED_TOKENS),
        }
    }

    /// Tokens signed with HS256 and `secret`.
    pub fn hs256(secret: &[u8]) -> Self {
        Self::with(
            DecodingKey::from_secret(secret),
            Algorithm::HS256,
            Some(EncodingKey::from_secret(secret)),
        )
    }

    /// Tokens signed with RS256, checked with an RSA public key (PEM).
    ///
    /// # Errors
    /// [`KeyError`] when the PEM is not an RSA public key.
    pub fn rs256(public_pem: &[u8]) -> Result<Self, KeyError> {
        Ok(Self::with(
            DecodingKey::from_rsa_pem(public_pem)?,
            Algorithm::RS256,
            None,
        ))
    }

    /// Tokens signed with EdDSA (Ed25519), checked with a public key (PEM).
    ///
    /// # Errors
    /// [`KeyError`] when the PEM is not an Ed25519 public key.
    pub fn eddsa(public_pem: &[u8]) -> Result<Self, KeyError> {
        Ok(Self::with(
            DecodingKey::from_ed_pem(public_pem)?,
            Algorithm::EdDSA,
            None,
        ))
    }

    /// Requires `iss` to be `issuer`.
    #[must_use]
    pub fn with_issuer(mut self, issuer: String) -> Self {
        self.validation.set_issuer(&[issuer.as_str()]);
        self.issuer = Some(issuer);
        self.require_claims();
        self
    }

    /// Requires `aud` to be `audience`.
    #[must_use]
    pub fn with_audience(mut self, audience: String) -> Self {
        self.validation.validate_aud = true;
        self.validation.set_audience(&[audience.as_str()]);
        self.audience = Some(audience);
        self.require_claims();
        self
    }

    /// A configured `iss` or `aud` must be present, not merely right when
    /// present.
    fn require_claims(&mut self) {
        let mut required = vec!["exp", "sub"];
        if self.issuer.is_some() {
            required.push("iss");
        }
        if self.audience.is_some() {
            required.push("aud");
        }
        self.validation.set_required_spec_claims(&required);
    }

    /// Accepts payment webhooks signed with HMAC-SHA256 and `secret`.
    #[must_use]
    pub fn with_webhook_secret(mut self, secret: Vec<u8>) -> Self {
        self.webhook_secret = Some(secret);
        self
    }

    /// A token for `subject` in `role`, valid for `ttl_secs`; only with an
    /// HS256 secret (dev mode and tests).
    pub fn mint(&self, subject: &str, role: Role, ttl_secs: u64) -> Option<String> {
        let signing = self.signing.as_ref()?;
        let claims = Claims {
            sub: subject.to_owned(),
            role,
            exp: now_secs() + ttl_secs,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, signing).ok()
    }

    /// The caller a bearer token names.
    ///
    /// # Errors
    /// 401 for a missing, malformed, expired, unsigned or wrongly signed
    /// token.
    pub fn caller(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        let value = headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| ApiError::Unauthorized("a bearer token is required".into()))?;
        // The scheme is case-insensitive (RFC 9110).
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token)
            .ok_or_else(|| {
                ApiError::Unauthorized("Authorization must be \"Bearer <token>\"".into())
            })?;
        let token = token.trim();
        let now = now_secs();
        if let Some(caller) = self.verified.get(token, now) {
            return Ok(caller);
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|err| ApiError::Unauthorized(format!("invalid token: {err}")))?;
        let claims = data.claims;
        let scope = match claims.role {
            Role::Customer => Scope::Customer(claims.sub.parse::<CustomerId>().map_err(|_| {
                ApiError::Unauthorized("a customer token's sub must be the customer id".into())
            })?),
            Role::Admin | Role::Service => Scope::All,
        };
        let caller = Caller {
            subject: claims.sub,
            role: claims.role,
            scope,
        };
        self.verified.insert(token, &caller, claims.exp, now);
        Ok(caller)
    }

    /// Checks a webhook's `X-Signature: sha256=<hex>` over the raw body.
    ///
    /// # Errors
    /// 401 when no secret is configured, the header is missing or malformed,
    /// or the signature does not match.
    pub fn verify_signature(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), ApiError> {
        let secret = self
            .webhook_secret
            .as_ref()
            .ok_or_else(|| ApiError::Unauthorized("a service token is required".into()))?;
        let header = headers
            .get("x-signature")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError::Unauthorized("a service token or an X-Signature is required".into())
            })?;
        let hex_digest = header
            .strip_prefix("sha256=")
            .ok_or_else(|| ApiError::Unauthorized("X-Signature must be sha256=<hex>".into()))?;
        let expected = hex::decode(hex_digest)
            .map_err(|_| ApiError::Unauthorized("X-Signature is not hex".into()))?;
        let mut mac = Hmac::<Sha256>::new_from_slice(secret)
            .map_err(|_| ApiError::Unauthorized("the webhook secret is unusable".into()))?;
        mac.update(body);
        // Constant-time comparison.
        mac.verify_slice(&expected)
            .map_err(|_| ApiError::Unauthorized("the signature does not match".into()))
    }
}

/// The HMAC-SHA256 signature header value for `body` (for senders and
/// tests).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Who is calling, from a verified token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    subject: String,
    role: Role,
    scope: Scope,
}

impl Caller {
    /// The role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The customer, for customer tokens.
    pub fn customer_id(&self) -> Option<CustomerId> {
        match self.scope {
            Scope::Customer(customer) => Some(customer),
            Scope::All => None,
        }
    }

    /// How the caller appears in history and events: `<role>:<subject>`.
    pub fn actor(&self) -> Actor {
        Actor::parse(&format!("{}:{}", self.role.name(), self.subject))
            .unwrap_or_else(|_| Actor::system())
    }

    /// Refuses (403) unless the caller has one of `roles`.
    ///
    /// # Errors
    /// [`ApiError::Forbidden`].
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this operation is for {}",
                roles
                    .iter()
                    .map(|r| r.name())
                    .collect::<Vec<_>>()
                    .join(" or ")
            )))
        }
    }

    /// The orders the caller may see and act on: staff and services all,
    /// customers their own.
    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// True when the caller may see `order`.
    pub fn may_see(&self, order: &Order) -> bool {
        self.scope().admits(order)
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        state.auth.caller(&parts.headers)
    }
}
