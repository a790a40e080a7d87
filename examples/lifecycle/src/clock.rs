//! [`MovableClock`]: the `Clock` port on a time the example sets itself, so
//! a story of weeks (payment, shipping, the return window) runs in a
//! moment and prints the same times on every run. A service in production
//! uses `order_core::system::SystemClock` instead.

use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Duration, Utc};
use order_core::ports::Clock;

/// A clock that stands still until it is moved.
#[derive(Debug)]
pub(crate) struct MovableClock {
    /// A std mutex: the engine reads the time synchronously, and the lock
    /// is never held across an `.await`.
    now: Mutex<DateTime<Utc>>,
}

impl MovableClock {
    /// A clock showing `start`.
    pub(crate) fn starting_at(start: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// Moves the clock forward by `by`.
    pub(crate) fn advance(&self, by: Duration) {
        let mut now = self.lock();
        *now += by;
    }

    /// Sets the clock to `at`.
    pub(crate) fn set(&self, at: DateTime<Utc>) {
        *self.lock() = at;
    }

    fn lock(&self) -> MutexGuard<'_, DateTime<Utc>> {
        // A panic while the lock was held cannot leave a half-written
        // DateTime behind, so a poisoned lock is still good to read.
        self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Clock for MovableClock {
    fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }
}
