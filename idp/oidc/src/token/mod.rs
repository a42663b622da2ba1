//! The token endpoint (RFC 6749 §3.2, §4.1.3, §6; OIDC Core §3.1.3): one
//! file per grant (`authorization_code.rs`, `refresh_token.rs`), the tokens
//! they issue in `issue.rs`, client authentication in `../client_auth.rs`.
//!
//! Each exchange is one store transaction ([`GrantTx`]): the code or refresh
//! token is read with its grant, consumed (a conditional update only one
//! request can win), and the new tokens and the data release are stored
//! with the commit (sent together, one statement on PostgreSQL), so a token
//! is never consumed without its successors stored, nor issued twice. A
//! request refused after the consumption still commits it (a wrong PKCE
//! verifier burns the code). The ID token is signed (and encrypted) before
//! the commit, with a key read from memory before the transaction opened, so
//! a failure there leaves the code or refresh token unused. The clock
//! (`App::clock`) is read once, here, and passed down.
mod authorization_code;
mod issue;
mod refresh_token;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tracing::Instrument as _;

use poem::{handler, http::StatusCode, web::Data, Body, IntoResponse, Request, Response};

use super::{
    dpop::{self, DpopError, Jkt},
    errors::{ErrorCode, OAuthError, Params},
};
use crate::{
    keys::Signer,
    store::{grants::GrantTx, Client},
    OidcState,
};

pub use super::client_auth::{authenticate_client, JWT_BEARER};
pub use issue::{TanuClaims, TanuIdToken};

#[handler]
pub async fn token(req: &Request, body: Body, Data(app): Data<&Arc<OidcState>>) -> Response {
    match exchange(req, body, app, app.clock.now()).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn exchange(req: &Request, body: Body, app: &OidcState, now: DateTime<Utc>) -> Result<Response, OAuthError> {
    if let Err(wait) = app.token_limiter.check(super::client_ip(req)) {
        return Err(OAuthError::too_many(ErrorCode::InvalidRequest, "too many requests", wait));
    }
    let content_type = req.content_type().unwrap_or("");
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(OAuthError::invalid_request("the body must be application/x-www-form-urlencoded"));
    }
    let raw = body.into_bytes_limit(16 * 1024).await.map_err(|_| OAuthError::invalid_request("the body is too large"))?;
    let params = Params::parse_checked(&raw).map_err(|e| OAuthError::invalid_request(e.to_string()))?;
    let client = authenticate_client(app, req, &params).instrument(tracing::info_span!(target: crate::TRACE_TARGET, "client authentication")).await?;
    // RFC 9449 §5: a proof is checked (and its jti spent) before the grant,
    // so that a refused proof or a nonce round trip does not burn a code.
    let proof = dpop::check(app, req, "/token", None, dpop::At::AuthorizationServer).await?;
    // FAPI 2.0 SP §5.3.2.1: a `fapi2` client gets only sender-constrained
    // tokens, and DPoP is how Tanu constrains them.
    if proof.is_none() && (client.dpop_bound_access_tokens || client.profile.requires_sender_constrained_tokens()) {
        return Err(dpop::refusal(app, &DpopError::Required, dpop::At::AuthorizationServer, now));
    }
    // The ID token's key, read before the grant's transaction opens (with
    // SQLite the key cache's version check would wait for that transaction).
    let signer = app.keys.signer(client.id_token_alg).await.map_err(OAuthError::server_error)?;
    let ctx = Exchange { app, client: &client, params: &params, jkt: proof.as_ref().map(|p| &p.jkt), now, signer: &signer };
    let grant_type = crate::metrics::grant_type_label(params.get("grant_type"));
    let span = tracing::info_span!(target: crate::TRACE_TARGET, "grant", otel.name = format!("grant {grant_type}"), grant_type, result = tracing::field::Empty);
    let result = async {
        match params.get("grant_type") {
            Some("authorization_code") => authorization_code::grant(ctx).await,
            Some("refresh_token") => refresh_token::grant(ctx).await,
            Some(_) => Err(OAuthError::with_status(StatusCode::BAD_REQUEST, ErrorCode::UnsupportedGrantType, "supported: authorization_code, refresh_token")),
            None => Err(OAuthError::invalid_request("grant_type is required")),
        }
    }
    .instrument(span.clone())
    .await;
    let outcome = result.as_ref().map_or_else(|e| e.error.as_str(), |_| "issued");
    span.record("result", outcome);
    crate::metrics::token_grant(grant_type, outcome);
    result.map(|r| dpop::with_fresh_nonce(app, proof.as_ref(), r))
}

/// What every grant handler is given: the authenticated client, the
/// request's parameters, its DPoP key if it carried a proof, and the time.
#[derive(Clone, Copy)]
struct Exchange<'a> {
    app: &'a OidcState,
    client: &'a Client,
    params: &'a Params,
    jkt: Option<&'a Jkt>,
    now: DateTime<Utc>,
    /// Signs the ID token (the client's registered algorithm).
    signer: &'a Signer,
}

impl Exchange<'_> {
    fn required(&self, name: &str) -> Result<&str, OAuthError> {
        self.params.get(name).ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
    }

    /// RFC 9449 §5, §10: a code or refresh token bound to a key needs a
    /// proof with that key. Checked before the code or token is consumed: a
    /// request without the key cannot burn it.
    fn check_binding(&self, bound: Option<&str>) -> Result<(), OAuthError> {
        let refused = |e: DpopError| Err(dpop::refusal(self.app, &e, dpop::At::AuthorizationServer, self.now));
        match (bound, self.jkt) {
            (None, _) => Ok(()),
            (Some(_), None) => refused(DpopError::Required),
            (Some(b), Some(p)) if b == p.as_str() => Ok(()),
            (Some(_), Some(_)) => refused(DpopError::KeyMismatch),
        }
    }
}

fn db_err(e: crate::store::StoreError) -> OAuthError {
    OAuthError::from(e)
}

/// Ends an exchange refused before anything was consumed.
async fn reject(tx: GrantTx, e: OAuthError) -> Result<Response, OAuthError> {
    tx.rollback().await.map_err(db_err)?;
    Err(e)
}

/// Ends an exchange with a refusal that keeps what it consumed.
async fn refuse(tx: GrantTx, e: OAuthError) -> Result<Response, OAuthError> {
    tx.commit().await.map_err(db_err)?;
    Err(e)
}
