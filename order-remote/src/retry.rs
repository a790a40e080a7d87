//! [`RetryPolicy`]: how many attempts a call gets and how long to wait
//! between them. Whether a call may be repeated at all is the client's
//! decision (reads and writes carrying an idempotency key only).

use std::time::Duration;

/// Bounded retries with exponential back-off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all for a call that is safe to repeat (at least 1).
    pub attempts: u32,
    /// Wait before the second attempt; doubles after each failure.
    pub backoff: Duration,
    /// Longest wait between two attempts.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 3,
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// The wait after `failures` failed attempts (1 for the first).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use order_remote::RetryPolicy;
    /// let policy = RetryPolicy { attempts: 5, backoff: Duration::from_millis(100), max_backoff: Duration::from_millis(300) };
    /// assert_eq!(policy.backoff_after(1), Duration::from_millis(100));
    /// assert_eq!(policy.backoff_after(2), Duration::from_millis(200));
    /// assert_eq!(policy.backoff_after(3), Duration::from_millis(300));
    /// ```
    pub fn backoff_after(&self, failures: u32) -> Duration {
        let factor = 1u32
            .checked_shl(failures.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.backoff.saturating_mul(factor).min(self.max_backoff)
    }

    /// The attempts a call gets: all of them when repeating it is safe, one
    /// otherwise.
    pub fn attempts_for(&self, repeatable: bool) -> u32 {
        if repeatable { self.attempts.max(1) } else { 1 }
    }
}
