//! `grant_type=refresh_token` (RFC 6749 §6, OIDC Core §12). A refresh token
//! rotates on use and a reused one revokes the whole grant; a `fapi2`
//! client's is not rotated (FAPI 2.0 SP §5.3.2.1-9). Only `offline_access`
//! grants have refresh tokens, and none outlives the grant's absolute lifetime.
use poem::{http::StatusCode, Response};

use super::{db_err, issue, refuse, reject, Exchange};
use crate::{
    crypto::token_hash,
    domain::{Scope, ScopeSet},
    errors::OAuthError,
    store::{
        cabinet::{Channel, ID_TOKEN_CLAIMS},
        grants::TokenUse,
    },
};

pub(super) async fn grant(x: Exchange<'_>) -> Result<Response, OAuthError> {
    let presented = x.required("refresh_token")?;
    let mut tx = x.app.store.begin_exchange().await.map_err(db_err)?;
    let Some((row, g)) = tx.refresh_token(&token_hash(presented)).await.map_err(db_err)? else {
        return reject(tx, OAuthError::invalid_grant("the refresh token is invalid")).await;
    };
    if g.client_id != x.client.id.as_str() {
        return reject(tx, OAuthError::invalid_grant("the refresh token was issued to another client")).await;
    }
    if let Err(e) = x.check_binding(row.dpop_jkt.as_deref()) {
        return reject(tx, e).await;
    }
    // A `fapi2` client's refresh token is not rotated
    // (`ClientProfile::rotates_refresh_tokens`): it is not consumed, so a
    // retry after a lost response succeeds.
    let rotate = x.client.profile.rotates_refresh_tokens();
    if !rotate && row.used {
        return reject(tx, OAuthError::invalid_grant("the refresh token has already been used")).await;
    }
    if rotate && tx.consume_refresh(&row.token_hash, x.now).await.map_err(db_err)? == TokenUse::Replayed {
        tx.rollback().await.map_err(db_err)?;
        // A rotated token presented again means it leaked: end the whole grant.
        x.app.store.revoke_grant(&g.id, "refresh token reused").await.map_err(db_err)?;
        return Err(OAuthError::invalid_grant("the refresh token has already been used"));
    }
    if row.expires_at < x.now {
        return refuse(tx, OAuthError::invalid_grant("the refresh token has expired")).await;
    }
    if g.revoked {
        return refuse(tx, OAuthError::invalid_grant("the grant has been revoked")).await;
    }
    if !ScopeSet::parse_lenient(&g.scope).contains(Scope::OfflineAccess) {
        return refuse(tx, OAuthError::invalid_grant("the grant has no offline access")).await;
    }
    if issue::grant_ends(x.app, &g) < x.now {
        return refuse(tx, OAuthError::invalid_grant("the grant has reached its absolute lifetime; sign in again")).await;
    }
    // RFC 6749 §6: a narrower scope is what the new access token gets.
    let scope = match x.params.get("scope") {
        Some(s) => {
            let asked = ScopeSet::parse_lenient(s);
            let had = ScopeSet::parse_lenient(&g.scope);
            if !asked.is_subset(&had) || asked.0.is_empty() {
                return refuse(
                    tx,
                    OAuthError::with_status(StatusCode::BAD_REQUEST, crate::errors::ErrorCode::InvalidScope, "scope exceeds the original grant"),
                )
                .await;
            }
            asked.to_string()
        }
        None => g.scope.clone(),
    };
    tx.record_release(g.parties(), Channel::Refresh, ID_TOKEN_CLAIMS, x.now);
    let kept = (!rotate).then_some(presented);
    // The new access token is bound to this request's proof; the new (or
    // kept) refresh token keeps the binding its predecessor had.
    let bound = issue::Binding { access: x.jkt.map(|j| j.as_str()), refresh: row.dpop_jkt.as_deref() };
    issue::tokens(x, tx, &g, &scope, None, bound, kept).await
}
