//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the browser
//! returns to the client only to a registered `post_logout_redirect_uri`,
//! identified by `id_token_hint` or `client_id`. The session ends at once
//! only when `id_token_hint` names *this* browser's session (§2); otherwise
//! the citizen is asked to confirm on a CSRF-protected page (§6), so that a
//! link or a hint alone cannot sign anyone out. Nothing here ends another
//! browser's session. The clients of an ended session that registered a
//! `backchannel_logout_uri` get a logout token (`notify::session_ended`).
use std::sync::Arc;

use poem::{
    handler,
    http::{Method, StatusCode},
    web::{cookie::CookieJar, Data},
    Body, Request, Response,
};
use serde::Deserialize;

use super::errors::Params;
use crate::{
    domain::{ClientId, Environment},
    i18n::{Lang, Msg},
    pages::{LogoutConfirmPage, SignedOutPage},
    store::{sessions::BrowserSession, Client},
    web::{error_page, html},
    OidcState,
};

#[derive(Deserialize)]
struct HintClaims {
    aud: serde_json::Value,
    sid: Option<String>,
}

/// Verifies a hint we signed. Its expiry is ignored, as the spec allows:
/// an expired ID token still identifies the session.
async fn verify_hint(app: &OidcState, hint: &str) -> Option<HintClaims> {
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

fn server_error(lang: Lang, e: crate::store::StoreError) -> Response {
    crate::web::store_failure_page(lang, &e, "logout")
}

/// The parameters a confirmation carries on to its POST.
const CARRIED: [&str; 5] = ["id_token_hint", "client_id", "post_logout_redirect_uri", "state", "ui_locales"];

#[handler]
pub async fn logout(req: &Request, body: Body, cookies: &CookieJar, Data(app): Data<&Arc<OidcState>>) -> Response {
    let raw = if req.method() == Method::POST {
        match body.into_bytes_limit(16 * 1024).await {
            Ok(b) => b.to_vec(),
            Err(_) => return error_page(StatusCode::PAYLOAD_TOO_LARGE, crate::i18n::lang_of(req), Msg::error_too_large, None),
        }
    } else {
        req.uri().query().unwrap_or("").as_bytes().to_vec()
    };
    let params = Params::parse(&raw);
    let lang = Lang::negotiate(params.get("ui_locales"), req.header("accept-language"));
    match sign_out(app, req, cookies, &params, lang).await {
        Ok(r) | Err(r) => r,
    }
}

/// Who asks to sign out, where the browser goes after, which session ends;
/// a refusal is the page that says why.
async fn sign_out(app: &OidcState, req: &Request, cookies: &CookieJar, params: &Params, lang: Lang) -> Result<Response, Response> {
    let bad = |detail: &str| error_page(StatusCode::BAD_REQUEST, lang, Msg::error_bad_request, Some(detail.into()));
    if params.check().is_err() {
        return Err(bad("parameters"));
    }
    let hint = match params.get("id_token_hint") {
        Some(h) => Some(verify_hint(app, h).await.ok_or_else(|| bad("id_token_hint"))?),
        None => None,
    };
    let client = asking_client(app, params, hint.as_ref(), lang).await?;
    let target = match params.get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => match &client {
            Some(c) if c.post_logout_uri(uri).is_some() => Some(uri.to_string()),
            Some(_) => return Err(error_page(StatusCode::BAD_REQUEST, lang, Msg::error_redirect_uri, None)),
            None => return Err(bad("post_logout_redirect_uri needs id_token_hint or client_id")),
        },
    };
    if let Some(session) = browser_session(app, cookies, client.as_ref(), lang).await? {
        let hinted_here = hint.as_ref().and_then(|h| h.sid.as_deref()).is_some_and(|sid| sid == session.id);
        if !hinted_here {
            if let Some(instead) = unconfirmed(app, req, params, &session, client.as_ref(), target.as_deref(), lang) {
                return Err(instead);
            }
        }
        crate::interaction::end_session(app, cookies, session.environment).await.map_err(|e| server_error(lang, e))?;
        // Back-Channel Logout 1.0: the session's clients are told. A failure
        // to queue is logged; the citizen is signed out all the same.
        if let Err(e) = crate::notify::session_ended(app, &session.id, &session.citizen_id).await {
            tracing::error!(error = %e, "back-channel logout not queued");
        }
    }
    Ok(match target {
        Some(uri) => {
            let mut location = uri.clone();
            if let Some(state) = params.get("state") {
                let sep = if uri.contains('?') { '&' } else { '?' };
                location = format!("{location}{sep}{}", url::form_urlencoded::Serializer::new(String::new()).append_pair("state", state).finish());
            }
            crate::web::see_other(location)
        }
        None => html(StatusCode::OK, SignedOutPage { lang, message: Msg::signed_out }),
    })
}

/// The relying party asking: the hint's audience, or `client_id` (both: they must agree).
async fn asking_client(app: &OidcState, params: &Params, hint: Option<&HintClaims>, lang: Lang) -> Result<Option<Client>, Response> {
    let hint_aud = hint.and_then(|h| match &h.aud {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(a) if a.len() == 1 => a[0].as_str().map(str::to_string),
        _ => None,
    });
    let client_id = match (hint_aud, params.get("client_id")) {
        (Some(a), Some(c)) if a != c => {
            return Err(error_page(StatusCode::BAD_REQUEST, lang, Msg::error_bad_request, Some("client_id does not match id_token_hint".into())))
        }
        (Some(a), _) => Some(a),
        (None, c) => c.map(str::to_string),
    };
    match client_id.as_deref().map(str::parse::<ClientId>) {
        Some(Ok(id)) => app.store.client(&id).await.map_err(|e| server_error(lang, e)),
        _ => Ok(None),
    }
}

/// The session of the client's environment; without a client, the
/// browser's production session, else its sandbox one.
async fn browser_session(app: &OidcState, cookies: &CookieJar, client: Option<&Client>, lang: Lang) -> Result<Option<BrowserSession>, Response> {
    let environments: &[Environment] = match client {
        Some(c) => std::slice::from_ref(&c.environment),
        None => &[Environment::Production, Environment::Sandbox],
    };
    for &environment in environments {
        if let Some(s) = crate::interaction::current_session(app, cookies, environment).await.map_err(|e| server_error(lang, e))? {
            return Ok(Some(s));
        }
    }
    Ok(None)
}

/// A logout the relying party did not prove to be of this session is
/// confirmed by the citizen first (a CSRF-bound form); `Some` is the page
/// to show instead of signing out.
fn unconfirmed(
    app: &OidcState,
    req: &Request,
    params: &Params,
    session: &BrowserSession,
    client: Option<&Client>,
    target: Option<&str>,
    lang: Lang,
) -> Option<Response> {
    let csrf = app.csrf_token("logout", &session.id);
    let posted = req.method() == Method::POST && params.get("csrf").is_some();
    if !posted {
        let carried = CARRIED.iter().filter_map(|k| params.get(k).map(|v| (k.to_string(), v.to_string()))).collect();
        let mut page = html(StatusCode::OK, LogoutConfirmPage { lang, rp: client.map(Into::into), csrf, carried });
        if let Some(uri) = target {
            crate::web::allow_form_target(&mut page, uri);
        }
        return Some(page);
    }
    if !crate::crypto::ct_eq(params.get("csrf").unwrap_or_default(), &csrf) {
        return Some(error_page(StatusCode::FORBIDDEN, lang, Msg::error_expired, None));
    }
    if params.get("confirm") != Some("yes") {
        return Some(html(StatusCode::OK, SignedOutPage { lang, message: Msg::still_signed_in }));
    }
    None
}
