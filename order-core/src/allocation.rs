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

/// [`allocate`] for whole-number `weights` (amounts in minor units, unit
/// counts): the same parts, worked out in integers, which is many times
/// faster than in decimals.
///
/// The parts are exactly [`allocate`]'s, so amounts priced before and after
/// it was introduced agree to the last unit. `allocate` divides in decimals
/// (28 digits), and in two cases that is what decides; there the decimal
/// division runs as before:
/// - parts of different weights whose remainders are equal fractions compete
///   for the last left-over unit: the decimal quotients of the two carry
///   different numbers of digits, so they are not equal, and the larger
///   one wins, which is not always the earlier part;
/// - `whole × Σ weights` reaches 10^27, beyond which a quotient's 28 digits
///   no longer settle every floor and remainder.
///
/// ```
/// # use order_core::allocation::allocate_minor;
/// assert_eq!(allocate_minor(100, &[1, 1, 1]), vec![34, 33, 33]);
/// assert_eq!(allocate_minor(-100, &[1, 2]), vec![-33, -67]);
/// ```
pub fn allocate_minor(whole: i128, weights: &[i128]) -> Vec<i128> {
    if weights.is_empty() {
        return Vec::new();
    }
    let split = Split::new(whole.unsigned_abs(), weights);
    let (order, left) = match split.ranked_as_decimals() {
        Some(ranked) => ranked,
        None if split.fits_decimals() => {
            let decimals: Vec<Decimal> = (0..weights.len())
                .map(|i| Decimal::from_i128_with_scale(split.weight(i) as i128, 0))
                .collect();
            return allocate(whole, &decimals);
        }
        // Beyond a decimal, where `allocate` cannot divide: the exact split
        // is the rule it approximates.
        None => split.ranked(),
    };
    let mut parts: Vec<i128> = split
        .shares
        .iter()
        // A share is at most the whole's magnitude.
        .map(|(floor, _)| *floor as i128)
        .collect();
    for index in &order[..left] {
        parts[*index] += 1;
    }
    if whole < 0 {
        parts.iter_mut().for_each(|p| *p = -*p);
    }
    parts
}

/// The largest mantissa of a `Decimal`.
const MAX_MANTISSA: u128 = (1 << 96) - 1;

/// The bound under which decimal quotients of shares of a whole are close
/// enough to the exact ones to agree on every floor and on the order of
/// every two different remainders: a quotient carries 28 significant
/// digits, two different remainders differ by at least `1 / Σ weights`.
const DECIMALS_AGREE_BELOW: u128 = 10_u128.pow(27);

/// The exact shares of a whole, split into floors and remainders.
struct Split<'a> {
    whole: u128,
    weights: &'a [i128],
    /// True when no weight is above zero: then each part weighs one.
    even: bool,
    total: u128,
    /// Per part, the floor of its share and the remainder, a numerator over
    /// `total`.
    shares: Vec<(u128, u128)>,
}

impl<'a> Split<'a> {
    /// `weights` is not empty.
    fn new(whole: u128, weights: &'a [i128]) -> Self {
        let total: u128 = weights.iter().map(|w| (*w).max(0).unsigned_abs()).sum();
        let mut split = Self {
            whole,
            weights,
            even: total == 0,
            total: if total == 0 {
                weights.len() as u128
            } else {
                total
            },
            shares: Vec::with_capacity(weights.len()),
        };
        for index in 0..weights.len() {
            // A weight is at most the total, so a share is at most the whole.
            let share = mul_div(whole, split.weight(index), split.total);
            split.shares.push(share);
        }
        split
    }

    /// The weight of part `index`: negative weights count as zero.
    fn weight(&self, index: usize) -> u128 {
        if self.even {
            1
        } else {
            self.weights[index].max(0).unsigned_abs()
        }
    }

    /// Part indices by remainder, largest first (ties to the earlier part),
    /// and how many units are left over after the floors: fewer than there
    /// are parts, as the remainders are fractions below one.
    fn ranked(&self) -> (Vec<usize>, usize) {
        let mut order: Vec<usize> = (0..self.shares.len()).collect();
        // Stable: earlier parts stay first on ties.
        order.sort_by_key(|i| std::cmp::Reverse(self.shares[*i].1));
        let assigned: u128 = self.shares.iter().map(|(floor, _)| floor).sum();
        (order, (self.whole - assigned) as usize)
    }

    /// [`Split::ranked`] when it gives the units to the parts `allocate`'s
    /// decimal quotients give them to; `None` when only those can tell.
    fn ranked_as_decimals(&self) -> Option<(Vec<usize>, usize)> {
        if self
            .whole
            .checked_mul(self.total)
            .is_none_or(|p| p >= DECIMALS_AGREE_BELOW)
        {
            return None;
        }
        let (order, left) = self.ranked();
        let remainder = |i: usize| self.shares[i].1;
        let last = left.checked_sub(1).map(|i| remainder(order[i]));
        let next = order.get(left).map(|i| remainder(*i));
        if let Some(tied) = last.filter(|last| Some(*last) == next) {
            // A tie for the last unit. Parts of equal weight have equal
            // decimal quotients, and stay in index order; parts of different
            // weights have quotients with different numbers of digits.
            let mut weights = (0..self.shares.len())
                .filter(|i| remainder(*i) == tied)
                .map(|i| self.weight(i));
            let first = weights.next();
            if weights.any(|w| Some(w) != first) {
                return None;
            }
        }
        Some((order, left))
    }

    /// True when `allocate` can divide these shares in decimals.
    fn fits_decimals(&self) -> bool {
        let largest = (0..self.shares.len())
            .map(|i| self.weight(i))
            .max()
            .unwrap_or(0);
        self.total <= MAX_MANTISSA
            && self
                .whole
                .checked_mul(largest)
                .is_some_and(|p| p <= MAX_MANTISSA)
    }
}

/// `(a × b / c, a × b mod c)` for `b ≤ c`, so the quotient fits even when the
/// product does not: that case is worked out in 256 bits, by long division.
fn mul_div(a: u128, b: u128, c: u128) -> (u128, u128) {
    // Amounts and weights of orders fit 64 bits, and so does the divisor:
    // then the product cannot overflow and the division is the cheap one.
    if let (Ok(a), Ok(b), Ok(c)) = (u64::try_from(a), u64::try_from(b), u64::try_from(c)) {
        let product = u128::from(a) * u128::from(b);
        let c = u128::from(c);
        return (product / c, product % c);
    }
    if let Some(product) = a.checked_mul(b) {
        return (product / c, product % c);
    }
    let (high, low) = widening_mul(a, b);
    // `high < c` because the quotient fits 128 bits; shift the low half in
    // bit by bit. `carry` is the bit that falls off the 128-bit remainder.
    let (mut quotient, mut remainder) = (0u128, high);
    for bit in (0..128).rev() {
        let carry = remainder >> 127;
        remainder = (remainder << 1) | ((low >> bit) & 1);
        quotient <<= 1;
        if carry == 1 || remainder >= c {
            remainder = remainder.wrapping_sub(c);
            quotient |= 1;
        }
    }
    (quotient, remainder)
}

/// The 256-bit product of `a` and `b`, as (high, low) halves.
fn widening_mul(a: u128, b: u128) -> (u128, u128) {
    const HALF: u32 = 64;
    let mask = u128::from(u64::MAX);
    let (a_high, a_low) = (a >> HALF, a & mask);
    let (b_high, b_low) = (b >> HALF, b & mask);
    let low_low = a_low * b_low;
    let high_low = a_high * b_low;
    let low_high = a_low * b_high;
    let high_high = a_high * b_high;
    // The middle column, with the carries out of the low one.
    let middle = (low_low >> HALF) + (high_low & mask) + (low_high & mask);
    let low = (middle << HALF) | (low_low & mask);
    let high = high_high + (high_low >> HALF) + (low_high >> HALF) + (middle >> HALF);
    (high, low)
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

    #[test]
    fn whole_number_weights_split_like_decimal_ones() {
        assert_eq!(
            allocate_minor(1001, &[3, 7, 11]),
            allocate(1001, &[d(3), d(7), d(11)])
        );
        assert_eq!(allocate_minor(100, &[1, 2]), vec![33, 67]);
        assert_eq!(allocate_minor(5, &[0, 0]), vec![3, 2]);
        assert_eq!(allocate_minor(10, &[0, 1]), vec![0, 10]);
        assert_eq!(allocate_minor(10, &[-5, 1]), vec![0, 10]);
        assert!(allocate_minor(10, &[]).is_empty());
    }

    #[test]
    fn equal_remainders_of_parts_of_different_weights_split_as_the_decimals_do() {
        // Exact shares 8 1/3, 1 1/3 and 1/3: one unit is left for three equal
        // remainders. The decimal quotient 1.333… carries one more 3 than
        // 8.333…, so the second part gets it.
        let d = |n: i64| Decimal::from(n);
        assert_eq!(allocate(10, &[d(2500), d(400), d(100)]), vec![8, 2, 0]);
        assert_eq!(allocate_minor(10, &[2500, 400, 100]), vec![8, 2, 0]);
        // Equal weights tie in index order.
        assert_eq!(allocate_minor(10, &[1, 1, 1]), vec![4, 3, 3]);
    }

    #[test]
    fn shares_too_large_for_a_decimal_are_split_exactly() {
        let big = (1_i128 << 96) - 1;
        let parts = allocate_minor(big, &[big, big, 1]);
        assert_eq!(parts.iter().sum::<i128>(), big);
        // (2^96 − 1)² / (2^97 − 1) is about 2^95 − 3/4, the last share
        // about 1/2: the left-over unit goes to the last part.
        assert_eq!(parts, vec![(1 << 95) - 1, (1 << 95) - 1, 1]);
    }

    #[test]
    fn the_wide_product_is_exact() {
        assert_eq!(widening_mul(u128::MAX, u128::MAX), (u128::MAX - 1, 1));
        assert_eq!(widening_mul(1 << 64, 1 << 64), (1, 0));
        assert_eq!(mul_div(u128::MAX, u128::MAX, u128::MAX), (u128::MAX, 0));
        assert_eq!(mul_div(u128::MAX, 3, 4), (u128::MAX / 4 * 3 + 2, 1));
    }
}
