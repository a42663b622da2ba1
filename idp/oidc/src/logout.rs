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
    let client = match client_id.as_deref().map(str::parse::<ClientId>) {
        Some(Ok(id)) => match app.store.client(&id).await {
            Ok(c) => c,
            Err(e) => return server_error(lang, e),
        },
        _ => None,
    };
    let target = match params.get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => match &client {
            Some(c) if c.post_logout_uri(uri).is_some() => Some(uri.to_string()),
            Some(_) => return error_page(StatusCode::BAD_REQUEST, lang, Msg::error_redirect_uri, None),
            None => return bad("post_logout_redirect_uri needs id_token_hint or client_id"),
        },
    };
    // The session of the client's environment; without a client, the
    // browser's production session, else its sandbox one.
    let environments: &[Environment] = match &client {
        Some(c) => std::slice::from_ref(&c.environment),
        None => &[Environment::Production, Environment::Sandbox],
    };
    let mut session = None;
    for &environment in environments {
        match crate::interaction::current_session(app, cookies, environment).await {
            Ok(Some(s)) => {
                session = Some(s);
                break;
            }
            Ok(None) => {}
            Err(e) => return server_error(lang, e),
        }
    }
    if let Some(session) = &session {
        let hinted_here = hint.as_ref().and_then(|h| h.sid.as_deref()).is_some_and(|sid| sid == session.id);
        if !hinted_here {
            let csrf = app.csrf_token("logout", &session.id);
            let confirmed = req.method() == Method::POST && params.get("csrf").is_some();
            if !confirmed {
                let carried = CARRIED.iter().filter_map(|k| params.get(k).map(|v| (k.to_string(), v.to_string()))).collect();
                let mut page = html(StatusCode::OK, LogoutConfirmPage { lang, rp: client.as_ref().map(Into::into), csrf, carried });
                if let Some(uri) = &target {
                    crate::web::allow_form_target(&mut page, uri);
                }
                return page;
            }
            if !crate::crypto::ct_eq(params.get("csrf").unwrap_or_default(), &csrf) {
                return error_page(StatusCode::FORBIDDEN, lang, Msg::error_expired, None);
            }
            if params.get("confirm") != Some("yes") {
                return html(StatusCode::OK, SignedOutPage { lang, message: Msg::still_signed_in });
            }
        }
        if let Err(e) = crate::interaction::end_session(app, cookies, session.environment).await {
            return server_error(lang, e);
        }
        // Back-Channel Logout 1.0: the session's clients are told. A failure
        // to queue is logged; the citizen is signed out all the same.
        if let Err(e) = crate::notify::session_ended(app, &session.id, &session.citizen_id).await {
            tracing::error!(error = %e, "back-channel logout not queued");
        }
    }
    match target {
        Some(uri) => {
            let mut location = uri.clone();
            if let Some(state) = params.get("state") {
                let sep = if uri.contains('?') { '&' } else { '?' };
                location = format!("{location}{sep}{}", url::form_urlencoded::Serializer::new(String::new()).append_pair("state", state).finish());
            }
            crate::web::see_other(location)
        }
        None => html(StatusCode::OK, SignedOutPage { lang, message: Msg::signed_out }),
    }
}
