//! The tokens an exchange issues: an access token, an ID token, and for an
//! `offline_access` grant a refresh token (rotated, or the one presented
//! when the client's profile keeps it).
use chrono::{DateTime, Duration, Utc};
use openidconnect::{
    core::{CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreTokenType},
    AccessToken, AdditionalClaims, Audience, AuthenticationContextClass, AuthenticationMethodReference, EmptyExtraTokenFields, IdToken, IdTokenClaims,
    IdTokenFields, IssuerUrl, Nonce, RefreshToken, StandardClaims, StandardTokenResponse, SubjectIdentifier,
};
use poem::{web::Json, IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::{db_err, Exchange};
use crate::{
    crypto::{random_token, token_hash},
    domain::{Scope, ScopeSet},
    errors::OAuthError,
    jwe,
    keys::Signer,
    store::grants::{Grant, GrantTx, NewToken},
    OidcState,
};

/// Claims beyond the standard ones: the session id (OIDC Front/Back-Channel Logout).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct TanuClaims {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}
impl AdditionalClaims for TanuClaims {}

pub type TanuIdToken = IdToken<TanuClaims, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;
type TanuTokenResponse = StandardTokenResponse<
    IdTokenFields<TanuClaims, EmptyExtraTokenFields, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>,
    CoreTokenType,
>;

/// When an offline grant ends, whatever its refresh tokens say.
pub(super) fn grant_ends(app: &OidcState, g: &Grant) -> DateTime<Utc> {
    g.created_at + Duration::seconds(app.config.refresh_grant_lifetime.min(i64::MAX as u64 / 2_000) as i64)
}

/// The DPoP key thumbprints (RFC 9449 `cnf.jkt`) new tokens are bound to.
pub(super) struct Binding<'a> {
    pub access: Option<&'a str>,
    pub refresh: Option<&'a str>,
}

/// Issues an access token for `scope` (the grant's, or narrower), an ID
/// token, and for an `offline_access` grant a rotated refresh token — or,
/// when `kept` is the refresh token just presented (not rotated), that one again.
/// The tokens are stored in the exchange's transaction `tx`, which this commits.
pub(super) async fn tokens(
    x: Exchange<'_>,
    mut tx: GrantTx,
    g: &Grant,
    scope: &str,
    nonce: Option<&str>,
    bound: Binding<'_>,
    kept: Option<&str>,
) -> Result<Response, OAuthError> {
    let (app, now, cfg) = (x.app, x.now, &x.app.config);
    let access = random_token(32);
    let ttl = |secs: u64| now + Duration::seconds(secs as i64);
    let new_access = NewToken { hash: token_hash(&access), grant_id: &g.id, expires_at: ttl(cfg.access_token_ttl), dpop_jkt: bound.access };
    tx.add_access_token(new_access, scope);
    let refresh = if let Some(kept) = kept {
        Some(kept.to_string())
    } else if ScopeSet::parse_lenient(&g.scope).contains(Scope::OfflineAccess) {
        let refresh = random_token(32);
        let expires_at = ttl(cfg.refresh_token_ttl).min(grant_ends(app, g));
        tx.add_refresh_token(NewToken { hash: token_hash(&refresh), grant_id: &g.id, expires_at, dpop_jkt: bound.refresh });
        Some(refresh)
    } else {
        None
    };

    let claims = IdTokenClaims::new(
        IssuerUrl::new(cfg.issuer.clone()).map_err(OAuthError::server_error)?,
        vec![Audience::new(x.client.id.to_string())],
        ttl(cfg.id_token_ttl),
        now,
        StandardClaims::new(SubjectIdentifier::new(app.subject(x.client, &g.citizen_id))),
        TanuClaims { sid: Some(g.session_id.clone()) },
    )
    .set_nonce(nonce.map(|n| Nonce::new(n.to_string())))
    .set_auth_time(Some(g.auth_time))
    .set_auth_context_ref(Some(AuthenticationContextClass::new(g.acr.clone())))
    .set_auth_method_refs(Some(g.amr.iter().cloned().map(AuthenticationMethodReference::new).collect()));
    let signer = x.signer;
    let at = AccessToken::new(access);
    let id_token = match signer {
        Signer::Rs256(k) => TanuIdToken::new(claims, k, signer.alg(), Some(&at), None),
        Signer::Es256(k) => TanuIdToken::new(claims, k, signer.alg(), Some(&at), None),
    }
    .map_err(OAuthError::server_error)?;
    // OIDC Core §10.2: signed, then encrypted to the client's key. Before the
    // commit, so a failure leaves the code or refresh token unused.
    let encrypted = match x.client.id_token_encryption {
        Some(e) => Some(jwe::nest(x.client.jwks.as_ref(), e, &id_token.to_string()).map_err(OAuthError::server_error)?),
        None => None,
    };
    tx.commit().await.map_err(db_err)?;

    // RFC 9449 §5: a bound access token's type is DPoP.
    let token_type = if bound.access.is_some() { CoreTokenType::Extension("DPoP".into()) } else { CoreTokenType::Bearer };
    let mut response = TanuTokenResponse::new(at, token_type, IdTokenFields::new(Some(id_token), EmptyExtraTokenFields {}));
    response.set_expires_in(Some(&std::time::Duration::from_secs(cfg.access_token_ttl)));
    response.set_refresh_token(refresh.map(RefreshToken::new));
    response.set_scopes(Some(ScopeSet::parse_lenient(scope).0.iter().map(|s| openidconnect::Scope::new(s.as_str().into())).collect()));
    let body = match encrypted {
        None => Json(response).into_response(),
        Some(jwe) => {
            // The typed response holds a JWS; the JWE takes its place in the JSON.
            let mut v = serde_json::to_value(&response).map_err(OAuthError::server_error)?;
            v["id_token"] = serde_json::Value::String(jwe);
            Json(v).into_response()
        }
    };
    Ok(body.with_header("Cache-Control", "no-store").with_header("Pragma", "no-cache").into_response())
}
