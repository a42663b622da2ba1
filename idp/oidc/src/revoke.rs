//! Token revocation (RFC 7009). The client authenticates as at `/token`;
//! it can revoke only tokens issued to itself. Revoking a refresh token ends
//! its grant and every access token from it (§2.1); revoking an access token
//! ends that token. An unknown token, or another client's, gets the same
//! 200 as a revoked one and changes nothing (§2.2), so the endpoint tells
//! nobody whether a token exists.
use std::sync::Arc;

use poem::{handler, http::StatusCode, web::Data, Body, IntoResponse, Request, Response};

use super::{client_auth::token_form, errors::OAuthError};
use crate::{crypto::token_hash, store::tokens::TokenKind, OidcState};

#[handler]
pub async fn revoke(req: &Request, body: Body, Data(app): Data<&Arc<OidcState>>) -> Response {
    let (client, params, token) = match token_form(app, req, body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    // The hint orders the search; it is never believed (a wrong hint still finds the token).
    let hint = TokenKind::from_hint(params.get("token_type_hint"));
    let result = async {
        let Some(found) = app.store.find_token(&token_hash(&token), hint).await? else { return Ok(()) };
        if found.client_id != client.id.as_str() {
            tracing::warn!(client = %client.id, "revocation of another client's token ignored");
            return Ok(());
        }
        match found.kind {
            TokenKind::Refresh => app.store.revoke_grant(&found.grant_id, "refresh token revoked by the client").await,
            TokenKind::Access => app.store.revoke_access_token(&found.token_hash).await,
        }
    };
    match result.await {
        Ok(()) => Response::builder().status(StatusCode::OK).header("Cache-Control", "no-store").finish(),
        Err(e) => OAuthError::from(e).into_response(),
    }
}
