//! [`Scope`]: the orders a caller may see and act on. Staff and services
//! reach every order; a customer reaches their own, and another customer's
//! order is answered as missing, so its existence does not leak.

use crate::{CustomerId, Order};

/// The orders a caller may see and act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every order: staff, services, the engine itself.
    All,
    /// The orders this customer placed.
    Customer(CustomerId),
}

impl Scope {
    /// True when `order` is within the scope.
    pub fn admits(&self, order: &Order) -> bool {
        match self {
            Self::All => true,
            Self::Customer(customer) => order.customer_id() == *customer,
        }
    }
}
