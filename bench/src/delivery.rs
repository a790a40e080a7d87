//! The outbox relay's delivery latency, read from the server's own
//! `order_events_delivery_seconds` histogram (from an event's change to the
//! publisher's acknowledgement) before and after a phase: the phase's
//! share is the difference of the cumulative bucket counts.

use std::net::SocketAddr;

use crate::http::{Connection, request};

/// The histogram's metric name, as `/metrics` writes its buckets.
const BUCKET: &str = "order_events_delivery_seconds_bucket{le=\"";

/// Cumulative counts per bucket upper bound (seconds), `+Inf` last.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Histogram {
    buckets: Vec<(f64, u64)>,
}

impl Histogram {
    /// The histogram in a Prometheus text exposition.
    pub(crate) fn parse(text: &str) -> Self {
        let buckets = text
            .lines()
            .filter_map(|line| {
                let rest = line.strip_prefix(BUCKET)?;
                let (le, count) = rest.split_once("\"}")?;
                let le = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().ok()?
                };
                Some((le, count.trim().parse().ok()?))
            })
            .collect();
        Self { buckets }
    }

    /// What was observed after `before`.
    pub(crate) fn since(&self, before: &Self) -> Self {
        let buckets = self
            .buckets
            .iter()
            .map(|&(le, count)| {
                let earlier = before
                    .buckets
                    .iter()
                    .find(|(b, _)| *b == le)
                    .map_or(0, |&(_, c)| c);
                (le, count.saturating_sub(earlier))
            })
            .collect();
        Self { buckets }
    }

    /// How many events.
    pub(crate) fn count(&self) -> u64 {
        self.buckets.last().map_or(0, |&(_, c)| c)
    }

    /// The upper bound of the bucket holding quantile `q` (0–1): the
    /// quantile is at most this many seconds.
    pub(crate) fn at_most(&self, q: f64) -> Option<f64> {
        let wanted = (q * self.count() as f64).ceil() as u64;
        self.buckets
            .iter()
            .find(|&&(_, c)| c >= wanted.max(1))
            .map(|&(le, _)| le)
    }
}

/// The server's histogram now.
pub(crate) async fn scrape(addr: SocketAddr) -> Result<Histogram, String> {
    let mut connection = Connection::open(addr)
        .await
        .map_err(|e| format!("connecting for /metrics: {e}"))?;
    let answer = connection
        .call(&request("GET", "/metrics", addr, "", None))
        .await?;
    if answer.status != 200 {
        return Err(format!("/metrics answered {}", answer.status));
    }
    Ok(Histogram::parse(&String::from_utf8_lossy(answer.body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# TYPE order_events_delivery_seconds histogram\n\
        order_events_delivery_seconds_bucket{le=\"0.05\"} 10\n\
        order_events_delivery_seconds_bucket{le=\"0.1\"} 90\n\
        order_events_delivery_seconds_bucket{le=\"0.25\"} 99\n\
        order_events_delivery_seconds_bucket{le=\"+Inf\"} 100\n\
        order_events_delivery_seconds_sum 9.5\n";

    #[test]
    fn quantiles_are_the_bounds_of_the_buckets_holding_them() {
        let histogram = Histogram::parse(TEXT);
        assert_eq!(histogram.count(), 100);
        assert_eq!(histogram.at_most(0.5), Some(0.1));
        assert_eq!(histogram.at_most(0.99), Some(0.25));
        assert_eq!(histogram.at_most(1.0), Some(f64::INFINITY));
    }

    #[test]
    fn a_phase_is_the_difference_of_two_scrapes() {
        let before = Histogram::parse(
            "order_events_delivery_seconds_bucket{le=\"0.05\"} 5\n\
             order_events_delivery_seconds_bucket{le=\"0.1\"} 50\n\
             order_events_delivery_seconds_bucket{le=\"0.25\"} 59\n\
             order_events_delivery_seconds_bucket{le=\"+Inf\"} 60\n",
        );
        let phase = Histogram::parse(TEXT).since(&before);
        assert_eq!(phase.count(), 40);
        assert_eq!(phase.at_most(0.1), Some(0.05));
        assert_eq!(phase.at_most(0.99), Some(0.1));
    }
}
