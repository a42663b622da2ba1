//! The verifier page (`/me/verify`) and the relying parties' redemption API.
use super::*;

// ---------------------------------------------------------------- verifier page

pub struct RedemptionRow {
    pub at: String,
    pub document: Msg,
    pub share_id: String,
}

pub struct Shown {
    pub document: Msg,
    pub iin: String,
    pub name: String,
    pub birthdate: Option<String>,
    pub photo: String,
    pub at: String,
}

page!(VerifyPage, "me_verify.html" {
    csrf: String,
    organisation: String,
    code: String,
    error: Option<Msg>,
    shown: Option<Shown>,
    rows: Vec<RedemptionRow>,
});

page!(VerifyRefusedPage, "me_verify_refused.html" {});

/// The organisation user signed in through the portal's sign-in, if an operator registered them.
/// `code`: the QR code's code (already parsed), kept through a sign-in.
async fn verifier_user(app: &CabinetState, cookies: &CookieJar, code: Option<&str>) -> Result<Option<(Verifier, String, String)>, PageError> {
    let Some((iin, session_hash)) = crate::onboarding::web::signed_in_person(&app.portal, cookies).await? else {
        return Err(PageError::VerifierSignIn(code.map(str::to_owned)));
    };
    let Some(v) = app.store.document_verifier(&iin).await? else { return Ok(None) };
    Ok(Some((Verifier::user(app, &v), v.organisation.clone(), app.oidc.csrf_token("document verifier", &session_hash))))
}

// The page's parts, each named: a struct for them would only rename them.
#[allow(clippy::too_many_arguments)]
async fn verify_view(
    app: &CabinetState,
    lang: Lang,
    verifier: &Verifier,
    organisation: String,
    csrf: String,
    code: String,
    error: Option<Msg>,
    shown: Option<Shown>,
) -> PageResult {
    let rows = app
        .store
        .redemptions_by(&verifier.key, 50)
        .await?
        .into_iter()
        .map(|s| RedemptionRow {
            at: s.redeemed_at.map(when).unwrap_or_default(),
            document: DocumentKind::parse(&s.document).map(document_msg).unwrap_or(Msg::me_doc_identity_card),
            share_id: s.id,
        })
        .collect();
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok(html(status, VerifyPage { lang, csrf, organisation, code, error, shown, rows }))
}

#[derive(Deserialize)]
struct CodeQuery {
    code: Option<String>,
}

#[handler]
pub(crate) async fn verify_page(req: &Request, cookies: &CookieJar, Query(q): Query<CodeQuery>, Data(app): Data<&Arc<CabinetState>>) -> Response {
    let lang = crate::i18n::lang_of(req);
    finish(
        lang,
        async {
            // The QR code's address fills the form; redeeming is the user's press (a GET changes nothing).
            let code = q.code.as_deref().and_then(crate::documents::ShortCode::parse).map(|c| c.as_str().to_string());
            let Some((verifier, organisation, csrf)) = verifier_user(app, cookies, code.as_deref()).await? else {
                return Ok(html(StatusCode::FORBIDDEN, VerifyRefusedPage { lang }));
            };
            let code = code.unwrap_or_default();
            verify_view(app, lang, &verifier, organisation, csrf, code, None, None).await
        }
        .await,
    )
}

use tanu_parse::forms::CodeForm;

#[handler]
pub(crate) async fn verify_submit(
    req: &Request,
    cookies: &CookieJar,
    form: poem::Result<Form<CodeForm>>,
    Data(app): Data<&Arc<CabinetState>>,
    Data(docs): Data<&Arc<Documents>>,
) -> Response {
    let lang = crate::i18n::lang_of(req);
    finish(
        lang,
        async {
            let Some((verifier, organisation, csrf)) = verifier_user(app, cookies, None).await? else {
                return Ok(html(StatusCode::FORBIDDEN, VerifyRefusedPage { lang }));
            };
            let Ok(Form(f)) = form else { return Err(PageError::Csrf) };
            if app.limiter.check(crate::oidc::client_ip(req)).is_err() {
                return Err(PageError::TooMany);
            }
            if !ct_eq(&csrf, &f.csrf) {
                return Err(PageError::Csrf);
            }
            let (error, shown) = match docs.redeem(app, &verifier, &f.code).await {
                Ok(v) => (None, Some(shown(&v))),
                Err(DocumentError::TooMany(_)) => return Err(PageError::TooMany),
                Err(DocumentError::Locked(_)) => (Some(Msg::me_verify_locked), None),
                Err(DocumentError::InvalidCode) => (Some(Msg::me_verify_invalid), None),
                Err(DocumentError::Store(e)) => return Err(e.into()),
                Err(e) => {
                    tracing::warn!(error = %e, "documents: redeem");
                    (Some(Msg::me_doc_registry_down), None)
                }
            };
            let mut page = verify_view(app, lang, &verifier, organisation, csrf, String::new(), error, shown).await?;
            if error == Some(Msg::me_verify_locked) {
                page.set_status(StatusCode::TOO_MANY_REQUESTS);
            }
            Ok(page)
        }
        .await,
    )
}

fn shown(v: &DocumentView) -> Shown {
    Shown {
        document: document_msg(v.document),
        iin: v.iin.clone(),
        name: v.name.clone(),
        birthdate: v.birthdate.clone(),
        photo: format!("data:{};base64,{}", v.photo_content_type, v.photo_base64),
        at: when(v.viewed_at),
    }
}

// ---------------------------------------------------------------- verifier API

/// `POST /me/verify/redeem` (form `code`): a relying party redeems a code
/// with its OIDC client's credentials (its registered method:
/// `client_secret_basic`, `client_secret_post` or `private_key_jwt`). The
/// document as JSON, once; errors in the OAuth JSON form.
#[handler]
pub(crate) async fn api_redeem(req: &Request, body: poem::Body, Data(app): Data<&Arc<CabinetState>>, Data(docs): Data<&Arc<Documents>>) -> Response {
    let (client, params) = match crate::oidc::client_auth::client_form(&app.oidc, req, body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    // A citizen's document is production data: a sandbox client, which sees
    // test persons only (Rules §14), redeems nothing (the code is not spent).
    if client.environment != crate::domain::Environment::Production {
        return crate::oidc::errors::OAuthError::new(
            crate::oidc::errors::ErrorCode::UnauthorizedClient,
            "a sandbox client cannot redeem a citizen's document; use the production client",
        )
        .into_response();
    }
    let code = params.get("code").unwrap_or_default().to_string();
    match docs.redeem(app, &Verifier::client(&client), &code).await {
        Ok(v) => poem::web::Json(v).with_header("Cache-Control", "no-store").into_response(),
        Err(e) => redeem_error(e).into_response(),
    }
}

fn redeem_error(e: DocumentError) -> crate::oidc::errors::OAuthError {
    use crate::oidc::errors::OAuthError;
    match e {
        DocumentError::TooMany(wait) => OAuthError::too_many(crate::oidc::errors::ErrorCode::SlowDown, "too many redemptions", wait),
        DocumentError::Locked(wait) => {
            OAuthError::too_many(crate::oidc::errors::ErrorCode::AccessDenied, "too many wrong codes: this verifier is locked", wait)
        }
        DocumentError::InvalidCode => {
            OAuthError::with_status(StatusCode::BAD_REQUEST, crate::oidc::errors::ErrorCode::InvalidGrant, "the code is wrong, used, revoked or expired")
        }
        DocumentError::NoDocument => {
            OAuthError::with_status(StatusCode::NOT_FOUND, crate::oidc::errors::ErrorCode::InvalidGrant, "the registry no longer holds the document")
        }
        DocumentError::Registry(e) => {
            tracing::warn!(error = %e, "documents: registry");
            OAuthError::with_status(
                StatusCode::SERVICE_UNAVAILABLE,
                crate::oidc::errors::ErrorCode::TemporarilyUnavailable,
                "the registry is unavailable; the code is still usable",
            )
        }
        DocumentError::Store(e) => OAuthError::from(e),
    }
}

/// One redemption of a verifier, as its own history lists it.
#[derive(Serialize)]
struct Redemption {
    share_id: String,
    document: String,
    viewed_at: Option<DateTime<Utc>>,
}

/// `POST /me/verify/redemptions`: the relying party's own redemptions, newest first.
#[handler]
pub(crate) async fn api_redemptions(req: &Request, body: poem::Body, Data(app): Data<&Arc<CabinetState>>) -> Response {
    use crate::oidc::errors::OAuthError;
    let (client, _) = match crate::oidc::client_auth::client_form(&app.oidc, req, body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match app.store.redemptions_by(&Verifier::client(&client).key, 500).await {
        Ok(rows) => {
            let out: Vec<Redemption> = rows.into_iter().map(|s| Redemption { share_id: s.id, document: s.document, viewed_at: s.redeemed_at }).collect();
            poem::web::Json(out).with_header("Cache-Control", "no-store").into_response()
        }
        Err(e) => OAuthError::from(e).into_response(),
    }
}
