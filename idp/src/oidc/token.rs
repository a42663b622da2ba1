//! The token endpoint (RFC 6749 §3.2, §4.1.3, §6; OIDC Core §3.1.3; client
//! authentication in `client_auth.rs`). Codes are single-use and a replayed code revokes every
//! token issued from it; refresh tokens rotate on use and a reused one
//! revokes the whole grant.
use std::{borrow::Cow, sync::Arc};

use chrono::{Duration, Utc};
use openidconnect::{
    core::{CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreTokenType},
    AccessToken, AdditionalClaims, Audience, AuthenticationContextClass, AuthenticationMethodReference,
    EmptyExtraTokenFields, IdToken, IdTokenClaims, IdTokenFields, IssuerUrl, Nonce, RefreshToken, StandardClaims,
    StandardTokenResponse, SubjectIdentifier,
};
use oxide_auth::{code_grant::extensions::Pkce, primitives::grant::Value};
use poem::{handler, http::StatusCode, web::{Data, Json}, Body, IntoResponse, Request, Response};
use sea_orm::{
    ColumnTrait, DatabaseTransaction, EntityTrait, JoinType, QueryFilter, QuerySelect,
    Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};

use super::{
    dpop::{self, DpopError, Jkt},
    errors::{OAuthError, Params},
};
use crate::{
    app::App,
    crypto::{random_token, token_hash},
    domain::{Scope, ScopeSet},
    keys::Signer,
    store::{
        cabinet::{Channel, ID_TOKEN_CLAIMS},
        entities::{access_token, authorization_code, grant, refresh_token},
        Client,
    },
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

pub use super::client_auth::{authenticate_client, JWT_BEARER};

#[handler]
pub async fn token(req: &Request, body: Body, Data(app): Data<&Arc<App>>) -> Response {
    match token_inner(req, body, app).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn token_inner(req: &Request, body: Body, app: &App) -> Result<Response, OAuthError> {
    if let Err(wait) = app.token_limiter.check(super::client_ip(req)) {
        return Err(OAuthError::too_many("invalid_request", "too many requests", wait));
    }
    let content_type = req.content_type().unwrap_or("");
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(OAuthError::invalid_request("the body must be application/x-www-form-urlencoded"));
    }
    let raw = body.into_bytes_limit(16 * 1024).await.map_err(|_| OAuthError::invalid_request("the body is too large"))?;
    let params = Params::parse(&raw);
    params.check().map_err(|e| OAuthError::invalid_request(e.to_string()))?;
    let client = authenticate_client(app, req, &params).await?;
    // RFC 9449 §5: a proof is checked (and its jti spent) before the grant,
    // so that a refused proof or a nonce round trip does not burn a code.
    let proof = dpop::check(app, req, "/token", None, dpop::At::AuthorizationServer).await?;
    // FAPI 2.0 SP §5.3.2.1: a `fapi2` client gets only sender-constrained
    // tokens, and DPoP is how Tanu constrains them.
    if proof.is_none() && (client.dpop_bound_access_tokens || client.profile.requires_sender_constrained_tokens()) {
        return Err(dpop::refusal(app, &DpopError::Required, dpop::At::AuthorizationServer, Utc::now()));
    }
    let jkt = proof.as_ref().map(|p| &p.jkt);
    let result = match params.get("grant_type") {
        Some("authorization_code") => authorization_code_grant(app, &client, &params, jkt).await,
        Some("refresh_token") => refresh_token_grant(app, &client, &params, jkt).await,
        Some(_) => Err(OAuthError::new(StatusCode::BAD_REQUEST, "unsupported_grant_type", "supported: authorization_code, refresh_token")),
        None => Err(OAuthError::invalid_request("grant_type is required")),
    };
    crate::metrics::token_grant(params.get("grant_type"), result.as_ref().map_or_else(|e| e.error, |_| "issued"));
    result.map(|r| dpop::with_fresh_nonce(app, proof.as_ref(), r))
}

// ---------------------------------------------------------------- grants
//
// Each grant is one transaction: the code or refresh token is read with its
// grant in one query, consumed (a conditional update only one request can
// win), and the new tokens are inserted before the commit, so a token is
// never consumed without its successors stored, nor issued twice. A request
// refused after the consumption still commits it (a wrong PKCE verifier
// burns the code). The ID token is signed after the commit, from keys in
// memory, so no connection is held while signing.

fn db_err(e: sea_orm::DbErr) -> OAuthError {
    OAuthError::server_error(e)
}

/// Ends a grant's transaction with a refusal that keeps what it consumed.
async fn refuse(txn: DatabaseTransaction, e: OAuthError) -> Result<Response, OAuthError> {
    txn.commit().await.map_err(db_err)?;
    Err(e)
}

/// The join from a row's `grant_id` to its grant.
fn to_grant<E: EntityTrait>(from: E::Column) -> sea_orm::RelationDef {
    E::belongs_to(grant::Entity).from(from).to(grant::Column::Id).into()
}

/// RFC 9449 §5, §10: a code or refresh token bound to a key needs a proof
/// with that key. Checked before the code or token is consumed: a request
/// without the key cannot burn it.
fn check_binding(app: &App, bound: Option<&str>, proof: Option<&Jkt>) -> Result<(), OAuthError> {
    let refused = |e: DpopError| Err(dpop::refusal(app, &e, dpop::At::AuthorizationServer, Utc::now()));
    match (bound, proof) {
        (None, _) => Ok(()),
        (Some(_), None) => refused(DpopError::Required),
        (Some(b), Some(p)) if b == p.as_str() => Ok(()),
        (Some(_), Some(_)) => refused(DpopError::KeyMismatch),
    }
}

async fn authorization_code_grant(app: &App, client: &Client, params: &Params, jkt: Option<&Jkt>) -> Result<Response, OAuthError> {
    let code = params.get("code").ok_or_else(|| OAuthError::invalid_request("code is required"))?;
    let redirect_uri = params.get("redirect_uri").ok_or_else(|| OAuthError::invalid_request("redirect_uri is required"))?;
    let verifier = params.get("code_verifier").ok_or_else(|| OAuthError::invalid_request("code_verifier is required (PKCE)"))?;
    // RFC 7636 §4.1.
    if !(43..=128).contains(&verifier.len()) || !verifier.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)) {
        return Err(OAuthError::invalid_request("code_verifier is malformed"));
    }
    let txn = app.store.db.begin().await.map_err(db_err)?;
    let found = authorization_code::Entity::find_by_id(token_hash(code))
        .join(JoinType::LeftJoin, to_grant::<authorization_code::Entity>(authorization_code::Column::GrantId))
        .select_also(grant::Entity)
        .one(&txn)
        .await
        .map_err(db_err)?;
    let Some((row, g)) = found else {
        txn.rollback().await.map_err(db_err)?;
        return Err(OAuthError::invalid_grant("the authorization code is invalid"));
    };
    if row.client_id != client.id.as_str() {
        txn.rollback().await.map_err(db_err)?;
        return Err(OAuthError::invalid_grant("the authorization code was issued to another client"));
    }
    if let Err(e) = check_binding(app, row.dpop_jkt.as_deref(), jkt) {
        txn.rollback().await.map_err(db_err)?;
        return Err(e);
    }
    // Single use, atomically: only one request can flip used_at.
    let now = Utc::now();
    if !consume(&txn, authorization_code::Entity::update_many()
        .col_expr(authorization_code::Column::UsedAt, sea_orm::sea_query::Expr::value(now))
        .filter(authorization_code::Column::CodeHash.eq(row.code_hash.clone()))
        .filter(authorization_code::Column::UsedAt.is_null()))
    .await?
    {
        txn.rollback().await.map_err(db_err)?;
        // RFC 6749 §4.1.2: a replayed code revokes the tokens issued from it.
        app.store.revoke_grant(&row.grant_id, "authorization code replayed").await.map_err(OAuthError::server_error)?;
        return Err(OAuthError::invalid_grant("the authorization code has already been used"));
    }
    if row.expires_at < now {
        return refuse(txn, OAuthError::invalid_grant("the authorization code has expired")).await;
    }
    if row.redirect_uri != redirect_uri {
        return refuse(txn, OAuthError::invalid_grant("redirect_uri does not match the authorization request")).await;
    }
    let stored = Value::private(Some(row.pkce_challenge.clone()));
    if Pkce::required().verify(Some(stored), Some(Cow::Borrowed(verifier))).is_err() {
        return refuse(txn, OAuthError::invalid_grant("code_verifier does not match the code_challenge")).await;
    }
    let Some(g) = g.filter(|g| g.revoked_at.is_none()) else {
        return refuse(txn, OAuthError::invalid_grant("the grant has been revoked")).await;
    };
    let scope = g.scope.clone();
    // The refresh tokens of a DPoP code exchange are bound to its key too.
    let bound = Binding { access: jkt.map(Jkt::as_str), refresh: jkt.map(Jkt::as_str) };
    let issued = issue(app, txn, client, &g, &scope, row.nonce.as_deref(), bound, None).await?;
    app.store.record_release(&g, Channel::IdToken, ID_TOKEN_CLAIMS).await.map_err(OAuthError::server_error)?;
    Ok(issued)
}

async fn refresh_token_grant(app: &App, client: &Client, params: &Params, jkt: Option<&Jkt>) -> Result<Response, OAuthError> {
    let presented = params.get("refresh_token").ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
    let txn = app.store.db.begin().await.map_err(db_err)?;
    let found = refresh_token::Entity::find_by_id(token_hash(presented))
        .join(JoinType::InnerJoin, to_grant::<refresh_token::Entity>(refresh_token::Column::GrantId))
        .select_also(grant::Entity)
        .one(&txn)
        .await
        .map_err(db_err)?;
    let Some((row, Some(g))) = found else {
        txn.rollback().await.map_err(db_err)?;
        return Err(OAuthError::invalid_grant("the refresh token is invalid"));
    };
    if g.client_id != client.id.as_str() {
        txn.rollback().await.map_err(db_err)?;
        return Err(OAuthError::invalid_grant("the refresh token was issued to another client"));
    }
    if let Err(e) = check_binding(app, row.dpop_jkt.as_deref(), jkt) {
        txn.rollback().await.map_err(db_err)?;
        return Err(e);
    }
    let now = Utc::now();
    // A `fapi2` client's refresh token is not rotated (FAPI 2.0 SP
    // §5.3.2.1-9, `ClientProfile::rotates_refresh_tokens`): it is not
    // consumed, so a retry after a lost response succeeds.
    let rotate = client.profile.rotates_refresh_tokens();
    if !rotate && row.used_at.is_some() {
        txn.rollback().await.map_err(db_err)?;
        return Err(OAuthError::invalid_grant("the refresh token has already been used"));
    }
    if rotate && !consume(&txn, refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, sea_orm::sea_query::Expr::value(now))
        .filter(refresh_token::Column::TokenHash.eq(row.token_hash.clone()))
        .filter(refresh_token::Column::UsedAt.is_null()))
    .await?
    {
        txn.rollback().await.map_err(db_err)?;
        // A rotated token presented again means it leaked: end the whole grant.
        app.store.revoke_grant(&g.id, "refresh token reused").await.map_err(OAuthError::server_error)?;
        return Err(OAuthError::invalid_grant("the refresh token has already been used"));
    }
    if row.expires_at < now {
        return refuse(txn, OAuthError::invalid_grant("the refresh token has expired")).await;
    }
    if g.revoked_at.is_some() {
        return refuse(txn, OAuthError::invalid_grant("the grant has been revoked")).await;
    }
    // Only offline_access grants have refresh tokens (OIDC Core §11), and
    // none outlives the grant's absolute lifetime, however often it rotated.
    if !ScopeSet::parse_lenient(&g.scope).contains(Scope::OfflineAccess) {
        return refuse(txn, OAuthError::invalid_grant("the grant has no offline access")).await;
    }
    if grant_ends(app, &g) < now {
        return refuse(txn, OAuthError::invalid_grant("the grant has reached its absolute lifetime; sign in again")).await;
    }
    // RFC 6749 §6: a narrower scope is what the new access token gets.
    let scope = match params.get("scope") {
        Some(s) => {
            let asked = ScopeSet::parse_lenient(s);
            let had = ScopeSet::parse_lenient(&g.scope);
            if !asked.is_subset(&had) || asked.0.is_empty() {
                return refuse(txn, OAuthError::new(StatusCode::BAD_REQUEST, "invalid_scope", "scope exceeds the original grant")).await;
            }
            asked.to_string()
        }
        None => g.scope.clone(),
    };
    let kept = (!rotate).then_some(presented);
    // The new access token is bound to this request's proof; the new (or
    // kept) refresh token keeps the binding its predecessor had.
    let bound = Binding { access: jkt.map(Jkt::as_str), refresh: row.dpop_jkt.as_deref() };
    let issued = issue(app, txn, client, &g, &scope, None, bound, kept).await?;
    app.store.record_release(&g, Channel::Refresh, ID_TOKEN_CLAIMS).await.map_err(OAuthError::server_error)?;
    Ok(issued)
}

/// Runs the conditional update that consumes a code or refresh token:
/// true when this request consumed it.
async fn consume<E: EntityTrait>(txn: &DatabaseTransaction, update: sea_orm::UpdateMany<E>) -> Result<bool, OAuthError> {
    Ok(update.exec(txn).await.map_err(db_err)?.rows_affected == 1)
}

/// When an offline grant ends, whatever its refresh tokens say.
fn grant_ends(app: &App, g: &grant::Model) -> chrono::DateTime<Utc> {
    g.created_at + Duration::seconds(app.config.refresh_grant_lifetime.min(i64::MAX as u64 / 2_000) as i64)
}

/// The DPoP key thumbprints (RFC 9449 `cnf.jkt`) new tokens are bound to.
struct Binding<'a> {
    access: Option<&'a str>,
    refresh: Option<&'a str>,
}

/// Issues an access token for `scope` (the grant's, or narrower), an ID
/// token, and for an `offline_access` grant a rotated refresh token — or,
/// when `kept` is the refresh token just presented (not rotated), that one again.
/// The tokens are inserted in the grant's transaction `txn`, which this commits.
#[allow(clippy::too_many_arguments)]
async fn issue(
    app: &App,
    txn: DatabaseTransaction,
    client: &Client,
    g: &grant::Model,
    scope: &str,
    nonce: Option<&str>,
    bound: Binding<'_>,
    kept: Option<&str>,
) -> Result<Response, OAuthError> {
    let now = Utc::now();
    let cfg = &app.config;
    let access = random_token(32);
    // Inserted without reading the row back (SQLite has no RETURNING here).
    access_token::Entity::insert(access_token::ActiveModel {
        token_hash: Set(token_hash(&access)),
        grant_id: Set(g.id.clone()),
        expires_at: Set(now + Duration::seconds(cfg.access_token_ttl as i64)),
        scope: Set(Some(scope.to_string())),
        dpop_jkt: Set(bound.access.map(str::to_string)),
    })
    .exec_without_returning(&txn)
    .await
    .map_err(db_err)?;
    let refresh = if let Some(kept) = kept {
        Some(kept.to_string())
    } else if ScopeSet::parse_lenient(&g.scope).contains(Scope::OfflineAccess) {
        let refresh = random_token(32);
        refresh_token::Entity::insert(refresh_token::ActiveModel {
            token_hash: Set(token_hash(&refresh)),
            grant_id: Set(g.id.clone()),
            expires_at: Set((now + Duration::seconds(cfg.refresh_token_ttl as i64)).min(grant_ends(app, g))),
            used_at: Set(None),
            dpop_jkt: Set(bound.refresh.map(str::to_string)),
        })
        .exec_without_returning(&txn)
        .await
        .map_err(db_err)?;
        Some(refresh)
    } else {
        None
    };
    txn.commit().await.map_err(db_err)?;

    let amr: Vec<String> = serde_json::from_str(&g.amr).unwrap_or_default();
    let claims = IdTokenClaims::new(
        IssuerUrl::new(cfg.issuer.clone()).map_err(OAuthError::server_error)?,
        vec![Audience::new(client.id.to_string())],
        now + Duration::seconds(cfg.id_token_ttl as i64),
        now,
        StandardClaims::new(SubjectIdentifier::new(app.subject(client, &g.citizen_id))),
        TanuClaims { sid: Some(g.session_id.clone()) },
    )
    .set_nonce(nonce.map(|n| Nonce::new(n.to_string())))
    .set_auth_time(Some(g.auth_time))
    .set_auth_context_ref(Some(AuthenticationContextClass::new(g.acr.clone())))
    .set_auth_method_refs(Some(amr.into_iter().map(AuthenticationMethodReference::new).collect()));
    let signer = app.keys.signer(client.id_token_alg).await.map_err(OAuthError::server_error)?;
    let at = AccessToken::new(access.clone());
    let id_token = match &*signer {
        Signer::Rs256(k) => TanuIdToken::new(claims, k, signer.alg(), Some(&at), None),
        Signer::Es256(k) => TanuIdToken::new(claims, k, signer.alg(), Some(&at), None),
    }
    .map_err(OAuthError::server_error)?;

    // RFC 9449 §5: a bound access token's type is DPoP.
    let token_type = if bound.access.is_some() { CoreTokenType::Extension("DPoP".into()) } else { CoreTokenType::Bearer };
    let mut response = TanuTokenResponse::new(at, token_type, IdTokenFields::new(Some(id_token), EmptyExtraTokenFields {}));
    response.set_expires_in(Some(&std::time::Duration::from_secs(cfg.access_token_ttl)));
    response.set_refresh_token(refresh.map(RefreshToken::new));
    response.set_scopes(Some(ScopeSet::parse_lenient(scope).0.iter().map(|s| openidconnect::Scope::new(s.as_str().into())).collect()));
    Ok(Json(response).with_header("Cache-Control", "no-store").with_header("Pragma", "no-cache").into_response())
}
