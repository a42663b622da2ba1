//! Logs, traces and the stage timings, set up once per process by `main`
//! before the configuration is read, so from the environment alone:
//!
//! | variable | default | what |
//! |---|---|---|
//! | `TANU_LOG` | `info` | the log filter (`tracing_subscriber::EnvFilter` syntax) |
//! | `TANU_LOG_FORMAT` | `text` | `text` or `json` (one object a line) |
//! | `TANU_OTLP_ENDPOINT` | unset: no traces | an OpenTelemetry collector's OTLP/HTTP base address (`http://127.0.0.1:4318`); spans are POSTed as protobuf to `{endpoint}/v1/traces` |
//!
//! The OpenTelemetry SDK's own variables apply as well (`OTEL_TRACES_SAMPLER`,
//! `OTEL_TRACES_SAMPLER_ARG`, `OTEL_BSP_*`, `OTEL_RESOURCE_ATTRIBUTES`).
//!
//! Spans meant for traces carry the target [`TARGET`]: the request span of
//! [`Traced`], a span per token grant, a face frame's and verification's, and
//! the pipeline's stages (`biometrics`). The log output never shows them (the
//! log filter switches that target off, so log lines stay as they were); the
//! OTLP layer sees only them, not the log events (nothing a log line says goes
//! into a trace); and the stage layer turns the stages' spans (and only
//! those: without a collector no other span is even made) into
//! `tanu_inference_seconds{stage}` (metrics.rs), traces or not. A span's
//! fields are set only from closed sets in the code (route templates, method,
//! status, grant type, result codes): no IIN, token or path segment.
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::{filter::Targets, layer::SubscriberExt as _, util::SubscriberInitExt as _, EnvFilter, Layer};

/// The target of every span that goes into traces and stage timings.
pub const TARGET: &str = tanu_oidc::TRACE_TARGET;

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("TANU_LOG_FORMAT={0:?}: expected text or json")]
    LogFormat(String),
    #[error("TANU_OTLP_ENDPOINT={0:?}: expected an http:// address such as http://127.0.0.1:4318")]
    Endpoint(String),
    #[error("OTLP exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    #[error("logging: {0}")]
    Init(#[from] tracing_subscriber::util::TryInitError),
}

/// Held by `main` for the life of the process: dropping it (or [`shutdown`])
/// sends the spans still queued.
///
/// [`shutdown`]: Telemetry::shutdown
pub struct Telemetry {
    traces: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Telemetry {
    /// Sends what is queued and stops the exporter (bounded by the SDK's export timeout).
    pub fn shutdown(mut self) {
        if let Some(provider) = self.traces.take() {
            if let Err(e) = provider.shutdown() {
                eprintln!("tanu: sending the last traces: {e}");
            }
        }
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.traces.take() {
            let _ = provider.shutdown();
        }
    }
}

/// Installs the process's subscriber. Call once, outside any async runtime
/// (the OTLP exporter's HTTP client runs its own).
pub fn init() -> Result<Telemetry, TelemetryError> {
    let mut filter = EnvFilter::try_from_env("TANU_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    if let Ok(off) = format!("{TARGET}=off").parse() {
        filter = filter.add_directive(off);
    }
    let format = std::env::var("TANU_LOG_FORMAT").unwrap_or_else(|_| "text".into());
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs = match format.as_str() {
        "json" => logs.json().with_filter(filter).boxed(),
        "text" => logs.with_filter(filter).boxed(),
        _ => return Err(TelemetryError::LogFormat(format)),
    };
    let ours = || Targets::new().with_target(TARGET, tracing::Level::TRACE);
    // The stage timer wants the pipeline's stages only: without a collector
    // the other spans (request, grant, verification) stay disabled, and cost
    // nothing on the token endpoint's path.
    let stages = crate::metrics::StageTimer
        .with_filter(tracing_subscriber::filter::filter_fn(|m| m.target() == TARGET && crate::metrics::INFERENCE_STAGES.contains(&m.name())));
    let (traces, provider) = match std::env::var("TANU_OTLP_ENDPOINT").ok().filter(|e| !e.is_empty()) {
        None => (None, None),
        Some(endpoint) => {
            let provider = tracer_provider(&endpoint)?;
            let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("tanu")).with_filter(ours());
            opentelemetry::global::set_text_map_propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new());
            (Some(layer), Some(provider))
        }
    };
    tracing_subscriber::registry().with(logs).with(stages).with(traces).try_init()?;
    ENABLED.store(provider.is_some(), std::sync::atomic::Ordering::Relaxed);
    Ok(Telemetry { traces: provider })
}

fn tracer_provider(endpoint: &str) -> Result<opentelemetry_sdk::trace::SdkTracerProvider, TelemetryError> {
    let base =
        url::Url::parse(endpoint).ok().filter(|u| u.scheme() == "http" && u.host().is_some()).ok_or_else(|| TelemetryError::Endpoint(endpoint.into()))?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(format!("{}/v1/traces", base.as_str().trim_end_matches('/')))
        .build()?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name("tanu")
        .with_attribute(opentelemetry::KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    Ok(opentelemetry_sdk::trace::SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build())
}

static ENABLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether spans leave the process (a collector configured).
fn exporting() -> bool {
    ENABLED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Middleware: one server span a request, named by the route template
/// (`POST /token`, `GET /login/:id`, `unmatched`), child of the caller's span
/// when the request carries a W3C `traceparent`.
pub struct Traced;

impl<E: Endpoint> Middleware<E> for Traced {
    type Output = TracedEndpoint<E>;
    fn transform(&self, ep: E) -> Self::Output {
        TracedEndpoint(ep)
    }
}

pub struct TracedEndpoint<E>(E);

impl<E: Endpoint> Endpoint for TracedEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        use tracing::Instrument as _;
        if !exporting() {
            return self.0.call(req).await.map(IntoResponse::into_response);
        }
        let method = crate::metrics::method_label(req.method());
        let span = tracing::info_span!(
            target: TARGET,
            "request",
            otel.name = method,
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            http.request.method = method,
            http.route = tracing::field::Empty,
            http.response.status_code = tracing::field::Empty,
        );
        let parent = opentelemetry::global::get_text_map_propagator(|p| p.extract(&opentelemetry_http::HeaderExtractor(req.headers())));
        let _ = span.set_parent(parent);
        let resp = crate::metrics::respond(self.0.call(req).instrument(span.clone()).await);
        let route = crate::metrics::route_of(&resp);
        // The span's context exists since it was entered: its name is set there.
        opentelemetry::trace::TraceContextExt::span(&span.context()).update_name(format!("{method} {route}"));
        span.record("http.route", route.as_str());
        span.record("http.response.status_code", resp.status().as_u16());
        if resp.status().is_server_error() {
            span.record("otel.status_code", "ERROR");
        }
        Ok(resp)
    }
}
