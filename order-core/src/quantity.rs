//! [`Quantity`]: how many units of a line, at least one and bounded.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// A count of units, 1 ..= [`Quantity::MAX`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Quantity(u32);

impl Quantity {
    /// The largest quantity one line may carry; larger orders are a B2B
    /// workflow, and the bound keeps every money product far from overflow.
    pub const MAX: u32 = 10_000;

    /// One unit.
    pub const ONE: Self = Self(1);

    /// A quantity of `n` units.
    ///
    /// # Errors
    /// [`ValidationError::OutOfRange`] when `n` is 0 or above [`Quantity::MAX`].
    ///
    /// ```
    /// # use order_core::Quantity;
    /// assert_eq!(Quantity::new(3).unwrap().get(), 3);
    /// assert!(Quantity::new(0).is_err());
    /// ```
    pub fn new(n: u32) -> Result<Self, ValidationError> {
        if (1..=Self::MAX).contains(&n) {
            Ok(Self(n))
        } else {
            Err(ValidationError::OutOfRange {
                field: "quantity".into(),
                value: i64::from(n),
                min: 1,
                max: i64::from(Self::MAX),
            })
        }
    }

    /// The count.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for Quantity {
    type Error = ValidationError;
    fn try_from(n: u32) -> Result<Self, Self::Error> {
        Self::new(n)
    }
}

impl From<Quantity> for u32 {
    fn from(q: Quantity) -> Self {
        q.0
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_not_a_quantity() {
        assert!(Quantity::new(0).is_err());
    }

    #[test]
    fn the_bound_is_inclusive() {
        assert!(Quantity::new(Quantity::MAX).is_ok());
        assert!(Quantity::new(Quantity::MAX + 1).is_err());
    }
}
