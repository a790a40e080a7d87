//! Outbound webhooks, for integrators without Kafka: admins subscribe a URL
//! to event types; each published message of those types becomes a
//! [`Delivery`], tried until the receiver answers 2xx or its retry window
//! closes, then left [`DeliveryState::Failed`] for an admin to deliver
//! again. Deliveries are made from the outbox, so none is lost across
//! restarts. The rules of retrying are here; sending and signing are the
//! adapter's.

use chrono::{DateTime, Duration, Utc};

use crate::id::{DeliveryId, SubscriptionId};
use crate::text::{EventTypeName, WebhookSecret, WebhookUrl};

/// An admin's subscription of a URL to event types.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    /// Its id.
    pub id: SubscriptionId,
    /// Where deliveries go.
    pub url: WebhookUrl,
    /// The types it receives (`*` for all), at least one.
    pub event_types: Vec<EventTypeName>,
    /// The signing key.
    pub secret: WebhookSecret,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

impl Subscription {
    /// Whether messages of `event_type` go to it.
    pub fn wants(&self, event_type: &str) -> bool {
        self.event_types
            .iter()
            .any(|wanted| wanted.as_str() == "*" || wanted.as_str() == event_type)
    }
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Its retry window closed without a 2xx; an admin may deliver it again.
    Failed,
}

impl DeliveryState {
    /// The snake_case name used in APIs and the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    /// The state named `name`, if any.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|state| state.as_str() == name)
    }
}

/// One message on its way to one subscription. The message is stored as it
/// is sent (its id, headers and body), so every attempt sends the same bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// Its id.
    pub id: DeliveryId,
    /// The subscription.
    pub subscription_id: SubscriptionId,
    /// The message's id (the CloudEvents id; `webhook-id` on the wire).
    pub message_id: String,
    /// The message's type.
    pub event_type: String,
    /// The event's place in the feed.
    pub position: u64,
    /// The message's own headers (CloudEvents attributes), name and value.
    pub headers: Vec<(String, String)>,
    /// The JSON body.
    pub body: String,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: u32,
    /// When to try next (pending deliveries).
    pub next_attempt_at: DateTime<Utc>,
    /// When its retry window closes.
    pub give_up_at: DateTime<Utc>,
    /// The last attempt's HTTP status, if the receiver answered.
    pub last_status: Option<u16>,
    /// The last attempt's error, if it failed.
    pub last_error: Option<String>,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
}

/// One attempt at a delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// The delivery.
    pub delivery_id: DeliveryId,
    /// 1 for the first.
    pub number: u32,
    /// When it was made.
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// How long it took, in milliseconds.
    pub took_ms: u64,
}

/// How deliveries are retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first failed attempt; it doubles after each.
    pub first_wait: Duration,
    /// The longest wait between attempts.
    pub max_wait: Duration,
    /// How long after enqueueing (or an admin's redelivery) attempts go on.
    pub window: Duration,
}

impl Default for RetryPolicy {
    /// 5 s, doubling to at most an hour, for 24 hours.
    fn default() -> Self {
        Self {
            first_wait: Duration::seconds(5),
            max_wait: Duration::hours(1),
            window: Duration::hours(24),
        }
    }
}

/// What an attempt's outcome was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver answered with this status.
    Answered(u16),
    /// No answer: connection refused, timeout, …
    Unreachable(String),
}

impl Delivery {
    /// The delivery after attempt `at`, which took `took_ms` and ended in
    /// `outcome`, and the attempt's record: a 2xx delivers; anything else
    /// waits `first_wait × 2ⁿ` (at most `max_wait`) for the next attempt, or
    /// fails once the next attempt would fall after the retry window.
    pub fn attempted(
        &self,
        outcome: Outcome,
        at: DateTime<Utc>,
        took_ms: u64,
        policy: &RetryPolicy,
    ) -> (Self, Attempt) {
        let number = self.attempts + 1;
        let (status, error) = match outcome {
            Outcome::Answered(status) if (200..300).contains(&status) => (Some(status), None),
            Outcome::Answered(status) => (Some(status), Some(format!("answered {status}"))),
            Outcome::Unreachable(error) => (None, Some(error)),
        };
        let mut next = self.clone();
        next.attempts = number;
        next.last_status = status;
        next.last_error.clone_from(&error);
        if error.is_none() {
            next.state = DeliveryState::Delivered;
        } else {
            let doublings = i32::try_from(number.saturating_sub(1).min(20)).unwrap_or(20);
            let wait = policy
                .first_wait
                .checked_mul(2_i32.pow(doublings.unsigned_abs()))
                .unwrap_or(policy.max_wait)
                .min(policy.max_wait);
            next.next_attempt_at = at + wait;
            if next.next_attempt_at > self.give_up_at {
                next.state = DeliveryState::Failed;
            }
        }
        let attempt = Attempt {
            delivery_id: self.id,
            number,
            at,
            status,
            error,
            took_ms,
        };
        (next, attempt)
    }

    /// The delivery an admin sent again at `now`: pending at once, with a
    /// new retry window; its attempts so far are kept.
    pub fn redelivered(&self, now: DateTime<Utc>, policy: &RetryPolicy) -> Self {
        let mut next = self.clone();
        next.state = DeliveryState::Pending;
        next.next_attempt_at = now;
        next.give_up_at = now + policy.window;
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn delivery(at: DateTime<Utc>) -> Delivery {
        Delivery {
            id: DeliveryId::new(Uuid::now_v7()).unwrap(),
            subscription_id: SubscriptionId::new(Uuid::now_v7()).unwrap(),
            message_id: "m".into(),
            event_type: "order.created".into(),
            position: 1,
            headers: Vec::new(),
            body: "{}".into(),
            state: DeliveryState::Pending,
            attempts: 0,
            next_attempt_at: at,
            give_up_at: at + Duration::minutes(1),
            last_status: None,
            last_error: None,
            created_at: at,
        }
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            first_wait: Duration::seconds(5),
            max_wait: Duration::seconds(20),
            window: Duration::minutes(1),
        }
    }

    #[test]
    fn a_2xx_delivers() {
        let now = Utc::now();
        let (next, attempt) = delivery(now).attempted(Outcome::Answered(204), now, 3, &policy());
        assert_eq!(next.state, DeliveryState::Delivered);
        assert_eq!(
            (attempt.number, attempt.status, attempt.error),
            (1, Some(204), None)
        );
    }

    #[test]
    fn failures_wait_longer_each_time_up_to_the_most_then_give_up() {
        let start = Utc::now();
        let mut current = delivery(start);
        let mut waits = Vec::new();
        let mut at = start;
        while current.state == DeliveryState::Pending {
            let (next, _) = current.attempted(Outcome::Answered(503), at, 1, &policy());
            waits.push((next.next_attempt_at - at).num_seconds());
            at = next.next_attempt_at;
            current = next;
        }
        assert_eq!(current.state, DeliveryState::Failed);
        assert_eq!(waits, vec![5, 10, 20, 20, 20]);
        assert_eq!(current.last_error.as_deref(), Some("answered 503"));
    }

    #[test]
    fn a_redelivered_failure_is_pending_with_a_new_window() {
        let start = Utc::now();
        let mut failed = delivery(start);
        failed.state = DeliveryState::Failed;
        failed.attempts = 4;
        let later = start + Duration::hours(2);
        let again = failed.redelivered(later, &policy());
        assert_eq!(again.state, DeliveryState::Pending);
        assert_eq!(again.next_attempt_at, later);
        assert_eq!(again.give_up_at, later + Duration::minutes(1));
        assert_eq!(again.attempts, 4);
    }

    #[test]
    fn a_subscription_wants_its_types_or_everything() {
        let subscription = |types: &[&str]| Subscription {
            id: SubscriptionId::new(Uuid::now_v7()).unwrap(),
            url: WebhookUrl::parse("https://example.com/hooks").unwrap(),
            event_types: types
                .iter()
                .map(|t| EventTypeName::parse(t).unwrap())
                .collect(),
            secret: WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap(),
            created_at: Utc::now(),
        };
        assert!(subscription(&["order.created"]).wants("order.created"));
        assert!(!subscription(&["order.created"]).wants("order.shipped"));
        assert!(subscription(&["*"]).wants("order.shipped"));
    }

    #[test]
    fn urls_secrets_and_types_are_checked() {
        assert!(WebhookUrl::parse("ftp://example.com").is_err());
        assert!(WebhookUrl::parse("https://").is_err());
        assert!(WebhookUrl::parse("http://127.0.0.1:8080/x").is_ok());
        assert!(WebhookSecret::parse("secret").is_err());
        assert!(WebhookSecret::parse("whsec_short").is_err());
        assert!(EventTypeName::parse("Order Created").is_err());
        assert!(EventTypeName::parse("*").is_ok());
    }
}
