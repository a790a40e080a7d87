//! Logs and traces of the `order-http` binary: [`init`] installs the global
//! tracing subscriber (JSON or human-readable lines, filtered by
//! `--log-filter`) and, in a binary built with `--features otlp` and given
//! `--otlp-endpoint` / `OTEL_EXPORTER_OTLP_ENDPOINT`, an OpenTelemetry layer
//! that exports every span (the per-request `request` span and whatever is
//! logged inside it) over OTLP/HTTP with protobuf bodies, batched on the
//! Tokio runtime, as service `order-http`.
//!
//! The returned [`Telemetry`] owns the exporter: dropping it (or calling
//! [`Telemetry::shutdown`]) flushes the spans still queued and stops it.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::config::{Config, LogFormat};

/// The `service.name` spans are exported under.
pub const SERVICE_NAME: &str = "order-http";

/// Installs the global tracing subscriber described by `config`: log lines
/// in `config.log_format`, filtered by `config.log_filter` (`info` when it
/// does not parse), plus OTLP span export when the `otlp` feature is on and
/// `config.otlp_endpoint` is set. With an endpoint but without the feature,
/// it logs a warning and serves without export.
///
/// Exporting spawns the batch exporter on the current Tokio runtime, which
/// must be a multi-thread one; keep the returned [`Telemetry`] alive while
/// serving.
///
/// # Errors
/// A global subscriber is already installed, or the exporter cannot be
/// built (bad endpoint, no multi-thread Tokio runtime).
pub fn init(config: &Config) -> anyhow::Result<Telemetry> {
    let filter = EnvFilter::try_new(&config.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let lines = match config.log_format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer().boxed(),
    };
    let registry = tracing_subscriber::registry().with(filter).with(lines);

    #[cfg(feature = "otlp")]
    {
        let provider = match config.otlp_endpoint.as_deref().filter(|e| !e.is_empty()) {
            Some(endpoint) => Some(otlp::provider(endpoint)?),
            None => None,
        };
        let layer = provider.as_ref().map(|provider| {
            use opentelemetry::trace::TracerProvider as _;
            tracing_opentelemetry::layer().with_tracer(provider.tracer(SERVICE_NAME))
        });
        let installed = registry.with(layer).try_init();
        if let Err(error) = installed {
            if let Some(provider) = provider {
                let _ = otlp::shutdown(&provider);
            }
            return Err(anyhow::anyhow!(
                "installing the tracing subscriber: {error}"
            ));
        }
        if let (Some(endpoint), Some(_)) = (&config.otlp_endpoint, &provider) {
            tracing::info!(
                endpoint = %otlp::traces_url(endpoint),
                "exporting tracing spans over OTLP/HTTP"
            );
        }
        Ok(Telemetry { provider })
    }

    #[cfg(not(feature = "otlp"))]
    {
        registry
            .try_init()
            .map_err(|error| anyhow::anyhow!("installing the tracing subscriber: {error}"))?;
        if let Some(endpoint) = config.otlp_endpoint.as_deref().filter(|e| !e.is_empty()) {
            tracing::warn!(
                endpoint,
                "an OTLP endpoint is configured (--otlp-endpoint / OTEL_EXPORTER_OTLP_ENDPOINT) but this binary was built without OTLP export; spans are not exported: build it with `--features otlp`"
            );
        }
        Ok(Telemetry {})
    }
}

/// The running telemetry: owns the OTLP span exporter, if any. Dropping it
/// flushes and shuts the exporter down, like [`Telemetry::shutdown`].
#[derive(Debug)]
#[must_use = "dropping Telemetry stops span export"]
pub struct Telemetry {
    #[cfg(feature = "otlp")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Telemetry {
    /// Whether spans are being exported over OTLP.
    pub fn is_exporting(&self) -> bool {
        #[cfg(feature = "otlp")]
        {
            self.provider.is_some()
        }
        #[cfg(not(feature = "otlp"))]
        {
            false
        }
    }

    /// Exports the spans still queued and stops the exporter.
    ///
    /// # Errors
    /// The last export or the shutdown failed.
    pub fn shutdown(mut self) -> anyhow::Result<()> {
        self.stop()
    }

    fn stop(&mut self) -> anyhow::Result<()> {
        #[cfg(feature = "otlp")]
        if let Some(provider) = self.provider.take() {
            return otlp::shutdown(&provider);
        }
        Ok(())
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Err(error) = self.stop() {
            // The subscriber may be the only place left to say so.
            tracing::warn!(error = %error, "stopping the OTLP span exporter");
        }
    }
}

#[cfg(feature = "otlp")]
mod otlp {
    use anyhow::Context as _;
    use opentelemetry_otlp::{Protocol, WithExportConfig as _};
    use opentelemetry_sdk::Resource;
    use opentelemetry_sdk::runtime::Tokio;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
    use tokio::runtime::{Handle, RuntimeFlavor};

    use super::SERVICE_NAME;

    /// Where spans go: `OTEL_EXPORTER_OTLP_ENDPOINT` is a base URL, so the
    /// traces path is appended unless it is already there.
    pub(super) fn traces_url(endpoint: &str) -> String {
        let base = endpoint.trim_end_matches('/');
        if base.ends_with("/v1/traces") {
            base.to_owned()
        } else {
            format!("{base}/v1/traces")
        }
    }

    /// A tracer provider whose spans are batched on the current (multi-thread)
    /// Tokio runtime and POSTed as protobuf to `endpoint`.
    pub(super) fn provider(endpoint: &str) -> anyhow::Result<SdkTracerProvider> {
        let handle =
            Handle::try_current().context("OTLP export needs to start inside a Tokio runtime")?;
        anyhow::ensure!(
            handle.runtime_flavor() == RuntimeFlavor::MultiThread,
            "OTLP export needs a multi-thread Tokio runtime"
        );
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(traces_url(endpoint))
            .build()
            .with_context(|| format!("building the OTLP span exporter for {endpoint}"))?;
        // Batch size, delay and queue follow the OTEL_BSP_* variables.
        let processor = BatchSpanProcessor::builder(exporter, Tokio).build();
        Ok(SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_resource(Resource::builder().with_service_name(SERVICE_NAME).build())
            .build())
    }

    /// Flushes and stops `provider`. The batch processor waits for its
    /// worker task, which runs on the runtime's workers: from a worker thread,
    /// wait in `block_in_place` so the runtime keeps going.
    pub(super) fn shutdown(provider: &SdkTracerProvider) -> anyhow::Result<()> {
        let stop = || {
            provider
                .shutdown()
                .context("shutting down the OTLP span exporter")
        };
        match Handle::try_current() {
            Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(stop)
            }
            _ => stop(),
        }
    }
}

#[cfg(all(test, feature = "otlp"))]
mod tests {
    use super::otlp::traces_url;

    #[test]
    fn the_traces_path_is_appended_once() {
        assert_eq!(
            traces_url("http://127.0.0.1:4318"),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(
            traces_url("http://collector:4318/"),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            traces_url("http://collector:4318/v1/traces"),
            "http://collector:4318/v1/traces"
        );
    }
}
