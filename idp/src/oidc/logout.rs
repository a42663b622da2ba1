//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the session
//! ends; the browser returns to the client only to a registered
//! `post_logout_redirect_uri`, identified by `id_token_hint` or `client_id`.
use std::sync::Arc;

use poem::{handler, http::{Method, StatusCode}, web::{cookie::CookieJar, Data}, Body, Request, Response};
use serde::Deserialize;

use super::errors::Params;
use crate::{
    app::App,
    domain::ClientId,
    i18n::{Lang, Msg},
    web::{error_page, html, SignedOutPage},
};

#[derive(Deserialize)]
struct HintClaims {
    aud: serde_json::Value,
    sid: Option<String>,
}

/// Verifies a hint we signed. Its expiry is ignored, as the spec allows:
/// an expired ID token still identifies the session.
async fn verify_hint(app: &App, hint: &str) -> Option<HintClaims> {
    let header = jsonwebtoken::decode_header(hint).ok()?;
    let set = app.keys.jwks().await.ok()?;
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(serde_json::to_value(set).ok()?).ok()?;
    let key = set.keys.iter().find(|k| k.common.key_id == header.kid)?;
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.validate_exp = false;
    v.validate_aud = false;
    v.set_required_spec_claims::<&str>(&[]);
    v.set_issuer(&[&app.config.issuer]);
    let key = jsonwebtoken::DecodingKey::from_jwk(key).ok()?;
    jsonwebtoken::decode::<HintClaims>(hint, &key, &v).ok().map(|d| d.claims)
}

#[handler]
pub async fn logout(req: &Request, body: Body, cookies: &CookieJar, Data(app): Data<&Arc<App>>) -> Response {
    let raw = if req.method() == Method::POST {
        match body.into_bytes_limit(16 * 1024).await {
            Ok(b) => b.to_vec(),
            Err(_) => return error_page(StatusCode::PAYLOAD_TOO_LARGE, Lang::from_request(req), Msg::error_bad_request, None),
        }
    } else {
        req.uri().query().unwrap_or("").as_bytes().to_vec()
    };
    let params = Params::parse(&raw);
    let lang = Lang::negotiate(params.get("ui_locales"), req.header("accept-language"));
    let bad = |detail: &str| error_page(StatusCode::BAD_REQUEST, lang, Msg::error_bad_request, Some(detail.into()));
    if params.check().is_err() {
        return bad("parameters");
    }
    let hint = match params.get("id_token_hint") {
        Some(h) => match verify_hint(app, h).await {
            Some(c) => Some(c),
            None => return bad("id_token_hint"),
        },
        None => None,
    };
    let hint_aud = hint.as_ref().and_then(|h| match &h.aud {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(a) if a.len() == 1 => a[0].as_str().map(str::to_string),
        _ => None,
    });
    let client_id = match (hint_aud, params.get("client_id")) {
        (Some(a), Some(c)) if a != c => return bad("client_id does not match id_token_hint"),
        (Some(a), _) => Some(a),
        (None, c) => c.map(str::to_string),
    };
    let target = match params.get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            let Some(Ok(id)) = client_id.as_deref().map(str::parse::<ClientId>) else {
                return bad("post_logout_redirect_uri needs id_token_hint or client_id");
            };
            match app.store.client(&id).await {
                Ok(Some(c)) if c.post_logout_uri(uri).is_some() => Some(uri.to_string()),
                Ok(_) => return error_page(StatusCode::BAD_REQUEST, lang, Msg::error_redirect_uri, None),
                Err(e) => {
                    tracing::error!(error = %e, "logout");
                    return error_page(StatusCode::INTERNAL_SERVER_ERROR, lang, Msg::error_title, None);
                }
            }
        }
    };
    if let Err(e) = crate::interaction::end_session(app, cookies, hint.as_ref().and_then(|h| h.sid.as_deref())).await {
        tracing::error!(error = %e, "logout");
        return error_page(StatusCode::INTERNAL_SERVER_ERROR, lang, Msg::error_title, None);
    }
    match target {
        Some(uri) => {
            let mut location = uri.clone();
            if let Some(state) = params.get("state") {
                let sep = if uri.contains('?') { '&' } else { '?' };
                location = format!("{location}{sep}{}", url::form_urlencoded::Serializer::new(String::new()).append_pair("state", state).finish());
            }
            Response::builder().status(StatusCode::SEE_OTHER).header("Location", location).finish()
        }
        None => html(StatusCode::OK, SignedOutPage { lang }),
    }
}
