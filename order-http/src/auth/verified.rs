//! Tokens this process has already verified, kept until they expire: a
//! client sends the same bearer token on every request, and checking its
//! signature (an RSA or Ed25519 verification with a public key, or an HMAC)
//! and decoding its claims again each time was CPU spent on a known answer.
//!
//! A token is found only by its exact text, so what is served from here is
//! exactly what was verified, under the same keys and rules (they are fixed
//! for the life of the process), and never after its `exp`. The set is
//! bounded: when it is full, expired tokens are dropped, and if that frees
//! nothing, all of them are (the next requests verify again).

use std::collections::HashMap;
use std::sync::Mutex;

use super::Caller;

/// Verified tokens and whom they name.
#[derive(Debug)]
pub(super) struct VerifiedTokens {
    entries: Mutex<HashMap<Box<str>, Verified>>,
    capacity: usize,
}

#[derive(Debug)]
struct Verified {
    caller: Caller,
    /// The token's `exp`, in seconds since the epoch: valid through it.
    expires_at: u64,
}

impl VerifiedTokens {
    /// Room for `capacity` tokens (0 keeps none).
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// The caller `token` names, if it was verified and is still valid at
    /// `now` (seconds since the epoch).
    pub(super) fn get(&self, token: &str, now: u64) -> Option<Caller> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(token)
            .filter(|verified| now <= verified.expires_at)
            .map(|verified| verified.caller.clone())
    }

    /// Remembers that `token` was verified and names `caller` until
    /// `expires_at`.
    pub(super) fn insert(&self, token: &str, caller: &Caller, expires_at: u64, now: u64) {
        if self.capacity == 0 {
            return;
        }
        // A poisoned lock only means another request panicked mid-insert:
        // the map is still a map, and the worst it holds is a missing entry.
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= self.capacity && !entries.contains_key(token) {
            entries.retain(|_, verified| now <= verified.expires_at);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(
            token.into(),
            Verified {
                caller: caller.clone(),
                expires_at,
            },
        );
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().map_or(0, |entries| entries.len())
    }
}

#[cfg(test)]
mod tests {
    use order_core::Scope;

    use super::*;
    use crate::auth::Role;

    fn admin(subject: &str) -> Caller {
        Caller {
            subject: subject.into(),
            role: Role::Admin,
            scope: Scope::All,
        }
    }

    #[test]
    fn a_verified_token_is_served_until_its_expiry_and_not_after() {
        let tokens = VerifiedTokens::new(8);
        tokens.insert("t1", &admin("ops"), 100, 50);
        assert_eq!(tokens.get("t1", 100), Some(admin("ops")));
        assert_eq!(tokens.get("t1", 101), None);
    }

    #[test]
    fn only_the_exact_token_text_is_found() {
        let tokens = VerifiedTokens::new(8);
        tokens.insert("abc.def.ghi", &admin("ops"), 100, 50);
        assert_eq!(tokens.get("abc.def.gh", 50), None);
        assert_eq!(tokens.get("abc.def.ghi ", 50), None);
    }

    #[test]
    fn a_full_set_drops_expired_tokens_first_and_everything_if_none_expired() {
        let tokens = VerifiedTokens::new(2);
        tokens.insert("old", &admin("a"), 10, 5);
        tokens.insert("live", &admin("b"), 100, 5);
        tokens.insert("new", &admin("c"), 100, 50);
        assert_eq!(tokens.len(), 2);
        assert_eq!(tokens.get("live", 50), Some(admin("b")));
        assert_eq!(tokens.get("new", 50), Some(admin("c")));

        tokens.insert("newer", &admin("d"), 100, 50);
        assert_eq!(tokens.len(), 1);
        assert_eq!(tokens.get("newer", 50), Some(admin("d")));
    }

    #[test]
    fn no_capacity_keeps_nothing() {
        let tokens = VerifiedTokens::new(0);
        tokens.insert("t1", &admin("ops"), 100, 50);
        assert_eq!(tokens.get("t1", 50), None);
    }
}
