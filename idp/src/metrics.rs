//! Prometheus metrics, served at `GET /metrics` in the text exposition format.
//!
//! Recorded through the `metrics` facade and rendered by
//! `metrics-exporter-prometheus`; one recorder per process ([`install`]).
//! Every label value comes from a closed set written in the code (route
//! templates such as `/login/:id`, status codes, grant types, reason codes,
//! check and stage names), never from a request: no IIN, token, client id or
//! path segment can become a label.
//!
//! Functions other parts call (all cheap, callable from any thread):
//!
//! | function | metric |
//! |---|---|
//! | [`sign_in`] (`interaction::complete_login` / `deny`) | `tanu_sign_ins_total{outcome,reason}` |
//! | [`token_grant`] (`/token`) | `tanu_token_grants_total{grant_type,result}` |
//! | [`liveness_check_failed`] (face sign-in) | `tanu_liveness_check_failures_total{check}` |
//! | [`inference_time`] ([`StageTimer`], from the face pipeline's spans) | `tanu_inference_seconds{stage}` (histogram) |
//!
//! The HTTP middleware [`Track`] records `tanu_http_requests_total{route,method,status}`
//! and `tanu_http_request_duration_seconds{route,method}`; the scrape itself
//! sets the backlog gauges from the database ([`render`]).
use std::{sync::OnceLock, time::Instant};

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};

use crate::app::App;

/// Latency buckets, seconds: from a cached page to a slow face verification.
const LATENCY_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Inference buckets, seconds: one model run on one frame.
const INFERENCE_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

/// The checks of the liveness decision (README, "Liveness over a frame
/// sequence"); their failure counters start at 0 so that rates exist.
pub const LIVENESS_CHECKS: &[&str] = &[
    "single_face",
    "enough_frames",
    "motion",
    "no_replay_loop",
    "continuous_track",
    "same_person_throughout",
    "passive_model",
    "no_screen_or_print",
    "challenge",
    "three_dimensional",
    "no_rigid_copy",
    "replayed_capture",
];

/// The stages of the face pipeline timed by [`inference_time`].
pub const INFERENCE_STAGES: &[&str] = &["decode", "detect", "landmarks", "align", "liveness", "eyes", "pose", "embed", "frame"];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder once; later calls return the same handle.
/// `None` when another recorder was installed first (metrics then go there).
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full("tanu_http_request_duration_seconds".into()), LATENCY_BUCKETS)
                .and_then(|b| b.set_buckets_for_metric(Matcher::Full("tanu_inference_seconds".into()), INFERENCE_BUCKETS));
            let recorder = match builder {
                Ok(b) => b.build_recorder(),
                Err(e) => {
                    tracing::error!(error = %e, "metrics recorder; /metrics stays empty");
                    return None;
                }
            };
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics stays empty");
                return None;
            }
            describe();
            for check in LIVENESS_CHECKS {
                counter!("tanu_liveness_check_failures_total", "check" => *check).absolute(0);
            }
            Some(handle)
        })
        .as_ref()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!("tanu_http_requests_total", "HTTP requests by route template, method and status");
    describe_histogram!("tanu_http_request_duration_seconds", Unit::Seconds, "HTTP request latency by route template and method");
    describe_counter!("tanu_sign_ins_total", "sign-in attempts by outcome and reason (Rules §8)");
    describe_counter!("tanu_token_grants_total", "token endpoint requests by grant type and result (issued or the OAuth error code)");
    describe_counter!("tanu_liveness_check_failures_total", "failed liveness checks by check");
    describe_counter!("tanu_journal_write_failures_total", "journal writes that failed after their effect was made (the journal policy, audit.rs), by step");
    describe_histogram!("tanu_inference_seconds", Unit::Seconds, "face model inference time by pipeline stage");
    describe_gauge!("tanu_event_deliveries_pending", "§10 outcome events not yet accepted and still retried");
    describe_gauge!("tanu_event_deliveries_abandoned", "§10 outcome events given up after the last try");
    describe_gauge!("tanu_mail_outbox_unsent", "onboarding mail not yet sent");
    describe_gauge!("tanu_onboarding_applications", "onboarding applications by step and overdue");
}

pub use tanu_oidc::metrics::{client_auth_throttled, grant_type_label, sign_in, token_grant};

/// One liveness check refused a capture (`check` as the decision names it,
/// one of [`LIVENESS_CHECKS`]; anything else counts as `other`).
pub fn liveness_check_failed(check: &str) {
    let check = LIVENESS_CHECKS.iter().find(|c| **c == check).copied().unwrap_or("other");
    counter!("tanu_liveness_check_failures_total", "check" => check).increment(1);
}

/// One model stage took `secs` (`stage` one of [`INFERENCE_STAGES`]; anything
/// else counts as `other`).
pub fn inference_time(stage: &str, secs: f64) {
    let stage = INFERENCE_STAGES.iter().find(|s| **s == stage).copied().unwrap_or("other");
    histogram!("tanu_inference_seconds", "stage" => stage).record(secs);
}

/// Times the face pipeline's stages: a span of [`crate::telemetry::TARGET`]
/// named after one of [`INFERENCE_STAGES`] is recorded into
/// `tanu_inference_seconds{stage}` when it closes (wall time from its creation).
pub struct StageTimer;

struct Began(Instant);

impl<S> tracing_subscriber::Layer<S> for StageTimer
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &tracing::span::Attributes<'_>, id: &tracing::span::Id, ctx: tracing_subscriber::layer::Context<'_, S>) {
        if INFERENCE_STAGES.contains(&attrs.metadata().name()) {
            if let Some(span) = ctx.span(id) {
                span.extensions_mut().insert(Began(Instant::now()));
            }
        }
    }

    fn on_close(&self, id: tracing::span::Id, ctx: tracing_subscriber::layer::Context<'_, S>) {
        if let Some(span) = ctx.span(&id) {
            if let Some(began) = span.extensions().get::<Began>() {
                inference_time(span.name(), began.0.elapsed().as_secs_f64());
            }
        }
    }
}

/// The exposition text, after setting the backlog gauges from the database.
pub async fn render(app: &App) -> Result<String, crate::store::StoreError> {
    let Some(handle) = install() else { return Ok(String::new()) };
    let backlog = app.store.backlog(crate::notify::MAX_ATTEMPTS).await?;
    gauge!("tanu_event_deliveries_pending").set(backlog.events_pending as f64);
    gauge!("tanu_event_deliveries_abandoned").set(backlog.events_abandoned as f64);
    gauge!("tanu_mail_outbox_unsent").set(backlog.mail_unsent as f64);
    // Every step of the procedure, 0 when empty, so a step that empties drops to 0.
    for step in tanu_workflows::onboarding::Step::ALL {
        for overdue in [false, true] {
            let n = backlog.applications.iter().filter(|(s, o, _)| s == step.as_str() && *o == overdue).map(|(_, _, n)| *n).sum::<u64>();
            let overdue = if overdue { "true" } else { "false" };
            gauge!("tanu_onboarding_applications", "step" => step.as_str(), "overdue" => overdue).set(n as f64);
        }
    }
    handle.run_upkeep();
    Ok(handle.render())
}

/// An endpoint's answer as a response, an error's route template kept.
pub(crate) fn respond(result: poem::Result<impl IntoResponse>) -> Response {
    match result {
        Ok(r) => r.into_response(),
        Err(e) => {
            let pattern = e.data::<poem::PathPattern>().cloned();
            let mut r = e.into_response();
            if let Some(p) = pattern {
                r.set_data(p);
            }
            r
        }
    }
}

/// The route template of a response (`/login/:id`), `unmatched` for a path no
/// route serves: never the raw path, which may carry ids.
pub(crate) fn route_of(resp: &Response) -> String {
    resp.data::<poem::PathPattern>().map(|p| p.0.to_string()).unwrap_or_else(|| "unmatched".into())
}

pub(crate) fn method_label(m: &poem::http::Method) -> &'static str {
    use poem::http::Method;
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// Middleware: counts and times every request by route template and status.
pub struct Track;

impl<E: Endpoint> Middleware<E> for Track {
    type Output = TrackEndpoint<E>;
    fn transform(&self, ep: E) -> Self::Output {
        TrackEndpoint(ep)
    }
}

pub struct TrackEndpoint<E>(E);

impl<E: Endpoint> Endpoint for TrackEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let started = Instant::now();
        let method = method_label(req.method());
        let resp = respond(self.0.call(req).await);
        let route = route_of(&resp);
        let status = resp.status().as_u16().to_string();
        counter!("tanu_http_requests_total", "route" => route.clone(), "method" => method, "status" => status).increment(1);
        histogram!("tanu_http_request_duration_seconds", "route" => route, "method" => method).record(started.elapsed().as_secs_f64());
        Ok(resp)
    }
}
