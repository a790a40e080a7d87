//! W3C trace context (`traceparent`) for each request: the caller's context,
//! or a new trace when it sent none (or an invalid one), becomes the
//! request's, is recorded on its `request` span as `trace_id`, and is what
//! the remote services' adapters send on (`order_remote::trace`), so the
//! calls made for a request join the caller's trace.
//!
//! With the `otlp` feature the request span itself joins the caller's trace
//! through OpenTelemetry's W3C propagator (`TraceContextPropagator`), and
//! the context sent on is the request span's own: the remote services'
//! spans become its children in Jaeger. Without it, the default build parses
//! the header itself and keeps the OpenTelemetry crates out.

use axum::http::HeaderMap;
use order_remote::TraceParent;

/// The request's trace context: the caller's valid `traceparent`, else a
/// new trace.
pub(crate) fn incoming(headers: &HeaderMap) -> TraceParent {
    headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(TraceParent::parse)
        .unwrap_or_else(TraceParent::root)
}

/// Joins `span` to the caller's trace and answers the context calls made
/// inside it carry on: the span's own with OTLP export, else `trace`.
#[cfg(not(feature = "otlp"))]
pub(crate) fn link(_span: &tracing::Span, _headers: &HeaderMap, trace: TraceParent) -> TraceParent {
    trace
}

/// Joins `span` to the caller's trace and answers the context calls made
/// inside it carry on: the span's own with OTLP export, else `trace`.
#[cfg(feature = "otlp")]
pub(crate) fn link(span: &tracing::Span, headers: &HeaderMap, trace: TraceParent) -> TraceParent {
    use opentelemetry::propagation::{Extractor, TextMapPropagator as _};
    use opentelemetry::trace::TraceContextExt as _;
    use opentelemetry_sdk::propagation::TraceContextPropagator;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;

    struct Headers<'a>(&'a HeaderMap);

    impl Extractor for Headers<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            self.0.get(key).and_then(|v| v.to_str().ok())
        }
        fn keys(&self) -> Vec<&str> {
            self.0.keys().map(axum::http::HeaderName::as_str).collect()
        }
    }

    let parent = TraceContextPropagator::new().extract(&Headers(headers));
    if parent.span().span_context().is_valid() {
        // Fails only when no OpenTelemetry layer is installed (no export):
        // then `trace` is the context to carry on.
        let _ = span.set_parent(parent);
    }
    let context = span.context();
    let own = context.span().span_context().clone();
    if !own.is_valid() {
        return trace;
    }
    TraceParent::new(
        u128::from_be_bytes(own.trace_id().to_bytes()),
        u64::from_be_bytes(own.span_id().to_bytes()),
        own.trace_flags().to_u8(),
    )
    .unwrap_or(trace)
}
