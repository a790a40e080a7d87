//! Default adapters that need nothing but the machine: the system clock,
//! random UUID v7s, and a customer directory that trusts authenticated
//! callers. Tests use the testkit's deterministic ones instead.

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

/// A customer directory for callers that authenticate customers themselves
/// (a verified token names the customer): every customer id is known.
#[derive(Clone, Copy, Debug, Default)]
pub struct AuthenticatedCustomers;

#[async_trait::async_trait]
impl crate::ports::Customers for AuthenticatedCustomers {
    async fn exists(&self, _id: crate::id::CustomerId) -> Result<bool, crate::error::PortError> {
        Ok(true)
    }
}
