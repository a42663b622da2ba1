//! `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6, OIDC
//! Core §3.1.3.2). A code is single-use; a replayed code revokes every token
//! issued from it (RFC 6749 §4.1.2).
use poem::Response;
use tanu_core::pkce::PkceChallenge;

use super::{db_err, issue, refuse, reject, Exchange};
use crate::{
    crypto::token_hash,
    errors::OAuthError,
    store::{
        cabinet::{Channel, ID_TOKEN_CLAIMS},
        grants::TokenUse,
    },
};

pub(super) async fn grant(x: Exchange<'_>) -> Result<Response, OAuthError> {
    let code = x.required("code")?;
    let redirect_uri = x.required("redirect_uri")?;
    let verifier = x.params.get("code_verifier").ok_or_else(|| OAuthError::invalid_request("code_verifier is required (PKCE)"))?;
    // RFC 7636 §4.1.
    if !(43..=128).contains(&verifier.len()) || !verifier.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)) {
        return Err(OAuthError::invalid_request("code_verifier is malformed"));
    }
    let mut tx = x.app.store.begin_exchange().await.map_err(db_err)?;
    let Some((row, g)) = tx.code(&token_hash(code)).await.map_err(db_err)? else {
        return reject(tx, OAuthError::invalid_grant("the authorization code is invalid")).await;
    };
    if row.client_id != x.client.id.as_str() {
        return reject(tx, OAuthError::invalid_grant("the authorization code was issued to another client")).await;
    }
    if let Err(e) = x.check_binding(row.dpop_jkt.as_deref()) {
        return reject(tx, e).await;
    }
    if tx.consume_code(&row.code_hash, x.now).await.map_err(db_err)? == TokenUse::Replayed {
        tx.rollback().await.map_err(db_err)?;
        x.app.store.revoke_grant(&row.grant_id, "authorization code replayed").await.map_err(db_err)?;
        return Err(OAuthError::invalid_grant("the authorization code has already been used"));
    }
    if row.expires_at < x.now {
        return refuse(tx, OAuthError::invalid_grant("the authorization code has expired")).await;
    }
    if row.redirect_uri != redirect_uri {
        return refuse(tx, OAuthError::invalid_grant("redirect_uri does not match the authorization request")).await;
    }
    if !PkceChallenge::verifies(&row.pkce_challenge, verifier) {
        return refuse(tx, OAuthError::invalid_grant("code_verifier does not match the code_challenge")).await;
    }
    let Some(g) = g.filter(|g| !g.revoked) else {
        return refuse(tx, OAuthError::invalid_grant("the grant has been revoked")).await;
    };
    tx.record_release(g.parties(), Channel::IdToken, ID_TOKEN_CLAIMS, x.now);
    // The refresh tokens of a DPoP code exchange are bound to its key too.
    let jkt = x.jkt.map(|j| j.as_str());
    let bound = issue::Binding { access: jkt, refresh: jkt };
    issue::tokens(x, tx, &g, &g.scope, row.nonce.as_deref(), bound, None).await
}
