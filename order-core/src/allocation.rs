//! Exact allocation: splitting a whole amount across parts so that the parts
//! sum to the whole to the last minor unit, by the largest-remainder method.
//! Order discounts, order-level tax and refunds are split this way.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// Splits `whole` minor units across parts in proportion to `weights`.
///
/// Every part first gets the floor of its exact share; the units left over go
/// one each to the parts with the largest remainders (ties to the earlier
/// part). The parts always sum to `whole`. Negative weights count as zero;
/// when every weight is zero the whole is split evenly. A negative `whole` is
/// split as its magnitude and negated.
///
/// ```
/// # use order_core::allocation::allocate;
/// # use rust_decimal::Decimal;
/// let parts = allocate(100, &[Decimal::ONE, Decimal::ONE, Decimal::ONE]);
/// assert_eq!(parts, vec![34, 33, 33]);
/// ```
pub fn allocate(whole: i128, weights: &[Decimal]) -> Vec<i128> {
    if weights.is_empty() {
        return Vec::new();
    }
    if whole < 0 {
        return allocate(-whole, weights).into_iter().map(|p| -p).collect();
    }
    let clamped: Vec<Decimal> = weights.iter().map(|w| (*w).max(Decimal::ZERO)).collect();
    let total: Decimal = clamped.iter().sum();
    let weights: Vec<Decimal> = if total.is_zero() {
        vec![Decimal::ONE; clamped.len()]
    } else {
        clamped
    };
    let total: Decimal = weights.iter().sum();
    let whole_dec = Decimal::from_i128_with_scale(whole, 0);

    let mut parts = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    let mut assigned: i128 = 0;
    for (index, weight) in weights.iter().enumerate() {
        let exact = whole_dec * *weight / total;
        let floor = exact.floor();
        let part = floor.to_i128().unwrap_or(0);
        assigned += part;
        parts.push(part);
        remainders.push((exact - floor, index));
    }
    let mut left = whole - assigned;
    // Largest remainder first; the stable sort keeps earlier parts first on ties.
    remainders.sort_by_key(|r| std::cmp::Reverse(r.0));
    let mut cursor = 0;
    while left > 0 {
        let (_, index) = remainders[cursor % remainders.len()];
        parts[index] += 1;
        left -= 1;
        cursor += 1;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: i64) -> Decimal {
        Decimal::from(n)
    }

    #[test]
    fn parts_sum_to_the_whole() {
        let parts = allocate(1001, &[d(3), d(7), d(11)]);
        assert_eq!(parts.iter().sum::<i128>(), 1001);
    }

    #[test]
    fn the_largest_remainder_gets_the_spare_unit() {
        // Exact shares 33.33.., 66.66..: the second has the larger remainder.
        assert_eq!(allocate(100, &[d(1), d(2)]), vec![33, 67]);
    }

    #[test]
    fn zero_weights_split_evenly() {
        assert_eq!(allocate(5, &[d(0), d(0)]), vec![3, 2]);
    }

    #[test]
    fn a_negative_whole_is_split_by_magnitude() {
        assert_eq!(allocate(-100, &[d(1), d(2)]), vec![-33, -67]);
    }

    #[test]
    fn a_zero_weight_part_gets_nothing_when_others_weigh() {
        assert_eq!(allocate(10, &[d(0), d(1)]), vec![0, 10]);
    }
}
