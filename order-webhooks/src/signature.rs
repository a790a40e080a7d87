//! Standard Webhooks signatures: `webhook-signature: v1,<base64>` where the
//! base64 is the HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<body>`
//! keyed with the secret's bytes (the base64 after `whsec_`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use order_core::WebhookSecret;
use sha2::Sha256;

/// Why a secret cannot sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the webhook secret is not whsec_ followed by base64")]
pub struct BadSecret;

fn key(secret: &WebhookSecret) -> Result<Vec<u8>, BadSecret> {
    let encoded = secret.as_str().strip_prefix("whsec_").ok_or(BadSecret)?;
    STANDARD.decode(encoded).map_err(|_| BadSecret)
}

/// The `webhook-signature` header's value for a message.
///
/// # Errors
/// [`BadSecret`] when the secret's base64 does not decode.
pub fn sign(
    secret: &WebhookSecret,
    message_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, BadSecret> {
    let mut mac = Hmac::<Sha256>::new_from_slice(&key(secret)?).map_err(|_| BadSecret)?;
    mac.update(message_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// Whether `header` (a `webhook-signature` value: space-separated
/// `v1,<base64>` signatures) holds a valid signature of the message — what a
/// receiver checks, comparing in constant time.
pub fn verify(
    secret: &WebhookSecret,
    message_id: &str,
    timestamp: i64,
    body: &[u8],
    header: &str,
) -> bool {
    let Ok(key) = key(secret) else {
        return false;
    };
    header.split(' ').any(|candidate| {
        let Some(encoded) = candidate.strip_prefix("v1,") else {
            return false;
        };
        let Ok(signature) = STANDARD.decode(encoded) else {
            return false;
        };
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
            return false;
        };
        mac.update(message_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(&signature).is_ok()
    })
}

/// A new secret: `whsec_` and the base64 of 32 random bytes.
pub fn new_secret() -> WebhookSecret {
    let mut bytes = [0u8; 32];
    // Two UUID v4s carry 244 random bits from the OS.
    bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    let text = format!("whsec_{}", STANDARD.encode(bytes));
    WebhookSecret::parse(&text).unwrap_or_else(|_| unreachable!("32 bytes of base64 fit the rule"))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of the Standard Webhooks specification.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1_614_265_330;
    const BODY: &str = r#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn the_specifications_example_signs_and_verifies() {
        let secret = WebhookSecret::parse(SECRET).unwrap();
        assert_eq!(
            sign(&secret, ID, TIMESTAMP, BODY.as_bytes()).unwrap(),
            SIGNATURE
        );
        assert!(verify(&secret, ID, TIMESTAMP, BODY.as_bytes(), SIGNATURE));
        assert!(verify(
            &secret,
            ID,
            TIMESTAMP,
            BODY.as_bytes(),
            &format!("v1,bad= {SIGNATURE}")
        ));
    }

    #[test]
    fn a_changed_body_timestamp_or_id_does_not_verify() {
        let secret = WebhookSecret::parse(SECRET).unwrap();
        assert!(!verify(&secret, ID, TIMESTAMP, b"{}", SIGNATURE));
        assert!(!verify(
            &secret,
            ID,
            TIMESTAMP + 1,
            BODY.as_bytes(),
            SIGNATURE
        ));
        assert!(!verify(
            &secret,
            "msg_other",
            TIMESTAMP,
            BODY.as_bytes(),
            SIGNATURE
        ));
    }

    #[test]
    fn new_secrets_differ_and_sign() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert!(sign(&a, ID, TIMESTAMP, b"x").is_ok());
    }
}
