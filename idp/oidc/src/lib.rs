//! Tanu's OpenID Connect provider: discovery, JWKS and the endpoints (one
//! module each, one file per grant under `token/`), the interaction that
//! hands a sign-in to an authentication method and takes it back (consent,
//! browser sessions), the relying parties' notifications, the signing keys,
//! the rate limits and the attempt journal. It knows no authentication
//! method: a method implements [`interaction::Authenticator`] and calls
//! [`interaction::complete_login`] or [`interaction::deny`]. Its state is
//! [`OidcState`]; its settings [`config::ProviderConfig`], projected by the
//! composition root (`tanu-idp`) from the one configuration.
//!
//! Protocol types come from `openidconnect`; the glue to poem is ours (no
//! maintained crate offers an OpenID provider layer for poem 3).
pub mod authorize;
pub mod client_auth;
pub mod config;
pub mod dpop;
pub mod errors;
pub mod interaction;
pub mod introspect;
pub mod jwe;
pub mod keys;
pub mod logout;
pub mod metrics;
pub mod notify;
pub mod pages;
pub mod par;
pub mod revoke;
pub mod state;
pub mod token;
pub mod userinfo;

pub use state::OidcState;

// The shared crates, under the paths the modules use.
pub use tanu_core::{crypto, domain};
pub use tanu_store as store;
pub use tanu_store::audit;
pub use tanu_ui::web::{client_ip, ClientAddress};
pub use tanu_ui::{i18n, ratelimit, web};

/// The tracing target of the spans exported as traces (`tanu-idp`'s `telemetry.rs`).
pub const TRACE_TARGET: &str = "tanu_trace";

use std::sync::Arc;

use openidconnect::{
    core::{
        CoreClaimName, CoreClientAuthMethod, CoreGrantType, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm,
        CoreProviderMetadata, CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
    },
    AdditionalProviderMetadata, AuthUrl, AuthenticationContextClass, IssuerUrl, JsonWebKeySetUrl, ProviderMetadata, ResponseTypes, Scope as OidcScope,
    TokenUrl, UserInfoUrl,
};
use poem::{handler, web::Data, IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::domain::Scope;

/// Metadata members openidconnect has no field for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TanuProviderMetadata {
    pub end_session_endpoint: String,
    pub code_challenge_methods_supported: Vec<String>,
    /// RFC 9207.
    pub authorization_response_iss_parameter_supported: bool,
    pub token_endpoint_auth_signing_alg_values_supported: Vec<String>,
    pub ui_locales_supported: Vec<String>,
    /// RFC 7009 (RFC 8414 §2).
    pub revocation_endpoint: String,
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    pub revocation_endpoint_auth_signing_alg_values_supported: Vec<String>,
    /// RFC 7662 (RFC 8414 §2).
    pub introspection_endpoint: String,
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    pub introspection_endpoint_auth_signing_alg_values_supported: Vec<String>,
    /// OpenID Connect Back-Channel Logout 1.0 §2.1.
    pub backchannel_logout_supported: bool,
    pub backchannel_logout_session_supported: bool,
    /// RFC 9126 §5.
    pub pushed_authorization_request_endpoint: String,
    pub require_pushed_authorization_requests: bool,
    /// RFC 9449 §5.1.
    pub dpop_signing_alg_values_supported: Vec<String>,
}
impl AdditionalProviderMetadata for TanuProviderMetadata {}

pub type TanuProvider = ProviderMetadata<
    TanuProviderMetadata,
    openidconnect::core::CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    openidconnect::core::CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    openidconnect::core::CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

// Keep the alias honest: the core type is the same shape with no additions.
const _: fn(CoreProviderMetadata) = |_| {};

/// Client authentication methods, the same at `/token`, `/revoke` and `/introspect`.
fn auth_methods() -> Vec<String> {
    ["client_secret_basic", "client_secret_post", "private_key_jwt"].map(String::from).to_vec()
}

/// Algorithms of `private_key_jwt` assertions (`client_auth::verify_assertion`).
fn assertion_algs() -> Vec<String> {
    ["RS256", "ES256", "PS256"].map(String::from).to_vec()
}

/// JWE key management algorithms (`domain::KeyEncryptionAlg`).
fn jwe_algs() -> Vec<CoreJweKeyManagementAlgorithm> {
    vec![CoreJweKeyManagementAlgorithm::RsaOaepSha256, CoreJweKeyManagementAlgorithm::EcdhEs]
}

/// JWE content encryption (`domain::ContentEncryption`).
fn jwe_encs() -> Vec<CoreJweContentEncryptionAlgorithm> {
    vec![CoreJweContentEncryptionAlgorithm::Aes256Gcm, CoreJweContentEncryptionAlgorithm::Aes128CbcHmacSha256]
}

/// The provider's metadata (RFC 8414, OIDC Discovery); an error only for an
/// issuer that is no URL (the configuration refuses one at load).
pub fn metadata(c: &config::ProviderConfig) -> Result<TanuProvider, url::ParseError> {
    let url = |p: &str| c.endpoint(p);
    Ok(ProviderMetadata::new(
        IssuerUrl::new(c.issuer.clone())?,
        AuthUrl::new(url("/authorize"))?,
        JsonWebKeySetUrl::new(url("/jwks"))?,
        vec![ResponseTypes::new(vec![CoreResponseType::Code])],
        vec![CoreSubjectIdentifierType::Pairwise, CoreSubjectIdentifierType::Public],
        vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, CoreJwsSigningAlgorithm::EcdsaP256Sha256],
        TanuProviderMetadata {
            end_session_endpoint: url("/logout"),
            code_challenge_methods_supported: vec!["S256".into()],
            authorization_response_iss_parameter_supported: true,
            token_endpoint_auth_signing_alg_values_supported: assertion_algs(),
            ui_locales_supported: vec!["kk".into(), "ru".into(), "en".into()],
            revocation_endpoint: url("/revoke"),
            revocation_endpoint_auth_methods_supported: auth_methods(),
            revocation_endpoint_auth_signing_alg_values_supported: assertion_algs(),
            introspection_endpoint: url("/introspect"),
            introspection_endpoint_auth_methods_supported: auth_methods(),
            introspection_endpoint_auth_signing_alg_values_supported: assertion_algs(),
            backchannel_logout_supported: true,
            backchannel_logout_session_supported: true,
            pushed_authorization_request_endpoint: url("/par"),
            // Provider-wide; clients may also be registered to require it.
            require_pushed_authorization_requests: c.require_pushed_authorization_requests,
            dpop_signing_alg_values_supported: dpop::ALGS.map(String::from).to_vec(),
        },
    )
    .set_token_endpoint(Some(TokenUrl::new(url("/token"))?))
    .set_userinfo_endpoint(Some(UserInfoUrl::new(url("/userinfo"))?))
    // Responses encrypted per client (`jwe.rs`): nested JWTs, the same
    // algorithms for ID tokens and userinfo; userinfo signed on request.
    .set_id_token_encryption_alg_values_supported(Some(jwe_algs()))
    .set_id_token_encryption_enc_values_supported(Some(jwe_encs()))
    .set_userinfo_signing_alg_values_supported(Some(vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, CoreJwsSigningAlgorithm::EcdsaP256Sha256]))
    .set_userinfo_encryption_alg_values_supported(Some(jwe_algs()))
    .set_userinfo_encryption_enc_values_supported(Some(jwe_encs()))
    .set_response_modes_supported(Some(vec![CoreResponseMode::Query]))
    .set_grant_types_supported(Some(vec![CoreGrantType::AuthorizationCode, CoreGrantType::RefreshToken]))
    .set_token_endpoint_auth_methods_supported(Some(vec![
        CoreClientAuthMethod::ClientSecretBasic,
        CoreClientAuthMethod::ClientSecretPost,
        CoreClientAuthMethod::PrivateKeyJwt,
    ]))
    .set_scopes_supported(Some(Scope::ALL.iter().map(|s| OidcScope::new(s.as_str().into())).collect()))
    .set_claims_supported(Some(
        ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "at_hash", "sid", "name", "given_name", "family_name", "birthdate", "iin"]
            .into_iter()
            .map(|c| CoreClaimName::new(c.into()))
            .collect(),
    ))
    .set_acr_values_supported(Some(c.acr_values_supported.iter().cloned().map(AuthenticationContextClass::new).collect::<Vec<_>>()).filter(|v| !v.is_empty()))
    .set_request_parameter_supported(Some(false))
    .set_request_uri_parameter_supported(Some(false))
    .set_claims_parameter_supported(Some(false)))
}

/// Served from memory: serialised once, when the state is built.
#[handler]
pub async fn discovery(Data(app): Data<&Arc<OidcState>>) -> Response {
    json_bytes(app.discovery_json.clone())
}

/// Served from memory (`KeyRing::jwks_json`): no database read per request.
#[handler]
pub async fn jwks(Data(app): Data<&Arc<OidcState>>) -> Response {
    match app.keys.jwks_json().await {
        Ok(body) => json_bytes(body),
        Err(e) => errors::OAuthError::server_error(e).into_response(),
    }
}

/// Short cache: rotation relies on relying parties refetching within the publish lead.
fn json_bytes(body: bytes::Bytes) -> Response {
    Response::builder().content_type("application/json; charset=utf-8").header("Cache-Control", "public, max-age=300").body(body)
}
