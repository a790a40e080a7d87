//! The default [`Clock`] and [`IdGenerator`]: the system clock and random
//! UUID v7s. Tests use the testkit's deterministic ones instead.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::ports::{Clock, IdGenerator};

/// Reads the system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Random, time-ordered UUID v7s.
#[derive(Clone, Copy, Debug, Default)]
pub struct UuidV7Ids;

impl IdGenerator for UuidV7Ids {
    fn new_v7(&self) -> Uuid {
        Uuid::now_v7()
    }
}
