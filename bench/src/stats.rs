//! Latency percentiles and the small arithmetic of the report.

/// Nearest-rank percentiles of a set of latencies, in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Percentiles {
    pub(crate) p50: u32,
    pub(crate) p95: u32,
    pub(crate) p99: u32,
}

impl Percentiles {
    /// The percentiles of `latencies` (sorted here).
    pub(crate) fn of(latencies: &mut [u32]) -> Self {
        latencies.sort_unstable();
        Self {
            p50: rank(latencies, 50),
            p95: rank(latencies, 95),
            p99: rank(latencies, 99),
        }
    }

    /// `p50 / p95 / p99` in milliseconds.
    pub(crate) fn show(&self) -> String {
        format!("{} / {} / {}", ms(self.p50), ms(self.p95), ms(self.p99))
    }
}

/// The nearest-rank `p`th percentile of sorted values: the smallest value
/// with at least p % of the values at or below it; 0 for no values.
fn rank(sorted: &[u32], p: usize) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted[rank.min(sorted.len()) - 1]
}

/// Microseconds as milliseconds with two decimals.
pub(crate) fn ms(us: u32) -> String {
    format!("{:.2}", f64::from(us) / 1_000.0)
}

/// `part` as a whole percentage of `whole` ("–" without a whole).
pub(crate) fn percent(part: f64, whole: f64) -> String {
    if whole > 0.0 && part.is_finite() {
        format!("{:.0} %", part * 100.0 / whole)
    } else {
        "–".to_owned()
    }
}

/// `amount` per one of `count`, or NaN for none.
pub(crate) fn per(amount: f64, count: usize) -> f64 {
    if count == 0 {
        f64::NAN
    } else {
        amount / count as f64
    }
}

/// A number with thousands separators (`12,345`).
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut values: Vec<u32> = (1..=100).rev().collect();
        let p = Percentiles::of(&mut values);
        assert_eq!((p.p50, p.p95, p.p99), (50, 95, 99));

        let mut values = vec![7, 1, 3];
        let p = Percentiles::of(&mut values);
        assert_eq!((p.p50, p.p95, p.p99), (3, 7, 7));
    }

    #[test]
    fn percentiles_of_one_and_of_none() {
        assert_eq!(
            Percentiles::of(&mut [42]),
            Percentiles {
                p50: 42,
                p95: 42,
                p99: 42
            }
        );
        assert_eq!(Percentiles::of(&mut []), Percentiles::default());
    }

    #[test]
    fn p99_of_a_thousand_is_the_990th() {
        let mut values: Vec<u32> = (1..=1_000).collect();
        assert_eq!(Percentiles::of(&mut values).p99, 990);
    }

    #[test]
    fn figures_render_for_the_report() {
        assert_eq!(ms(1_234), "1.23");
        assert_eq!(percent(45.0, 100.0), "45 %");
        assert_eq!(percent(1.0, 0.0), "–");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert!(per(1.0, 0).is_nan());
        assert!((per(3.0, 2) - 1.5).abs() < 1e-12);
    }
}
