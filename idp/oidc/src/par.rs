//! Pushed authorization requests (RFC 9126). The client authenticates as at
//! `/token` and pushes its authorization request; it is validated as
//! `/authorize` would (registered redirect URI, PKCE S256, scopes…) and kept
//! for [`PUSHED_REQUEST_TTL_SECS`] under a random `request_uri`, which
//! `/authorize` accepts once, from that client, and in place of every other
//! parameter.
use std::sync::Arc;

use chrono::{Duration, Utc};
use poem::{
    handler,
    http::StatusCode,
    web::{Data, Json},
    Body, IntoResponse, Request, Response,
};
use serde::Serialize;

use super::{
    authorize::validate,
    client_auth::client_form,
    dpop,
    errors::{OAuthError, Params},
};
use crate::{
    domain::ClientId,
    i18n::{Lang, Msg},
    web::error_page,
    OidcState,
};

/// How long a `request_uri` can be used (RFC 9126 §2.2: short-lived; its
/// example is 60 s).
pub const PUSHED_REQUEST_TTL_SECS: i64 = 60;

/// Parameters of the client's authentication: never kept with the request.
const CREDENTIALS: [&str; 3] = ["client_secret", "client_assertion", "client_assertion_type"];

#[derive(Serialize)]
struct Pushed {
    request_uri: String,
    expires_in: i64,
}

#[handler]
pub async fn par(req: &Request, body: Body, Data(app): Data<&Arc<OidcState>>) -> Response {
    let (client, params) = match client_form(app, req, body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match push(app, req, &client, &params).await {
        Ok(pushed) => Json(pushed).with_status(StatusCode::CREATED).with_header("Cache-Control", "no-store").into_response(),
        Err(e) => e.into_response(),
    }
}

async fn push(app: &OidcState, req: &Request, client: &crate::store::Client, params: &Params) -> Result<Pushed, OAuthError> {
    // §2.1: a pushed request cannot itself refer to another.
    if params.get("request_uri").is_some() {
        return Err(OAuthError::invalid_request("request_uri cannot be pushed"));
    }
    if params.get("client_id").is_some_and(|id| id != client.id.as_str()) {
        return Err(OAuthError::invalid_request("client_id does not match the authenticated client"));
    }
    let redirect_uri = params
        .get("redirect_uri")
        .and_then(|r| client.redirect_uri(r))
        .ok_or_else(|| OAuthError::invalid_request("redirect_uri is missing or not registered for this client"))?;
    validate(params, client, redirect_uri.as_str().to_string(), Lang::En)
        .map_err(|(error, description)| OAuthError::with_status(StatusCode::BAD_REQUEST, error, description))?;
    // RFC 9449 §10.1: a DPoP proof at /par binds the code as dpop_jkt does;
    // with both, they must name the same key.
    let proof = dpop::check(app, req, "/par", None, dpop::At::AuthorizationServer).await?;
    let bind = match (proof, params.get("dpop_jkt")) {
        (Some(p), Some(j)) if p.jkt.as_str() != j => {
            return Err(dpop::refusal(app, &dpop::DpopError::KeyMismatch, dpop::At::AuthorizationServer, chrono::Utc::now()));
        }
        (Some(p), None) => Some(p.jkt),
        _ => None,
    };
    let kept = {
        let mut kept = url::form_urlencoded::Serializer::new(String::new());
        kept.append_pair("client_id", client.id.as_str());
        if let Some(jkt) = &bind {
            kept.append_pair("dpop_jkt", jkt.as_str());
        }
        for (k, v) in params.pairs().filter(|(k, _)| *k != "client_id" && !CREDENTIALS.contains(k)) {
            kept.append_pair(k, v);
        }
        kept.finish()
    };
    let request_uri =
        app.store.push_authorization_request(&client.id, &kept, Utc::now(), Duration::seconds(PUSHED_REQUEST_TTL_SECS)).await.map_err(OAuthError::from)?;
    Ok(Pushed { request_uri, expires_in: PUSHED_REQUEST_TTL_SECS })
}

/// At `/authorize`: the pushed parameters of `request_uri`, used now, if
/// `client_id` names the client that pushed it and it is live and unused
/// (RFC 9126 §4). Otherwise an error page: nothing about the request can
/// be trusted, the redirect URI included.
pub async fn pushed_params(app: &OidcState, params: &Params, request_uri: &str, lang: Lang) -> Result<Params, Response> {
    let bad = |detail: &str| error_page(StatusCode::BAD_REQUEST, lang, Msg::error_bad_request, Some(detail.into()));
    let Some(Ok(client_id)) = params.get("client_id").map(str::parse::<ClientId>) else {
        return Err(bad("client_id is required with request_uri"));
    };
    match app.store.take_pushed_request(request_uri, &client_id, Utc::now()).await {
        Ok(Some(pushed)) => Ok(Params::parse(pushed.as_bytes())),
        Ok(None) => Err(bad("request_uri is unknown, expired, already used or another client's")),
        Err(e) => {
            tracing::error!(error = %e, "pushed authorization request");
            Err(error_page(StatusCode::INTERNAL_SERVER_ERROR, lang, Msg::error_title, None))
        }
    }
}
