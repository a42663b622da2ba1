//! The userinfo endpoint (OIDC Core §5.3, RFC 6750). Claims are limited to the
//! scopes the grant holds: `profile` and `iin` only with the citizen's consent.
use std::sync::Arc;

use chrono::Utc;
use openidconnect::{
    core::{CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm},
    AdditionalClaims, Audience, EndUserFamilyName, EndUserGivenName, EndUserName, IssuerUrl, LocalizedClaim, StandardClaims, SubjectIdentifier, UserInfoClaims,
    UserInfoJsonWebToken,
};
use poem::{
    handler,
    http::{Method, StatusCode},
    web::{Data, Json},
    Body, IntoResponse, Request, Response,
};
use serde::{Deserialize, Serialize};

use super::{
    dpop,
    errors::{ErrorCode, OAuthError, Params},
    jwe,
};
use crate::{
    crypto::token_hash,
    domain::{ClientId, Scope, ScopeSet},
    keys::Signer,
    store::{cabinet::Channel, tokens::TokenKind, Client},
    OidcState,
};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IinClaim {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iin: Option<String>,
}
impl AdditionalClaims for IinClaim {}

fn bearer_error(error: ErrorCode, description: &str) -> OAuthError {
    let mut e = OAuthError::with_status(StatusCode::UNAUTHORIZED, error, description);
    e.www_authenticate = Some(format!("Bearer error=\"{error}\", error_description=\"{description}\""));
    e
}

#[handler]
pub async fn userinfo(req: &Request, body: Body, Data(app): Data<&Arc<OidcState>>) -> Response {
    match inner(req, body, app).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// How the access token came: RFC 6750 (header or form) or RFC 9449 §7 (`DPoP` scheme).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Bearer,
    Dpop,
}

/// The token of an `Authorization` header and its scheme (case-insensitive, RFC 9110 §11.1).
fn authorization(req: &Request) -> Option<(Scheme, &str)> {
    let (scheme, token) = req.header("authorization")?.split_once(' ')?;
    match scheme.to_ascii_lowercase().as_str() {
        "bearer" => Some((Scheme::Bearer, token)),
        "dpop" => Some((Scheme::Dpop, token)),
        _ => None,
    }
}

async fn inner(req: &Request, body: Body, app: &OidcState) -> Result<Response, OAuthError> {
    let authz = authorization(req);
    let scheme = authz.map_or(Scheme::Bearer, |(s, _)| s);
    let header = authz.map(|(_, t)| t);
    let form_token = if req.method() == Method::POST && req.content_type().is_some_and(|c| c.starts_with("application/x-www-form-urlencoded")) {
        let raw = body.into_bytes_limit(16 * 1024).await.map_err(|_| OAuthError::invalid_request("the body is too large"))?;
        Params::parse(&raw).get("access_token").map(str::to_string)
    } else {
        None
    };
    let token = match (header, form_token) {
        (Some(_), Some(_)) => return Err(OAuthError::invalid_request("send the access token once")),
        (Some(h), None) => h.trim().to_string(),
        (None, Some(f)) => f,
        (None, None) => {
            let mut e = OAuthError::with_status(StatusCode::UNAUTHORIZED, ErrorCode::InvalidRequest, "an access token is required");
            e.www_authenticate = Some(format!("Bearer realm=\"tanu\", DPoP algs=\"{}\"", super::dpop::ALGS.join(" ")));
            return Err(e);
        }
    };
    let refuse = |description: &str| match scheme {
        Scheme::Bearer => bearer_error(ErrorCode::InvalidToken, description),
        Scheme::Dpop => OAuthError::dpop_resource_error(ErrorCode::InvalidToken, description, None),
    };
    let invalid = || refuse("the access token is invalid or expired");
    // RFC 9449 §7: the DPoP scheme needs a proof for this request and this token (`ath`).
    let proof = match scheme {
        Scheme::Dpop => Some(
            dpop::check(app, req, "/userinfo", Some(token.as_str()), dpop::At::Resource)
                .await?
                .ok_or_else(|| dpop::refusal(app, &dpop::DpopError::Required, dpop::At::Resource, Utc::now()))?,
        ),
        Scheme::Bearer => None,
    };
    let at = app.store.find_token_of(&token_hash(&token), TokenKind::Access).await.map_err(OAuthError::from)?;
    let at = at.ok_or_else(invalid)?;
    if at.expires_at < Utc::now() {
        return Err(invalid());
    }
    // §7.1: a bound token used as a bearer token is refused, with a DPoP challenge.
    dpop::resource_binding(app, at.dpop_jkt.as_deref(), proof.as_ref())?;
    if at.grant_revoked {
        return Err(invalid());
    }
    let client_id: ClientId = at.client_id.parse().map_err(OAuthError::server_error)?;
    let client = app.store.client(&client_id).await.map_err(OAuthError::from)?;
    let client = client.filter(|c| !c.disabled).ok_or_else(invalid)?;
    let citizen = app.store.citizen(&at.citizen_id).await.map_err(OAuthError::from)?.ok_or_else(invalid)?;

    // The token's own scope: narrower than the grant's after a narrowing refresh.
    let scopes = ScopeSet::parse_lenient(&at.scope);
    let mut standard = StandardClaims::<CoreGenderClaim>::new(SubjectIdentifier::new(app.subject(&client, &citizen.id)));
    if scopes.contains(Scope::Profile) {
        let one = |v: String| Some(LocalizedClaim::from(v));
        standard = standard
            .set_name(one(format!("{} {}", citizen.given_name, citizen.family_name)).map(|c| localized(c, EndUserName::new)))
            .set_given_name(one(citizen.given_name.clone()).map(|c| localized(c, EndUserGivenName::new)))
            .set_family_name(one(citizen.family_name.clone()).map(|c| localized(c, EndUserFamilyName::new)))
            .set_birthdate(citizen.birthdate.clone().map(openidconnect::EndUserBirthday::new));
    }
    let iin = scopes.contains(Scope::Iin).then(|| citizen.iin.clone());
    let claims = UserInfoClaims::new(standard, IinClaim { iin });
    // Formed before the release is recorded: nothing is recorded that is not sent.
    let body = answer(app, &client, claims.clone()).await?;
    app.store.record_release(at.parties(), Channel::Userinfo, claim_names(&claims), Utc::now()).await.map_err(OAuthError::from)?;
    Ok(dpop::with_fresh_nonce(app, proof.as_ref(), body.with_header("Cache-Control", "no-store").into_response()))
}

type UserInfoJwt = UserInfoJsonWebToken<IinClaim, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;

/// OIDC Core §5.3.2: JSON, or for a client registered for it a JWT signed
/// by Tanu with `iss` and `aud` (`application/jwt`), encrypted to the
/// client's key when it registered that too (a nested JWT, `jwe.rs`).
async fn answer(app: &OidcState, client: &Client, claims: UserInfoClaims<IinClaim, CoreGenderClaim>) -> Result<Response, OAuthError> {
    let Some(alg) = client.userinfo_alg else { return Ok(Json(claims).into_response()) };
    let claims = claims
        .set_issuer(Some(IssuerUrl::new(app.config.issuer.clone()).map_err(OAuthError::server_error)?))
        .set_audiences(Some(vec![Audience::new(client.id.to_string())]));
    let signer = app.keys.signer(alg).await.map_err(OAuthError::server_error)?;
    let jwt = match &*signer {
        Signer::Rs256(k) => UserInfoJwt::new(claims, k, signer.alg()),
        Signer::Es256(k) => UserInfoJwt::new(claims, k, signer.alg()),
    }
    .map_err(OAuthError::server_error)?;
    let mut compact = match serde_json::to_value(&jwt).map_err(OAuthError::server_error)? {
        serde_json::Value::String(s) => s,
        _ => return Err(OAuthError::server_error("a signed userinfo JWT is not a compact string")),
    };
    if let Some(e) = client.userinfo_encryption {
        compact = jwe::nest(client.jwks.as_ref(), e, &compact).map_err(OAuthError::server_error)?;
    }
    Ok(compact.with_content_type("application/jwt").into_response())
}

/// The names of the claims a response carries (for the release record).
fn claim_names<T: Serialize>(claims: &T) -> Vec<String> {
    match serde_json::to_value(claims) {
        Ok(serde_json::Value::Object(o)) => o.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, _)| k).collect(),
        _ => vec![],
    }
}

fn localized<T>(c: LocalizedClaim<String>, f: fn(String) -> T) -> LocalizedClaim<T> {
    let mut out = LocalizedClaim::new();
    for (lang, v) in c.iter() {
        out.insert(lang.cloned(), f(v.clone()));
    }
    out
}
