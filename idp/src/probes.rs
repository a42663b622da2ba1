//! The operator's endpoints, outside the protocol: liveness, readiness and
//! Prometheus metrics. They take the composition root's state (`App`), for
//! readiness spans every part (database, face models, shutdown).
use std::sync::Arc;

use poem::{handler, http::StatusCode, web::Data, IntoResponse, Response};

use crate::{app::App, oidc::errors};

/// Liveness (`/healthz`): the process serves requests. It checks nothing
/// else, so that a database outage makes instances unready (`/readyz`), not
/// restarted.
#[handler]
pub async fn healthz() -> Response {
    "ok".with_header("Cache-Control", "no-store").into_response()
}

/// Readiness (`/readyz`): 200 when this instance should get traffic — the
/// database answers, the face models are loaded (when face sign-in is on) and
/// the process is not stopping; else 503. Liveness is `/healthz`.
#[handler]
pub async fn readyz(Data(app): Data<&Arc<App>>) -> Response {
    let r = app.readiness().await;
    if let Err(e) = &r.database {
        tracing::warn!(error = %e, "readiness: database unavailable");
    }
    let status = if r.ready() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    poem::web::Json(&r).with_status(status).with_header("Cache-Control", "no-store").into_response()
}

/// Prometheus metrics (`idp/src/metrics.rs`), text exposition format 0.0.4.
#[handler]
pub async fn metrics(Data(app): Data<&Arc<App>>) -> Response {
    match crate::metrics::render(app).await {
        Ok(text) => text.with_content_type("text/plain; version=0.0.4; charset=utf-8").with_header("Cache-Control", "no-store").into_response(),
        Err(e) => errors::problem(StatusCode::SERVICE_UNAVAILABLE, "database unavailable", &e.to_string()),
    }
}
