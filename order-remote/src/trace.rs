//! W3C trace context (`traceparent`, <https://www.w3.org/TR/trace-context/>)
//! from the request being served to the calls made for it. The HTTP layer
//! runs each request inside [`scope`] with the caller's `traceparent` (or a
//! new one); every outgoing call then sends [`outgoing`]: the same trace id
//! with a parent id of its own, so the remote service's spans join the
//! caller's trace. It is a task-local, not a global: concurrent requests
//! keep their own traces, and work outside a request (the background
//! sweeps) starts none.

use std::fmt;
use std::future::Future;

tokio::task_local! {
    static CURRENT: TraceParent;
}

/// A `traceparent` of version `00`: trace id, parent (span) id and flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TraceParent {
    trace_id: u128,
    parent_id: u64,
    flags: u8,
}

impl TraceParent {
    /// Parses a `traceparent` header: `00-<32 hex>-<16 hex>-<2 hex>`, lower
    /// case, with non-zero ids. A later version is read by its first four
    /// fields, as the specification asks.
    ///
    /// ```
    /// # use order_remote::TraceParent;
    /// let t = TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
    /// assert_eq!(t.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
    /// assert!(TraceParent::parse("00-00000000000000000000000000000000-00f067aa0ba902b7-01").is_none());
    /// ```
    pub fn parse(header: &str) -> Option<Self> {
        let mut parts = header.trim().split('-');
        let version = parts.next()?;
        let trace = parts.next()?;
        let parent = parts.next()?;
        let flags = parts.next()?;
        let lower_hex = |s: &str, len: usize| {
            s.len() == len
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        if !lower_hex(version, 2)
            || version == "ff"
            || (version == "00" && parts.next().is_some())
            || !lower_hex(trace, 32)
            || !lower_hex(parent, 16)
            || !lower_hex(flags, 2)
        {
            return None;
        }
        let trace_id = u128::from_str_radix(trace, 16).ok()?;
        let parent_id = u64::from_str_radix(parent, 16).ok()?;
        let flags = u8::from_str_radix(flags, 16).ok()?;
        (trace_id != 0 && parent_id != 0).then_some(Self {
            trace_id,
            parent_id,
            flags,
        })
    }

    /// A context from its parts; `None` when either id is zero (invalid).
    pub fn new(trace_id: u128, parent_id: u64, flags: u8) -> Option<Self> {
        (trace_id != 0 && parent_id != 0).then_some(Self {
            trace_id,
            parent_id,
            flags,
        })
    }

    /// A new trace (sampled), for a request that came without one.
    pub fn root() -> Self {
        Self {
            trace_id: nonzero_u128(),
            parent_id: nonzero_u64(),
            flags: 0x01,
        }
    }

    /// The same trace, with a new parent id: what a call made inside this
    /// one sends.
    #[must_use]
    pub fn child(&self) -> Self {
        Self {
            parent_id: nonzero_u64(),
            ..*self
        }
    }

    /// The trace id, 32 lower-case hex digits.
    pub fn trace_id(&self) -> String {
        format!("{:032x}", self.trace_id)
    }

    /// The parent (span) id, 16 lower-case hex digits.
    pub fn parent_id(&self) -> String {
        format!("{:016x}", self.parent_id)
    }

    /// The trace flags (bit 0: sampled).
    pub fn flags(&self) -> u8 {
        self.flags
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{:032x}-{:016x}-{:02x}",
            self.trace_id, self.parent_id, self.flags
        )
    }
}

fn nonzero_u128() -> u128 {
    // UUID v4s are random (122 bits) and never all zero.
    uuid::Uuid::new_v4().as_u128()
}

fn nonzero_u64() -> u64 {
    // The low 64 bits of a v4 hold its variant bits, so they are never 0.
    uuid::Uuid::new_v4().as_u64_pair().1
}

/// Runs `work` with `trace` as the current trace context.
pub async fn scope<F: Future>(trace: TraceParent, work: F) -> F::Output {
    CURRENT.scope(trace, work).await
}

/// `work` with the trace context current now (when this is called, not
/// when the future first runs): what a task spawned while serving a
/// request runs, so its calls stay in the request's trace.
pub fn carried<F: Future>(work: F) -> impl Future<Output = F::Output> {
    let trace = current();
    async move {
        match trace {
            Some(trace) => scope(trace, work).await,
            None => work.await,
        }
    }
}

/// The current trace context, inside [`scope`].
pub fn current() -> Option<TraceParent> {
    CURRENT.try_with(|t| *t).ok()
}

/// The `traceparent` an outgoing call sends: a child of the current
/// context, or none outside a request.
pub fn outgoing() -> Option<TraceParent> {
    current().map(|t| t.child())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_traceparent_round_trips_through_its_text() {
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(TraceParent::parse(header).unwrap().to_string(), header);
    }

    #[test]
    fn upper_case_short_or_zero_ids_are_not_a_traceparent() {
        for bad in [
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "",
        ] {
            assert!(TraceParent::parse(bad).is_none(), "{bad}");
        }
    }

    #[tokio::test]
    async fn an_outgoing_call_keeps_the_trace_and_takes_a_new_parent_id() {
        let incoming = TraceParent::root();
        let sent = scope(incoming, async { outgoing() }).await.unwrap();
        assert_eq!(sent.trace_id(), incoming.trace_id());
        assert_ne!(sent.parent_id(), incoming.parent_id());
        assert!(outgoing().is_none(), "outside a request there is no trace");
    }

    #[tokio::test]
    async fn a_spawned_task_carries_the_context_current_when_it_was_made() {
        let incoming = TraceParent::root();
        let seen = scope(incoming, async {
            // The spawned task runs outside this scope.
            tokio::spawn(carried(async { current() })).await.unwrap()
        })
        .await;
        assert_eq!(seen, Some(incoming));
    }
}
