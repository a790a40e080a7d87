//! Timeouts and bounded retries for remote calls, as a policy, without a
//! runtime: a call races a [`Timer`] sleep, and transient failures are
//! retried with exponential back-off. Only idempotent calls are retried: every
//! gateway call carries an idempotency key and every inventory call is
//! idempotent per order.

use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use crate::error::{InventoryError, PaymentError, PolicyError, PortError};
use crate::ports::Timer;

/// How remote calls are bounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Longest wait for one attempt.
    pub timeout: Duration,
    /// Attempts in all, at least 1.
    pub attempts: u32,
    /// Wait before the second attempt; doubles after each failure.
    pub backoff: Duration,
    /// Longest wait between attempts.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            attempts: 3,
            backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(1),
        }
    }
}

impl RetryPolicy {
    fn backoff_after(&self, failures: u32) -> Duration {
        let factor = 1u32
            .checked_shl(failures.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

/// Errors that may go away on a retry.
pub(crate) trait Transient {
    fn is_transient(&self) -> bool;
    fn timed_out() -> Self;
}

impl Transient for PortError {
    fn is_transient(&self) -> bool {
        !matches!(self, Self::Refused(_))
    }
    fn timed_out() -> Self {
        Self::Timeout
    }
}

impl Transient for PaymentError {
    fn is_transient(&self) -> bool {
        matches!(self, Self::Port(_))
    }
    fn timed_out() -> Self {
        Self::Port(PortError::Timeout)
    }
}

impl Transient for InventoryError {
    fn is_transient(&self) -> bool {
        matches!(self, Self::Port(_))
    }
    fn timed_out() -> Self {
        Self::Port(PortError::Timeout)
    }
}

impl Transient for PolicyError {
    fn is_transient(&self) -> bool {
        matches!(self, Self::Port(_))
    }
    fn timed_out() -> Self {
        Self::Port(PortError::Timeout)
    }
}

/// Resolves to `Some(output)` if `work` finishes first, `None` if the
/// deadline does. The deadline starts when `work` first has to wait: work
/// that finishes at once (an in-process adapter, a cache hit) never sets a
/// timer, which costs a boxed future per call.
async fn race<T, D: Future<Output = ()>>(
    work: impl Future<Output = T>,
    deadline: impl FnOnce() -> D,
) -> Option<T> {
    let mut work = pin!(work);
    let mut start = Some(deadline);
    let mut deadline = pin!(None);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(output) = work.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        if let Some(start) = start.take() {
            deadline.set(Some(start()));
        }
        let expired = deadline
            .as_mut()
            .as_pin_mut()
            .is_some_and(|deadline| deadline.poll(cx).is_ready());
        if expired {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    })
    .await
}

/// Runs `call` under `policy`: each attempt bounded by the timeout, transient
/// failures retried after back-off, the last error returned.
pub(crate) async fn with_retry<T, E, F, Fut>(
    policy: &RetryPolicy,
    timer: &dyn Timer,
    mut call: F,
) -> Result<T, E>
where
    E: Transient,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut failures = 0;
    loop {
        let outcome = race(call(), || timer.sleep(policy.timeout))
            .await
            .unwrap_or_else(|| Err(E::timed_out()));
        match outcome {
            Err(err) if err.is_transient() && failures + 1 < policy.attempts.max(1) => {
                failures += 1;
                timer.sleep(policy.backoff_after(failures)).await;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A timer whose sleeps end at once, counting them.
    #[derive(Default)]
    struct CountingTimer(AtomicUsize);

    #[async_trait::async_trait]
    impl Timer for CountingTimer {
        async fn sleep(&self, _duration: Duration) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[tokio::test]
    async fn a_call_that_answers_at_once_sets_no_timer() {
        let timer = CountingTimer::default();
        let answer: Result<u8, PortError> =
            with_retry(&RetryPolicy::default(), &timer, || async { Ok(7) }).await;
        assert_eq!(answer, Ok(7));
        assert_eq!(timer.0.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn a_call_that_never_answers_times_out_on_every_attempt() {
        let timer = CountingTimer::default();
        let policy = RetryPolicy {
            attempts: 2,
            ..RetryPolicy::default()
        };
        let answer: Result<u8, PortError> = with_retry(&policy, &timer, std::future::pending).await;
        assert_eq!(answer, Err(PortError::Timeout));
        // Two timeouts and the back-off between them.
        assert_eq!(timer.0.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            timeout: Duration::from_secs(1),
            attempts: 5,
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(250),
        };
        assert_eq!(p.backoff_after(1), Duration::from_millis(100));
        assert_eq!(p.backoff_after(2), Duration::from_millis(200));
        assert_eq!(p.backoff_after(3), Duration::from_millis(250));
    }
}
