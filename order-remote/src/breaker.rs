//! [`Breaker`]: a circuit breaker per service. After
//! [`BreakerSettings::failure_threshold`] failures in a row it opens and
//! every call fails at once, without touching the network, for
//! [`BreakerSettings::cool_down`]; then one call is let through as a probe
//! (half-open). The probe's success closes the circuit, its failure opens it
//! for another cool-down. A probe whose caller gave up (its future was
//! dropped) counts as a failure, so the circuit can never stay half-open.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// When a circuit opens and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Failures in a row that open the circuit.
    pub failure_threshold: u32,
    /// How long an open circuit fails fast before it lets a probe through.
    pub cool_down: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            cool_down: Duration::from_secs(10),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen,
}

/// A circuit breaker (see the module docs).
#[derive(Debug)]
pub struct Breaker {
    settings: BreakerSettings,
    state: Mutex<State>,
}

/// Leave to make one call; report how it went. Dropped unreported, it
/// counts as a failure.
#[derive(Debug)]
pub struct Permit<'a> {
    breaker: &'a Breaker,
    reported: bool,
}

impl Permit<'_> {
    /// The call succeeded (the service answered sanely).
    pub fn success(mut self) {
        self.reported = true;
        self.breaker.record(true);
    }

    /// The call failed (no answer, or a server error).
    pub fn failure(mut self) {
        self.reported = true;
        self.breaker.record(false);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.reported {
            self.breaker.record(false);
        }
    }
}

impl Breaker {
    /// A closed circuit.
    pub fn new(settings: BreakerSettings) -> Self {
        Self {
            settings,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock leaves a valid state behind.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Leave to call, or `None` while the circuit is open (or a probe is
    /// already out).
    pub fn admit(&self) -> Option<Permit<'_>> {
        let mut state = self.state();
        match *state {
            State::Closed { .. } => {}
            State::Open { until } if Instant::now() >= until => *state = State::HalfOpen,
            State::Open { .. } | State::HalfOpen => return None,
        }
        Some(Permit {
            breaker: self,
            reported: false,
        })
    }

    /// True while calls fail fast.
    pub fn is_open(&self) -> bool {
        matches!(*self.state(), State::Open { until } if Instant::now() < until)
    }

    fn record(&self, success: bool) {
        let mut state = self.state();
        let open = State::Open {
            until: Instant::now() + self.settings.cool_down,
        };
        *state = match (*state, success) {
            (_, true) => State::Closed { failures: 0 },
            (State::Closed { failures }, false) => {
                let failures = failures.saturating_add(1);
                if failures >= self.settings.failure_threshold.max(1) {
                    open
                } else {
                    State::Closed { failures }
                }
            }
            (State::HalfOpen, false) => open,
            // A call admitted before the circuit opened ended late.
            (current @ State::Open { .. }, false) => current,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(threshold: u32, cool_down: Duration) -> Breaker {
        Breaker::new(BreakerSettings {
            failure_threshold: threshold,
            cool_down,
        })
    }

    #[test]
    fn the_circuit_opens_after_the_threshold_of_failures_in_a_row() {
        let b = breaker(2, Duration::from_secs(60));
        b.admit().unwrap().failure();
        b.admit().unwrap().success();
        b.admit().unwrap().failure();
        assert!(!b.is_open(), "one failure after a success keeps it closed");
        b.admit().unwrap().failure();
        assert!(b.is_open());
        assert!(b.admit().is_none());
    }

    #[test]
    fn after_the_cool_down_one_probe_goes_through_and_its_success_closes() {
        let b = breaker(1, Duration::ZERO);
        b.admit().unwrap().failure();
        let probe = b.admit().expect("the cool-down is over");
        assert!(b.admit().is_none(), "only one probe at a time");
        probe.success();
        assert!(b.admit().is_some());
    }

    #[test]
    fn a_dropped_probe_counts_as_a_failure() {
        let b = breaker(1, Duration::from_secs(60));
        // The cool-down is over: the next call is the probe.
        *b.state() = State::Open {
            until: Instant::now(),
        };
        drop(b.admit().expect("a probe"));
        assert!(b.is_open());
    }
}
