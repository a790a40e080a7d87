//! Table-driven implementations of the policy ports, for deployments whose
//! tax, shipping and coupon rules fit in configuration: [`TaxTable`],
//! [`ShippingTable`] and [`CouponTable`]. They are pure data, built by their
//! constructors (which refuse contradictory rules) from code or from a
//! configuration file; a service with a remote tax engine implements
//! [`TaxPolicy`](crate::ports::TaxPolicy) itself.

mod coupon;
mod shipping;
mod tax;

pub use coupon::{Coupon, CouponTable, CouponValue};
pub use shipping::{ShippingRate, ShippingTable};
pub use tax::TaxTable;

/// A table built with contradictory or incomplete rules.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{rule}")]
pub struct PolicyTableError {
    /// The rule that was broken.
    pub rule: String,
}

impl PolicyTableError {
    fn new(rule: impl Into<String>) -> Self {
        Self { rule: rule.into() }
    }
}
