//! Token introspection (RFC 7662). The client authenticates as at `/token`
//! and sees only its own tokens: another client's token, an unknown,
//! expired, rotated or revoked one are all `{"active":false}` and nothing
//! more (§2.2), so the answer tells nobody whether a token exists.
use std::sync::Arc;

use chrono::Utc;
use poem::{
    handler,
    web::{Data, Json},
    Body, IntoResponse, Request, Response,
};
use serde::Serialize;

use super::{client_auth::token_form, errors::OAuthError};
use crate::{crypto::token_hash, store::tokens::TokenKind, OidcState};

/// RFC 7662 §2.2. Only `active` when the token is not active.
#[derive(Debug, Serialize, Default)]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `Bearer` for access tokens (`DPoP` when bound, RFC 9449 §6.2); absent
    /// for refresh tokens (RFC 6749 §7.1 defines no type for them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// The subject as this client knows it (pairwise, like its ID tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// RFC 9449 §6.2: the DPoP key the token is bound to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

/// RFC 7800 `cnf` with RFC 9449's `jkt`.
#[derive(Debug, Serialize)]
pub struct Confirmation {
    pub jkt: String,
}

#[handler]
pub async fn introspect(req: &Request, body: Body, Data(app): Data<&Arc<OidcState>>) -> Response {
    let (client, params, token) = match token_form(app, req, body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let hint = TokenKind::from_hint(params.get("token_type_hint"));
    let found = match app.store.find_token(&token_hash(&token), hint).await {
        Ok(f) => f,
        Err(e) => return OAuthError::from(e).into_response(),
    };
    let answer = match found {
        Some(t) if t.client_id == client.id.as_str() && t.is_live(Utc::now()) => Introspection {
            active: true,
            scope: Some(t.scope),
            client_id: Some(client.id.to_string()),
            token_type: (t.kind == TokenKind::Access).then_some(if t.dpop_jkt.is_some() { "DPoP" } else { "Bearer" }),
            exp: Some(t.expires_at.timestamp()),
            sub: Some(app.subject(&client, &t.citizen_id)),
            aud: Some(client.id.to_string()),
            iss: Some(app.config.issuer.clone()),
            cnf: t.dpop_jkt.map(|jkt| Confirmation { jkt }),
        },
        _ => Introspection::default(),
    };
    Json(answer).with_header("Cache-Control", "no-store").with_header("Pragma", "no-cache").into_response()
}
