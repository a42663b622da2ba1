//! Client authentication at the endpoints a relying party's backend calls
//! (`/token`, `/revoke`, `/introspect`): RFC 6749 §2.3.1 secrets (Basic or
//! form) and RFC 7523 `private_key_jwt` assertions, each client with its
//! **registered** method only. One module per method:
//! [`client_secret_basic`], `client_secret_post` (the form's `client_secret`),
//! both checked by [`client_secret`], and [`private_key_jwt`].
use poem::{http::StatusCode, Request};
use tanu_parse::assertion;

use super::errors::{OAuthError, Params};
use crate::{
    domain::{ClientId, TokenAuthMethod},
    store::Client,
    OidcState,
};

mod client_secret;
mod client_secret_basic;
mod private_key_jwt;

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The largest form body a backend endpoint reads (the edge's budget is
/// larger and applies first).
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// A client's authenticated form request at `/revoke` or `/introspect`: the
/// per-address budget `/token` has, a form body of at most
/// [`MAX_FORM_BYTES`] (413 past it), no repeated parameter, and the client
/// authenticated with its registered method.
pub async fn client_form(app: &OidcState, req: &Request, body: poem::Body) -> Result<(Client, Params), poem::Response> {
    use poem::IntoResponse;
    if let Err(wait) = app.token_limiter.check(super::client_ip(req)) {
        return Err(OAuthError::too_many(crate::errors::ErrorCode::InvalidRequest, "too many requests", wait).into_response());
    }
    let form = async {
        if !req.content_type().unwrap_or("").starts_with("application/x-www-form-urlencoded") {
            return Err(OAuthError::invalid_request("the body must be application/x-www-form-urlencoded"));
        }
        let raw = body.into_bytes_limit(MAX_FORM_BYTES).await.map_err(|_| {
            OAuthError::with_status(
                StatusCode::PAYLOAD_TOO_LARGE,
                crate::errors::ErrorCode::InvalidRequest,
                format!("the body is larger than {MAX_FORM_BYTES} bytes"),
            )
        })?;
        let params = Params::parse_checked(&raw).map_err(|e| OAuthError::invalid_request(e.to_string()))?;
        let client = authenticate_client(app, req, &params).await?;
        Ok((client, params))
    };
    form.await.map_err(IntoResponse::into_response)
}

/// [`client_form`] for the endpoints about one token (`/revoke`,
/// `/introspect`): also the `token` parameter, required, with the
/// `token_type_hint` the caller reads from the parameters.
pub async fn token_form(app: &OidcState, req: &Request, body: poem::Body) -> Result<(Client, Params, String), poem::Response> {
    use poem::IntoResponse;
    let (client, params) = client_form(app, req, body).await?;
    let token = params.get("token").ok_or_else(|| OAuthError::invalid_request("token is required").into_response())?.to_owned();
    Ok((client, params, token))
}

pub async fn authenticate_client(app: &OidcState, req: &Request, params: &Params) -> Result<Client, OAuthError> {
    let basic = client_secret_basic::credentials(req);
    let basic_used = basic.is_some();
    let post_secret = params.get("client_secret");
    let assertion = params.get("client_assertion");
    let presented = [basic.is_some(), post_secret.is_some(), assertion.is_some()].iter().filter(|x| **x).count();
    if presented > 1 {
        return Err(OAuthError::invalid_request("use exactly one client authentication method"));
    }
    let bad = |d: &str| OAuthError::invalid_client(d, basic_used);

    let (client_id, method) = if let Some(b) = &basic {
        let (id, _) = b.as_ref().map_err(|_| bad("malformed Basic credentials"))?;
        if params.get("client_id").is_some_and(|p| p != id) {
            return Err(OAuthError::invalid_request("client_id does not match the credentials"));
        }
        (id.clone(), TokenAuthMethod::ClientSecretBasic)
    } else if post_secret.is_some() {
        (params.get("client_id").ok_or_else(|| bad("client_id is required"))?.to_string(), TokenAuthMethod::ClientSecretPost)
    } else if let Some(a) = assertion {
        if params.get("client_assertion_type") != Some(JWT_BEARER) {
            return Err(OAuthError::invalid_request("client_assertion_type must be jwt-bearer"));
        }
        // The signature is checked below, against the key of the client named here.
        let sub = assertion::subject(a).map_err(|e| bad(&e.to_string()))?;
        if params.get("client_id").is_some_and(|p| p != sub) {
            return Err(OAuthError::invalid_request("client_id does not match the client assertion"));
        }
        (sub, TokenAuthMethod::PrivateKeyJwt)
    } else {
        return Err(bad("client authentication is required"));
    };

    let id: ClientId = client_id.parse().map_err(|_| bad("unknown client"))?;
    let client = app.store.client(&id).await.map_err(OAuthError::from)?;
    let client = client.filter(|c| !c.disabled).ok_or_else(|| bad("unknown client"))?;
    if client.auth_method != method {
        return Err(bad("this client must authenticate with its registered method"));
    }
    // Registration already holds a `fapi2` client to private_key_jwt; asked
    // again here so that no stored row can weaken it (FAPI 2.0 SP §5.3.2.1-6).
    if !client.profile.allows_auth_method(method) {
        return Err(bad("this client's profile (fapi2) allows only private_key_jwt"));
    }
    let verified = match method {
        TokenAuthMethod::ClientSecretBasic | TokenAuthMethod::ClientSecretPost => {
            let secret = match &basic {
                Some(Ok((_, s))) => s.clone(),
                _ => post_secret.unwrap_or_default().to_string(),
            };
            client_secret::verify(app, &client, &secret, basic_used).await
        }
        TokenAuthMethod::PrivateKeyJwt => private_key_jwt::verify(app, &client, assertion.unwrap_or_default()).await,
    };
    verified.map_err(|e| failed(app, &client.id, e))?;
    Ok(client)
}

/// A registered client's failed authentication, counted against that
/// client's own budget (`client_auth_failures_per_minute`) whatever the
/// address it came from: past it, failures are answered 429 with
/// `Retry-After`. Successes never count and are never refused, so nobody can
/// lock a relying party out by failing in its name.
fn failed(app: &OidcState, client: &ClientId, e: OAuthError) -> OAuthError {
    match app.client_failures.check_key(client) {
        Ok(()) => e,
        Err(wait) => {
            crate::metrics::client_auth_throttled();
            OAuthError::too_many(crate::errors::ErrorCode::InvalidClient, "too many failed authentications of this client", wait)
        }
    }
}
